"""merge-prepare: copy the merges' legacy rows ahead of the migration, in batches, each its own
short transaction, so that migrate's lock covers only what changed since (pgrename/merges.py)."""
from __future__ import annotations

import logging
import time

from psycopg.rows import dict_row
from tqdm import tqdm

from .. import json_output, merges
from .. import plan as plans
from ..errors import EXIT_OK, Failure, UsageError
from ..execute import Context, StepFailed, apply, record, run
from ..render import Script, render
from .renaming import catalog_plan, write

log = logging.getLogger("pgrename")


def cmd_merge_prepare(ctx: Context, batch_size: int = 10000, pause: float = 0.0, batches: int | None = None,
                      undo: bool = False, as_json: bool = False) -> int:
    """Install the capture triggers (once), then copy batch after batch until every merge is copied
    or `batches` ran; with undo, delete what was copied ahead and remove the triggers."""
    config = ctx.config
    if not config.merges:
        raise UsageError(f"{config.path} has no merges: nothing to copy ahead")
    if batch_size < 1 or pause < 0 or (batches is not None and batches < 1):
        raise UsageError("--batch-size and --batches must be at least 1, --pause not negative")
    status = plans.recorded_status(ctx.conn, config.migration)
    if status and status["status"] == "applied":
        log.info("migration %s is applied: its merges ran inside it, and `make rollback` undoes them; "
                 "nothing to %s", config.migration, "cancel" if undo else "copy ahead")
        return EXIT_OK
    plan = catalog_plan(ctx)
    prepared = merges.contexts(config, plan.renames)
    progress = merges.progress(ctx.conn, config.migration)
    context = plan.context(batch_size=batch_size)
    if undo:
        return cancel(ctx, context, [m for m in prepared if m["merged_from"] in progress])
    to_install = [m for m in prepared if m["merged_from"] not in progress]
    if to_install:
        script = Script((render("sql/merge_prepare/capture.sql.j2", context | {"merges": to_install}),))
        write("merge-prepare.sql", script)
        log.info("capture triggers on %s: every change from now on is recorded for migrate",
                 ", ".join(m["source"] for m in to_install))
        apply(ctx, script, "merge_prepare_failed", config.migration)
    report = [copy(ctx, context, m, pause, batches) for m in prepared]
    record(ctx.conn, "merge_prepared", config.migration, None, {"merges": report})
    if as_json:
        json_output.emit("merge-prepare", {"migration": config.migration, "merges": report})
    if all(r["finished"] for r in report):
        log.info("every merge is copied ahead; migrate applies only what changes from now on, inside its lock. "
                 "`make merge-prepare UNDO=1` cancels it.")
    else:
        log.info("stopped after --batches; `make merge-prepare` again goes on where this stopped.")
    return EXIT_OK


def copy(ctx: Context, context: dict, merge: dict, pause: float, batches: int | None) -> dict:
    """One merge's batches, each committed on its own, until its legacy table is read or `batches` ran."""
    script = Script((render("sql/merge_prepare/copy_batch.sql.j2", context | {"m": merge}),))
    write(f"merge-prepare-batch-{merge['merged_from']}.sql", script)
    state = _state(ctx, merge)
    ran = 0
    with tqdm(desc=f"{merge['source']} into {merge['into']}", total=state["pages"], initial=state["next_page"],
              unit="page", leave=False, disable=None) as bar:
        while not state["finished_at"] and (batches is None or ran < batches):
            try:
                with ctx.conn.transaction():
                    run(ctx.conn, script.runnable(), quiet=True)
            except StepFailed as failed:
                raise Failure(f"merge-prepare of {merge['source']} into {merge['into']}: {failed.report()}\n"
                              "the batches before this one are committed; run it again to go on",
                              failed.exit_code()) from None
            ran += 1
            state = _state(ctx, merge)
            bar.total = max(state["pages"], state["next_page"])
            bar.update(state["next_page"] - bar.n)
            if pause and not state["finished_at"]:
                time.sleep(pause)  # the DBA's breathing room for the server between batches
    if state["finished_at"] and ran:
        with ctx.conn.transaction():
            run(ctx.conn, [render("sql/merge_prepare/analyze.sql.j2", context | {"m": merge})], quiet=True)
    log.info("%s into %s: %s legacy row(s) read, %s copied (a key there already is left as it is), %s batch(es)%s",
             merge["source"], merge["into"], f"{state['rows_read']:,}", f"{state['rows_copied']:,}", state["batches"],
             ", finished" if state["finished_at"] else f", {state['pages'] - state['next_page']:,} page(s) to go")
    return {"merged_from": merge["source"], "into": merge["into"], "rows_read": state["rows_read"],
            "rows_copied": state["rows_copied"], "batches": state["batches"], "finished": bool(state["finished_at"])}


def _state(ctx: Context, merge: dict) -> dict:
    with ctx.conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT p.*, pg_relation_size(to_regclass(format('%%I.%%I', %s::text, %s::text)))"
            " / current_setting('block_size')::integer AS pages"
            " FROM pgrename.merge_progress AS p WHERE p.migration = %s AND p.merged_from = %s",
            (merge["schema"], merge["source"], ctx.config.migration, merge["merged_from"])).fetchone()


def cancel(ctx: Context, context: dict, present: list[dict]) -> int:
    if not present:
        log.info("no merge of migration %s is copied ahead; nothing to cancel", ctx.config.migration)
        return EXIT_OK
    script = Script((render("rollback/merge_prepare/capture.sql.j2", context | {"merges": present}),))
    write("merge-prepare-undo.sql", script)
    apply(ctx, script, "merge_prepare_failed", ctx.config.migration)
    log.info("cancelled: the rows copied ahead into %s are deleted, the capture triggers removed",
             ", ".join(m["into"] for m in present))
    return EXIT_OK
