"""The kinds of object a migration renames or adds, described once in sql/kinds.sql.j2."""
from __future__ import annotations

from .render import template_module

_KINDS = template_module("sql/kinds.sql.j2")
RENAMED, ADDED = tuple(_KINDS.renamed_kinds), tuple(_KINDS.added_kinds)
PLURAL = {kind: k["plural"] for kind, k in {**_KINDS.added_kinds, **_KINDS.renamed_kinds}.items()}


def counted(kind: str, n: int) -> str:
    return f"{n} {kind if n == 1 else PLURAL[kind]}"
