"""Render a run comparison as a PR comment, a check run output and check run annotations.

Every name that comes from the repository (workflow, job, step, branch) is untrusted: it is passed
through `escape_markdown` (comment, check summary) or `plain_text` (check title, annotations), and
never reaches the Mermaid chart, whose labels are generated here.

Check run conclusion: `failure` when `fail_on="regression"` and the run or a job regressed or a job
newly fails, or when `fail_on="new-failure"` and a job newly fails; otherwise `success` when the run
was compared with enough history and no job regressed, failed or flaked (improvements and new or
removed jobs are fine), and `neutral` in every other case (always with `fail_on="never"`, for
cancelled/skipped/incomplete runs, without enough history, while a re-run is awaited to confirm a
slower job, or with problems `fail_on` lets pass).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.comparison.compare import (
    BaselineRun,
    ComparisonStatus,
    DurationComparison,
    FailureVerdict,
    JobComparison,
    Presence,
    RunComparison,
    Verdict,
)
from bot.comparison.workflow_lines import job_line, workflow_jobs
from bot.report import (
    COMMENT_MAX_CHARACTERS,
    Annotation,
    AnnotationLevel,
    Conclusion,
    Report,
    escape_markdown,
    fits_bytes,
    plain_text,
)

ANNOTATION_MESSAGE_MAX_CHARACTERS = 2_000
HEADLINE_MAX_NAMES = 3
FAIL_ON_CHOICES = ("never", "regression", "new-failure")

VERDICT_LABELS = {
    Verdict.REGRESSION.value: "🔴 slower",
    Verdict.IMPROVEMENT.value: "🟢 faster",
    Verdict.UNCHANGED.value: "⚪ no change",
    Verdict.NEEDS_CONFIRMATION.value: "🔎 checking",
    Verdict.NOT_ENOUGH_HISTORY.value: "❔ not enough history",
    Verdict.NOT_COMPARED.value: "–",
    Presence.NEW.value: "🆕 new",
    Presence.REMOVED.value: "➖ removed",
    FailureVerdict.NEW_FAILURE.value: "❌ new failure",
    FailureVerdict.ALREADY_FAILING_ON_BASE.value: "⚠️ failing on base too",
    FailureVerdict.FLAKY.value: "🔁 flaky",
}
QUIET_VERDICTS = frozenset({Verdict.UNCHANGED.value, Verdict.NOT_COMPARED.value, Verdict.NOT_ENOUGH_HISTORY.value})


def _safe_url(url: str | None) -> str | None:
    """`url` when it is a plain https URL that cannot break out of a markdown link."""
    if url and re.fullmatch(r"https://[A-Za-z0-9._~:/?#@!$&'*+,;=%-]+", url) and "(" not in url:
        return url
    return None


def format_seconds(seconds: float | None) -> str:
    """`45s`, `12m04s`, `1h02m`; `–` when unknown."""
    if seconds is None:
        return "–"
    whole = round(abs(seconds))
    sign = "-" if seconds < 0 and whole else ""
    if whole < 60:
        return f"{sign}{whole}s"
    if whole < 3600:
        return f"{sign}{whole // 60}m{whole % 60:02d}s"
    return f"{sign}{whole // 3600}h{whole % 3600 // 60:02d}m"


def format_change(duration: DurationComparison) -> str:
    """`+1m51s (+18 %)`; `–` when there is nothing to compare."""
    if duration.change_seconds is None:
        return "–"
    sign = "+" if duration.change_seconds >= 0 else "-"
    text = sign + format_seconds(abs(duration.change_seconds))
    if duration.change_percent is not None:
        text += f" ({duration.change_percent:+.0f} %)"
    return text


def _names(jobs: Sequence[JobComparison], format_name: Callable[[str], str]) -> str:
    shown = ", ".join(format_name(job.name) for job in jobs[:HEADLINE_MAX_NAMES])
    hidden = len(jobs) - HEADLINE_MAX_NAMES
    return shown + (f" and {hidden} more" if hidden > 0 else "")


def headline(cmp: RunComparison, format_name: Callable[[str], str] = escape_markdown) -> str:
    """One line saying what matters most: failures first, then the run's wall time, then other findings."""
    if cmp.status is ComparisonStatus.CANCELLED:
        return "Run was cancelled: nothing compared"
    if cmp.status is ComparisonStatus.SKIPPED:
        return "Run was skipped: nothing compared"
    if cmp.status is ComparisonStatus.INCOMPLETE:
        return "Run has not completed: nothing compared"
    branch = format_name(cmp.options.baseline_branch)
    parts = []
    if cmp.new_failures:
        parts.append(f"new failure in {_names(cmp.new_failures, format_name)}")
    if cmp.awaiting_confirmation:
        checked = _names(cmp.jobs_with(Verdict.NEEDS_CONFIRMATION), format_name) if cmp.confirm_jobs else "the run"
        parts.append(f"checking: re-running {checked} to confirm")
    # After a partial re-run only the total job time is comparable (see compare.py).
    timing, subject = (cmp.total_job_time, "total job time") if cmp.partial_rerun else (cmp.wall_time, "CI")
    if timing.verdict in (Verdict.REGRESSION, Verdict.IMPROVEMENT):
        direction = "slower" if timing.verdict is Verdict.REGRESSION else "faster"
        parts.append(
            f"{subject} got {abs(timing.change_percent or 0):.0f} % {direction}: {format_seconds(timing.current)} vs "
            f"{format_seconds(timing.baseline_median)}, median of {timing.baseline_count} runs on {branch}"
        )
    elif timing.verdict is Verdict.NOT_ENOUGH_HISTORY:
        parts.append(f"not enough history ({timing.baseline_count} runs on {branch}, need {cmp.options.min_runs})")
    elif timing.verdict is Verdict.UNCHANGED:
        parts.append(
            f"no significant change{' in total job time' if cmp.partial_rerun else ''}: "
            f"{format_seconds(timing.current)} vs {format_seconds(timing.baseline_median)}, "
            f"median of {timing.baseline_count} runs on {branch}{_detectable(timing)}"
        )
    already_failing = cmp.jobs_with(FailureVerdict.ALREADY_FAILING_ON_BASE)
    if already_failing:
        parts.append(f"failing on {branch} too: {_names(already_failing, format_name)}")
    slower_jobs = cmp.jobs_with(Verdict.REGRESSION)
    if slower_jobs:
        parts.append(f"slower: {_names(slower_jobs, format_name)}")
    faster_jobs = cmp.jobs_with(Verdict.IMPROVEMENT)
    if faster_jobs:
        parts.append(f"faster: {_names(faster_jobs, format_name)}")
    flaky = cmp.jobs_with(FailureVerdict.FLAKY)
    if flaky:
        parts.append(f"flaky: {_names(flaky, format_name)}")
    if not parts:
        parts.append("run did not succeed: durations not compared")
    return "; ".join(parts)


def _detectable(duration: DurationComparison) -> str:
    """`(changes under +35 % can't be told from noise here)`, or nothing when that is not known."""
    smallest = duration.smallest_detectable_percent
    if smallest is None or smallest == float("inf"):
        return ""
    return f" (changes under +{smallest:.0f} % can't be told from noise here)"


def _duration_cells(duration: DurationComparison, verdict: str) -> str:
    return (
        f"{format_seconds(duration.baseline_median)} | {format_seconds(duration.current)} | "
        f"{format_change(duration)} | {VERDICT_LABELS.get(verdict, verdict)} |"
    )


def _job_table(cmp: RunComparison, jobs: Sequence[JobComparison]) -> list[str]:
    branch = escape_markdown(cmp.options.baseline_branch)
    lines = [
        f"| | {branch} (median) | this run | change | verdict |",
        "| --- | ---: | ---: | ---: | --- |",
        f"| **wall time** | {_duration_cells(cmp.wall_time, cmp.wall_time.verdict.value)}",
        f"| **total job time** | {_duration_cells(cmp.total_job_time, cmp.total_job_time.verdict.value)}",
    ]
    lines.extend(f"| {escape_markdown(job.name)} | {_duration_cells(job.duration, job.verdict)}" for job in jobs)
    return lines


def _is_flagged(job: JobComparison) -> bool:
    return job.verdict not in QUIET_VERDICTS or any(
        step.duration.verdict.value not in QUIET_VERDICTS for step in job.steps
    )


def _job_details(job: JobComparison, branch: str) -> list[str]:
    queue = f"queued {format_seconds(job.queue_time)} ({branch} median {format_seconds(job.baseline_queue_median)})"
    facts = [queue]
    if job.run_attempt is not None:
        facts.append(f"attempt {job.run_attempt}")
    if job.baseline_pass_rate is not None:
        rate = job.baseline_pass_rate
        facts.append(
            f"passed {rate.successes}/{rate.trials} on {branch} "
            f"(95 % interval {rate.low * 100:.0f}–{rate.high * 100:.0f} %)"
        )
    url = _safe_url(job.html_url)
    if url:
        facts.append(f"[log]({url})")
    lines = ["", f"**{escape_markdown(job.name)}**: " + ", ".join(facts)]
    if job.steps:
        lines += [
            "",
            "| step | conclusion | median | this run | change | verdict |",
            "| --- | --- | ---: | ---: | ---: | --- |",
        ]
        lines.extend(
            f"| {escape_markdown(step.name)} | {escape_markdown(step.conclusion or '–')} | "
            + _duration_cells(step.duration, step.duration.verdict.value)
            for step in job.steps
        )
    return lines


def _details(cmp: RunComparison, jobs: Sequence[JobComparison]) -> list[str]:
    if not jobs:
        return []
    branch = escape_markdown(cmp.options.baseline_branch)
    lines = ["<details><summary>Steps and queue times per job</summary>"]
    for job in jobs:
        lines.extend(_job_details(job, branch))
    lines += ["", "</details>"]
    return lines


def _chart_label(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9 ._/-]", "", text)[:60]


def _numbered_baseline(cmp: RunComparison) -> list[tuple[int, BaselineRun]]:
    """Baseline runs numbered oldest first, the numbers the chart and the links share."""
    ordered = sorted(cmp.baseline_runs, key=lambda run: (run.created_at is None, run.created_at, run.id))
    return list(enumerate(ordered, start=1))


def mermaid_chart(cmp: RunComparison) -> list[str]:
    """An `xychart-beta` of the successful baseline runs' wall times, oldest first, then this run.

    Labels are run numbers generated here; no text from the repository reaches the chart except the
    base branch name reduced to letters, digits and `._/-`.
    """
    baseline = [
        (number, run.duration)
        for number, run in _numbered_baseline(cmp)
        if run.used_for_durations and run.duration is not None
    ]
    current = cmp.wall_time.current
    if not baseline or current is None or cmp.wall_time.verdict is Verdict.NOT_COMPARED:
        return []
    durations = [duration for _number, duration in baseline] + [current]
    unit, scale = ("minutes", 60.0) if max(durations) >= 120 else ("seconds", 1.0)
    values = ", ".join(f"{value / scale:.2f}" for value in durations)
    labels = ", ".join([f'"{number}"' for number, _duration in baseline] + ['"this run"'])
    median_value = (cmp.wall_time.baseline_median or 0.0) / scale
    branch = _chart_label(cmp.options.baseline_branch)
    return [
        "```mermaid",
        "xychart-beta",
        f'    title "Wall time: successful runs on {branch} (bars), their median (line), then this run"',
        f"    x-axis [{labels}]",
        f'    y-axis "{unit}" 0 --> {max(durations) / scale * 1.1:.2f}',
        f"    bar [{values}]",
        f"    line [{', '.join([f'{median_value:.2f}'] * len(durations))}]",
        "```",
    ]


def _method(cmp: RunComparison) -> str:
    confirm = "; a job that looks slower in one run is re-run before it is called slower" if cmp.options.confirm else ""
    return (
        "one-sided prediction interval on log-durations against the recent level of the base branch, within the "
        f"mode of its history that explains the run; α = {cmp.options.alpha:g} shared (Holm) within the run's "
        f"measures, the jobs and the steps{confirm}"
    )


def _sources(cmp: RunComparison, with_run_links: bool) -> list[str]:
    lines: list[str] = []
    run_url = _safe_url(cmp.run_html_url)
    this_run = [f"[This run (attempt {cmp.run_attempt})]({run_url})"] if run_url else []
    if cmp.status is not ComparisonStatus.COMPARED:
        return this_run
    branch = escape_markdown(cmp.options.baseline_branch)
    sentence = (
        f"Baseline: {cmp.successful_baseline_count} successful of {len(cmp.baseline_runs)} recent runs on {branch}"
    )
    period = cmp.baseline_period
    if period:
        sentence += f", {period[0]:%Y-%m-%d} to {period[1]:%Y-%m-%d}"
    sentence += (
        f". Slower or faster means significant ({_method(cmp)}) and at least "
        f"{cmp.options.threshold_percent:g} % and {cmp.options.threshold_seconds:g} s; "
        f"samples from this PR: {cmp.pr_sample_count}. Pass rates count the runs where a job passed or failed: "
        "cancelled and skipped ones are left out on both sides."
    )
    lines.append(sentence)
    if cmp.pr_sample_count == 1 and cmp.wall_time.verdict is Verdict.UNCHANGED:
        lines += [
            "",
            "One sample is thin evidence: a single slow run cannot be told from a slow runner, so smaller "
            "changes than those the table can show need more samples (re-runs, later pushes).",
        ]
    if this_run:
        lines += ["", *this_run]
    if with_run_links:
        links = []
        for number, run in _numbered_baseline(cmp):
            url = _safe_url(run.html_url)
            if url:
                failed = "" if run.conclusion == "success" else f" ({escape_markdown(run.conclusion or 'unfinished')})"
                links.append(f"[{number}]({url}){failed}")
        if links:
            lines += ["", "Baseline runs, oldest first: " + " ".join(links)]
    return lines


@dataclass(frozen=True, slots=True)
class _Detail:
    """How much of the report to render; later entries of `_DETAIL_LEVELS` leave out more."""

    steps_for_all_jobs: bool
    steps_for_flagged_jobs: bool
    chart: bool
    run_links: bool
    all_job_rows: bool
    omitted: str


_DETAIL_LEVELS = (
    _Detail(True, True, True, True, True, ""),
    _Detail(False, True, True, True, True, "steps of unflagged jobs"),
    _Detail(False, False, True, True, True, "all step details"),
    _Detail(False, False, False, False, True, "step details, the chart and links to baseline runs"),
    _Detail(False, False, False, False, False, "step details, the chart, baseline links and unflagged jobs"),
)


def _note(omitted: str) -> str:
    return f"_✂️ Shortened to fit GitHub's size limit: left out {omitted}._"


def _fit(render: Callable[[_Detail], str], fits: Callable[[str], bool], hard_cut: Callable[[str, str], str]) -> str:
    """The most detailed rendering that fits; the least detailed one cut line by line as a last resort."""
    for detail in _DETAIL_LEVELS:
        text = render(detail)
        if fits(text):
            return text
    return hard_cut(render(_DETAIL_LEVELS[-1]), _note("everything after this point"))


def _cut_lines(text: str, note: str, fits: Callable[[str], bool]) -> str:
    lines = text.split("\n")
    low, high = 0, len(lines)
    while low < high:  # the largest number of leading lines that fits together with the note
        middle = (low + high + 1) // 2
        if fits("\n".join([*lines[:middle], "", note])):
            low = middle
        else:
            high = middle - 1
    return "\n".join([*lines[:low], "", note])


def _body(cmp: RunComparison, detail: _Detail, *, table: bool, details: bool) -> list[str]:
    lines: list[str] = []
    if cmp.status is not ComparisonStatus.COMPARED:
        return lines
    shown_jobs = cmp.jobs if detail.all_job_rows else tuple(job for job in cmp.jobs if _is_flagged(job))
    if table:
        lines += ["", *_job_table(cmp, shown_jobs)]
        hidden = len(cmp.jobs) - len(shown_jobs)
        if hidden:
            lines += ["", f"{hidden} unflagged jobs not shown."]
    if details:
        detailed = [
            job for job in cmp.jobs if detail.steps_for_all_jobs or (detail.steps_for_flagged_jobs and _is_flagged(job))
        ]
        if detailed:
            lines += ["", *_details(cmp, detailed)]
        if detail.chart:
            chart = mermaid_chart(cmp)
            if chart:
                lines += ["", *chart]
    return lines


def render_comment(cmp: RunComparison, *, marker: str, limit: int = COMMENT_MAX_CHARACTERS) -> str:
    """The PR comment (GitHub markdown, ≤ `limit` characters), starting with the hidden `marker`."""

    def render(detail: _Detail) -> str:
        lines = [
            marker,
            f"### ⏱️ CI comparison: {escape_markdown(cmp.workflow_name or cmp.workflow_path)}",
            "",
            f"**{headline(cmp)}**",
        ]
        lines += _body(cmp, detail, table=True, details=True)
        lines += ["", *_sources(cmp, detail.run_links)]
        if detail.omitted:
            lines += ["", _note(detail.omitted)]
        return "\n".join(lines)

    def fits(text: str) -> bool:
        return len(text) <= limit

    return _fit(render, fits, lambda text, note: _cut_lines(text, note, fits))


def check_conclusion(cmp: RunComparison, fail_on: str) -> Conclusion:
    """`failure`, `success` or `neutral` as described in the module docstring."""
    if fail_on not in FAIL_ON_CHOICES:
        raise ValueError(f"fail_on must be one of {FAIL_ON_CHOICES}, got {fail_on!r}")
    if cmp.status is not ComparisonStatus.COMPARED or fail_on == "never":
        return "neutral"
    new_failure = bool(cmp.new_failures)
    if new_failure or (fail_on == "regression" and cmp.has_regression):
        return "failure"
    problems = cmp.has_regression or any(job.failure is not None for job in cmp.jobs)
    if problems or cmp.awaiting_confirmation or cmp.wall_time.verdict is Verdict.NOT_ENOUGH_HISTORY:
        return "neutral"
    return "success"


def render_check_run(cmp: RunComparison, *, fail_on: str, workflow_text: str | None = None) -> Report:
    """The check run: the headline as title, the job table as summary, steps and chart as text.

    Newly failing and slower jobs are annotated at their line in `workflow_text` (line 1 without it)."""
    title = headline(cmp, plain_text)

    def summary(detail: _Detail) -> str:
        lines = [f"**{headline(cmp)}**", *_body(cmp, detail, table=True, details=False)]
        lines += ["", *_sources(cmp, detail.run_links)]
        if detail.omitted and not detail.all_job_rows:
            lines += ["", _note("unflagged jobs")]
        return "\n".join(lines)

    def text(detail: _Detail) -> str:
        lines = _body(cmp, detail, table=False, details=True)
        if lines and detail.omitted:
            lines += ["", _note(detail.omitted)]
        return "\n".join(lines).strip()

    def cut(content: str, note: str) -> str:
        return _cut_lines(content, note, fits_bytes)

    details = _fit(text, fits_bytes, cut)
    return Report(
        conclusion=check_conclusion(cmp, fail_on),
        title=title,
        summary=_fit(summary, fits_bytes, cut),
        text=details,
        annotations=tuple(annotations_for(cmp, cmp.workflow_path, workflow_text)),
    )


def annotations_for(cmp: RunComparison, workflow_path: str, workflow_text: str | None) -> list[Annotation]:
    """One annotation per newly failing (`failure`) or slower (`warning`) job, at the job's line."""
    jobs_in_file = workflow_jobs(workflow_text) if workflow_text else ()
    branch = plain_text(cmp.options.baseline_branch)
    annotations: list[Annotation] = []
    for job in cmp.jobs:
        name = plain_text(job.name)
        level: AnnotationLevel
        if job.failure is FailureVerdict.NEW_FAILURE:
            level, title = "failure", f"New failure: {name}"
            rate = job.baseline_pass_rate
            history = f"passed {rate.successes} of {rate.trials} recent runs" if rate else "did not run"
            message = f"Job '{name}' failed in this run; it {history} on {branch}."
        elif job.duration.verdict is Verdict.REGRESSION:
            level, title = "warning", f"Slower: {name} ({format_change(job.duration)})"
            duration = job.duration
            message = (
                f"Job '{name}' took {format_seconds(duration.current)} against a median of "
                f"{format_seconds(duration.baseline_median)} over {duration.baseline_count} runs on {branch} "
                f"({format_change(duration)})."
            )
        else:
            continue
        line = job_line(job.name, jobs_in_file)
        annotations.append(
            Annotation(
                path=workflow_path,
                start_line=line,
                end_line=line,
                level=level,
                title=title,
                message=plain_text(message, ANNOTATION_MESSAGE_MAX_CHARACTERS),
            )
        )
    return annotations
