"""Shared-actions analyzer: step sequences copied between jobs or workflows, and runs of steps an org action replaces.

Rules:
- ``shared-actions/duplicated-steps``: two or more consecutive steps (same ``uses`` + ``with``, or the
  same ``run`` script with whitespace normalised) written more than once: in several jobs, workflows, or
  the repository's other workflows (``context.other_files``). One finding per duplicated block, at its first
  copy in the reviewed files, naming the others. Only blocks a local composite action can hold count: a
  ``actions/checkout`` step (the repository must be checked out before a local action can load), a step with an
  ``id`` (later steps read its outputs) or one reading ``secrets``, ``matrix``, ``needs`` or ``strategy`` (a
  composite action cannot) ends a block. The fix replaces the block with ``uses: ./.github/actions/<name>`` and
  shows the composite action to add; when the block already is a composite action of the repository, the fix
  uses that one.
- ``shared-actions/use-shared-action``: consecutive steps matching the ``replaces`` patterns of a
  configured SharedAction; the Fix replaces them with ``- uses: <action>`` and its ``with:``.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from io import StringIO
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import LiteralScalarString

from bot.review.model import Finding, Fix, ReviewContext, SharedAction, SourceFile
from bot.review.yaml_lines import job_steps, parse_yaml, step_lines, to_plain, workflow_jobs

MIN_DUPLICATED_STEPS = 2
MAX_COPIES_LISTED = 5
CHECKOUT = "actions/checkout"
NOT_IN_COMPOSITE = re.compile(r"\$\{\{[^}]*\b(secrets|matrix|needs|strategy)\.", re.IGNORECASE)


@dataclass(frozen=True)
class StepRef:
    """One step of one job: its normalised identity and where it is written."""

    identity: str
    line: int
    end_line: int
    dash_column: int


@dataclass(frozen=True)
class JobSteps:
    """The steps of one job (or composite action) in one file."""

    path: str
    kind: str
    job: str
    steps: tuple[StepRef, ...]
    raw_steps: tuple[CommentedMap, ...]
    lines: tuple[str, ...]


class SharedActionsAnalyzer:
    """Points at copied step sequences and at steps a configured shared action should replace."""

    name = "shared-actions"

    def analyze(self, files: Sequence[SourceFile], context: ReviewContext) -> list[Finding]:
        # The repository's other workflows come first: the reviewed files then hold the later copies.
        jobs = [job for source in [*context.other_files, *files] for job in collect_jobs(source)]
        reviewed = {source.path for source in files}
        findings = duplicated_steps(jobs, reviewed)
        for shared in context.options.shared_actions:
            for job in jobs:
                if job.path in reviewed:
                    findings.extend(shared_action_matches(job, shared))
        return findings


def step_identity(step: CommentedMap) -> str | None:
    """What makes two steps the same work: ``uses`` with its ``with``, or the normalised ``run`` script.

    None for a step a composite action could not hold (see the module docstring): it ends a block.
    """
    uses = str(step.get("uses", "")).split("@", 1)[0].strip().lower()
    if uses == CHECKOUT or "id" in step or NOT_IN_COMPOSITE.search(json.dumps(to_plain(step))):
        return None
    if step.get("uses"):
        settings = step.get("with")
        plain = {str(key): str(value) for key, value in settings.items()} if isinstance(settings, dict) else {}
        return "uses " + str(step["uses"]).strip() + " " + json.dumps(plain, sort_keys=True)
    if step.get("run"):
        lines = (" ".join(line.split()) for line in str(step["run"]).splitlines())
        return "run " + "\n".join(line for line in lines if line)
    return None


def collect_jobs(source: SourceFile) -> list[JobSteps]:
    """The jobs of a workflow (or the steps of a composite action) with each step's place in the text."""
    kind = source.kind
    if kind not in ("workflow", "action"):
        return []
    parsed = parse_yaml(source.text)
    if parsed.problem is not None or not isinstance(parsed.data, CommentedMap):
        return []
    if kind == "workflow":
        containers = workflow_jobs(parsed.data)
    else:
        runs = parsed.data.get("runs")
        containers = [("(composite action)", runs)] if isinstance(runs, CommentedMap) else []
    collected = []
    for job_id, container in containers:
        refs: list[StepRef] = []
        raw: list[CommentedMap] = []
        for index, step in job_steps(container):
            place = step_lines(parsed.lines, container["steps"], index)
            if place is None:
                continue
            # A step no block may hold gets an identity of its own, so that it matches nothing.
            identity = step_identity(step) or f"boundary {source.path}:{place[0]}"
            refs.append(StepRef(identity, place[0], place[1], place[2]))
            raw.append(step)
        if refs:
            collected.append(JobSteps(source.path, kind, job_id, tuple(refs), tuple(raw), parsed.lines))
    return collected


def matches_at(job: JobSteps, start: int, sequence: Sequence[str]) -> bool:
    identities = [step.identity for step in job.steps[start : start + len(sequence)]]
    return identities == list(sequence)


def duplicated_steps(jobs: Sequence[JobSteps], reviewed: set[str]) -> list[Finding]:
    """One finding per block of ≥ 2 consecutive steps written more than once, at its first reviewed copy."""
    places_by_pair: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for job_index, job in enumerate(jobs):
        for position in range(len(job.steps) - 1):
            pair = (job.steps[position].identity, job.steps[position + 1].identity)
            places_by_pair.setdefault(pair, []).append((job_index, position))
    blocks: dict[tuple[str, ...], set[tuple[int, int]]] = {}
    for job_index, job in enumerate(jobs):
        position = 0
        while position < len(job.steps) - 1:
            length = longest_earlier_copy(jobs, places_by_pair, job_index, position)
            if length < MIN_DUPLICATED_STEPS:
                position += 1
                continue
            sequence = tuple(step.identity for step in job.steps[position : position + length])
            copies = {
                place
                for place in places_by_pair[(sequence[0], sequence[1])]
                if matches_at(jobs[place[0]], place[1], sequence)
            }
            blocks.setdefault(sequence, set()).update(copies | {(job_index, position)})
            position += length
    findings = []
    covered: set[tuple[int, int]] = set()
    # The most copied blocks first; a block overlapping one already reported is a variant of it, not reported again.
    for sequence, places in sorted(blocks.items(), key=lambda item: (-len(item[1]), -len(item[0]))):
        steps = {(index, at + offset) for index, at in places for offset in range(len(sequence))}
        if steps & covered:
            continue
        covered |= steps
        ordered = sorted(places)
        in_review = [
            place for place in ordered if jobs[place[0]].path in reviewed and jobs[place[0]].kind == "workflow"
        ]
        if in_review:
            findings.append(duplicate_finding(jobs, in_review[0], len(sequence), ordered))
    return findings


def longest_earlier_copy(
    jobs: Sequence[JobSteps],
    places_by_pair: dict[tuple[str, str], list[tuple[int, int]]],
    job_index: int,
    position: int,
) -> int:
    """Length of the longest run starting here that also starts at an earlier, non-overlapping place."""
    job = jobs[job_index]
    pair = (job.steps[position].identity, job.steps[position + 1].identity)
    best = 0
    for other_index, other_position in places_by_pair.get(pair, []):
        if (other_index, other_position) >= (job_index, position):
            break
        other = jobs[other_index]
        limit = len(job.steps) - position
        if other_index == job_index:
            limit = min(limit, position - other_position)
        length = 0
        while (
            length < limit
            and other_position + length < len(other.steps)
            and other.steps[other_position + length].identity == job.steps[position + length].identity
        ):
            length += 1
        best = max(best, length)
    return best


def duplicate_finding(
    jobs: Sequence[JobSteps], place: tuple[int, int], length: int, places: Sequence[tuple[int, int]]
) -> Finding:
    """The finding for one duplicated block, at ``place``, with the replacement and (if needed) the new action."""
    job, position = jobs[place[0]], place[1]
    first, last = job.steps[position], job.steps[position + length - 1]
    others = [(jobs[index], at) for index, at in places if (index, at) != place]
    listed = [f"{other.path}:{other.steps[at].line} (job `{other.job}`)" for other, at in others[:MAX_COPIES_LISTED]]
    if len(others) > MAX_COPIES_LISTED:
        listed.append(f"and {len(others) - MAX_COPIES_LISTED} more")
    existing = next((other for other, _ in others if other.kind == "action"), None)
    indent = " " * first.dash_column
    if existing is not None:
        folder = posixpath.dirname(existing.path) or "."
        replacement = (
            f"{indent}- uses: ./{folder}" if not folder.startswith(("./", "/")) else f"{indent}- uses: {folder}"
        )
        message = (
            f"these {length} steps (lines {first.line}-{last.end_line}) are what the composite action in "
            f"`{folder}` does (copies: {', '.join(listed)}); call it instead"
        )
        fix = Fix(first.line, last.end_line, replacement)
    else:
        steps = job.raw_steps[position : position + length]
        name = action_name(steps)
        replacement = f"{indent}- uses: ./.github/actions/{name}"
        snippet = composite_action(name, steps)
        message = (
            f"these {length} steps (lines {first.line}-{last.end_line}) are also written at {', '.join(listed)}; "
            f"move them into the composite action `.github/actions/{name}/action.yml` shown below and call it from "
            "each place (after `actions/checkout`)"
        )
        fix = Fix(first.line, last.end_line, replacement, snippet=snippet)
    return Finding(
        job.path,
        first.line,
        first.dash_column + 1,
        last.end_line,
        "notice",
        "shared-actions/duplicated-steps",
        message,
        fix,
    )


def action_name(steps: Sequence[CommentedMap]) -> str:
    """A folder name for a new composite action, from its first step's name or action."""
    first = steps[0]
    base = str(first.get("name") or str(first.get("uses", "")).split("@")[0].rsplit("/", 1)[-1] or "shared-steps")
    slug = re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")
    return slug or "shared-steps"


def composite_action(name: str, steps: Sequence[CommentedMap]) -> str:
    """The ``action.yml`` of a composite action running ``steps`` (``run`` steps get ``shell: bash``, which
    composite actions require)."""
    plain_steps = []
    for step in steps:
        plain = to_plain(step)
        if "run" in plain:
            plain["run"] = LiteralScalarString(plain["run"]) if "\n" in plain["run"] else plain["run"]
            plain.setdefault("shell", "bash")
        plain_steps.append(plain)
    action = {
        "name": name,
        "description": f"Steps shared by several jobs ({len(plain_steps)} steps)",
        "runs": {"using": "composite", "steps": plain_steps},
    }
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    buffer = StringIO()
    yaml.dump(action, buffer)
    return f"# .github/actions/{name}/action.yml\n" + buffer.getvalue()


def step_matches(step: CommentedMap, pattern: dict[str, str] | Any) -> bool:
    """Whether a step matches a ``{"uses": glob}`` / ``{"run": glob}`` pattern (every key given must match).

    ``run`` scripts and their patterns are compared with runs of whitespace (newlines too) made one space.
    """
    for key in ("uses", "run"):
        if key in pattern:
            value = step.get(key)
            if value is None:
                return False
            text, glob = str(value).strip(), str(pattern[key])
            if key == "run":
                text, glob = " ".join(text.split()), " ".join(glob.split())
            if not fnmatch.fnmatchcase(text, glob):
                return False
    return any(key in pattern for key in ("uses", "run"))


def shared_action_matches(job: JobSteps, shared: SharedAction) -> list[Finding]:
    """Findings (with a Fix) for each run of steps in ``job`` that ``shared`` replaces."""
    patterns = list(shared.replaces)
    if not patterns:
        return []
    findings = []
    position = 0
    while position + len(patterns) <= len(job.raw_steps):
        window = job.raw_steps[position : position + len(patterns)]
        if all(step_matches(step, pattern) for step, pattern in zip(window, patterns, strict=False)):
            findings.append(shared_action_finding(job, position, len(patterns), shared))
            position += len(patterns)
        else:
            position += 1
    return findings


def shared_action_snippet(shared: SharedAction, indent: int) -> str:
    """``- uses: <action>`` with its ``with:`` block, as YAML indented to ``indent`` columns."""
    step: dict[str, Any] = {"uses": shared.uses}
    if shared.with_:
        step["with"] = dict(shared.with_)
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.indent(mapping=2, sequence=2, offset=0)
    buffer = StringIO()
    yaml.dump([step], buffer)
    return "\n".join(" " * indent + line for line in buffer.getvalue().rstrip("\n").splitlines())


def shared_action_finding(job: JobSteps, position: int, length: int, shared: SharedAction) -> Finding:
    first, last = job.steps[position], job.steps[position + length - 1]
    snippet = shared_action_snippet(shared, first.dash_column)
    message = (
        f"steps at lines {first.line}-{last.end_line} do what the shared action `{shared.uses}` does; "
        "use it instead so that the whole organisation gets fixes and speed-ups in one place"
    )
    return Finding(
        job.path,
        first.line,
        first.dash_column + 1,
        last.end_line,
        "warning",
        "shared-actions/use-shared-action",
        message,
        Fix(first.line, last.end_line, snippet, snippet=snippet),
    )
