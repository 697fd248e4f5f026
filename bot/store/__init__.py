"""The history store: runs, jobs and steps of every repository, PR samples, what the App posted, backfill progress,
and the delivery journal; SQLite by default, PostgreSQL for several instances.

    store = await Store.open(database_url(os.environ.get("DATABASE_URL"), data_dir))
    await store.ingest([workflow_job_event(payload)])
"""

from bot.store.database import database_url
from bot.store.deliveries import (
    ClaimedDelivery,
    Deliveries,
    DeliveryJournal,
    DeliveryStatus,
    HandledDelivery,
    JournalEntry,
    JournalFull,
    LeaseLost,
    RetryPolicy,
)
from bot.store.github_records import (
    installation_record,
    repository_record,
    workflow_job_event,
    workflow_job_record,
    workflow_run_event,
    workflow_run_record,
)
from bot.store.records import (
    BackfillProgress,
    Installation,
    Repository,
    StoredRun,
    WorkflowJob,
    WorkflowJobEvent,
    WorkflowRun,
    WorkflowRunEvent,
)
from bot.store.sessions import SessionStore
from bot.store.store import AnnotationKey, Posted, RetentionResult, Store

__all__ = [
    "AnnotationKey",
    "BackfillProgress",
    "ClaimedDelivery",
    "Deliveries",
    "DeliveryJournal",
    "DeliveryStatus",
    "HandledDelivery",
    "Installation",
    "JournalEntry",
    "JournalFull",
    "LeaseLost",
    "Posted",
    "Repository",
    "RetentionResult",
    "RetryPolicy",
    "SessionStore",
    "Store",
    "StoredRun",
    "WorkflowJob",
    "WorkflowJobEvent",
    "WorkflowRun",
    "WorkflowRunEvent",
    "database_url",
    "installation_record",
    "repository_record",
    "workflow_job_event",
    "workflow_job_record",
    "workflow_run_event",
    "workflow_run_record",
]
