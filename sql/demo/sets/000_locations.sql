-- Package A (setup): where events take place. xmlid is the natural key that other machines share.
CREATE TABLE locations (
    id serial PRIMARY KEY,
    xmlid text NOT NULL UNIQUE,
    name text NOT NULL
);
