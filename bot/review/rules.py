"""What each review rule checks and how to fix what it finds: the text code scanning shows with an alert (SARIF).

The App's own rules are described here one by one. Rules of external tools (``zizmor/<audit>``,
``actionlint/<kind>``) are described from the tool's own words and documentation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleText:
    """``summary``: one sentence; ``explanation``: why it matters; ``fix``: markdown, what to change."""

    summary: str
    explanation: str
    fix: str
    tags: tuple[str, ...] = ()


SYNTAX = ("correctness",)
SPEED = ("performance",)
SHARED = ("maintainability",)

RULES: dict[str, RuleText] = {
    "syntax/yaml": RuleText(
        "The file is not valid YAML.",
        "GitHub cannot read the file at all: the workflow does not run, or the action cannot be used.",
        "Correct the YAML at the line shown (indentation, an unclosed bracket or quote, a tab).",
        SYNTAX,
    ),
    "syntax/schema": RuleText(
        "A key or value GitHub does not accept here.",
        "Checked against SchemaStore's workflow and action schemas, relaxed where GitHub accepts more "
        "(bot/review/schema_relaxations.py). GitHub rejects such a file when the workflow is triggered.",
        "Use the key and value form the message names; see GitHub's workflow syntax reference.",
        SYNTAX,
    ),
    "syntax/expression": RuleText(
        "A `${{ }}` expression GitHub cannot evaluate.",
        "An unknown context or function, a wrong number of arguments, a context that is not available where "
        "it is used, or an expression that does not parse: the run fails when it reaches it.",
        "Use a context available at this place (GitHub's contexts reference has a table of where each one "
        "is available) and the functions GitHub offers.",
        SYNTAX,
    ),
    "syntax/expression-type": RuleText(
        "An expression that evaluates to something other than what it seems.",
        "A property that is not defined (null), a comparison of values of different types, or text given to "
        "`fromJSON` that is not JSON.",
        "Check the property name against the context's shape and compare values of the same type.",
        SYNTAX,
    ),
    "syntax/if-condition": RuleText(
        "An `if:` condition that is always true or always false.",
        "Text outside `${{ }}` in an `if:` makes the whole condition a non-empty string, which is true; a "
        "condition without any context or status function never changes.",
        "Put the whole condition inside one `${{ }}`, or remove an `if:` that never changes.",
        SYNTAX,
    ),
    "syntax/needs": RuleText(
        "A job needs a job that does not exist, or jobs need each other in a cycle.",
        "GitHub refuses the workflow: no job of it runs.",
        "Name existing job ids in `needs:` and break the cycle.",
        SYNTAX,
    ),
    "syntax/id": RuleText(
        "A job or step id GitHub does not accept, or a step id used twice in a job.",
        "Ids must start with a letter or `_` and hold only letters, digits, `-` and `_`; step ids are unique per job.",
        "Rename the id.",
        SYNTAX,
    ),
    "syntax/merge-key": RuleText(
        "A YAML merge key (`<<`), which GitHub does not support.",
        "GitHub's YAML parser rejects merge keys.",
        "Write the keys out, or use an alias (`*name`) for a whole value.",
        SYNTAX,
    ),
    "syntax/step-keys": RuleText(
        "A step key that does not apply to this kind of step.",
        "`with` belongs to action steps, `shell` and `working-directory` to `run` steps.",
        "Use `env:` to give values to a `run` step; drop `shell`/`working-directory` from an action step.",
        SYNTAX,
    ),
    "syntax/uses": RuleText(
        "A `uses:` GitHub cannot resolve as written, or an action on a retired Node.js version.",
        "GitHub does not evaluate expressions in `uses:`; actions on retired Node.js versions stop working.",
        "Name the action or reusable workflow literally, and move to the major version the message names.",
        SYNTAX,
    ),
    "syntax/deprecated-command": RuleText(
        "A deprecated workflow command (`::set-output`, `::save-state`, `::set-env`, `::add-path`).",
        "GitHub disabled or is removing these commands.",
        "Write to the files GitHub provides instead: `$GITHUB_OUTPUT`, `$GITHUB_STATE`, `$GITHUB_ENV`, `$GITHUB_PATH`.",
        SYNTAX,
    ),
    "syntax/runner-label": RuleText(
        "A `runs-on` label no GitHub-hosted runner has, or labels no single runner has together.",
        "Unknown labels are fine for self-hosted runners (a notice); labels of different operating systems in "
        "one `runs-on` match no runner, so the job waits until it times out.",
        "Use a GitHub-hosted label or your self-hosted runners' labels; use a matrix for several systems.",
        SYNTAX,
    ),
    "syntax/matrix": RuleText(
        "A matrix `exclude` that names a key or value the matrix does not have.",
        "An unknown key fails the run; an unknown value excludes nothing.",
        "Use the matrix's own keys and values in `exclude`.",
        SYNTAX,
    ),
    "syntax/cron": RuleText(
        "A schedule GitHub cannot run as written.",
        "An invalid cron expression, a schedule more frequent than every 5 minutes, or an unknown time zone.",
        "Write five cron fields (minute hour day month weekday) and an IANA time zone name.",
        SYNTAX,
    ),
    "syntax/filters": RuleText(
        "A branch, tag or path filter that cannot work.",
        "Both `branches` and `branches-ignore` (or `paths` and `paths-ignore`) for one event, a filter the "
        "event does not offer, or a glob pattern GitHub rejects.",
        "Keep one of each pair (use `!pattern` to exclude) and filters the event supports.",
        SYNTAX,
    ),
    "syntax/inputs": RuleText(
        "A workflow input whose definition cannot work as written.",
        "Too many `workflow_dispatch` inputs, a `choice` without `options`, or a default that does not fit "
        "the input's type or options.",
        "Match each default to its input's type and options.",
        SYNTAX,
    ),
    "config/invalid": RuleText(
        "A problem in `.github/ci-orchestrator.yml`.",
        "The setting is ignored and its default (or the organization's value) applies; the App keeps working.",
        "Correct the setting as the message says; docs/configuration.md lists every key and its values.",
        ("configuration",),
    ),
    "security/not-audited": RuleText(
        "zizmor could not read this file, so it was not audited for security.",
        "zizmor stops on files it cannot load; the other files were audited one by one.",
        "Fix what the syntax analyzer reports in this file; the audit runs again on the next change.",
        ("security",),
    ),
    "speed/missing-cache": RuleText(
        "A setup action installs dependencies without caching them.",
        "setup-python, setup-node and setup-java cache the package manager's downloads with one input; "
        "without it every run downloads everything again.",
        "Add `cache:` to the setup step (`cache: pip`, `cache: npm`, ...), or `cache: false` to say it is on purpose.",
        SPEED,
    ),
    "speed/no-concurrency": RuleText(
        "A pull-request workflow that does not cancel runs of superseded pushes.",
        "Every push to a pull request starts a new run; without a cancelling `concurrency` group the old ones "
        "keep running and take runners.",
        "Add a workflow-level `concurrency:` with a group of the workflow and ref, and "
        "`cancel-in-progress: true` (the suggested snippet names the file, so a caller's group cannot collide).",
        SPEED,
    ),
    "speed/missing-timeout": RuleText(
        "Jobs without `timeout-minutes`.",
        "A hung job runs for GitHub's default of 6 hours before it is stopped.",
        "Add `timeout-minutes:` to each job; the suggested value is 3× the job's median duration in the run "
        "history (60 minutes without history).",
        SPEED,
    ),
    "speed/full-history-checkout": RuleText(
        "A checkout of the whole history where nothing seems to need it.",
        "`fetch-depth: 0` downloads every commit of the repository, which takes long on large repositories.",
        "Remove `fetch-depth: 0` (the default fetches one commit), or keep it where a tool reads history.",
        SPEED,
    ),
    "speed/no-path-filter": RuleText(
        "A heavy pull-request workflow that runs whatever files change.",
        "Many jobs or a large matrix run even for a change to the README.",
        "Add `paths:` or `paths-ignore:` under `pull_request:`, or gate the jobs on a changes-detection job.",
        SPEED,
    ),
    "speed/matrix-duplicated-setup": RuleText(
        "A matrix step that does the same work in every leg.",
        "Nothing in the step depends on the matrix, so each leg repeats it.",
        "Move the step into a job that runs once and pass its result on (an artifact or a job output).",
        SPEED,
    ),
    "shared-actions/duplicated-steps": RuleText(
        "The same steps are repeated in several jobs or workflows.",
        "Copies drift apart when one is changed and the others are not.",
        "Move the steps into the local composite action shown, and replace each copy with the `uses:` shown.",
        SHARED,
    ),
    "shared-actions/use-shared-action": RuleText(
        "Steps one of the organization's shared actions replaces.",
        "The organization lists this shared action in `shared_actions:` of its configuration.",
        "Replace the steps with the snippet shown.",
        SHARED,
    ),
}


def rule_help_uri(rule: str) -> str | None:
    """Where an external tool's rule is explained (zizmor, actionlint), or None for the App's own rules."""
    family, _, name = rule.partition("/")
    if family == "zizmor":
        return f"https://docs.zizmor.sh/audits/#{name}"
    if family == "actionlint":
        return "https://github.com/rhysd/actionlint/blob/main/docs/checks.md"
    return None


def rule_text(rule: str, example_message: str) -> RuleText:
    """The text of ``rule``; an external tool's rule is described from one of its messages and its documentation."""
    known = RULES.get(rule)
    if known is not None:
        return known
    family, _, name = rule.partition("/")
    uri = rule_help_uri(rule)
    see = f"See [the tool's documentation]({uri})." if uri else "See the message of each finding."
    if family == "zizmor":
        summary = example_message.split(": ", 1)[0].strip() or f"zizmor audit {name}"
        explanation = f"zizmor's `{name}` audit, run offline on the workflow and action files."
        return RuleText(summary[:1].upper() + summary[1:] + ".", explanation, see, ("security",))
    if family == "actionlint":
        return RuleText(f"actionlint's `{name}` check.", "Reported by actionlint (a warning at most).", see, SYNTAX)
    return RuleText(f"Rule {rule}.", f"Reported by the `{family}` analyzer.", see)
