"""Speed analyzer: workflow habits that waste CI minutes, each with its rationale and, where mechanical, the fix.

Rules (all on workflow files):
- ``speed/missing-cache`` (notice): setup-python/node/java (and setup-go before v4, which did not cache by
  default) without a ``cache`` input in a job that installs dependencies and has no actions/cache step. Quiet when
  caching was turned off on purpose (``cache: false``, ``package-manager-cache: false``, ``pip --no-cache-dir``),
  in release and publish workflows and jobs (a restored cache there is a cache-poisoning risk), and when the setup
  step runs before the checkout (its cache needs the lock file).
- ``speed/no-concurrency``: a pull_request workflow with no workflow-level ``concurrency`` (or one
  without ``cancel-in-progress``), so superseded pushes keep running. The suggested group names the file, so it
  cannot be the caller's group when the workflow is also ``workflow_call``-ed (that would deadlock).
- ``speed/missing-timeout``: jobs without ``timeout-minutes`` run up to GitHub's 6-hour default when
  they hang; one notice per file, at the first such job (with the fix for it), names them all. The suggested
  value is 3× the job's median duration from run history (at least 10 minutes, rounded up to 5), or 60 minutes
  when there is no history.
- ``speed/full-history-checkout``: ``fetch-depth: 0`` in a job where nothing hints at needing history
  (git describe/log/tag/diff, setuptools-scm, semantic-release, changelogs, changed-files, ...); not for
  checkouts of another repository (what reads their history is out of sight).
- ``speed/no-path-filter``: a heavy workflow on ``pull_request`` without ``paths``/``paths-ignore``.
  Heavy means at least ``HEAVY_JOB_COUNT`` jobs or one matrix of at least ``HEAVY_MATRIX_LEGS`` legs, counting
  only jobs that always run: jobs gated by ``if:`` are not counted, and a workflow with a changes-detection job
  (paths-filter, changed-files, ``git diff --name-only``) already filters.
- ``speed/matrix-duplicated-setup``: a build step in a matrix job that runs identically in every leg
  because neither the runner, the container, the job env nor any step up to it refers to the matrix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ruamel.yaml.comments import CommentedMap

from bot.review.model import Finding, Fix, Level, ReviewContext, SourceFile
from bot.review.yaml_lines import (
    job_steps,
    key_position,
    parse_yaml,
    step_action,
    step_display_name,
    step_ref,
    value_position,
    workflow_jobs,
)

HEAVY_JOB_COUNT = 3
HEAVY_MATRIX_LEGS = 4
DEFAULT_TIMEOUT_MINUTES = 60
MIN_TIMEOUT_MINUTES = 10
TIMEOUT_HISTORY_FACTOR = 3

INSTALL_PATTERNS = {
    "python": re.compile(r"\b(pip3?|uv pip|poetry|pipenv|pdm|uv)\s+(install|sync)\b"),
    "node": re.compile(
        r"\b(npm\s+(ci|install|i)\b|yarn(\s+install\b|\s+--(frozen-lockfile|immutable)|\s*$)|pnpm\s+(install|i)\b)"
    ),
    "java": re.compile(r"(\bmvnw?\b|\bgradlew?\b|\bsbt\b)"),
    "go": re.compile(r"\bgo\s+(mod\s+download|build|test|install|get|vet)\b"),
}
GLOBAL_INSTALL = re.compile(r"(\s-g\b|--global\b|\bpip3?\s+install\s+(-U\s+|--upgrade\s+)?pip\b)")
SETUP_ACTIONS = {
    "actions/setup-python": "python",
    "actions/setup-node": "node",
    "actions/setup-java": "java",
    "actions/setup-go": "go",
}
CACHE_ACTIONS = ("actions/cache", "actions/cache/restore")
CACHE_INPUTS = ("cache", "cache-dependency-path", "package-manager-cache")
NO_CACHE_INSTALL = re.compile(r"--no-cache(-dir)?\b|PIP_NO_CACHE_DIR|UV_NO_CACHE")
RELEASE_WORDS = re.compile(r"release|publish|deploy", re.IGNORECASE)
PUBLISH_STEP = re.compile(
    r"\b(npm|pnpm|yarn)\s+publish\b|\btwine\s+upload\b|\bcargo\s+publish\b|\bgh\s+release\b"
    r"|\bpoetry\s+publish\b|\buv\s+publish\b|\bgoreleaser\b|pypi-publish|changesets/action|semantic-release"
)
CHANGES_DETECTION = re.compile(
    r"paths-filter|changed-files|git\s+diff\s+[^\n]*--name-only|nx\s+affected|turbo.*--filter"
)
HISTORY_HINTS = (
    "git describe",
    "git log",
    "git tag",
    "git rev-list",
    "git merge-base",
    "git diff",
    "git fetch",
    "git rev-parse",
    "git blame",
    "git shortlog",
    "git show",
    "git cherry",
    "git rebase",
    "git merge",
    "git push",
    "git checkout",
    "setuptools-scm",
    "setuptools_scm",
    "hatch-vcs",
    "versioneer",
    "semantic-release",
    "changelog",
    "changeset",
    "lerna",
    "release",
    "gitversion",
    "nx affected",
    "nx-set-shas",
    "--since",
    "changed-files",
    "paths-filter",
    "gitleaks",
    "trufflehog",
    "sonar",
    "danger",
    "commitlint",
    "git-cliff",
    "nbgv",
    "codecov",
    "...[",
)
BUILD_PATTERN = re.compile(
    r"\b(npm\s+run\s+build|pnpm\s+(run\s+)?build|yarn\s+(run\s+)?build|cargo\s+build|go\s+build|make\b"
    r"|cmake\s+--build|python\s+-m\s+build|tsc\b|gradlew?\s+(build|assemble)|mvnw?\s+(package|install|compile)"
    r"|bazel\s+build|turbo\s+(run\s+)?build|nx\s+(run-many|build))"
)


def concurrency_block(path: str) -> str:
    """A workflow-level concurrency block whose group names this file.

    ``github.workflow`` alone is the *caller's* name inside a ``workflow_call``-ed workflow, so a group made of it
    equals the caller's group and the two wait on each other; the file's own name keeps the groups apart.
    """
    stem = re.sub(r"[^A-Za-z0-9_.-]", "-", path.rsplit("/", 1)[-1].rsplit(".", 1)[0])
    return (
        "concurrency:\n"
        f"  group: ${{{{ github.workflow }}}}-{stem}-${{{{ github.event.pull_request.number || github.ref }}}}\n"
        "  cancel-in-progress: ${{ github.event_name == 'pull_request' }}"
    )


class SpeedAnalyzer:
    """Finds slow CI habits in workflow files and says how to fix them."""

    name = "speed"

    def analyze(self, files: Sequence[SourceFile], context: ReviewContext) -> list[Finding]:
        findings: list[Finding] = []
        for source in files:
            if source.kind != "workflow":
                continue
            parsed = parse_yaml(source.text)
            if parsed.problem is not None or not isinstance(parsed.data, CommentedMap):
                continue
            workflow = Workflow(source.path, parsed.data, parsed.lines, context.step_timings)
            findings.extend(workflow.missing_cache())
            findings.extend(workflow.no_concurrency())
            findings.extend(workflow.missing_timeout())
            findings.extend(workflow.full_history_checkout())
            findings.extend(workflow.no_path_filter())
            findings.extend(workflow.matrix_duplicated_setup())
        return findings


def format_duration(seconds: float) -> str:
    """``130`` → ``2m10s``; ``45`` → ``45s``; ``3900`` → ``1h05m``."""
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m{total % 60:02d}s"
    return f"{total // 3600}h{total % 3600 // 60:02d}m"


def plural(count: int, noun: str) -> str:
    """``1 job``, ``3 jobs``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def triggers(data: Mapping[str, Any]) -> dict[str, Any]:
    """The workflow's events and their settings, whichever way ``on`` is written."""
    on = data.get("on")
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return {str(event): None for event in on}
    if isinstance(on, dict):
        return {str(event): settings for event, settings in on.items()}
    return {}


def matrix_legs(job: Mapping[str, Any]) -> int | None:
    """How many legs a job's matrix has: 1 without a matrix, None when it is computed at run time.

    Legs = product of the list-valued axes, minus ``exclude`` entries; ``include`` entries count as
    legs only when there are no axes (otherwise they usually extend existing legs).
    """
    strategy = job.get("strategy")
    if not isinstance(strategy, dict) or "matrix" not in strategy:
        return 1
    matrix = strategy["matrix"]
    if not isinstance(matrix, dict):
        return None
    axes = [value for key, value in matrix.items() if key not in ("include", "exclude")]
    if any(not isinstance(axis, list) for axis in axes):
        return None
    include: list[Any] = matrix["include"] if isinstance(matrix.get("include"), list) else []
    exclude: list[Any] = matrix["exclude"] if isinstance(matrix.get("exclude"), list) else []
    if not axes:
        return max(len(include), 1)
    return max(math.prod(len(axis) for axis in axes) - len(exclude), 1)


def text_of(node: Any) -> str:
    """All scalars of a node joined, lower-cased, for keyword searches."""
    if isinstance(node, dict):
        return " ".join(f"{key} {text_of(value)}" for key, value in node.items()).lower()
    if isinstance(node, list):
        return " ".join(text_of(item) for item in node)
    return "" if node is None else str(node).lower()


def refers_to_matrix(node: Any) -> bool:
    """Whether a node's text mentions ``matrix`` at all (so it may differ between legs; errs on the safe side)."""
    return "matrix" in text_of(node)


class Workflow:
    """One parsed workflow file and the rules that look at it."""

    def __init__(
        self,
        path: str,
        data: CommentedMap,
        lines: Sequence[str],
        step_timings: Mapping[tuple[str, str], float],
    ) -> None:
        self.path = path
        self.data = data
        self.lines = lines
        self.step_timings = step_timings
        self.jobs = workflow_jobs(data)

    def finding(
        self, position: tuple[int, int], level: Level, rule: str, message: str, fix: Fix | None = None
    ) -> Finding:
        line, column = position
        return Finding(self.path, line, column, line, level, rule, message, fix)

    def job_key_position(self, job_id: str) -> tuple[int, int]:
        return key_position(self.data["jobs"], job_id) or (1, 1)

    def step_seconds(self, job_id: str, job: Mapping[str, Any], step: Mapping[str, Any]) -> float | None:
        """Mean over matching history entries (all matrix legs) of the step's median seconds, or None."""
        names = {job_id}
        if job.get("name"):
            names.add(str(job["name"]).split("${{")[0].strip())
        wanted = step_display_name(step)
        values = [
            seconds
            for (job_name, step_name), seconds in self.step_timings.items()
            if step_name == wanted and any(job_name == name or job_name.startswith(f"{name} (") for name in names)
        ]
        return sum(values) / len(values) if values else None

    def job_seconds(self, job_id: str, job: Mapping[str, Any]) -> float | None:
        """Sum over the job's steps of their historic seconds, or None without any history."""
        known = [self.step_seconds(job_id, job, step) for _, step in job_steps(job)]
        values = [seconds for seconds in known if seconds is not None]
        return sum(values) if values else None

    def is_release(self) -> bool:
        """Whether the workflow publishes or releases (by its triggers, name or file name)."""
        events = triggers(self.data)
        push = events.get("push")
        tags_only = isinstance(push, dict) and ("tags" in push or "tags-ignore" in push) and "branches" not in push
        named = RELEASE_WORDS.search(f"{self.path.rsplit('/', 1)[-1]} {self.data.get('name', '')}")
        return "release" in events or tags_only or named is not None

    def missing_cache(self) -> list[Finding]:
        if self.is_release():
            return []
        findings = []
        for job_id, job in self.jobs:
            steps = job_steps(job)
            if any(step_action(step) in CACHE_ACTIONS for _, step in steps) or PUBLISH_STEP.search(text_of(job)):
                continue
            checkout = next((index for index, step in steps if step_action(step) == "actions/checkout"), None)
            for index, step in steps:
                ecosystem = SETUP_ACTIONS.get(step_action(step))
                if ecosystem is None or has_cache_input(step) or (checkout is not None and index < checkout):
                    continue
                if ecosystem == "go" and not go_setup_without_default_cache(step_ref(step)):
                    continue
                installs = [other for _, other in steps if installs_dependencies(ecosystem, str(other.get("run", "")))]
                if not installs or all(NO_CACHE_INSTALL.search(str(other.get("run", ""))) for other in installs):
                    continue
                install_step = installs[0]
                cache_value = cache_kind(ecosystem, text_of([other.get("run") for _, other in steps]))
                message = (
                    f"`{step_action(step)}` runs without dependency caching while this job installs "
                    f"dependencies in `{step_display_name(install_step)}`; add `cache: {cache_value}` "
                    "so later runs restore them instead of downloading them again"
                )
                seconds = self.step_seconds(job_id, job, install_step)
                if seconds is not None:
                    message += f" (this job spends {format_duration(seconds)} in that step)"
                position = key_position(step, "uses") or (1, 1)
                findings.append(
                    self.finding(position, "notice", "speed/missing-cache", message, self.cache_fix(step, cache_value))
                )
        return findings

    def cache_fix(self, step: CommentedMap, cache_value: str) -> Fix | None:
        """Insert ``cache: <value>`` under the step's ``with:``, adding ``with:`` if needed."""
        with_block = step.get("with")
        if isinstance(with_block, CommentedMap) and with_block:
            with_line = key_position(step, "with")
            first_key = key_position(with_block, next(iter(with_block)))
            if with_line is None or first_key is None or first_key[0] == with_line[0]:
                return None
            original = self.lines[with_line[0] - 1]
            replacement = f"{original}\n{' ' * (first_key[1] - 1)}cache: {cache_value}"
            return Fix(with_line[0], with_line[0], replacement)
        if "with" in step:
            return None
        uses_key = key_position(step, "uses")
        uses_value = value_position(step, "uses")
        if uses_key is None or uses_value is None or uses_value[0] != uses_key[0]:
            return None
        indent = " " * (uses_key[1] - 1)
        original = self.lines[uses_key[0] - 1]
        return Fix(uses_key[0], uses_key[0], f"{original}\n{indent}with:\n{indent}  cache: {cache_value}")

    def no_concurrency(self) -> list[Finding]:
        events = triggers(self.data)
        if "pull_request" not in events:
            return []
        concurrency = self.data.get("concurrency")
        if concurrency is None:
            if self.jobs and all(isinstance(job.get("concurrency"), dict) for _, job in self.jobs):
                return []
            message = (
                "this pull_request workflow has no `concurrency` group, so every push to a PR keeps "
                "the runs of earlier pushes going; add a group with `cancel-in-progress`"
            )
            position = key_position(self.data, "on") or (1, 1)
            return [self.finding(position, "notice", "speed/no-concurrency", message, self.concurrency_fix())]
        if isinstance(concurrency, dict) and "cancel-in-progress" in concurrency:
            return []
        message = (
            "the `concurrency` group has no `cancel-in-progress`, so runs of superseded pushes wait in "
            "line instead of being cancelled; add `cancel-in-progress: ${{ github.event_name == 'pull_request' }}`"
        )
        position = key_position(self.data, "concurrency") or (1, 1)
        return [self.finding(position, "notice", "speed/no-concurrency", message)]

    def concurrency_fix(self) -> Fix | None:
        """Insert a workflow-level concurrency block just before ``jobs:``."""
        jobs_position = key_position(self.data, "jobs")
        if jobs_position is None or jobs_position[1] != 1:
            return None
        line = jobs_position[0]
        block = concurrency_block(self.path)
        return Fix(line, line, f"{block}\n\n{self.lines[line - 1]}", snippet=block)

    def missing_timeout(self) -> list[Finding]:
        """One notice per file, at the first job without ``timeout-minutes`` (with the fix for it), naming every
        such job and a value for each."""
        missing = []
        for job_id, job in self.jobs:
            if "uses" in job or "timeout-minutes" in job:
                continue
            seconds = self.job_seconds(job_id, job)
            if seconds is None:
                missing.append((job_id, job, DEFAULT_TIMEOUT_MINUTES, "no run history yet"))
            else:
                minutes = max(MIN_TIMEOUT_MINUTES, 5 * math.ceil(TIMEOUT_HISTORY_FACTOR * seconds / 60 / 5))
                missing.append(
                    (job_id, job, minutes, f"{TIMEOUT_HISTORY_FACTOR}× its usual {format_duration(seconds)}")
                )
        if not missing:
            return []
        suggestions = "; ".join(f"`{job_id}`: {minutes} ({basis})" for job_id, _, minutes, basis in missing)
        message = (
            f"{plural(len(missing), 'job')} without `timeout-minutes` hold a runner for GitHub's default of "
            f"6 hours when a step hangs; suggested `timeout-minutes`: {suggestions}"
        )
        job_id, job, minutes, _ = missing[0]
        fix = self.timeout_fix(job_id, job, minutes)
        return [self.finding(self.job_key_position(job_id), "notice", "speed/missing-timeout", message, fix)]

    def timeout_fix(self, job_id: str, job: CommentedMap, minutes: int) -> Fix | None:
        """Insert ``timeout-minutes: N`` as the job's first key, at the indentation of its keys."""
        key_line = self.job_key_position(job_id)[0]
        first_key = key_position(job, next(iter(job))) if job else None
        if first_key is None or first_key[0] == key_line:
            return None
        original = self.lines[key_line - 1]
        return Fix(key_line, key_line, f"{original}\n{' ' * (first_key[1] - 1)}timeout-minutes: {minutes}")

    def full_history_checkout(self) -> list[Finding]:
        findings = []
        for _, job in self.jobs:
            steps = job_steps(job)
            for index, step in steps:
                settings = step.get("with")
                if step_action(step) != "actions/checkout" or not isinstance(settings, CommentedMap):
                    continue
                if str(settings.get("fetch-depth", "")).strip() != "0" or other_repository(settings):
                    continue
                others = [other for other_index, other in steps if other_index != index]
                job_text = text_of([others, job.get("env"), settings])
                if any(hint in job_text for hint in HISTORY_HINTS) or any(
                    str(other.get("uses", "")).startswith("./") for other in others
                ):
                    continue
                position = key_position(settings, "fetch-depth") or (1, 1)
                message = (
                    "`fetch-depth: 0` downloads the whole git history, and nothing in this job seems to "
                    "need it (no git describe/log/tag/diff, setuptools-scm, release or changelog tools); "
                    "a shallow clone is faster"
                )
                findings.append(
                    self.finding(
                        position, "notice", "speed/full-history-checkout", message, self.fetch_depth_fix(position[0])
                    )
                )
        return findings

    def fetch_depth_fix(self, line: int) -> Fix | None:
        original = self.lines[line - 1]
        replaced, count = re.subn(r"(fetch-depth\s*:\s*)(['\"]?)0\2(?=\s*(#.*)?$)", r"\g<1>1", original)
        return Fix(line, line, replaced) if count == 1 else None

    def no_path_filter(self) -> list[Finding]:
        events = triggers(self.data)
        if "pull_request" not in events:
            return []
        settings = events["pull_request"]
        if isinstance(settings, dict) and ("paths" in settings or "paths-ignore" in settings):
            return []
        if any(CHANGES_DETECTION.search(text_of(job)) for _, job in self.jobs):
            return []
        always = [(job_id, job) for job_id, job in self.jobs if "if" not in job]
        legs = [matrix_legs(job) for _, job in always]
        widest = max((count for count in legs if count is not None), default=1)
        if len(always) < HEAVY_JOB_COUNT and widest < HEAVY_MATRIX_LEGS:
            return []
        on = self.data.get("on")
        position = key_position(on, "pull_request") if isinstance(on, CommentedMap) else None
        message = (
            f"this workflow runs {plural(len(always), 'job')} (widest matrix: {plural(widest, 'leg')}) "
            "on every pull request, "
            "whatever it changes; add `paths:` or `paths-ignore:` under `pull_request` so that PRs touching "
            "only unrelated files (docs, for example) skip it"
        )
        totals = [self.job_seconds(job_id, job) for job_id, job in always]
        known = [seconds for seconds in totals if seconds is not None]
        if known:
            message += f" (about {format_duration(sum(known))} of job time per run in recent history)"
        return [
            self.finding(position or key_position(self.data, "on") or (1, 1), "notice", "speed/no-path-filter", message)
        ]

    def matrix_duplicated_setup(self) -> list[Finding]:
        findings = []
        for job_id, job in self.jobs:
            legs = matrix_legs(job)
            if legs is None or legs < 2:
                continue
            if refers_to_matrix([job.get("runs-on"), job.get("container"), job.get("env"), job.get("defaults")]):
                continue
            for _, step in job_steps(job):
                if refers_to_matrix(step):
                    break
                if not BUILD_PATTERN.search(str(step.get("run", ""))):
                    continue
                name = step_display_name(step)
                message = (
                    f"`{name}` runs identically in all {legs} matrix legs of `{job_id}` (nothing up to it "
                    "depends on the matrix); run it once in a separate job and share the result with "
                    "actions/upload-artifact and actions/download-artifact"
                )
                seconds = self.step_seconds(job_id, job, step)
                if seconds is not None:
                    total = format_duration(seconds * legs)
                    message += f" (it takes {format_duration(seconds)} per leg, {total} in all)"
                position = key_position(step, next(iter(step))) or (1, 1)
                findings.append(self.finding(position, "notice", "speed/matrix-duplicated-setup", message))
        return findings


def other_repository(settings: Mapping[str, Any]) -> bool:
    """Whether a checkout fetches another repository than the workflow's own."""
    repository = str(settings.get("repository", "")).strip()
    return bool(repository) and repository not in ("${{ github.repository }}", "${{github.repository}}")


def installs_dependencies(ecosystem: str, script: str) -> bool:
    """Whether a ``run`` script installs project dependencies (global tool installs do not count)."""
    return any(
        INSTALL_PATTERNS[ecosystem].search(line) and not GLOBAL_INSTALL.search(line) for line in script.splitlines()
    )


def has_cache_input(step: Mapping[str, Any]) -> bool:
    """Whether a setup step already says something about caching (even ``cache: false``, a choice)."""
    settings = step.get("with")
    return isinstance(settings, dict) and any(key in settings for key in CACHE_INPUTS)


def go_setup_without_default_cache(ref: str) -> bool:
    """actions/setup-go caches by default from v4; earlier majors (v1-v3) do not."""
    match = re.fullmatch(r"v(\d+)(\.\d+)*", ref)
    return match is not None and int(match.group(1)) < 4


def cache_kind(ecosystem: str, run_text: str) -> str:
    """The ``cache`` value that fits the package manager the job uses."""
    if ecosystem == "python":
        return "poetry" if "poetry" in run_text else "pipenv" if "pipenv" in run_text else "pip"
    if ecosystem == "node":
        return "pnpm" if "pnpm" in run_text else "yarn" if "yarn" in run_text else "npm"
    if ecosystem == "java":
        return "gradle" if "gradle" in run_text else "sbt" if "sbt" in run_text else "maven"
    return "true"
