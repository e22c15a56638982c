DROP TABLE events;
DROP TABLE projects;
