-- Package B (core schema): posts about an event, and an event's status.
CREATE TABLE posts (
    id serial PRIMARY KEY,
    xmlid text NOT NULL UNIQUE,
    event_xmlid text NOT NULL,
    body text NOT NULL
);
ALTER TABLE events ADD COLUMN status text NOT NULL DEFAULT 'draft';
