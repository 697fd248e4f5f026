"""Tests for the speed analyzer: each rule must fire on the right line, stay quiet when fine, and fix mechanically."""

from textwrap import dedent

from bot.review.model import Finding, ReviewContext, SourceFile
from bot.review.speed import SpeedAnalyzer, format_duration, matrix_legs
from bot.review.yaml_lines import parse_yaml

PATH = ".github/workflows/ci.yml"


def review(text: str, timings: dict[tuple[str, str], float] | None = None, rule: str | None = None) -> list[Finding]:
    context = ReviewContext(step_timings=timings or {})
    findings = SpeedAnalyzer().analyze([SourceFile(PATH, dedent(text))], context)
    return [f for f in findings if rule is None or f.rule == rule]


def apply_fix(text: str, finding: Finding) -> str:
    assert finding.fix is not None
    lines = dedent(text).splitlines()
    fix = finding.fix
    return "\n".join(lines[: fix.start_line - 1] + fix.replacement.splitlines() + lines[fix.end_line :]) + "\n"


PYTHON_JOB = dedent("""\
    on: push
    jobs:
      test:
        runs-on: ubuntu-latest
        timeout-minutes: 10
        steps:
          - uses: actions/checkout@v4
          - uses: actions/setup-python@v5
            with:
              python-version: "3.12"
          - name: Install
            run: pip install -r requirements.txt
    """)


def test_missing_cache_with_fix_under_existing_with() -> None:
    [finding] = review(PYTHON_JOB, rule="speed/missing-cache")
    assert (finding.line, finding.level) == (8, "notice")
    assert "cache: pip" in finding.message
    fixed = apply_fix(PYTHON_JOB, finding)
    assert '        with:\n          cache: pip\n          python-version: "3.12"\n' in fixed
    assert review(fixed, rule="speed/missing-cache") == []


def test_missing_cache_fix_adds_with_and_says_how_long_install_takes() -> None:
    text = """\
        on: push
        jobs:
          web:
            runs-on: ubuntu-latest
            timeout-minutes: 10
            steps:
              - uses: actions/setup-node@v4
              - run: pnpm install --frozen-lockfile
        """
    [finding] = review(text, {("web", "Run pnpm install --frozen-lockfile"): 130.0}, rule="speed/missing-cache")
    assert finding.line == 7
    assert "this job spends 2m10s in that step" in finding.message
    assert "      - uses: actions/setup-node@v4\n        with:\n          cache: pnpm\n" in apply_fix(text, finding)


def test_no_missing_cache_when_cached_or_nothing_installed() -> None:
    cached = PYTHON_JOB.replace('python-version: "3.12"', 'python-version: "3.12"\n          cache: pip')
    with_cache_step = PYTHON_JOB.replace("      - uses: actions/checkout@v4", "      - uses: actions/cache@v4")
    no_install = PYTHON_JOB.replace("pip install -r requirements.txt", "python -m pytest")
    go_v5 = """\
        on: push
        jobs:
          go:
            runs-on: ubuntu-latest
            timeout-minutes: 10
            steps:
              - uses: actions/setup-go@v5
              - run: go build ./...
        """
    for text in (cached, with_cache_step, no_install, go_v5):
        assert parse_yaml(dedent(text)).problem is None
        assert review(text, rule="speed/missing-cache") == []
    assert [f.line for f in review(go_v5.replace("setup-go@v5", "setup-go@v3"), rule="speed/missing-cache")] == [7]


def test_missing_timeout_is_one_notice_per_file_naming_each_job() -> None:
    text = """\
        on: push
        jobs:
            build:
                runs-on: ubuntu-latest
                steps:
                    - run: make
            lint:
                runs-on: ubuntu-latest
                steps:
                    - run: make lint
            timed:
                runs-on: ubuntu-latest
                timeout-minutes: 5
                steps:
                    - run: make
            call:
                uses: ./.github/workflows/reusable.yml
        """
    [finding] = review(text, rule="speed/missing-timeout")
    assert (finding.line, finding.column, finding.level) == (3, 5, "notice")
    assert "2 jobs without `timeout-minutes`" in finding.message
    assert "`build`: 60 (no run history yet); `lint`: 60" in finding.message
    assert "timed" not in finding.message and "call" not in finding.message
    assert "    build:\n        timeout-minutes: 60\n        runs-on:" in apply_fix(text, finding)


def test_missing_timeout_uses_run_history() -> None:
    text = """\
        on: push
        jobs:
          build:
            name: Build
            runs-on: ubuntu-latest
            steps:
              - name: Compile
                run: make
              - run: make test
        """
    timings = {("Build", "Compile"): 400.0, ("Build", "Run make test"): 200.0, ("Other", "Compile"): 9999.0}
    [finding] = review(text, timings, rule="speed/missing-timeout")
    assert "`build`: 30 (3× its usual 10m00s)" in finding.message


PR_WORKFLOW = dedent("""\
    name: ci
    on:
      pull_request:
      push:
        branches: [main]
    jobs:
      lint:
        runs-on: ubuntu-latest
        timeout-minutes: 5
        steps:
          - run: make lint
    """)


def test_no_concurrency_on_pull_request_workflows_with_fix_before_jobs() -> None:
    [finding] = review(PR_WORKFLOW, rule="speed/no-concurrency")
    assert finding.line == 2
    fixed = apply_fix(PR_WORKFLOW, finding)
    assert "concurrency:\n  group: ${{ github.workflow }}-" in fixed
    assert "  cancel-in-progress: ${{ github.event_name == 'pull_request' }}\n\njobs:\n" in fixed
    assert review(fixed, rule="speed/no-concurrency") == []


def test_concurrency_rules_quiet_cases_and_missing_cancel() -> None:
    push_only = PR_WORKFLOW.replace("  pull_request:\n", "")
    assert review(push_only, rule="speed/no-concurrency") == []
    grouped = PR_WORKFLOW.replace("jobs:", "concurrency:\n  group: ci-${{ github.ref }}\njobs:")
    [finding] = review(grouped, rule="speed/no-concurrency")
    assert finding.line == 6 and "cancel-in-progress" in finding.message and finding.fix is None


def test_full_history_checkout_without_need() -> None:
    text = """\
        on: push
        jobs:
          test:
            runs-on: ubuntu-latest
            timeout-minutes: 10
            steps:
              - uses: actions/checkout@v4
                with:
                  fetch-depth: 0
              - run: make test
        """
    [finding] = review(text, rule="speed/full-history-checkout")
    assert (finding.line, finding.level) == (9, "notice")
    assert finding.fix is not None and finding.fix.replacement == "          fetch-depth: 1"
    needs_history = text.replace("make test", "git describe --tags")
    assert review(needs_history, rule="speed/full-history-checkout") == []
    scm = text.replace("make test", "pip install setuptools-scm && python -m build")
    assert review(scm, rule="speed/full-history-checkout") == []


HEAVY = dedent("""\
    on:
      pull_request:
        branches: [main]
    concurrency:
      group: ci
      cancel-in-progress: true
    jobs:
      test:
        runs-on: ${{ matrix.os }}
        timeout-minutes: 10
        strategy:
          matrix:
            os: [ubuntu-latest, windows-latest]
            python: ["3.11", "3.12"]
        steps:
          - run: make test
    """)


def test_heavy_pull_request_workflow_without_path_filter() -> None:
    [finding] = review(HEAVY, {("test (ubuntu-latest, 3.11)", "Run make test"): 300.0}, rule="speed/no-path-filter")
    assert finding.line == 2
    assert "1 job (widest matrix: 4 legs)" in finding.message
    assert "about 5m00s of job time" in finding.message
    filtered = HEAVY.replace("branches: [main]", "paths-ignore: ['docs/**']")
    assert review(filtered, rule="speed/no-path-filter") == []
    light = HEAVY.replace('python: ["3.11", "3.12"]', 'python: ["3.12"]')
    assert review(light, rule="speed/no-path-filter") == []


def test_matrix_legs_counting() -> None:
    assert matrix_legs({}) == 1
    assert matrix_legs({"strategy": {"matrix": {"a": [1, 2, 3], "b": [1, 2], "exclude": [{"a": 1, "b": 1}]}}}) == 5
    assert matrix_legs({"strategy": {"matrix": {"include": [{"a": 1}, {"a": 2}]}}}) == 2
    assert matrix_legs({"strategy": {"matrix": "${{ fromJSON(needs.plan.outputs.matrix) }}"}}) is None


def test_matrix_duplicated_build_step() -> None:
    text = """\
        on: push
        jobs:
          test:
            runs-on: ubuntu-latest
            timeout-minutes: 10
            strategy:
              matrix:
                shard: [1, 2, 3]
            steps:
              - uses: actions/checkout@v4
              - name: Build
                run: npm run build
              - run: npm test -- --shard=${{ matrix.shard }}/3
        """
    [finding] = review(text, {("test (1)", "Build"): 60.0}, rule="speed/matrix-duplicated-setup")
    assert finding.line == 11
    assert "all 3 matrix legs" in finding.message and "1m00s per leg, 3m00s in all" in finding.message
    depends = text.replace("run: npm run build", "run: npm run build -- --target=${{ matrix.shard }}")
    assert review(depends, rule="speed/matrix-duplicated-setup") == []
    per_os = text.replace("runs-on: ubuntu-latest", "runs-on: ${{ matrix.shard }}")
    assert review(per_os, rule="speed/matrix-duplicated-setup") == []


def test_only_workflows_are_analyzed() -> None:
    action = "name: a\ndescription: b\nruns:\n  using: composite\n  steps: []\n"
    assert SpeedAnalyzer().analyze([SourceFile("action.yml", action)], ReviewContext()) == []


def test_format_duration() -> None:
    assert [format_duration(s) for s in (45, 130, 3900)] == ["45s", "2m10s", "1h05m"]


def test_missing_cache_is_quiet_where_caching_is_off_on_purpose_or_unsafe() -> None:
    node = """\
        on: pull_request
        jobs:
          web:
            runs-on: ubuntu-latest
            timeout-minutes: 10
            steps:
              - uses: actions/checkout@v4
              - uses: actions/setup-node@v5
                with:
                  package-manager-cache: false
              - run: npm ci
        """
    no_cache_dir = PYTHON_JOB.replace("pip install -r", "pip install --no-cache-dir -r")
    release_trigger = PYTHON_JOB.replace("on: push", "on:\n  release:\n    types: [published]")
    tag_push = PYTHON_JOB.replace("on: push", "on:\n  push:\n    tags: ['v*']")
    publish_job = PYTHON_JOB + "      - uses: pypa/gh-action-pypi-publish@release/v1\n"
    setup_before_checkout = PYTHON_JOB.replace(
        "      - uses: actions/checkout@v4\n      - uses: actions/setup-python@v5\n        with:\n"
        '          python-version: "3.12"\n',
        '      - uses: actions/setup-python@v5\n        with:\n          python-version: "3.12"\n'
        "      - uses: actions/checkout@v4\n",
    )
    assert setup_before_checkout != PYTHON_JOB
    for text in (node, no_cache_dir, release_trigger, tag_push, publish_job, setup_before_checkout):
        assert review(text, rule="speed/missing-cache") == []
    findings = SpeedAnalyzer().analyze([SourceFile(".github/workflows/release.yml", PYTHON_JOB)], ReviewContext())
    assert [f for f in findings if f.rule == "speed/missing-cache"] == []
    assert len(review(PYTHON_JOB, rule="speed/missing-cache")) == 1


def test_full_history_of_another_repository_is_not_flagged() -> None:
    text = """\
        on: push
        jobs:
          stats:
            runs-on: ubuntu-latest
            timeout-minutes: 10
            steps:
              - uses: actions/checkout@v4
                with:
                  repository: other/history
                  fetch-depth: 0
              - run: ./count-commits.sh
        """
    assert review(text, rule="speed/full-history-checkout") == []
    own = text.replace("          repository: other/history\n", "")
    assert [f.line for f in review(own, rule="speed/full-history-checkout")] == [9]


def test_path_filter_is_not_asked_of_gated_jobs_or_with_change_detection() -> None:
    jobs = "".join(
        f"  job{n}:\n    runs-on: ubuntu-latest\n    timeout-minutes: 5\n    steps:\n      - run: make {n}\n"
        for n in range(3)
    )
    heavy = "on: pull_request\nconcurrency: {group: x, cancel-in-progress: true}\njobs:\n" + jobs
    assert len(review(heavy, rule="speed/no-path-filter")) == 1
    gated = heavy.replace("    runs-on:", "    if: needs.changes.outputs.code == 'true'\n    runs-on:")
    assert review(gated, rule="speed/no-path-filter") == []
    detection = heavy + "  changes:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: dorny/paths-filter@v3\n"
    assert review(detection, rule="speed/no-path-filter") == []


def test_suggested_concurrency_group_cannot_be_the_callers() -> None:
    text = """\
        on:
          pull_request:
          workflow_call:
        jobs:
          lint:
            runs-on: ubuntu-latest
            timeout-minutes: 5
            steps:
              - run: make lint
        """
    [finding] = review(text, rule="speed/no-concurrency")
    assert finding.fix is not None
    assert "group: ${{ github.workflow }}-ci-${{ github.event.pull_request.number || github.ref }}" in (
        finding.fix.replacement
    )
