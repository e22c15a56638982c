"""Render the SQL templates of sql/ and rollback/ into scripts a DBA can read and psql can run.

Every name from config or the catalog reaches SQL through `ident` (an identifier) or `literal`
(a string constant); nothing else quotes. Undefined template variables are errors.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
import sqlparse

PROJECT_DIR = Path(__file__).resolve().parent.parent
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RenderError(Exception):
    pass


def ident(name: str) -> str:
    """Quote an identifier, always: correct for capitals, spaces, quotes, unicode, keywords."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise RenderError(f"not a valid identifier: {name!r}")
    return '"' + name.replace('"', '""') + '"'


def literal(value: object) -> str:
    """A string constant (standard_conforming_strings), or NULL, or an integer as is."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if "\x00" in text:
        raise RenderError(f"a string with a NUL character cannot be sent to PostgreSQL: {text!r}")
    return "'" + text.replace("'", "''") + "'"


def sql_type(text: str) -> str:
    """A column type from config, written into DDL as is: so it must be a plain type name."""
    from .config import DEFAULT_SQL_PATTERN, TYPE_PATTERN
    if not (TYPE_PATTERN.match(text) or DEFAULT_SQL_PATTERN.match(text)):
        raise RenderError(f"not a plain SQL type or expression: {text!r}")
    return text


def oneline(text: str) -> str:
    """Text safe inside a -- comment: control characters (a newline would end it) escaped."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(PROJECT_DIR)),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,
)
_environment.filters.update(ident=ident, literal=literal, oneline=oneline, sql_type=sql_type)


def format_sql(text: str) -> str:
    """Keywords upper-case (dollar-quoted bodies are left as written), trailing blanks gone, at
    most one blank line in a row. Templates avoid column names sqlparse takes for keywords
    (table_name, schema_name), which it would upper-case too."""
    formatted = sqlparse.format(text, keyword_case="upper")
    lines = [line.rstrip() for line in formatted.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def statements(sql: str) -> list[str]:
    """The statements of a rendered part, each with the comment above it; comment-only tails dropped."""
    return [statement for statement in sqlparse.split(sql)
            if sqlparse.format(statement, strip_comments=True).strip()]


@dataclass(frozen=True)
class Part:
    """One template, rendered: what the runner executes as a step and the DBA reads as a section."""
    template: str
    sql: str


def render(template: str, context: dict) -> Part:
    try:
        text = _environment.get_template(template).render(**context)
    except jinja2.UndefinedError as error:
        raise RenderError(f"{template}: {error.message}") from None
    return Part(template, format_sql(text))


def render_text(template: str, context: dict) -> str:
    """A report template (not SQL): rendered as is."""
    try:
        return _environment.get_template(template).render(**context)
    except jinja2.UndefinedError as error:
        raise RenderError(f"{template}: {error.message}") from None


def checksum(parts: list[Part]) -> str:
    return hashlib.sha256("".join(part.sql for part in parts).encode()).hexdigest()


def script(parts: list[Part]) -> str:
    """The parts as one file, each under a banner naming its template."""
    sections = [f"-- ==== {part.template}\n{part.sql}" for part in parts]
    return "\n".join(sections)


def steps(folder: str) -> list[str]:
    """The numbered step templates of sql/ or rollback/, in the order of their numbers."""
    return sorted(str(path.relative_to(PROJECT_DIR))
                  for path in (PROJECT_DIR / folder).glob("[0-9][0-9][0-9]_*.sql.j2"))
