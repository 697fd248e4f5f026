"""Daily totals of completed jobs (`job_totals`), kept up to date as jobs are written: what health reports sum for
queue times and minutes without reading every job of a window.

A job is counted once: its id goes into `job_totals_counted` in the same transaction, and only the ids that
insert adds (whoever writes the completion first, however often it is delivered) are added to the totals.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import schema
from bot.store.database import dialect_insert


def queue_bucket(seconds: int) -> int:
    """Whole seconds below 100 s; from 100 s on, two significant digits, rounded down (within 10 %)."""
    if seconds < 100:
        return seconds
    scale = 10 ** (len(str(seconds)) - 2)
    return seconds // scale * scale


def billed_minutes(seconds: int) -> int:
    """A job's run time as GitHub bills it: rounded up to a whole minute."""
    return (seconds + 59) // 60


def countable(row: Mapping[str, Any]) -> bool:
    """A job row whose completion the totals count: completed, with its queue and run times known."""
    return (
        row["status"] == "completed"
        and row["created_at"] is not None
        and row["queue_seconds"] is not None
        and row["duration_seconds"] is not None
    )


async def count_completed_jobs(connection: AsyncConnection, rows: Iterable[Mapping[str, Any]]) -> None:
    """Add the completed jobs among `rows` (job rows as the store writes them) that are not counted yet."""
    done = {row["id"]: row for row in rows if countable(row)}
    if not done:
        return
    counted = schema.job_totals_counted
    marker = (
        dialect_insert(connection.dialect.name, counted)
        .on_conflict_do_nothing(index_elements=["job_id"])
        .returning(counted.c.job_id)
    )
    fresh = set((await connection.execute(marker, [{"job_id": job_id} for job_id in sorted(done)])).scalars())
    totals: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    for job_id in fresh:
        row = done[job_id]
        key = (
            row["repository_id"],
            row["created_at"].astimezone(UTC).date(),
            row["workflow_name"] or "",
            json.dumps(list(row["labels"])),
            row["run_attempt"] > 1,
            queue_bucket(row["queue_seconds"]),
        )
        total = totals[key]
        total[0] += 1
        total[1] += row["duration_seconds"]
        total[2] += billed_minutes(row["duration_seconds"])
    if not totals:
        return
    table = schema.job_totals
    insert = dialect_insert(connection.dialect.name, table)
    statement = insert.on_conflict_do_update(
        index_elements=[column.name for column in table.primary_key],
        set_={
            "jobs": table.c.jobs + insert.excluded.jobs,
            "seconds": table.c.seconds + insert.excluded.seconds,
            "billed_minutes": table.c.billed_minutes + insert.excluded.billed_minutes,
        },
    )
    names = ("repository_id", "day", "workflow_name", "labels", "rerun", "queue_seconds")
    values = [
        {**dict(zip(names, key, strict=True)), "jobs": jobs, "seconds": seconds, "billed_minutes": billed}
        for key, (jobs, seconds, billed) in sorted(totals.items(), key=lambda item: str(item[0]))
    ]  # one order for every writer: concurrent transactions lock the rows in the same order
    await connection.execute(statement, values)
