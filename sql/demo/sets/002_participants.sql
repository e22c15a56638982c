-- Package A (setup): who takes part in an event.
CREATE TABLE participants (
    id serial PRIMARY KEY,
    xmlid text NOT NULL UNIQUE,
    event_id integer NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    name text NOT NULL
);
