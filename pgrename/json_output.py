"""What every --json output shares, so that a pipeline reads them all the same way:

    {"format_version": 1, "command": "plan", ...what the command answers...}
    {"format_version": 1, "command": "plan", "error": {"exit_code": 3, "message": "..."}}   on failure

Timestamps are ISO 8601 in UTC (2026-11-25T08:58:14Z). The shape of each command's answer is a
JSON Schema beside this module, in pgrename/reports/<command>.schema.json (error.schema.json for
failures); the tests validate real outputs against them."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

FORMAT_VERSION = 1


def iso_utc(moment: datetime | float | None = None) -> str:
    """A time (a datetime, a POSIX timestamp, or now) as ISO 8601 UTC with a Z."""
    if moment is None:
        moment = datetime.now(timezone.utc)
    elif isinstance(moment, (int, float)):
        moment = datetime.fromtimestamp(moment, timezone.utc)
    elif moment.tzinfo is None:
        moment = moment.astimezone()  # a naive time is this machine's local time
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


def document(command: str, body: dict) -> str:
    return json.dumps({"format_version": FORMAT_VERSION, "command": command, **body}, indent=2,
                      default=_plain, ensure_ascii=False)


def emit(command: str, body: dict) -> None:
    """A command's answer on stdout."""
    print(document(command, body))


def emit_error(command: str, exit_code: int, message: str) -> None:
    """What a command that failed says on stdout in place of its answer."""
    emit(command, {"error": {"exit_code": exit_code, "message": message}})
