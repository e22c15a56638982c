"""Which database to talk to, and connecting to it without ever showing its password.

DATABASE_URL wins; else libpq's own PG* variables; else the embedded database of `make db`.
"""
from __future__ import annotations

import os

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from . import embedded
from .errors import ConnectionFailed

LIBPQ_TARGET_VARIABLES = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE")


def target_conninfo(database_url: str | None = None) -> str:
    url = database_url or os.environ.get("DATABASE_URL")
    if url:
        return url
    if any(os.environ.get(name) for name in LIBPQ_TARGET_VARIABLES):
        return ""
    return embedded.default_cluster().url()


def _password(conninfo: str) -> str | None:
    try:
        return conninfo_to_dict(conninfo).get("password") or os.environ.get("PGPASSWORD")
    except psycopg.ProgrammingError:
        return os.environ.get("PGPASSWORD")


def scrub(text: str, conninfo: str) -> str:
    """The text with the connection's password, if any, replaced by ****."""
    password = _password(conninfo)
    return text.replace(password, "****") if password else text


def describe(conninfo: str) -> str:
    """The connection parameters for people to read: everything but the password."""
    if not conninfo:
        shown = {name: os.environ[name] for name in LIBPQ_TARGET_VARIABLES if os.environ.get(name)}
        return " ".join(f"{name}={value}" for name, value in shown.items()) + " (from the environment)"
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "(an unparsable connection string)"
    params.pop("password", None)
    return make_conninfo(**params)


def reached(conn: psycopg.Connection) -> str:
    """The database a connection reached, for people to read: user, database, host and port."""
    info = conn.info
    return make_conninfo(user=info.user, dbname=info.dbname, host=info.host, port=str(info.port))


def connect(conninfo: str) -> psycopg.Connection:
    try:
        params = conninfo_to_dict(conninfo) if conninfo else {}
    except psycopg.ProgrammingError as error:
        raise ConnectionFailed(f"invalid connection string: {scrub(str(error), conninfo)}") from None
    try:
        # fallback_application_name: "pgrename" unless the URL or PGAPPNAME names the application.
        return psycopg.connect(conninfo, autocommit=True, fallback_application_name="pgrename",
                               connect_timeout=int(params.get("connect_timeout", 10)))
    except psycopg.OperationalError as error:
        raise ConnectionFailed(f"cannot connect to {describe(conninfo)}: "
                               f"{scrub(str(error).strip(), conninfo)}") from None
