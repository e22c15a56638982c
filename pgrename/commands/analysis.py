"""analyze: the read-only report before a rename (pgrename/analyze.py gathers it from sql/analysis/)."""
from __future__ import annotations

import logging
from pathlib import Path

from .. import analyze
from ..errors import EXIT_BLOCKERS, EXIT_CONFLICTS, EXIT_OK, UsageError
from ..execute import Context
from .renaming import said_already_applied

log = logging.getLogger("pgrename")


def cmd_analyze(ctx: Context, output: str = "text", exact: bool = False, write_config: Path | None = None) -> int:
    """The read-only report; exits 6 on conflicts (or anything plan's preflight would refuse), else 7 on
    blockers, so a pipeline can gate on it."""
    if said_already_applied(ctx, "analyze", as_json=output == "json"):
        return EXIT_OK
    report = analyze.collect(ctx.conn, ctx.config, exact)
    if output == "json":
        print(analyze.as_json(report))
    elif output == "markdown":
        print(analyze.as_text(report, markdown=True).rstrip())
    else:
        log.info("%s", analyze.as_text(report).rstrip())
    if write_config:
        try:
            analyze.write_config(write_config, analyze.starter_config(report, ctx.config))
        except FileExistsError:
            raise UsageError(f"{write_config} exists already; choose another name (it is never overwritten)") from None
        log.warning("wrote a starter config to %s: review it, then `runner.py --config %s plan`",
                    write_config, write_config)
    if report["summary"]["conflicts"] or report["summary"]["preflight_problems"]:
        return EXIT_CONFLICTS
    return EXIT_BLOCKERS if report["summary"]["blockers"] else EXIT_OK
