-- Package A (setup): projects, and their events, each at a location; a sub-event names its
-- parent by natural key.
CREATE TABLE projects (
    id serial PRIMARY KEY,
    xmlid text NOT NULL UNIQUE,
    name text NOT NULL
);
CREATE TABLE events (
    id serial PRIMARY KEY,
    xmlid text NOT NULL UNIQUE,
    title text NOT NULL,
    starts_at timestamptz NOT NULL,
    project_id integer REFERENCES projects (id),
    location_id integer REFERENCES locations (id),
    event_xmlid text
);
CREATE INDEX events_project_id_idx ON events (project_id);
CREATE INDEX events_location_id_idx ON events (location_id);
