-- Package A (setup): events, each at a location; a sub-event names its parent by natural key.
CREATE TABLE events (
    id serial PRIMARY KEY,
    xmlid text NOT NULL UNIQUE,
    title text NOT NULL,
    starts_at timestamptz NOT NULL,
    location_id integer REFERENCES locations (id),
    event_xmlid text
);
CREATE INDEX events_location_id_idx ON events (location_id);
