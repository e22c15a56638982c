"""The tables a data backup covers, from the catalog (sql/analysis/restore_order.sql): in foreign
key order, each with its columns and the key its rows are sorted by; and their names quoted."""
from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from ..locations import SQL_ROOT
from ..render import ident

ORDER_QUERY = SQL_ROOT / "sql" / "analysis" / "restore_order.sql"


def qualified(schema: str, name: str) -> str:
    return f"{ident(schema)}.{ident(name)}"


def table_name(schema: str, name: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name))


def column_list(names: list[str]) -> sql.Composed:
    return sql.SQL(", ").join(map(sql.Identifier, names))


def tables_in_order(conn: psycopg.Connection, schemas: list[str], exclude: list[str]) -> list[dict]:
    conn.execute("SELECT set_config('pgrename.schemas', %s, false), set_config('pgrename.exclude', %s, false)",
                 (",".join(schemas), ",".join(exclude)))
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(ORDER_QUERY.read_text()).fetchall()
