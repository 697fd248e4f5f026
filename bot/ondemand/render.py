"""What a test session shows: the check run (a live table of legs, then the conclusion with annotations on the
workflow file for failing legs) and the reply to the command's comment. Every untrusted text is escaped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from bot.comparison.workflow_lines import job_line, workflow_jobs
from bot.config.schema import ConfigProblem
from bot.config.testing_suites import TESTING_CONFIG_PATH
from bot.ondemand.matrix import leg_label
from bot.ondemand.session import Leg, SuiteSession, leg_met, session_conclusion
from bot.report import Annotation, Report, code_block, code_span, escape_markdown

REPLY_MARKER = "<!-- ci-orchestrator:test-session:{id} -->"
WORKFLOWS_DIR = ".github/workflows"
RERUN_FAILED = "rerun-failed"
RUN_AGAIN = "run-again"
#: The check run's buttons, within GitHub's limits (label ≤ 20, description ≤ 40, identifier ≤ 20 characters).
CHECK_ACTIONS = (
    {"label": "Re-run failed legs", "description": "Dispatch the legs that failed again", "identifier": RERUN_FAILED},
    {"label": "Run again", "description": "Start the whole suite once more", "identifier": RUN_AGAIN},
)
_CONCLUSION_WORDS = {
    "success": "✅ every leg met its expectation",
    "failure": "❌ some legs failed",
    "timed_out": "⌛ some legs timed out",
    "cancelled": "⏹ cancelled",
}


def format_duration(duration: timedelta | float | None) -> str:
    if duration is None:
        return "–"
    seconds = round(duration.total_seconds() if isinstance(duration, timedelta) else duration)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def leg_status(leg: Leg, session: SuiteSession) -> str:
    """One cell: where the leg stands, in words and a symbol."""
    met = leg_met(leg, session.expect)
    if leg.state == "completed":
        conclusion = leg.conclusion or "unknown"
        if met:
            return f"✅ {conclusion}"
        if leg.conclusion == session.expect.conclusion:  # too slow
            return f"❌ {conclusion}, over {format_duration(session.expect.max_duration_seconds)}"
        return f"❌ {conclusion}"
    return {
        "pending": "⏳ waiting to be dispatched",
        "dispatched": "🟡 dispatched",
        "queued": "🟡 queued",
        "in_progress": "🔄 running",
        "cancelled": "⏹ cancelled",
        "timed_out": "⌛ timed out",
        "error": "⚠️ not dispatched",
    }[leg.state]


def change_against_history(leg: Leg, typical: Mapping[str, float]) -> str:
    """The leg's duration against its median on the default branch (from earlier sessions), e.g. `+12 %`."""
    duration, usual = leg.duration, typical.get(leg.key)
    if duration is None or usual is None or usual <= 0:
        return "–"
    change = (duration.total_seconds() - usual) / usual * 100
    return f"{change:+.0f} % vs {format_duration(usual)}"


def legs_table(legs: Sequence[Leg], session: SuiteSession, typical: Mapping[str, float]) -> str:
    lines = ["| # | leg | status | duration | vs default branch | run |", "| ---: | --- | --- | ---: | --- | --- |"]
    for leg in legs:
        link = f"[run]({leg.html_url})" if leg.html_url else "–"
        if leg.failing_job_url and leg_met(leg, session.expect) is False:
            link += f" · [log]({leg.failing_job_url})"
        status = leg_status(leg, session)
        if leg.note:
            status += f": {escape_markdown(leg.note, 120)}"
        lines.append(
            f"| {leg.number} | {escape_markdown(leg_label(leg.inputs))} | {status} | "
            f"{format_duration(leg.duration)} | {change_against_history(leg, typical)} | {link} |"
        )
    return "\n".join(lines)


def _counts(legs: Sequence[Leg], session: SuiteSession) -> tuple[int, int, int]:
    """(finished, met, missed) legs."""
    verdicts = [leg_met(leg, session.expect) for leg in legs]
    return sum(v is not None for v in verdicts), sum(v is True for v in verdicts), sum(v is False for v in verdicts)


def _where(session: SuiteSession) -> str:
    return (
        f"suite {code_span(session.suite)}: workflow {code_span(session.workflow)} on {code_span(session.ref)} "
        f"({code_span(session.head_sha[:7])}), {session.trigger} by {escape_markdown(session.requested_by)}"
    )


def _expectation(session: SuiteSession) -> str:
    expect = session.expect
    text = f"each leg concludes {code_span(expect.conclusion)}"
    if expect.max_duration_seconds is not None:
        text += f" within {format_duration(expect.max_duration_seconds)}"
    return text


def failing_annotations(legs: Sequence[Leg], session: SuiteSession, workflow_text: str | None) -> list[Annotation]:
    """One annotation per leg that missed its expectation, at the line of its failing job in the workflow file."""
    jobs = workflow_jobs(workflow_text) if workflow_text else ()
    annotations = []
    for leg in legs:
        if leg_met(leg, session.expect) is not False or leg.state == "cancelled":
            continue
        label = leg_label(leg.inputs)
        line = job_line(leg.failing_job, jobs) if leg.failing_job else 1
        if leg.failing_job:
            where = f"job {leg.failing_job!r}" + (f" failed at step {leg.failing_step!r}" if leg.failing_step else "")
        elif leg.state == "completed":
            where = f"the run concluded {leg.conclusion}"
            if leg.conclusion == session.expect.conclusion:
                where += f" but took {format_duration(leg.duration)}"
        else:
            where = leg.note or leg.state
        message = f"Leg {leg.number} ({label}): {where}."
        if leg.failing_job_url or leg.html_url:
            message += f"\nLog: {leg.failing_job_url or leg.html_url}"
        annotations.append(
            Annotation(
                path=f"{WORKFLOWS_DIR}/{session.workflow}",
                start_line=line,
                end_line=line,
                level="failure",
                title=f"Leg failed: {label}",
                message=message,
            )
        )
    return annotations


def render_check_run(
    session: SuiteSession, legs: Sequence[Leg], typical: Mapping[str, float], workflow_text: str | None = None
) -> Report:
    """The session's check run: in progress with the live table, or completed with its conclusion."""
    finished, met, missed = _counts(legs, session)
    conclusion = session.conclusion or session_conclusion(legs, session.expect, cancelled=session.cancelled)
    header = [f"Testing {_where(session)}.", f"Expected: {_expectation(session)}."]
    if session.note:
        header.append(escape_markdown(session.note, 300))
    summary = "\n\n".join([*header, legs_table(legs, session, typical)])
    if conclusion is None:
        title = f"Running: {finished} of {len(legs)} legs done" + (f", {missed} failed" if missed else "")
        return Report(None, title, summary)
    title = f"{len(legs)} legs: {met} met the expectation" + (f", {missed} did not" if missed else "")
    if conclusion == "cancelled":
        title = f"Cancelled: {met} of {len(legs)} legs met the expectation"
    annotations = failing_annotations(legs, session, workflow_text)
    return Report(conclusion, title, summary, annotations=tuple(annotations))


def render_reply(session: SuiteSession, legs: Sequence[Leg], check_url: str | None) -> str:
    """The reply to the command's comment: where the session stands, the failed legs, a link to the check run."""
    finished, met, missed = _counts(legs, session)
    conclusion = session.conclusion
    marker = REPLY_MARKER.format(id=session.id)
    link = f" · [check run]({check_url})" if check_url else ""
    if conclusion is None:
        state = f"⏳ running: {finished} of {len(legs)} legs done" + (f", {missed} failed so far" if missed else "")
    else:
        state = f"{_CONCLUSION_WORDS[conclusion]}: {met} of {len(legs)} legs met the expectation"
    lines = [marker, f"**Test {_where(session)}**", "", state + link]
    failed = [leg for leg in legs if leg_met(leg, session.expect) is False and leg.state != "cancelled"]
    if failed:
        lines += ["", "| leg | status | run |", "| --- | --- | --- |"]
        for leg in failed[:20]:
            status = leg_status(leg, session)
            if leg.failing_step:
                status += f" at {escape_markdown(leg.failing_step)}"
            link_cell = (
                f"[log]({leg.failing_job_url or leg.html_url})" if (leg.failing_job_url or leg.html_url) else "–"
            )
            lines.append(f"| {escape_markdown(leg_label(leg.inputs))} | {status} | {link_cell} |")
        if len(failed) > 20:
            lines.append(f"\n… and {len(failed) - 20} more in the check run.")
    if conclusion is not None and failed:
        lines += ["", "Comment `/ci rerun-failed` or use **Re-run failed legs** on the check run to try them again."]
    return "\n".join(lines)


def render_refusal(marker_id: str, message: str, details: str = "") -> str:
    """A reply that says why a command was not carried out: `message` is the App's own markdown, `details` (a
    usage text, problems with their lines) is shown verbatim in a code block, whatever it contains."""
    lines = [REPLY_MARKER.format(id=marker_id), message]
    if details:
        lines += ["", code_block(details, "text")]
    return "\n".join(lines)


def render_problems(suite: str, problems: Sequence[ConfigProblem]) -> Report:
    """The check run of a push suite that was not run because its configuration has problems, each at its line."""
    lines = [
        f"Suite {code_span(suite)} was not run: {code_span(TESTING_CONFIG_PATH)} has problems. Nothing was dispatched.",
        "",
        "| line | problem |",
        "| ---: | --- |",
    ]
    lines += [f"| {p.line or '–'} | {escape_markdown(p.message, 500)} |" for p in problems]
    annotations = [
        Annotation(TESTING_CONFIG_PATH, p.line, p.line, "failure", p.message, title=f"Suite {suite} not run")
        for p in problems
        if p.line
    ]
    return Report(
        "failure",
        f"Not run: {len(problems)} configuration problem(s)",
        "\n".join(lines),
        annotations=tuple(annotations),
    )
