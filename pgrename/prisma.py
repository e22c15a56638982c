"""A small parser for Prisma schema files, for the contract check: what the service's
`prisma migrate diff` expects of the database. It reads models, enums, @@map / @map, @@schema,
scalar types, optional and list fields, @id / @@id, @unique / @@unique, @@index, each with its
map: name (or Prisma's default name), @default, @relation with its name, fields, references, map:
and referential actions, implicit many-to-many relations (their join tables), and @db native types.
It skips datasource and generator blocks (so a Prisma 7 schema, without `url`, reads as well as an
older one). Errors name the file and line.

The tests hold it to Prisma's own parser: dmmf() projects a parse onto the part of Prisma's DMMF
(@prisma/prisma-schema-wasm, get_dmmf) that the contract uses, and the two must be equal.
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
    args: str      # the text inside the parentheses, as written
    line: int = 0  # of a block attribute (@@...): where it is written


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
    values: list[str] = field(default_factory=list)      # as the schema names them
    db_values: list[str] = field(default_factory=list)   # as the database holds them (@map)
    db_name: str | None = None
    schema: str | None = None


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
                for attribute in attributes:
                    if attribute.name == "@@map":
                        block.db_name = _first_string(attribute.args)
                    elif attribute.name == "@@schema":
                        block.schema = _first_string(attribute.args)
            else:
                block.block_attributes += [Attribute(a.name, a.args, number) for a in attributes]
            continue
        if isinstance(block, Enum):
            value = re.match(r"^(\w+)\s*(.*)$", statement)
            if not value:
                raise PrismaError(f"{at}: expected an enum value, found {statement!r}")
            mapped = next((a for a in _attributes(value.group(2), at) if a.name == "@map"), None)
            block.values.append(value.group(1))
            block.db_values.append(_first_string(mapped.args) if mapped else value.group(1))
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


# Prisma's referential actions, as pg_get_constraintdef() spells them.
REFERENTIAL_ACTIONS = {"Cascade": "CASCADE", "Restrict": "RESTRICT", "NoAction": "NO ACTION", "SetNull": "SET NULL",
                       "SetDefault": "SET DEFAULT"}
MAX_IDENTIFIER_BYTES = 63


def _argument(args: str, key: str) -> str | None:
    """The value of `key: value` in an attribute's arguments: a string's text, or a word."""
    match = re.search(rf'\b{key}\s*:\s*(?:"((?:[^"\\]|\\.)*)"|(\w+))', args)
    return (match.group(1) if match.group(1) is not None else match.group(2)) if match else None


def _positional_string(args: str) -> str | None:
    """A string given first, without a key: @relation("Name", ...), @map("x")."""
    match = re.match(r'\s*"((?:[^"\\]|\\.)*)"', args)
    return match.group(1) if match else None


def _field_names(args: str, key: str | None = None) -> list[str]:
    """The field names of [a, b(sort: Desc)], without their arguments."""
    return [name.split("(")[0].strip() for name in names_in(args, key)]


@dataclass(frozen=True)
class Relation:
    name: str
    fields: list[str]
    references: list[str]
    map: str | None
    on_delete: str | None
    on_update: str | None


def relation_of(model: Model, f: Field) -> Relation:
    """A relation field's @relation, its name defaulted as Prisma does: the two models' names in
    alphabetical order, joined by To (ChatFolderToUser)."""
    attribute = f.attribute("@relation")
    args = attribute.args if attribute else ""
    name = _positional_string(args) or _argument(args, "name") or "To".join(sorted([model.name, f.type]))
    return Relation(name, _field_names(args, "fields"), _field_names(args, "references"), _argument(args, "map"),
                    _argument(args, "onDelete"), _argument(args, "onUpdate"))


def _cut(text: str, limit: int) -> str:
    """At most `limit` bytes of text, never half a character."""
    encoded = text.encode()
    return text if len(encoded) <= limit else encoded[:limit].decode(errors="ignore")


def default_name(table: str, columns: list[str], suffix: str) -> str:
    """Prisma's name for a constraint or index it was given no map: for: {table}_pkey, and
    {table}_{columns}_key, _idx, _fkey, the front cut to fit 63 bytes with the suffix (Prisma's
    ConstraintNames, for PostgreSQL)."""
    front = table if suffix == "pkey" else "_".join([table, *columns])
    room = MAX_IDENTIFIER_BYTES - len(suffix) - 1
    if len(front.encode()) >= room:
        front = _cut(front, room)
    return f"{front}_{suffix}"


def implicit_many_to_many(schema: Schema) -> list[tuple[str, Model, Model]]:
    """(relation name, model A, model B) of each relation whose two sides are lists without
    fields: Prisma keeps it in a join table _<name>, A the model first in alphabetical order."""
    sides: dict[str, list[Model]] = {}
    for model in schema.models.values():
        for f in model.fields:
            if f.type in schema.models and f.is_list and not relation_of(model, f).fields:
                sides.setdefault(relation_of(model, f).name, []).append(model)
    return [(name, *sorted(models, key=lambda m: m.name)) for name, models in sides.items() if len(models) == 2]


def expectations(schema: Schema) -> dict:
    """What the database must have for this schema, as `prisma migrate diff` compares it: tables
    (in their @@schema, or the config's) with columns, primary key, unique keys, indexes and
    foreign keys, each with its name and referential actions; the join tables of implicit
    many-to-many relations; enums. The shape sql/analysis/contract.sql reads from pgrename.contract."""
    enum_db_names = {name: enum.db_name or name for name, enum in schema.enums.items()}
    tables = [_table(model, schema, enum_db_names) for model in schema.models.values()]
    tables += [_join_table(name, a, b, enum_db_names) for name, a, b in implicit_many_to_many(schema)]
    enums = [{"name": enum_db_names[name], "schema": enum.schema, "values": enum.db_values, "line": enum.line}
             for name, enum in schema.enums.items()]
    return {"tables": tables, "enums": enums}


def table_name(model: Model) -> str:
    return _block_string(model, "@@map") or model.name


def column_names(model: Model) -> dict[str, str]:
    return {f.name: (_string_attribute(f, "@map") or f.name) for f in model.fields}


def _table(model: Model, schema: Schema, enum_db_names: dict[str, str]) -> dict:
    table, column_of = table_name(model), column_names(model)
    columns, primary_key, unique, indexes, foreign_keys = [], None, [], [], []

    def key(kind: str, fields: list[str], args: str, line: int) -> dict:
        columns_named = [column_of.get(n, n) for n in fields]
        return {"columns": columns_named, "line": line,
                "name": _argument(args, "map") or default_name(table, columns_named, kind)}

    for f in model.fields:
        if f.type in schema.models:  # a relation field: its foreign key, if this side holds it
            relation = relation_of(model, f)
            if relation.fields:
                target = schema.models[f.type]
                target_columns = column_names(target)
                fk_columns = [column_of[n] for n in relation.fields]
                required = all(not g.optional for g in model.fields if g.name in relation.fields)
                foreign_keys.append({
                    "columns": fk_columns, "references": table_name(target),
                    "ref_columns": [target_columns.get(n, n) for n in relation.references],
                    "name": relation.map or default_name(table, fk_columns, "fkey"),
                    "on_delete": REFERENTIAL_ACTIONS[relation.on_delete or ("Restrict" if required else "SetNull")],
                    "on_update": REFERENTIAL_ACTIONS[relation.on_update or "Cascade"],
                    "line": f.line})
            continue
        column = column_of[f.name]
        columns.append({"column": column, "field": f.name, "type": _column_type(f, enum_db_names),
                        "nullable": f.optional, "db_default": _db_default(f), "line": f.line})
        if f.attribute("@id"):
            primary_key = key("pkey", [f.name], f.attribute("@id").args, f.line)
        if f.attribute("@unique"):
            unique.append(key("key", [f.name], f.attribute("@unique").args, f.line))
    for attribute in model.block_attributes:
        fields = _field_names(attribute.args)
        if attribute.name == "@@id":
            primary_key = key("pkey", fields, attribute.args, attribute.line)
        elif attribute.name == "@@unique":
            unique.append(key("key", fields, attribute.args, attribute.line))
        elif attribute.name == "@@index":
            indexes.append(key("idx", fields, attribute.args, attribute.line))
    return {"table": table, "schema": _block_string(model, "@@schema"), "model": model.name, "line": model.line,
            "columns": columns, "primary_key": primary_key, "unique": unique, "indexes": indexes,
            "foreign_keys": foreign_keys}


def _join_table(relation: str, a: Model, b: Model, enum_db_names: dict[str, str]) -> dict:
    """The join table Prisma keeps an implicit many-to-many relation in: _<relation> (A, B), its
    primary key (A, B), an index on B, and both foreign keys cascading (Prisma 6 and later)."""
    table = f"_{relation}"
    columns, foreign_keys = [], []
    for column, model in (("A", a), ("B", b)):
        [identifier] = [f for f in model.fields if f.attribute("@id")] or [None]
        columns.append({"column": column, "field": column, "nullable": False, "db_default": False, "line": model.line,
                        "type": _column_type(identifier, enum_db_names) if identifier else None})
        foreign_keys.append({"columns": [column], "references": table_name(model),
                             "ref_columns": [column_names(model)[identifier.name]] if identifier else [],
                             "name": f"{table}_{column}_fkey", "on_delete": "CASCADE", "on_update": "CASCADE",
                             "line": model.line})
    return {"table": table, "schema": _block_string(a, "@@schema"), "model": None, "line": a.line,
            "columns": columns, "primary_key": {"columns": ["A", "B"], "name": f"{table}_AB_pkey", "line": a.line},
            "unique": [], "indexes": [{"columns": ["B"], "name": f"{table}_B_index", "line": a.line}],
            "foreign_keys": foreign_keys}


def dmmf(schema: Schema) -> dict:
    """This parse in the shape of Prisma's own (get_dmmf of @prisma/prisma-schema-wasm), on the
    part the contract reads: models with their database names and schemas, fields with their kind,
    optionality, type, native type, default and relation, indexes (id, unique, normal) with their
    map: names, enums. tests/test_prisma_dmmf.py holds the two equal."""
    models, indexes = [], []
    for model in schema.models.values():
        fields = []
        for f in model.fields:
            kind = "object" if f.type in schema.models else "enum" if f.type in schema.enums else "scalar"
            entry = {"name": f.name, "dbName": _string_attribute(f, "@map"), "kind": kind, "isList": f.is_list,
                     "isRequired": not f.optional, "type": f.type, "hasDefaultValue": f.attribute("@default") is not None}
            if kind == "object":
                relation = relation_of(model, f)
                entry |= {"relationName": relation.name, "relationFromFields": relation.fields,
                          "relationToFields": relation.references, "relationOnDelete": relation.on_delete}
            else:
                native = next((a for a in f.attributes if a.name.startswith("@db.")), None)
                entry["nativeType"] = ([native.name[len("@db."):], [arg.strip() for arg in native.args.split(",")
                                                                    if arg.strip()]] if native else None)
            fields.append(entry)
            for kind_of_index, name in (("id", "@id"), ("unique", "@unique")):
                if f.attribute(name):
                    indexes.append({"model": model.name, "type": kind_of_index,
                                    "dbName": _argument(f.attribute(name).args, "map"), "fields": [f.name]})
        for attribute in model.block_attributes:
            kind_of_index = {"@@id": "id", "@@unique": "unique", "@@index": "normal"}.get(attribute.name)
            if kind_of_index:
                indexes.append({"model": model.name, "type": kind_of_index, "dbName": _argument(attribute.args, "map"),
                                "fields": _field_names(attribute.args)})
        models.append({"name": model.name, "dbName": _block_string(model, "@@map"),
                       "schema": _block_string(model, "@@schema"), "fields": fields})
    enums = [{"name": name, "dbName": enum.db_name, "values": enum.values} for name, enum in schema.enums.items()]
    return {"models": models, "indexes": indexes, "enums": enums}


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
