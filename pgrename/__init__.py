"""pgrename: rename PostgreSQL tables and every object named after them, safely and reversibly."""
VERSION = "0.6.0"
