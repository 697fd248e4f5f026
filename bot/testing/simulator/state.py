"""In-memory model of the simulated GitHub: installations, repositories, commits, runs, PRs, checks."""

from __future__ import annotations

import difflib
import hashlib
import itertools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

CONCLUSIONS = ("success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required", "stale")


def utcnow() -> datetime:
    """The current time, timezone-aware and without microseconds (GitHub's resolution)."""
    return datetime.now(UTC).replace(microsecond=0)


def git_blob_sha(text: str) -> str:
    """The git blob id of a text file, as `git hash-object` computes it."""
    data = text.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Installation:
    id: int
    account: str
    account_type: str = "Organization"
    created_at: datetime = field(default_factory=utcnow)


@dataclass
class Commit:
    sha: str
    tree: dict[str, str]
    parent: str | None
    message: str
    author: str
    timestamp: datetime


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    default_branch: str
    installation_id: int | None
    created_at: datetime
    parent: Repo | None = None
    private: bool = False
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    collaborators: dict[str, str] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def resolve(self, ref: str) -> Commit | None:
        """The commit a branch name, `refs/heads/<b>` or (possibly abbreviated) sha points to."""
        ref = ref.removeprefix("refs/heads/")
        if ref in self.branches:
            return self.commits[self.branches[ref]]
        if ref in self.commits:
            return self.commits[ref]
        if len(ref) >= 7:
            matches = [c for sha, c in self.commits.items() if sha.startswith(ref)]
            if len(matches) == 1:
                return matches[0]
        return None

    def history(self, sha: str) -> list[str]:
        """Shas from `sha` back to the root commit."""
        shas = []
        current: str | None = sha
        while current is not None:
            shas.append(current)
            current = self.commits[current].parent
        return shas


@dataclass
class Workflow:
    id: int
    repo: Repo
    path: str
    name: str
    created_at: datetime
    state: str = "active"


@dataclass(frozen=True)
class StepSpec:
    """A step of a simulated job: name, duration in seconds and conclusion."""

    name: str
    duration: float = 10.0
    conclusion: str | None = "success"


@dataclass(frozen=True)
class JobSpec:
    """A simulated job: `queue` seconds waiting for a runner, then `duration` seconds of work."""

    name: str
    duration: float = 300.0
    queue: float = 5.0
    conclusion: str | None = "success"
    steps: Sequence[StepSpec] = ()
    status: str = "completed"
    labels: Sequence[str] = ("ubuntu-latest",)


@dataclass
class Step:
    name: str
    number: int
    status: str
    conclusion: str | None
    started_at: datetime | None
    completed_at: datetime | None


@dataclass
class Job:
    id: int
    run_id: int
    run_attempt: int
    name: str
    status: str
    conclusion: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    steps: list[Step]
    labels: list[str]


@dataclass
class RunAttempt:
    number: int
    run_started_at: datetime
    status: str
    conclusion: str | None
    updated_at: datetime
    jobs: list[Job]
    triggering_actor: str


@dataclass
class WorkflowRun:
    id: int
    repo: Repo
    workflow: Workflow
    run_number: int
    head_sha: str
    head_branch: str | None
    head_repo: Repo
    event: str
    actor: str
    created_at: datetime
    display_title: str
    attempts: list[RunAttempt]
    inputs: dict[str, str] = field(default_factory=dict)  # of a workflow_dispatch run

    @property
    def latest(self) -> RunAttempt:
        return self.attempts[-1]

    def attempt(self, number: int) -> RunAttempt | None:
        return next((a for a in self.attempts if a.number == number), None)


@dataclass
class PullRequest:
    id: int
    number: int
    repo: Repo
    head_repo: Repo
    head_branch: str
    base_branch: str
    title: str
    body: str | None
    user: str
    created_at: datetime
    updated_at: datetime
    head_sha: str
    base_sha: str
    state: str = "open"
    draft: bool = False
    merged: bool = False
    closed_at: datetime | None = None
    commit_shas: list[str] = field(default_factory=list)


@dataclass
class IssueComment:
    id: int
    repo: Repo
    issue_number: int
    body: str
    user: str
    created_at: datetime
    updated_at: datetime


@dataclass
class Label:
    id: int
    name: str
    color: str
    description: str | None


@dataclass
class Issue:
    """An issue (not a pull request: those live in `SimState.pulls` and share the numbering)."""

    id: int
    number: int
    repo: Repo
    title: str
    body: str | None
    user: str
    labels: list[str]
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    state_reason: str | None = None
    closed_at: datetime | None = None


@dataclass
class Annotation:
    path: str
    start_line: int
    end_line: int
    annotation_level: str
    message: str
    title: str | None = None
    raw_details: str | None = None
    start_column: int | None = None
    end_column: int | None = None


@dataclass
class CheckRun:
    id: int
    repo: Repo
    head_sha: str
    name: str
    app_id: int
    status: str
    conclusion: str | None
    started_at: datetime | None
    completed_at: datetime | None
    details_url: str | None
    external_id: str | None
    output: dict[str, str | None]
    annotations: list[Annotation] = field(default_factory=list)


@dataclass
class ReviewComment:
    id: int
    review_id: int
    repo: Repo
    pull_number: int
    path: str
    line: int | None
    side: str
    start_line: int | None
    start_side: str | None
    body: str
    commit_id: str
    diff_hunk: str
    user: str
    created_at: datetime


@dataclass
class Review:
    id: int
    repo: Repo
    pull_number: int
    user: str
    body: str
    state: str
    commit_id: str
    submitted_at: datetime | None
    comment_ids: list[int]


@dataclass
class Reaction:
    id: int
    user: str
    content: str
    created_at: datetime


#: The jobs a dispatched run plays, from its inputs; None: the run is never picked up (stays queued).
DispatchScript = Callable[[dict[str, str]], Sequence[JobSpec] | None]


@dataclass
class InstallationToken:
    token: str
    installation_id: int
    expires_at: datetime
    revoked: bool = False


@dataclass(frozen=True)
class FileChange:
    """One entry of a pull request's file list, computed from two trees."""

    filename: str
    status: str
    additions: int
    deletions: int
    patch: str | None
    sha: str
    previous_filename: str | None = None


def unified_patch(old: str, new: str) -> str:
    """GitHub's `patch` field: unified diff hunks (3 lines of context) without the file header lines."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=3)
    return "\n".join(line for line in itertools.islice(lines, 2, None))


def diff_trees(base: dict[str, str], head: dict[str, str]) -> list[FileChange]:
    """Files changed between two trees, sorted by name; a removed+added pair with equal content is a rename."""
    removed = {p: base[p] for p in base.keys() - head.keys()}
    added = {p: head[p] for p in head.keys() - base.keys()}
    changes: list[FileChange] = []
    for path in sorted(added):
        source = next((old for old, text in sorted(removed.items()) if text == added[path]), None)
        if source is not None:
            del removed[source]
            changes.append(FileChange(path, "renamed", 0, 0, None, git_blob_sha(head[path]), source))
        else:
            changes.append(_change(path, "added", "", head[path], git_blob_sha(head[path])))
    for path in sorted(removed):
        changes.append(_change(path, "removed", base[path], "", git_blob_sha(base[path])))
    for path in sorted(base.keys() & head.keys()):
        if base[path] != head[path]:
            changes.append(_change(path, "modified", base[path], head[path], git_blob_sha(head[path])))
    return sorted(changes, key=lambda c: c.filename)


def _change(path: str, status: str, old: str, new: str, sha: str) -> FileChange:
    patch = unified_patch(old, new)
    body = patch.splitlines()
    additions = sum(1 for line in body if line.startswith("+"))
    deletions = sum(1 for line in body if line.startswith("-"))
    return FileChange(path, status, additions, deletions, patch, sha)


def commentable_lines(patch: str | None) -> dict[str, set[int]]:
    """Line numbers a review comment may target in a patch: `RIGHT` (new file) and `LEFT` (old file)."""
    sides: dict[str, set[int]] = {"RIGHT": set(), "LEFT": set()}
    old_line = new_line = 0
    for line in (patch or "").splitlines():
        if line.startswith("@@"):
            old_part, new_part = line.split(" ")[1:3]
            old_line = int(old_part[1:].split(",")[0])
            new_line = int(new_part[1:].split(",")[0])
        elif line.startswith("+"):
            sides["RIGHT"].add(new_line)
            new_line += 1
        elif line.startswith("-"):
            sides["LEFT"].add(old_line)
            old_line += 1
        else:
            sides["RIGHT"].add(new_line)
            sides["LEFT"].add(old_line)
            old_line += 1
            new_line += 1
    return sides


def hunk_for_line(patch: str, line: int, side: str) -> str:
    """The part of `patch` from its hunk header down to `line` (GitHub's `diff_hunk` of a comment)."""
    result: list[str] = []
    old_line = new_line = 0
    for text in patch.splitlines():
        if text.startswith("@@"):
            result = [text]
            old_part, new_part = text.split(" ")[1:3]
            old_line = int(old_part[1:].split(",")[0])
            new_line = int(new_part[1:].split(",")[0])
            continue
        result.append(text)
        current = old_line if side == "LEFT" else new_line
        if text.startswith("+"):
            new_line += 1
        elif text.startswith("-"):
            old_line += 1
        else:
            old_line += 1
            new_line += 1
        if (
            current == line
            and not (side == "RIGHT" and text.startswith("-"))
            and not (side == "LEFT" and text.startswith("+"))
        ):
            return "\n".join(result)
    return "\n".join(result)


def job_from_spec(spec: JobSpec, job_id: int, run_id: int, attempt: int, created_at: datetime) -> Job:
    """A job whose timestamps follow from `created_at`, the queue time and the step/job durations."""
    if spec.status == "queued":
        return Job(job_id, run_id, attempt, spec.name, "queued", None, created_at, None, None, [], list(spec.labels))
    started = created_at + timedelta(seconds=spec.queue)
    steps: list[Step] = []
    cursor = started
    for number, step in enumerate(spec.steps, start=1):
        end = cursor + timedelta(seconds=step.duration)
        if spec.status == "completed":
            steps.append(Step(step.name, number, "completed", step.conclusion, cursor, end))
        else:
            steps.append(Step(step.name, number, "in_progress", None, cursor, None))
            break
        cursor = end
    labels = list(spec.labels)
    if spec.status != "completed":
        return Job(job_id, run_id, attempt, spec.name, spec.status, None, created_at, started, None, steps, labels)
    completed = started + timedelta(seconds=spec.duration)
    return Job(
        job_id, run_id, attempt, spec.name, "completed", spec.conclusion, created_at, started, completed, steps, labels
    )


def run_conclusion(jobs: list[Job]) -> str | None:
    """A completed run's conclusion from its jobs: failure beats cancelled beats success."""
    conclusions = {job.conclusion for job in jobs}
    for worst in ("failure", "timed_out", "cancelled", "action_required"):
        if worst in conclusions:
            return "failure" if worst == "timed_out" else worst
    if conclusions and conclusions <= {"skipped"}:
        return "skipped"
    return "success"


def run_status(jobs: list[Job]) -> str:
    """A run's status from its jobs."""
    if not jobs or all(job.status == "queued" for job in jobs):
        return "queued"
    if all(job.status == "completed" for job in jobs):
        return "completed"
    return "in_progress"


def matches_created(created_at: datetime, query: str) -> bool:
    """GitHub's `created` search qualifier: `>=`, `<=`, `>`, `<`, `a..b` or a bare date/time."""

    def parse(text: str, end_of_day: bool = False) -> datetime:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        if end_of_day and "T" not in text:
            value += timedelta(days=1) - timedelta(seconds=1)
        return value

    comparisons = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
    for symbol, compare in comparisons.items():
        if query.startswith(symbol):
            return compare(created_at, parse(query[len(symbol) :], end_of_day=symbol in ("<=", ">")))
    if ".." in query:
        low, high = query.split("..", 1)
        return (low == "*" or created_at >= parse(low)) and (high == "*" or created_at <= parse(high, end_of_day=True))
    return parse(query) <= created_at <= parse(query, end_of_day=True)


class IdSequence:
    """Increasing ids per kind of object, far apart so that ids of different kinds never look alike."""

    def __init__(self) -> None:
        self._counters: dict[str, itertools.count[int]] = {}

    def next(self, kind: str, start: int) -> int:
        counter = self._counters.setdefault(kind, itertools.count(start))
        return next(counter)


@dataclass(frozen=True)
class HookDelivery:
    """GitHub's record of one delivery to the App's webhook (what `GET /app/hook/deliveries` lists)."""

    id: int
    guid: str
    event: str
    action: str | None
    installation_id: int | None
    repository_id: int | None
    delivered_at: datetime
    redelivery: bool
    duration: float
    status_code: int  # 0: no answer
    status: str  # "OK", "Invalid HTTP Response: 503", "failed to connect to host", ...


@dataclass
class SimState:
    """Everything the simulated GitHub knows. Mutated only through the simulator's control API and REST routes."""

    app_id: int
    ids: IdSequence = field(default_factory=IdSequence)
    installations: dict[int, Installation] = field(default_factory=dict)
    repos: dict[str, Repo] = field(default_factory=dict)
    workflows: dict[int, Workflow] = field(default_factory=dict)
    runs: dict[int, WorkflowRun] = field(default_factory=dict)
    pulls: dict[tuple[str, int], PullRequest] = field(default_factory=dict)
    comments: dict[int, IssueComment] = field(default_factory=dict)
    issues: dict[tuple[str, int], Issue] = field(default_factory=dict)
    labels: dict[str, dict[str, Label]] = field(default_factory=dict)  # repository → lower-cased name → label
    check_runs: dict[int, CheckRun] = field(default_factory=dict)
    reviews: dict[int, Review] = field(default_factory=dict)
    review_comments: dict[int, ReviewComment] = field(default_factory=dict)
    tokens: dict[str, InstallationToken] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)
    issue_numbers: dict[str, int] = field(default_factory=dict)
    reactions: dict[int, list[Reaction]] = field(default_factory=dict)  # by comment id
    #: How dispatched runs of a workflow (by id) play: jobs per leg's inputs; None: the run never starts.
    dispatch_scripts: dict[int, DispatchScript] = field(default_factory=dict)
    rerunning: set[int] = field(default_factory=set)  # runs whose re-run was asked for and has not started yet
    run_details: bool = True  # dispatches answer the run's id (GitHub since 2026); False: 204, as older servers
    hook_deliveries: list[HookDelivery] = field(default_factory=list)

    def user_id(self, login: str) -> int:
        if login not in self.user_ids:
            self.user_ids[login] = self.ids.next("user", 1001)
        return self.user_ids[login]

    def next_issue_number(self, repo: Repo) -> int:
        self.issue_numbers[repo.full_name] = self.issue_numbers.get(repo.full_name, 0) + 1
        return self.issue_numbers[repo.full_name]

    def commit(
        self,
        repo: Repo,
        branch: str,
        files: dict[str, str],
        message: str,
        deleted: tuple[str, ...] | list[str] = (),
        author: str = "octocat",
        timestamp: datetime | None = None,
    ) -> Commit:
        """Add a commit on top of `branch` (created from the default branch when new) and move the branch."""
        parent_sha = repo.branches.get(branch) or repo.branches.get(repo.default_branch)
        tree = dict(repo.commits[parent_sha].tree) if parent_sha else {}
        tree.update(files)
        for path in deleted:
            tree.pop(path, None)
        serial = self.ids.next("commit", 1)
        digest = hashlib.sha1(f"{repo.full_name}\n{parent_sha}\n{serial}\n{message}\n{sorted(tree.items())}".encode())
        commit = Commit(digest.hexdigest(), tree, parent_sha, message, author, timestamp or utcnow())
        repo.commits[commit.sha] = commit
        repo.branches[branch] = commit.sha
        return commit

    def repos_of(self, installation_id: int) -> list[Repo]:
        return [repo for repo in self.repos.values() if repo.installation_id == installation_id]

    def pulls_of(self, repo: Repo) -> list[PullRequest]:
        return [pr for (name, _), pr in self.pulls.items() if name == repo.full_name]

    def pulls_matching(self, repo: Repo, head_repo: Repo, head_sha: str, head_branch: str | None) -> list[PullRequest]:
        """Open PRs GitHub lists in a run's or check run's `pull_requests`: same repository, matching head.

        GitHub leaves the list empty when the head is in a fork."""
        if head_repo is not repo:
            return []
        return [
            pr
            for pr in self.pulls_of(repo)
            if pr.state == "open"
            and pr.head_repo is repo
            and (pr.head_sha == head_sha or pr.head_branch == head_branch)
        ]

    def pull_files(self, pr: PullRequest) -> list[FileChange]:
        base_tree = pr.repo.commits[pr.base_sha].tree
        head_tree = pr.head_repo.commits[pr.head_sha].tree
        return diff_trees(base_tree, head_tree)
