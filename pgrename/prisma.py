"""A small parser for Prisma schema files, for the contract check: what tables, columns, keys
and enums the service expects. It reads models, enums, @@map / @map, scalar types, optional and
list fields, @id / @@id, @unique / @@unique, @default, @relation and @db native types; it skips
datasource and generator blocks. Errors name the file and line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError

BLOCK_START = re.compile(r"^(model|enum|datasource|generator|view|type)\s+(\w+)\s*\{\s*$")
FIELD = re.compile(r"^(\w+)\s+(\w+(?:\([^)]*\))?)(\[\])?(\?)?\s*(.*)$")
ATTRIBUTE = re.compile(r"@(@?)([\w.]+)")
CLIENT_SIDE_DEFAULTS = {"cuid", "uuid", "nanoid", "ulid"}
SCALAR_TYPES = {
    "String": "text", "Int": "integer", "BigInt": "bigint", "Float": "double precision",
    "Decimal": "numeric(65,30)", "Boolean": "boolean", "DateTime": "timestamp(3) without time zone",
    "Json": "jsonb", "Bytes": "bytea",
}
NATIVE_TYPES = {  # @db.X -> what format_type() shows
    "Text": "text", "Uuid": "uuid", "Integer": "integer", "SmallInt": "smallint", "BigInt": "bigint",
    "Boolean": "boolean", "Json": "json", "JsonB": "jsonb", "Date": "date", "DoublePrecision": "double precision",
    "Real": "real", "ByteA": "bytea", "Inet": "inet", "Money": "money", "Xml": "xml", "Citext": "citext",
    "VarChar": "character varying", "Char": "character", "Timestamp": "timestamp without time zone",
    "Timestamptz": "timestamp with time zone", "Time": "time without time zone",
    "Timetz": "time with time zone", "Decimal": "numeric", "Bit": "bit", "VarBit": "bit varying",
}


class PrismaError(UsageError):
    """The schema file cannot be read as Prisma; the message names the file and line."""


@dataclass
class Attribute:
    name: str
    args: str  # the text inside the parentheses, as written


@dataclass
class Field:
    name: str
    type: str
    optional: bool
    is_list: bool
    attributes: list[Attribute]
    line: int

    def attribute(self, name: str) -> Attribute | None:
        return next((a for a in self.attributes if a.name == name), None)


@dataclass
class Model:
    name: str
    line: int
    fields: list[Field] = field(default_factory=list)
    block_attributes: list[Attribute] = field(default_factory=list)


@dataclass
class Enum:
    name: str
    line: int
    values: list[str] = field(default_factory=list)
    db_name: str | None = None


@dataclass
class Schema:
    models: dict[str, Model]
    enums: dict[str, Enum]


def _strip_comment(line: str) -> str:
    """The line without its // comment (a // inside a string stays)."""
    in_string = False
    for i, char in enumerate(line):
        if char == '"' and (i == 0 or line[i - 1] != "\\"):
            in_string = not in_string
        elif not in_string and line.startswith("//", i):
            return line[:i]
    return line


def _statements(text: str, where: str):
    """(line number, text) of each statement; one whose parentheses or brackets are open continues
    on the next lines."""
    pending, start, depth = "", 0, 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw).strip()
        if not line and not pending:
            continue
        if not pending:
            start = number
        pending = f"{pending} {line}".strip()
        depth += line.count("(") + line.count("[") - line.count(")") - line.count("]")
        if depth < 0:
            raise PrismaError(f"{where}:{number}: a ')' or ']' closes nothing")
        if depth == 0:
            yield start, pending
            pending = ""
    if pending:
        raise PrismaError(f"{where}:{start}: '(' or '[' is never closed")


def _attributes(text: str, where: str) -> list[Attribute]:
    """The @attr(args) list of a field or the @@attr(args) of a block, args kept as text."""
    found, position = [], 0
    while position < len(text):
        match = ATTRIBUTE.match(text, position)
        if not match:
            if text[position].isspace():
                position += 1
                continue
            raise PrismaError(f"{where}: expected an attribute (@...), found {text[position:]!r}")
        name, position, args = "@" + match.group(1) + match.group(2), match.end(), ""
        if position < len(text) and text[position] == "(":
            depth = 0
            for end in range(position, len(text)):
                depth += {"(": 1, ")": -1}.get(text[end], 0)
                if depth == 0:
                    args, position = text[position + 1:end].strip(), end + 1
                    break
        found.append(Attribute(name, args))
    return found


def _first_string(args: str) -> str | None:
    match = re.search(r'"((?:[^"\\]|\\.)*)"', args)
    return match.group(1) if match else None


def names_in(args: str, key: str | None = None) -> list[str]:
    """The names in [a, b] (the first list, or the one after `key:`)."""
    match = re.search((rf"\b{key}\s*:\s*" if key else "") + r"\[([^\]]*)\]", args)
    return [name.strip() for name in match.group(1).split(",") if name.strip()] if match else []


def parse(text: str, where: str = "schema.prisma") -> Schema:
    models: dict[str, Model] = {}
    enums: dict[str, Enum] = {}
    block: Model | Enum | None = None
    skipping = False
    for number, statement in _statements(text, where):
        at = f"{where}:{number}"
        if block is None and not skipping:
            match = BLOCK_START.match(statement)
            if not match:
                raise PrismaError(f"{at}: expected a block such as 'model Name {{' or 'enum Name {{', "
                                  f"found {statement!r}")
            kind, name = match.groups()
            if name in models or name in enums:
                raise PrismaError(f"{at}: {name} is defined twice")
            if kind == "model":
                block = models[name] = Model(name, number)
            elif kind == "enum":
                block = enums[name] = Enum(name, number)
            else:
                skipping = True
            continue
        if statement == "}":
            block, skipping = None, False
            continue
        if skipping:
            continue
        if statement.startswith("@@"):
            attributes = _attributes(statement, at)
            if isinstance(block, Enum):
                mapped = next((a for a in attributes if a.name == "@@map"), None)
                block.db_name = _first_string(mapped.args) if mapped else block.db_name
            else:
                block.block_attributes += attributes
            continue
        if isinstance(block, Enum):
            value = re.match(r"^(\w+)\s*(.*)$", statement)
            if not value:
                raise PrismaError(f"{at}: expected an enum value, found {statement!r}")
            block.values.append(value.group(1))
            continue
        match = FIELD.match(statement)
        if not match:
            raise PrismaError(f"{at}: expected a field 'name Type', found {statement!r}")
        name, field_type, is_list, optional, rest = match.groups()
        block.fields.append(Field(name, field_type, bool(optional), bool(is_list), _attributes(rest, at), number))
    if block is not None or skipping:
        raise PrismaError(f"{where}: the last block is never closed with '}}'")
    return Schema(models, enums)


def load(path: Path) -> Schema:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PrismaError(f"{path}: cannot read: {error.strerror}") from None
    return parse(text, str(path))


def expectations(schema: Schema) -> dict:
    """What the database must have for this schema: tables with columns and keys, and enums.
    The shape sql/analysis/contract.sql reads from pgrename.contract."""
    enum_db_names = {name: enum.db_name or name for name, enum in schema.enums.items()}
    tables = []
    for model in schema.models.values():
        table = _block_string(model, "@@map") or model.name
        column_of = {f.name: (_string_attribute(f, "@map") or f.name) for f in model.fields}
        columns, primary_key, unique, foreign_keys = [], [], [], []
        for f in model.fields:
            if f.type in schema.models:  # a relation field: its foreign key, if this side holds it
                relation = f.attribute("@relation")
                if relation and names_in(relation.args, "fields"):
                    target = schema.models[f.type]
                    target_columns = {g.name: (_string_attribute(g, "@map") or g.name) for g in target.fields}
                    foreign_keys.append({
                        "columns": [column_of[n] for n in names_in(relation.args, "fields")],
                        "references": _block_string(target, "@@map") or target.name,
                        "ref_columns": [target_columns.get(n, n) for n in names_in(relation.args, "references")],
                        "line": f.line})
                continue
            column = column_of[f.name]
            columns.append({"column": column, "field": f.name, "type": _column_type(f, enum_db_names),
                            "nullable": f.optional, "db_default": _db_default(f), "line": f.line})
            if f.attribute("@id"):
                primary_key = [column]
            if f.attribute("@unique"):
                unique.append([column])
        for attribute in model.block_attributes:
            if attribute.name == "@@id":
                primary_key = [column_of.get(n, n) for n in names_in(attribute.args)]
            elif attribute.name == "@@unique":
                unique.append([column_of.get(n, n) for n in names_in(attribute.args)])
        tables.append({"table": table, "model": model.name, "line": model.line, "columns": columns,
                       "primary_key": primary_key, "unique": unique, "foreign_keys": foreign_keys})
    enums = [{"name": enum_db_names[name], "values": enum.values, "line": enum.line}
             for name, enum in schema.enums.items()]
    return {"tables": tables, "enums": enums}


def _string_attribute(f: Field, name: str) -> str | None:
    attribute = f.attribute(name)
    return _first_string(attribute.args) if attribute else None


def _block_string(model: Model, name: str) -> str | None:
    attribute = next((a for a in model.block_attributes if a.name == name), None)
    return _first_string(attribute.args) if attribute else None


def _column_type(f: Field, enum_db_names: dict[str, str]) -> str | None:
    """The type format_type() shows for the column, or None where it cannot be known here."""
    native = next((a for a in f.attributes if a.name.startswith("@db.")), None)
    if native:
        native_name = native.name[len("@db."):]
        base = NATIVE_TYPES.get(native_name)
        if base is None:
            return None
        if native.args and native_name in ("VarChar", "Char", "Decimal", "Bit", "VarBit"):
            base = f"{base}({native.args.replace(' ', '')})"
        elif native.args and native_name in ("Timestamp", "Timestamptz", "Time", "Timetz"):
            base = base.replace(" ", f"({native.args}) ", 1)
        column_type = base
    elif f.type in enum_db_names:
        column_type = enum_db_names[f.type]
    else:
        column_type = SCALAR_TYPES.get(f.type)
    if column_type and f.is_list:
        column_type += "[]"
    return column_type


def _db_default(f: Field) -> bool:
    """Whether the database must hold a default: Prisma makes cuid() and uuid() itself."""
    default = f.attribute("@default")
    if default is None:
        return False
    function = re.match(r"^(\w+)\s*\(", default.args)
    return not (function and function.group(1) in CLIENT_SIDE_DEFAULTS)
