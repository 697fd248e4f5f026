"""Checks of a workflow that a schema cannot express: references between jobs and steps, schedules, filters, runners.

Each rule is reported under the ``syntax`` analyzer with its own id. A rule is an ``error`` only where GitHub
rejects the workflow or fails the run for it; a likely mistake GitHub accepts is a ``warning``; a hint is a
``notice``.

- ``syntax/needs`` (error): ``needs`` names a job that does not exist, or jobs need each other in a cycle.
- ``syntax/id`` (error): a job or step id GitHub does not accept, or a step id used twice in one job.
- ``syntax/step-keys`` (error): ``with`` on a ``run`` step, ``shell``/``working-directory`` on a ``uses`` step.
- ``syntax/cron``: a ``schedule`` cron that is not five valid fields (error), or runs more often than every
  5 minutes, GitHub's shortest interval (warning); an unknown ``timezone`` (warning).
- ``syntax/filters``: ``branches`` with ``branches-ignore`` (or ``paths``/``tags`` with their ``-ignore``) for one
  event, which GitHub rejects (error); a filter the event does not support, or a pattern that is not a valid
  filter pattern (warning).
- ``syntax/inputs``: ``workflow_dispatch`` with more than 25 inputs or a ``choice`` without options (error); a
  default outside the options, options on a non-choice input, a bad boolean/number default, a required input with a
  default that is never used (notice).
- ``syntax/matrix``: an ``exclude`` key that is not in the matrix, which fails the run (error); an ``exclude``
  value that matches no combination (warning).
- ``syntax/runner-label``: a GitHub-hosted-looking label GitHub does not offer (notice); labels of two operating
  systems in one ``runs-on`` list, which no runner has (warning).
- ``syntax/merge-key``: a YAML merge key (``<<``), which GitHub does not support (error).
- ``syntax/uses``: an expression in ``uses``, which GitHub does not evaluate (warning); an action version whose
  runtime (Node 12/16) GitHub has retired (warning).
- ``syntax/deprecated-command``: ``::set-output``, ``::save-state``, ``::set-env``, ``::add-path`` (warning).
"""

from __future__ import annotations

import itertools
import re
import zoneinfo
from collections.abc import Iterator, Sequence
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.review.model import Finding, Level
from bot.review.yaml_lines import item_position, key_position, value_position

ID_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
MAX_DISPATCH_INPUTS = 25
MIN_CRON_INTERVAL_MINUTES = 5
EXCLUSIVE_FILTERS = (("branches", "branches-ignore"), ("tags", "tags-ignore"), ("paths", "paths-ignore"))
FILTER_EVENTS = {
    "branches": {"push", "pull_request", "pull_request_target", "merge_group", "workflow_run"},
    "tags": {"push"},
    "paths": {"push", "pull_request", "pull_request_target"},
}
HOSTED_LABEL = re.compile(r"^(ubuntu|windows|macos)-", re.IGNORECASE)
HOSTED_LABELS = frozenset(
    {
        "ubuntu-latest",
        "ubuntu-24.04",
        "ubuntu-22.04",
        "ubuntu-20.04",
        "ubuntu-24.04-arm",
        "ubuntu-22.04-arm",
        "ubuntu-slim",
        "windows-latest",
        "windows-2025",
        "windows-2022",
        "windows-2019",
        "windows-11-arm",
        "windows-latest-8-cores",
        "macos-latest",
        "macos-26",
        "macos-15",
        "macos-14",
        "macos-13",
        "macos-15-intel",
        "macos-latest-large",
        "macos-26-large",
        "macos-15-large",
        "macos-14-large",
        "macos-13-large",
        "macos-latest-xlarge",
        "macos-26-xlarge",
        "macos-15-xlarge",
        "macos-14-xlarge",
        "macos-13-xlarge",
    }
)
"""GitHub-hosted runner labels (docs: "GitHub-hosted runners reference"), retired ones of the last two years
included: GitHub reports a retired label itself when the job is queued, a notice here would only repeat it."""
OS_LABELS = {"ubuntu": "linux", "linux": "linux", "windows": "windows", "macos": "macos"}
RETIRED_RUNTIMES = {
    "actions/checkout": 3,
    "actions/setup-node": 3,
    "actions/setup-python": 4,
    "actions/setup-java": 3,
    "actions/cache": 3,
    "actions/upload-artifact": 3,
    "actions/download-artifact": 3,
    "actions/github-script": 6,
}
"""Official actions whose majors up to the given one run on Node 12 or 16, runtimes GitHub no longer offers."""
DEPRECATED_COMMAND = re.compile(r"::(set-output|save-state|set-env|add-path)\b")
COMMAND_REPLACEMENTS = {
    "set-output": '`echo "name=value" >> "$GITHUB_OUTPUT"`',
    "save-state": '`echo "name=value" >> "$GITHUB_STATE"`',
    "set-env": '`echo "NAME=value" >> "$GITHUB_ENV"`',
    "add-path": '`echo "/some/path" >> "$GITHUB_PATH"`',
}
MERGE_KEY = re.compile(r"^\s*(-\s+)?<<\s*:")
CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
CRON_NAMES: tuple[dict[str, int], ...] = (
    {},
    {},
    {},
    {name: number for number, name in enumerate(MONTHS, start=1)},
    {name: number for number, name in enumerate(WEEKDAYS)},
)


class Checks:
    """The rules of this module over one parsed workflow."""

    def __init__(self, path: str, data: CommentedMap, lines: Sequence[str]) -> None:
        self.path = path
        self.data = data
        self.lines = lines
        self.findings: list[Finding] = []
        jobs = data.get("jobs")
        self.jobs = jobs if isinstance(jobs, CommentedMap) else CommentedMap()

    def add(self, position: tuple[int, int] | None, level: Level, rule: str, message: str) -> None:
        line, column = position or (1, 1)
        self.findings.append(Finding(self.path, line, column, line, level, rule, message))

    def run(self) -> list[Finding]:
        self.merge_keys()
        self.needs()
        for job_id, job in self.jobs.items():
            if not ID_PATTERN.match(str(job_id)):
                message = f"job id `{job_id}` must start with a letter or `_` and hold only letters, digits, `-`, `_`"
                self.add(key_position(self.jobs, job_id), "error", "syntax/id", message)
            if isinstance(job, CommentedMap):
                self.job(str(job_id), job)
        self.events()
        return self.findings

    def merge_keys(self) -> None:
        if not any(getattr(node, "merge", None) for node in mappings(self.data)):
            return
        for number, text in enumerate(self.lines, start=1):
            if MERGE_KEY.match(text):
                column = text.index("<<") + 1
                message = "GitHub does not support YAML merge keys (`<<`); write the keys out or use an alias"
                self.add((number, column), "error", "syntax/merge-key", message)

    def needs(self) -> None:
        graph: dict[str, list[str]] = {}
        for job_id, job in self.jobs.items():
            if not isinstance(job, CommentedMap):
                continue
            needs = job.get("needs")
            names = [needs] if isinstance(needs, str) else list(needs) if isinstance(needs, CommentedSeq) else []
            graph[str(job_id)] = [str(name) for name in names]
            for index, name in enumerate(names):
                if str(name) not in self.jobs:
                    position = value_position(job, "needs") if isinstance(needs, str) else item_position(needs, index)
                    known = ", ".join(f"`{other}`" for other in self.jobs if other != job_id)
                    message = f"job `{job_id}` needs `{name}`, which is not a job of this workflow (jobs: {known})"
                    self.add(position, "error", "syntax/needs", message)
        cycle = find_cycle(graph)
        if cycle:
            chain = " → ".join(f"`{name}`" for name in [*cycle, cycle[0]])
            message = f"jobs need each other in a cycle, so none of them can start: {chain}"
            self.add(key_position(self.jobs, cycle[0]), "error", "syntax/needs", message)

    def job(self, job_id: str, job: CommentedMap) -> None:
        seen: dict[str, int] = {}
        steps = job.get("steps")
        for index, step in enumerate(steps if isinstance(steps, CommentedSeq) else []):
            if not isinstance(step, CommentedMap):
                continue
            step_id = step.get("id")
            if isinstance(step_id, str) and "${{" not in step_id:
                position = value_position(step, "id")
                if not ID_PATTERN.match(step_id):
                    message = f"step id `{step_id}` must start with a letter or `_` and hold only letters, digits, -, _"
                    self.add(position, "error", "syntax/id", message)
                elif step_id.lower() in seen:
                    message = f"step id `{step_id}` is already used by step {seen[step_id.lower()] + 1} of this job"
                    self.add(position, "error", "syntax/id", message)
                seen.setdefault(step_id.lower(), index)
            self.step(step)
        if isinstance(job.get("uses"), str) and "${{" in job["uses"]:
            message = "GitHub does not evaluate expressions in `uses`: name the reusable workflow literally"
            self.add(value_position(job, "uses"), "warning", "syntax/uses", message)
        self.runner_labels(job)
        self.matrix(job)
        self.positive_number(job, "timeout-minutes", schema_checks_type=True)
        strategy = job.get("strategy")
        if isinstance(strategy, CommentedMap):
            self.positive_number(strategy, "max-parallel", schema_checks_type=False)

    def positive_number(self, mapping: CommentedMap, key: str, *, schema_checks_type: bool) -> None:
        """A count that must be a positive number: the schema takes any string for some of them."""
        value = mapping.get(key)
        if key not in mapping or isinstance(value, bool) or value is None:
            return
        if isinstance(value, str):
            if "${{" in value:
                return
            try:
                value = float(value)
            except ValueError:
                if schema_checks_type:
                    return
                message = f"`{key}` must be a number or an expression, not `{value}`"
                self.add(value_position(mapping, key), "error", "syntax/schema", message)
                return
        if isinstance(value, (int, float)) and value <= 0:
            message = f"`{key}` must be greater than zero, not {value}"
            self.add(value_position(mapping, key), "warning", "syntax/schema", message)

    def step(self, step: CommentedMap) -> None:
        if "run" in step and "with" in step:
            message = "`with` passes inputs to an action; a `run` step takes `env` instead"
            self.add(key_position(step, "with"), "error", "syntax/step-keys", message)
        if "uses" in step and "run" not in step:
            for key in ("shell", "working-directory"):
                if key in step:
                    message = f"`{key}` only applies to `run` steps; an action step does not take it"
                    self.add(key_position(step, key), "error", "syntax/step-keys", message)
        uses = step.get("uses")
        if isinstance(uses, str):
            self.uses(step, uses)
        run = step.get("run")
        if isinstance(run, str):
            for offset, match in ((m.start(), m) for m in DEPRECATED_COMMAND.finditer(run)):
                line = line_of_offset(self.lines, value_position(step, "run"), run, offset)
                command = match.group(1)
                message = f"the `{command}` workflow command is deprecated; use {COMMAND_REPLACEMENTS[command]}"
                self.add(line, "warning", "syntax/deprecated-command", message)

    def uses(self, step: CommentedMap, uses: str) -> None:
        if "${{" in uses:
            message = "GitHub does not evaluate expressions in `uses`: name the action literally"
            self.add(value_position(step, "uses"), "warning", "syntax/uses", message)
            return
        action, _, ref = uses.partition("@")
        retired = RETIRED_RUNTIMES.get(action.lower())
        major = re.fullmatch(r"v(\d+)(\.\d+)*", ref)
        if retired is not None and major and int(major.group(1)) <= retired:
            message = f"`{uses}` runs on a Node.js version GitHub has retired; use `{action}@v{retired + 1}` or later"
            self.add(value_position(step, "uses"), "warning", "syntax/uses", message)

    def runner_labels(self, job: CommentedMap) -> None:
        runs_on = job.get("runs-on")
        if isinstance(runs_on, str):
            labels: list[tuple[str, tuple[int, int] | None]] = [(runs_on, value_position(job, "runs-on"))]
        elif isinstance(runs_on, CommentedSeq):
            labels = [(str(label), item_position(runs_on, i)) for i, label in enumerate(runs_on)]
        elif isinstance(runs_on, CommentedMap) and isinstance(runs_on.get("labels"), (str, CommentedSeq)):
            inner = runs_on["labels"]
            if isinstance(inner, str):
                labels = [(inner, value_position(runs_on, "labels"))]
            else:
                labels = [(str(label), item_position(inner, i)) for i, label in enumerate(inner)]
        else:
            return
        systems: dict[str, str] = {}
        for label, position in labels:
            if "${{" in label:
                continue
            lowered = label.lower()
            if HOSTED_LABEL.match(lowered) and lowered not in HOSTED_LABELS:
                message = (
                    f"`{label}` is not a GitHub-hosted runner label (retired, or a typo?); "
                    "if it is one of your own runners, ignore this"
                )
                self.add(position, "notice", "syntax/runner-label", message)
            system = OS_LABELS.get(lowered.split("-")[0])
            if system:
                systems.setdefault(system, label)
        if len(systems) > 1 and not any(label.lower() == "self-hosted" for label, _ in labels):
            names = ", ".join(f"`{label}`" for label in systems.values())
            message = f"`runs-on` asks for one runner with all of {names}; no runner has them all, use a matrix"
            self.add(key_position(job, "runs-on"), "warning", "syntax/runner-label", message)

    def matrix(self, job: CommentedMap) -> None:
        strategy = job.get("strategy")
        matrix = strategy.get("matrix") if isinstance(strategy, CommentedMap) else None
        if not isinstance(matrix, CommentedMap) or not isinstance(matrix.get("exclude"), CommentedSeq):
            return
        axes = {str(key): values for key, values in matrix.items() if key not in ("include", "exclude")}
        if any(not isinstance(values, CommentedSeq) for values in axes.values()):
            return
        for row in matrix["exclude"]:
            if not isinstance(row, CommentedMap):
                continue
            for key, value in row.items():
                if str(key) not in axes:
                    known = ", ".join(f"`{axis}`" for axis in axes) or "none"
                    message = f"exclude key `{key}` is not a key of the matrix (keys: {known}), so the run fails"
                    self.add(key_position(row, key), "error", "syntax/matrix", message)
                elif "${{" not in str(value) and not any(partial_match(value, item) for item in axes[str(key)]):
                    message = f"exclude value for `{key}` matches no value of the matrix, so it excludes nothing"
                    self.add(value_position(row, key), "warning", "syntax/matrix", message)

    def events(self) -> None:
        on = self.data.get("on")
        if not isinstance(on, CommentedMap):
            return
        for event, settings in on.items():
            if not isinstance(settings, CommentedMap):
                if event == "schedule" and isinstance(settings, CommentedSeq):
                    self.schedule(settings)
                continue
            self.filters(str(event), settings)
            if event in ("workflow_dispatch", "workflow_call"):
                self.inputs(str(event), settings, key_position(on, event))

    def schedule(self, entries: CommentedSeq) -> None:
        for entry in entries:
            if not isinstance(entry, CommentedMap):
                continue
            cron = entry.get("cron")
            if isinstance(cron, str) and cron.strip():
                problem, interval = cron_problem(cron)
                position = value_position(entry, "cron")
                if problem:
                    self.add(position, "error", "syntax/cron", f"invalid cron `{cron}`: {problem}")
                elif interval is not None and interval < MIN_CRON_INTERVAL_MINUTES:
                    message = (
                        f"`{cron}` asks for a run every {interval} minute(s); GitHub runs schedules at most every "
                        f"{MIN_CRON_INTERVAL_MINUTES} minutes"
                    )
                    self.add(position, "warning", "syntax/cron", message)
            zone = entry.get("timezone")
            if isinstance(zone, str) and zone.strip() and not known_timezone(zone):
                message = f"`{zone}` is not an IANA time zone name (such as `Europe/Paris`)"
                self.add(value_position(entry, "timezone"), "warning", "syntax/cron", message)

    def filters(self, event: str, settings: CommentedMap) -> None:
        for included, ignored in EXCLUSIVE_FILTERS:
            if included in settings and ignored in settings:
                message = (
                    f"`{included}` and `{ignored}` cannot both filter `{event}`; GitHub rejects the workflow "
                    f"(use `{included}` with `!` patterns)"
                )
                later = max(key_position(settings, included) or (0, 0), key_position(settings, ignored) or (0, 0))
                self.add(later, "error", "syntax/filters", message)
        for key in settings:
            name = str(key).removesuffix("-ignore")
            if name in FILTER_EVENTS and event not in FILTER_EVENTS[name]:
                events = ", ".join(sorted(FILTER_EVENTS[name]))
                message = f"`{key}` does not filter `{event}` events; GitHub offers it for {events}"
                self.add(key_position(settings, key), "warning", "syntax/filters", message)
            if name in FILTER_EVENTS:
                self.patterns(settings, key, name)

    def patterns(self, settings: CommentedMap, key: Any, name: str) -> None:
        value = settings[key]
        items = [(value, value_position(settings, key))] if isinstance(value, str) else []
        if isinstance(value, CommentedSeq):
            items = [(item, item_position(value, index)) for index, item in enumerate(value) if isinstance(item, str)]
        for pattern, position in items:
            problem = pattern_problem(pattern, name == "paths")
            if problem:
                self.add(position, "warning", "syntax/filters", f"filter pattern `{pattern}`: {problem}")

    def inputs(self, event: str, settings: CommentedMap, event_position: tuple[int, int] | None) -> None:
        inputs = settings.get("inputs")
        if not isinstance(inputs, CommentedMap):
            return
        if event == "workflow_dispatch" and len(inputs) > MAX_DISPATCH_INPUTS:
            message = f"`workflow_dispatch` takes at most {MAX_DISPATCH_INPUTS} inputs; this one has {len(inputs)}"
            self.add(event_position, "error", "syntax/inputs", message)
        for name, spec in inputs.items():
            if isinstance(spec, CommentedMap):
                self.input(event, str(name), spec, key_position(inputs, name))

    def input(self, event: str, name: str, spec: CommentedMap, position: tuple[int, int] | None) -> None:
        kind = str(spec.get("type", "string"))
        options = spec.get("options")
        default = spec.get("default")
        has_default = "default" in spec and default is not None
        if event == "workflow_dispatch" and kind == "choice" and not (isinstance(options, list) and options):
            self.add(position, "error", "syntax/inputs", f"input `{name}` is a `choice` without `options`")
        if options is not None and kind != "choice":
            message = f"input `{name}` has `options` but its type is `{kind}`, so they are not offered"
            self.add(position, "warning", "syntax/inputs", message)
        if isinstance(options, list):
            seen = set()
            for index, option in enumerate(options):
                if str(option) in seen:
                    message = f"option `{option}` of input `{name}` is listed twice"
                    self.add(item_position(options, index), "warning", "syntax/inputs", message)
                seen.add(str(option))
            if kind == "choice" and has_default and str(default) not in seen and "${{" not in str(default):
                message = f"default `{default}` of input `{name}` is not one of its options"
                self.add(value_position(spec, "default"), "warning", "syntax/inputs", message)
        if has_default and "${{" not in str(default):
            if kind == "boolean" and str(default).lower() not in ("true", "false"):
                message = f"input `{name}` is a boolean, so its default must be true or false, not `{default}`"
                self.add(value_position(spec, "default"), "warning", "syntax/inputs", message)
            if kind == "number" and not is_number(default):
                message = f"input `{name}` is a number, so its default must be one, not `{default}`"
                self.add(value_position(spec, "default"), "warning", "syntax/inputs", message)
        if event == "workflow_call" and spec.get("required") is True and has_default:
            message = f"input `{name}` is required, so its default is never used"
            self.add(value_position(spec, "default"), "notice", "syntax/inputs", message)


def workflow_check_findings(path: str, data: CommentedMap, lines: Sequence[str]) -> list[Finding]:
    """Findings of every rule of this module for one parsed workflow."""
    return Checks(path, data, lines).run()


def mappings(node: Any) -> Iterator[CommentedMap]:
    """Every mapping in a parsed document (each alias visited once)."""
    seen: set[int] = set()
    pending = [node]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, CommentedMap):
            yield current
            pending.extend(current.values())
        elif isinstance(current, CommentedSeq):
            pending.extend(current)


def find_cycle(graph: dict[str, list[str]]) -> list[str]:
    """One cycle of the ``needs`` graph (job ids in order), or an empty list."""
    state: dict[str, int] = {}
    trail: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        trail.append(node)
        for target in graph.get(node, []):
            if target not in graph:
                continue
            if state.get(target) == 1:
                return trail[trail.index(target) :]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        trail.pop()
        state[node] = 2
        return []

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def line_of_offset(
    lines: Sequence[str], position: tuple[int, int] | None, value: str, offset: int
) -> tuple[int, int] | None:
    """File position of ``offset`` in a (possibly block) scalar starting at ``position``."""
    if position is None:
        return None
    line, column = position
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    if text[column - 1 : column] in ("|", ">"):
        return line + 1 + value[:offset].count("\n"), 1
    return line + value[:offset].count("\n"), column


def partial_match(wanted: Any, value: Any) -> bool:
    """Whether an ``exclude`` value matches a matrix value: mappings match when their given keys do; a value
    computed by an expression may match anything."""
    if isinstance(value, str) and "${{" in value:
        return True
    if isinstance(wanted, dict):
        return isinstance(value, dict) and all(
            key in value and partial_match(item, value[key]) for key, item in wanted.items()
        )
    if isinstance(wanted, list):
        return isinstance(value, list) and len(wanted) == len(value) and all(map(partial_match, wanted, value))
    if isinstance(value, (dict, list)):
        return False
    return str(wanted).lower() == str(value).lower()


def is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, bool)


def known_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def cron_field_values(text: str, low: int, high: int, names: dict[str, int]) -> list[int] | str:
    """The values one cron field allows, or why it is invalid."""
    values: set[int] = set()
    for part in text.lower().split(","):
        body, _, step_text = part.partition("/")
        if step_text and not step_text.isdigit():
            return f"`{part}` has a step that is not a number"
        step = int(step_text) if step_text else 1
        if step == 0:
            return f"`{part}` has a step of 0"
        if body == "*":
            start, end = low, high
        else:
            first, _, last = body.partition("-")
            bounds = []
            for piece in (first, last) if last else (first,):
                number = names.get(piece, int(piece) if piece.isdigit() else None)
                if number is None:
                    return f"`{piece}` is not a number or a name"
                if not low <= number <= high:
                    return f"`{piece}` is outside {low}-{high}"
                bounds.append(number)
            start = bounds[0]
            end = bounds[-1] if last else (high if step_text else bounds[0])
            if start > end:
                return f"`{body}` is a range that runs backwards"
        values.update(range(start, end + 1, step))
    return sorted(values)


def cron_problem(cron: str) -> tuple[str | None, int | None]:
    """Why a cron expression is invalid (or None), and its shortest interval in minutes when it fires hourly."""
    fields = cron.split()
    if len(fields) != len(CRON_RANGES):
        return f"it has {len(fields)} fields; GitHub's cron has 5 (minute hour day month weekday)", None
    parsed = []
    for text, (low, high), names in zip(fields, CRON_RANGES, CRON_NAMES, strict=True):
        values = cron_field_values(text, low, high, names)
        if isinstance(values, str):
            return values, None
        parsed.append(values)
    minutes = parsed[0]
    if len(minutes) < 2:
        return None, None
    gaps = [later - earlier for earlier, later in itertools.pairwise(minutes)]
    gaps.append(60 - minutes[-1] + minutes[0])
    return None, min(gaps)


def pattern_problem(pattern: str, is_path: bool) -> str | None:
    """Why a filter pattern is not valid (docs: "Filter pattern cheat sheet"), or None."""
    if "${{" in pattern:
        return "expressions are not evaluated in filters"
    if pattern != pattern.strip():
        return "leading or trailing spaces are kept and make the pattern match nothing"
    body = pattern[1:] if pattern.startswith("!") else pattern
    if not body:
        return "`!` must be followed by a pattern"
    if is_path and any(part in (".", "..") for part in body.split("/")):
        return "`.` and `..` are not allowed in a path pattern"
    index = 0
    while index < len(body):
        character = body[index]
        if character == "\\":
            index += 2
            continue
        if character == "[":
            close = body.find("]", index + 1)
            if close < 0:
                return "`[` is not closed by `]`"
            inner = body[index + 1 : close]
            if not inner:
                return "`[]` matches nothing"
            for start, end in re.findall(r"(.)-(.)", inner):
                if start > end:
                    return f"the range `{start}-{end}` runs backwards"
            index = close
        index += 1
    return None
