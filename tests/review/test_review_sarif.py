"""Tests for the SARIF output: valid against the SARIF 2.1.0 schema, and what GitHub code scanning reads from it."""

import json
import re
from pathlib import Path
from textwrap import dedent

import jsonschema
import pytest

from bot.review import security
from bot.review.engine import review_files
from bot.review.model import Finding, Fix, ReviewOptions, ReviewResult, SourceFile
from bot.review.rules import RULES
from bot.review.sarif import FINGERPRINT_KEY, format_sarif

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SCHEMA = json.loads((FIXTURES / "sarif" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
WORKFLOW = dedent("""\
    on: pull_request
    permissions: {}
    jobs:
      greet:
        runs-on: ubuntu-latest
        steps:
          - uses: actions/checkout@v4
          - run: echo "${{ github.event.pull_request.title }}"
          - run: echo "${{ github.event.pull_request.title }}"
    """)


def validate(log: dict) -> None:
    validator = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    problems = [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(log)]
    assert problems == []


def sarif_of(result: ReviewResult, texts: dict[str, str] | None = None) -> dict:
    return json.loads(format_sarif(result, texts))


def test_the_schema_catches_what_it_should() -> None:
    with pytest.raises(AssertionError):
        validate({"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]})  # a driver needs a name


def test_a_real_review_is_valid_sarif_with_every_field_code_scanning_uses() -> None:
    files = [SourceFile(".github/workflows/a b#c?.yml", WORKFLOW), SourceFile(".github/workflows/broken.yml", "on: [")]
    fixtures = sorted((FIXTURES / "workflows").rglob("*.yml"))[:15]
    files += [SourceFile(f"{path.parent.name}/.github/workflows/{path.name}", path.read_text()) for path in fixtures]
    result = review_files(files, ReviewOptions())
    result.errors.append("security: zizmor did not finish within 30 s and was stopped")
    log = sarif_of(result, {source.path: source.text for source in files})
    validate(log)
    [run] = log["runs"]
    assert run["invocations"][0]["executionSuccessful"] is False
    assert run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"].startswith("security: zizmor")
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert {"syntax/yaml", "zizmor/template-injection", "speed/missing-timeout"} <= set(rules)
    for rule_id, rule in rules.items():
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"], rule_id
        assert "**How to fix:**" in rule["help"]["markdown"], rule_id
        assert "github-actions" in rule["properties"]["tags"]
        is_security = rule_id.startswith("zizmor/")
        assert ("security-severity" in rule["properties"]) == is_security, rule_id
    assert rules["zizmor/template-injection"]["properties"]["security-severity"] == "8.0"
    assert "security" in rules["zizmor/template-injection"]["properties"]["tags"]
    assert rules["zizmor/template-injection"]["shortDescription"]["text"].startswith("Code injection")
    for result_entry in run["results"]:
        assert re.fullmatch(r"[0-9a-f]{32}:\d+", result_entry["partialFingerprints"][FINGERPRINT_KEY])
        location = result_entry["locations"][0]["physicalLocation"]["artifactLocation"]
        assert location["uriBaseId"] == "%SRCROOT%"
        assert not location["uri"].startswith(("/", "..")) and re.fullmatch(r"[\w.~%/-]+", location["uri"])
    uris = {entry["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for entry in run["results"]}
    assert ".github/workflows/a%20b%23c%3F.yml" in uris


def test_fingerprints_follow_the_content_when_lines_move(monkeypatch: pytest.MonkeyPatch) -> None:
    found = security.find_executable
    monkeypatch.setattr(security, "find_executable", lambda name: None if name == "actionlint" else found(name))
    path = ".github/workflows/greet.yml"

    def fingerprints(text: str) -> dict[str, tuple[int, str]]:
        result = review_files([SourceFile(path, text)], ReviewOptions(analyzers=("security",)))
        log = sarif_of(result, {path: text})
        return {
            entry["partialFingerprints"][FINGERPRINT_KEY]: (
                entry["locations"][0]["physicalLocation"]["region"]["startLine"],
                entry["ruleId"],
            )
            for entry in log["runs"][0]["results"]
        }

    before = fingerprints(WORKFLOW)
    moved = fingerprints("# a comment\n# another\n" + WORKFLOW.replace("permissions: {}\n", "permissions: {}\n\n"))
    injections = sorted(line for line, rule in before.values() if rule == "zizmor/template-injection")
    assert injections == [8, 9]  # two copies of one mistake: two alerts
    assert set(moved) == set(before)
    assert {fingerprint: line + 3 for fingerprint, (line, _) in before.items()} == {
        fingerprint: line for fingerprint, (line, _) in moved.items()
    }
    second_copy = WORKFLOW.rindex("github.event.pull_request.title")
    changed = fingerprints(WORKFLOW[:second_copy] + WORKFLOW[second_copy:].replace("pull_request.title", "head_ref"))
    kept = set(changed) & set(before)
    assert [before[fingerprint] for fingerprint in kept if before[fingerprint][1] == "zizmor/template-injection"] == [
        (8, "zizmor/template-injection")
    ]


def test_fixes_are_in_the_message_and_single_line_regions_have_an_end_column() -> None:
    fix = Fix(3, 3, "    timeout-minutes: 30", snippet=None)
    findings = [
        Finding("w.yml", 3, 5, 3, "notice", "speed/missing-timeout", "no timeout", fix, None),
        Finding(
            "w.yml", 8, 3, 8, "error", "zizmor/template-injection", "code injection via template expansion", None, 20
        ),
    ]
    log = sarif_of(ReviewResult(findings, ["speed"], {}, []))
    validate(log)
    first, second = log["runs"][0]["results"]
    assert first["message"]["text"].endswith("Suggested change:\n    timeout-minutes: 30")
    assert first["level"] == "note"
    assert second["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 8,
        "startColumn": 3,
        "endLine": 8,
        "endColumn": 21,
    }


def test_an_absolute_path_outside_any_repository_is_a_file_uri() -> None:
    finding = Finding("/tmp/x y/ci.yml", 1, 1, 1, "error", "syntax/yaml", "bad")
    log = sarif_of(ReviewResult([finding], ["syntax"], {}, []))
    validate(log)
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "file:///tmp/x%20y/ci.yml"}


def test_every_rule_of_the_app_is_described() -> None:
    source = "\n".join(path.read_text() for path in (Path(__file__).parents[2] / "bot" / "review").glob("*.py"))
    own = set(re.findall(r'"((?:syntax|speed|shared-actions|config|security)/[a-z-]+)"', source))
    assert own and own <= set(RULES), own - set(RULES)
