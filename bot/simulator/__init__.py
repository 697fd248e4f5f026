"""A local GitHub for tests and demos: REST API per GitHub's OpenAPI description and signed webhook deliveries."""

from bot.simulator.api import RecordedRequest
from bot.simulator.control import GitHubSimulator, new_app_private_key
from bot.simulator.faults import FaultInjector
from bot.simulator.state import (
    CheckRun,
    Installation,
    IssueComment,
    JobSpec,
    PullRequest,
    Repo,
    Review,
    StepSpec,
    Workflow,
    WorkflowRun,
)
from bot.simulator.webhooks import Delivery

__all__ = [
    "CheckRun",
    "Delivery",
    "FaultInjector",
    "GitHubSimulator",
    "Installation",
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
