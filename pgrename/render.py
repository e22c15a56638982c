"""Render the SQL templates of sql/ and rollback/ into scripts a DBA can read and psql can run.

Every name from config or the catalog reaches SQL through `ident` (an identifier) or `literal`
(a string constant); nothing else quotes. Undefined template variables are errors.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

import jinja2
import sqlparse

from .errors import RenderError
from .locations import PACKAGE_DIR, SQL_ROOT

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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


def merge_value(pair: list) -> str:
    """A merge column's value: [into, value, is_expression]; a column quoted, an expression as the
    DBA wrote it (SQL by design, type-checked by preflight). Plans recorded before expressions
    existed hold [into, column]."""
    return f"({pair[1]})" if len(pair) > 2 and pair[2] else ident(pair[1])


def oneline(text: str) -> str:
    """Text safe inside a -- comment: control characters (a newline would end it) escaped."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def replace_words(text: str, **words: str) -> str:
    """SQL of sql/kinds.sql.j2 with its one-letter placeholders (t, n, s, o, c) replaced by expressions."""
    return re.sub(r"\b([a-z])\b", lambda m: words.get(m.group(1), m.group(1)), text)


def json_rows(rows: list[dict], *keys: str) -> str:
    """Rows as one SQL string constant of a JSON array, a row a line: for jsonb_to_recordset. A
    long list reads as well as a VALUES list and is one token to parse, not dozens a row."""
    lines = ",\n".join(" " + json.dumps({key: row[key] for key in keys}, ensure_ascii=False) for row in rows)
    return literal(f"[\n{lines}\n]")


_environment = jinja2.Environment(
    # sql/... and rollback/... from SQL_ROOT, pgrename/reports/... from the package's parent
    loader=jinja2.FileSystemLoader([str(SQL_ROOT), str(PACKAGE_DIR.parent)]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,
)
_environment.filters.update(ident=ident, literal=literal, oneline=oneline, sql_type=sql_type,
                            replace_words=replace_words, merge_value=merge_value, json_rows=json_rows)


def template_module(template: str) -> object:
    """The names a template sets ({% set %}) and its macros, for Python to read."""
    return _environment.get_template(template).module


POSTGRES_KEYWORDS = frozenset(line for line in (PACKAGE_DIR / "postgres_keywords.txt").read_text().splitlines()
                              if line and not line.startswith("#"))


def upper_keywords(text: str) -> str:
    """Keywords upper-case: the words PostgreSQL takes for keywords, where sqlparse sees a keyword.
    A name sqlparse also knows as a keyword (table_name) stays as written; so do dollar-quoted bodies."""
    return "".join(value.upper() if ttype in sqlparse.tokens.Keyword
                   and all(word in POSTGRES_KEYWORDS for word in value.upper().split()) else value
                   for ttype, value in sqlparse.lexer.tokenize(text))


def format_sql(text: str) -> str:
    """Keywords upper-case, trailing blanks gone, at most one blank line in a row."""
    lines = [line.rstrip() for line in upper_keywords(text).strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def _has_code(statement: str) -> bool:
    return any(ttype not in sqlparse.tokens.Comment and ttype not in sqlparse.tokens.Whitespace
               and value.strip() not in ("", ";") for ttype, value in sqlparse.lexer.tokenize(statement))


def statements(sql: str) -> list[str]:
    """The statements of a rendered part, each with the comment above it; comment-only tails dropped.
    Only sqlparse's lexer and splitter are used, never its grouping, which refuses a statement of
    more than 10,000 tokens (a script over a few thousand tables can have more)."""
    return [statement for statement in sqlparse.split(sql) if _has_code(statement)]


@dataclass(frozen=True)
class Part:
    """One template, rendered: what the runner executes as a step and the DBA reads as a section."""
    template: str
    sql: str


def render(template: str, context: dict, formatted: bool = True) -> Part:
    """A template rendered as a part; formatted for a DBA to read, unless only the database reads it
    (analyze's read-only preflight: formatting a large plan costs more than running it)."""
    try:
        text = _environment.get_template(template).render(**context)
    except jinja2.UndefinedError as error:
        raise RenderError(f"{template}: {error.message}") from None
    return Part(template, format_sql(text) if formatted else text)


def render_source(text: str, where: str, context: dict) -> str:
    """A DBA's own template (a migration's .sql.j2), with pgrename's filters (ident, literal)."""
    try:
        return _environment.from_string(text).render(**context)
    except (jinja2.UndefinedError, jinja2.TemplateSyntaxError) as error:
        raise RenderError(f"{where}: {error.message}") from None


def render_text(template: str, context: dict) -> str:
    """A report template (not SQL): rendered as is."""
    try:
        return _environment.get_template(template).render(**context)
    except jinja2.UndefinedError as error:
        raise RenderError(f"{template}: {error.message}") from None


@dataclass(frozen=True)
class Script:
    """Parts as the one file a DBA reviews in build/: two lines of seal, then each part under a
    banner naming its template. The seal gives the SHA-256 of every byte after it, and sets it for
    the transaction, where the audit and history rows read it: what they record is the file."""
    parts: tuple[Part, ...]

    @property
    def body(self) -> str:
        return "\n".join(f"-- ==== {part.template}\n{part.sql}" for part in self.parts)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body.encode()).hexdigest()

    @property
    def seal(self) -> Part:
        return Part("seal", f"-- pgrename script, sha256 {self.sha256} of every line after these two"
                            " (tail -n +3 FILE | sha256sum)\n"
                            f"SELECT set_config('pgrename.script_sha256', '{self.sha256}', true);\n")

    @property
    def text(self) -> str:
        return self.seal.sql + self.body

    def runnable(self) -> list[Part]:
        """What the runner executes, statement for statement the file's."""
        return [self.seal, *self.parts]


def sealed_sha256(text: str) -> tuple[str | None, str]:
    """Of a script file's text: the SHA-256 its seal states (None: no seal), and the one its bytes after
    the seal have."""
    lines = text.split("\n", 2)
    match = re.match(r"-- pgrename script, sha256 ([0-9a-f]{64}) ", lines[0])
    body = lines[2] if len(lines) == 3 else ""
    return (match.group(1) if match else None), hashlib.sha256(body.encode()).hexdigest()


def steps(folder: str) -> list[str]:
    """The numbered templates of a folder (the steps of sql/ or rollback/, the checks of preflight), in
    the order of their numbers."""
    return sorted(str(path.relative_to(SQL_ROOT))
                  for path in (SQL_ROOT / folder).glob("[0-9][0-9][0-9]_*.sql.j2"))
