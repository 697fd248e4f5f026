"""`ci-orchestrator status`: what the history store holds, how far each backfill has come, and the deliveries.

Reads the store named by `DATABASE_URL` / `DATA_DIR` (as `serve` does) and nothing else: no GitHub call.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.app.settings import SettingsError, store_url_from_environment
from bot.store import Store
from bot.store.database import schema_revision

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
SHOWN_UNFINISHED = 20


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


async def report(url: str) -> list[str]:
    store = await Store.open(url)
    try:
        shown = make_url(url).render_as_string(hide_password=True)
        lines = [f"store: {shown} (schema {await schema_revision(store.engine)})"]
        counts = await store.counts()
        lines.append(
            "history: {repositories} repositories, {runs} run attempts, {jobs} jobs, {steps} steps, "
            "{pr_samples} pull-request samples".format(**counts)
        )
        names = {repository.id: repository.full_name for repository in await store.repositories()}
        backfills = await store.all_backfills()
        lines.append(f"backfills: {len(backfills)}" + ("" if backfills else " (none yet)"))
        for progress in sorted(backfills, key=lambda p: names.get(p.repository_id, "")):
            name = names.get(progress.repository_id, f"repository {progress.repository_id}")
            if progress.finished_at is not None:
                state = f"finished {_when(progress.finished_at)}"
            else:
                reached = progress.cursor or "the newest runs"
                state = f"in progress since {_when(progress.started_at)}, back to {reached}"
            lines.append(
                f"  {name}: {state}; {progress.runs_fetched} runs on {progress.branch} since {_when(progress.since)}"
            )
        states = await store.deliveries.counts()
        lines.append(
            "deliveries: "
            + ", ".join(f"{states.get(state, 0)} {state}" for state in ("queued", "running", "done", "failed"))
        )
        unfinished = await store.deliveries.unfinished()
        for delivery in unfinished[:SHOWN_UNFINISHED]:
            event = f"{delivery.event}.{delivery.action}" if delivery.action else delivery.event
            lines.append(
                f"  {delivery.delivery_id} {event} {delivery.repository or '-'}: {delivery.state}, "
                f"{delivery.attempts} attempts, next {_when(delivery.next_attempt_at)}"
                + (f", last error: {delivery.error.splitlines()[0][:120]}" if delivery.error else "")
            )
        if len(unfinished) > SHOWN_UNFINISHED:
            lines.append(f"  … and {len(unfinished) - SHOWN_UNFINISHED} more")
        return lines
    finally:
        await store.close()


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="ci-orchestrator status", description=__doc__.split("\n\n")[0])
    try:
        parser.parse_args(list(argv))
    except SystemExit as exit_request:
        return int(exit_request.code or 0)
    try:
        url = store_url_from_environment()
    except SettingsError as error:
        print(f"ci-orchestrator status: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").exists():
        print(f"ci-orchestrator status: no store at {parsed.database} yet (the App creates it when it starts)")
        return EXIT_FAILED
    try:
        lines = asyncio.run(report(url))
    except (OSError, SQLAlchemyError) as error:
        print(f"ci-orchestrator status: the store cannot be read: {error}", file=sys.stderr)
        return EXIT_FAILED
    print("\n".join(lines))
    return EXIT_OK
