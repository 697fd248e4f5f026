"""A local GitHub for tests and demos: REST API per GitHub's OpenAPI description and signed webhook deliveries."""

from bot.testing.simulator.api import RecordedRequest
from bot.testing.simulator.control import GitHubSimulator, new_app_private_key
from bot.testing.simulator.faults import FaultInjector
from bot.testing.simulator.state import (
    CheckRun,
    Installation,
    Issue,
    IssueComment,
    JobSpec,
    PullRequest,
    Repo,
    Review,
    StepSpec,
    Workflow,
    WorkflowRun,
)
from bot.testing.simulator.webhooks import Delivery

__all__ = [
    "CheckRun",
    "Delivery",
    "FaultInjector",
    "GitHubSimulator",
    "Installation",
    "Issue",
    "IssueComment",
    "JobSpec",
    "PullRequest",
    "RecordedRequest",
    "Repo",
    "Review",
    "StepSpec",
    "Workflow",
    "WorkflowRun",
    "new_app_private_key",
]
