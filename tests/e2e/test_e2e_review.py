"""The workflow review end to end: the App against the local GitHub, as users see it.

Check run, annotations, suggestions."""

from __future__ import annotations

import pytest

from bot.config.schema import CONFIG_PATH
from bot.review import security
from bot.testing.simulator import JobSpec, StepSpec
from bot.testing.simulator.faults import QueuedError
from bot.testing.simulator.render import Renderer

REVIEW = "workflow review"


@pytest.fixture(autouse=True)
def without_actionlint(monkeypatch):
    """These tests describe the review without the optional actionlint extra, whether or not it is installed."""
    found = security.find_executable
    monkeypatch.setattr(security, "find_executable", lambda name: None if name == "actionlint" else found(name))


CI_PATH = ".github/workflows/ci.yml"

# On main. Its one finding, the unpinned checkout on line 14, is on a line the pull requests below leave alone.
BASE_WORKFLOW = """name: CI
on:
  pull_request:
permissions:
  contents: read
concurrency:
  group: ci-${{ github.ref }}
  cancel-in-progress: true
jobs:
  build:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - run: make build
"""
# Lines 18-21: a job without a timeout (line 18, a notice with a fix) that echoes the PR title (line 21, an error).
LINT_JOB = """  lint:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ github.event.pull_request.title }}"
"""
# Lines 18-25: at most warnings (setup-python unpinned on 22, pip without a cache on 22, no timeout on 18).
TEST_JOB = """  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: pip install -r requirements.txt
"""
BROKEN_WORKFLOW = (
    "name: Broken\non:\n  pull_request:\njobs:\n  build:\n    runs-on: [ubuntu-latest\n    steps:\n      - run: make\n"
)
RELEASE_WORKFLOW = """name: Release
on:
  push:
    tags: ["v*"]
permissions: {}
jobs:
  release:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    steps:
      - uses: softprops/action-gh-release@v2
"""
COMPOSITE_ACTION = """name: Setup
description: Set up the toolchain
runs:
  using: composite
  steps:
    - uses: actions/setup-node@v4
    - run: npm ci
      shell: bash
"""


async def open_pr(
    world,
    changes: dict[str, str],
    *,
    config: str | None = None,
    base: dict[str, str] | None = None,
    deleted: tuple[str, ...] = (),
    fork: bool = False,
):
    """A repository with `base` (and `config`) on main, and an opened PR that applies `changes` and `deleted`."""
    github = world.github
    installation = github.add_installation("octo-org")
    files = {CI_PATH: BASE_WORKFLOW, **(base or {})}
    if config is not None:
        files[CONFIG_PATH] = config
    repo = github.add_repo("octo-org/app", installation, files=files)
    head_repo = github.add_fork(repo, "outsider") if fork else repo
    github.commit(head_repo, "feature", changes, message="Change the workflows", deleted=deleted)
    pr = await github.open_pull_request(repo, "feature", head_repo=head_repo)
    await world.settle()
    return repo, pr


def review_checks(github, repo, sha: str):
    """Every "workflow review" check run on `sha`, oldest first."""
    return sorted(
        (check for check in github.check_runs_for(repo, sha) if check.name == REVIEW), key=lambda check: check.id
    )


def review_check(github, repo, sha: str):
    """The one "workflow review" check run on `sha`."""
    checks = review_checks(github, repo, sha)
    assert len(checks) == 1, checks
    return checks[0]


def annotated(check) -> list[tuple[str, int, str]]:
    """(path, line, rule) of each annotation, in order."""
    return [(a.path, a.start_line, a.title) for a in check.annotations]


def contents_paths(github) -> list[tuple[str, str | None]]:
    """(path, ref) of every contents API request the App made."""
    return [(r.path, r.query.get("ref")) for r in github.requests if "/contents/" in r.path]


async def test_only_the_changed_lines_are_annotated_and_the_rest_is_counted(world):
    repo, pr = await open_pr(world, {CI_PATH: BASE_WORKFLOW + LINT_JOB})
    check = review_check(world.github, repo, pr.head_sha)
    assert check.status == "completed" and check.conclusion == "failure"
    assert annotated(check) == [(CI_PATH, 18, "speed/missing-timeout"), (CI_PATH, 21, "zizmor/template-injection")]
    assert check.output["title"] == "Workflow review: 1 error, 1 notice (1 more outside the changed lines)"
    assert "1 finding outside the changed lines was not annotated." in check.output["summary"]
    assert "Tools: zizmor" in check.output["summary"]


async def test_only_changed_lines_false_annotates_every_finding(world):
    repo, pr = await open_pr(
        world, {CI_PATH: BASE_WORKFLOW + LINT_JOB}, config="review:\n  only_changed_lines: false\n"
    )
    check = review_check(world.github, repo, pr.head_sha)
    assert annotated(check) == [
        (CI_PATH, 14, "zizmor/unpinned-uses"),
        (CI_PATH, 18, "speed/missing-timeout"),
        (CI_PATH, 21, "zizmor/template-injection"),
    ]
    assert "outside the changed lines" not in check.output["summary"]


async def test_the_base_branch_run_history_sizes_the_suggested_timeout(world):
    github = world.github
    repo = github.add_repo(
        "octo-org/app",
        github.add_installation("octo-org"),
        files={CI_PATH: BASE_WORKFLOW, CONFIG_PATH: "review:\n  only_changed_lines: false\n"},
    )
    workflow = github.add_workflow(repo, CI_PATH, "CI")
    steps = [StepSpec("Run actions/checkout@v4", 5.0), StepSpec("Run make build", 295.0)]
    for _ in range(5):
        github.add_run(
            repo, workflow, head_branch="main", event="push", jobs=[JobSpec("build", duration=300.0, steps=steps)]
        )
    github.commit(
        repo, "feature", {CI_PATH: BASE_WORKFLOW.replace("    timeout-minutes: 30\n", "")}, message="No timeout"
    )
    pr = await github.open_pull_request(repo, "feature")
    await world.settle()
    timeouts = [a for a in review_check(github, repo, pr.head_sha).annotations if a.title == "speed/missing-timeout"]
    assert [a.start_line for a in timeouts] == [10]
    assert "`build`: 15 (3× its usual" in timeouts[0].message  # 3 × 300 s of history, not the 60-minute default
    assert github.calls[("GET", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs")] == 1


async def test_a_pull_request_without_workflow_changes_gets_no_review_and_reads_no_file(world):
    repo, pr = await open_pr(world, {"src/app.py": "print('hi')\n", ".github/workflows/notes/readme.yml": "x: 1\n"})
    assert [c for c in world.github.check_runs_for(repo, pr.head_sha) if c.name == REVIEW] == []
    assert contents_paths(world.github) == []
    assert world.github.calls[("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files")] == 1


async def test_a_rerequested_review_runs_again_as_a_new_check_run(world):
    github = world.github
    repo, pr = await open_pr(world, {CI_PATH: BASE_WORKFLOW + LINT_JOB})
    first = review_check(github, repo, pr.head_sha)
    await github.deliver_check_run(first, "rerequested")
    await world.settle()
    old, again = review_checks(github, repo, pr.head_sha)  # GitHub shows the newest of a name
    assert old.id == first.id
    workflow_reads = [ref for path, ref in contents_paths(github) if path.endswith(CI_PATH)]
    assert workflow_reads == [pr.head_sha]  # what a commit holds never changes: read once
    assert github.calls[("GET", "/repos/{owner}/{repo}/pulls/{pull_number}")] == 1
    assert github.calls[("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}")] == 0
    assert again.status == "completed" and annotated(again) == annotated(first)


async def test_a_rerun_after_a_config_change_carries_no_stale_annotation(world):
    github = world.github
    repo, pr = await open_pr(world, {CI_PATH: BASE_WORKFLOW + LINT_JOB})
    first = review_check(github, repo, pr.head_sha)
    assert first.conclusion == "failure"
    await github.push(repo, "main", {".github/ci-orchestrator.yml": "review:\n  ignore: [zizmor/template-injection]\n"})
    await world.settle()
    await github.deliver_check_run(first, "rerequested")
    await world.settle()
    latest = review_checks(github, repo, pr.head_sha)[-1]
    assert latest.conclusion == "success"
    assert annotated(latest) == [(CI_PATH, 18, "speed/missing-timeout")]


async def test_a_check_run_of_another_name_is_not_a_review_request(world):
    github = world.github
    repo, pr = await open_pr(world, {CI_PATH: BASE_WORKFLOW + LINT_JOB})
    other = github.add_check_run(repo, pr.head_sha, "CI comparison: CI")
    calls_before = sum(github.calls.values())
    await github.deliver_check_run(other, "rerequested")
    await world.settle()
    assert sum(github.calls.values()) == calls_before


async def test_a_yaml_syntax_error_gets_one_clear_annotation(world):
    path = ".github/workflows/broken.yml"
    repo, pr = await open_pr(world, {path: BROKEN_WORKFLOW})
    check = review_check(world.github, repo, pr.head_sha)
    assert check.conclusion == "failure"
    assert annotated(check) == [(path, 7, "syntax/yaml")]
    assert check.annotations[0].message.startswith("YAML syntax error")


async def test_a_fork_pull_request_is_reviewed_from_the_base_repository_and_never_run(world):
    github = world.github
    repo, pr = await open_pr(world, {CI_PATH: BASE_WORKFLOW + LINT_JOB}, fork=True)
    check = review_check(github, repo, pr.head_sha)
    assert annotated(check) == [(CI_PATH, 18, "speed/missing-timeout"), (CI_PATH, 21, "zizmor/template-injection")]
    assert (f"/repos/octo-org/app/contents/{CI_PATH}", pr.head_sha) in contents_paths(github)
    assert all(not r.path.startswith("/repos/outsider/") for r in github.requests)
    writes = {(r.method, r.route) for r in github.requests if r.method != "GET"}
    assert writes == {
        ("POST", "/app/installations/{installation_id}/access_tokens"),
        ("POST", "/repos/{owner}/{repo}/check-runs"),
    }
    # A fork's check run lists no pull request (as on GitHub): a re-run finds it from the commit.
    await github.deliver_check_run(check, "rerequested")
    await world.settle()
    assert github.calls[("GET", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls")] == 1
    assert [ref for path, ref in contents_paths(github) if path.endswith(CI_PATH)] == [pr.head_sha]


async def test_deleted_files_are_skipped_renamed_ones_reviewed_under_their_new_name_and_nested_actions_reviewed(world):
    github = world.github
    old_workflow, draft = ".github/workflows/old.yml", "drafts/release.yml"
    repo, pr = await open_pr(
        world,
        {
            ".github/workflows/build.yml": BASE_WORKFLOW,
            ".github/workflows/release.yml": RELEASE_WORKFLOW,
            "tools/setup/action.yml": COMPOSITE_ACTION,
        },
        base={old_workflow: BROKEN_WORKFLOW, draft: RELEASE_WORKFLOW},
        deleted=(CI_PATH, old_workflow, draft),
    )
    files = {change.filename: change.status for change in github.state.pull_files(pr)}
    assert files == {
        ".github/workflows/build.yml": "renamed",
        ".github/workflows/release.yml": "renamed",
        old_workflow: "removed",
        "tools/setup/action.yml": "added",
    }
    check = review_check(github, repo, pr.head_sha)
    # ci.yml only moved: its unpinned checkout (line 14) is counted, not annotated.
    # The draft became a workflow: all of it is new.
    assert (".github/workflows/build.yml", 14, "zizmor/unpinned-uses") not in annotated(check)
    assert "1 finding outside the changed lines was not annotated." in check.output["summary"]
    assert annotated(check) == [
        (".github/workflows/release.yml", 11, "zizmor/superfluous-actions"),
        (".github/workflows/release.yml", 11, "zizmor/unpinned-uses"),
        ("tools/setup/action.yml", 6, "zizmor/unpinned-uses"),
    ]
    assert sorted(path for path, _ in contents_paths(github) if not path.endswith(CONFIG_PATH)) == [
        # the other workflows, as context for duplicated steps: none here
        "/repos/octo-org/app/contents/.github/workflows",
        "/repos/octo-org/app/contents/.github/workflows/build.yml",
        "/repos/octo-org/app/contents/.github/workflows/release.yml",
        # the repository's zizmor configuration, where zizmor looks for it: none here
        "/repos/octo-org/app/contents/.github/zizmor.yaml",
        "/repos/octo-org/app/contents/.github/zizmor.yml",
        "/repos/octo-org/app/contents/tools/setup/action.yml",
        "/repos/octo-org/app/contents/zizmor.yaml",
        "/repos/octo-org/app/contents/zizmor.yml",
    ]


ZIZMOR_CONFIG = "rules:\n  template-injection:\n    disable: true\n"


async def test_the_repository_zizmor_config_of_the_base_branch_applies(world):
    github = world.github
    repo, pr = await open_pr(world, {CI_PATH: BASE_WORKFLOW + LINT_JOB}, base={".github/zizmor.yml": ZIZMOR_CONFIG})
    check = review_check(github, repo, pr.head_sha)
    assert annotated(check) == [(CI_PATH, 18, "speed/missing-timeout")]
    zizmor_reads = [(path, ref) for path, ref in contents_paths(github) if "zizmor" in path]
    assert zizmor_reads == [
        ("/repos/octo-org/app/contents/zizmor.yml", "main"),
        ("/repos/octo-org/app/contents/zizmor.yaml", "main"),
        ("/repos/octo-org/app/contents/.github/zizmor.yml", "main"),
    ]


async def test_a_pull_request_cannot_switch_off_the_audit_of_its_own_changes_with_a_zizmor_config(world):
    repo, pr = await open_pr(world, {CI_PATH: BASE_WORKFLOW + LINT_JOB, "zizmor.yml": ZIZMOR_CONFIG})
    check = review_check(world.github, repo, pr.head_sha)
    assert annotated(check) == [(CI_PATH, 18, "speed/missing-timeout"), (CI_PATH, 21, "zizmor/template-injection")]


async def test_inline_zizmor_ignore_comments_apply(world):
    ignored = LINT_JOB.replace('title }}"', 'title }}" # zizmor: ignore[template-injection]')
    repo, pr = await open_pr(world, {CI_PATH: BASE_WORKFLOW + ignored})
    check = review_check(world.github, repo, pr.head_sha)
    assert annotated(check) == [(CI_PATH, 18, "speed/missing-timeout")]


async def test_a_file_too_large_for_the_contents_api_is_named_in_the_summary_and_the_others_reviewed(
    world, monkeypatch
):
    content_file = Renderer.content_file

    def like_github(
        self, repo, path, text, ref
    ):  # GitHub sends files over 1 MB without their content; the simulator does not
        item = content_file(self, repo, path, text, ref)
        if item["size"] > 1_000_000:
            item.update(encoding="none", content="")
        return item

    monkeypatch.setattr(Renderer, "content_file", like_github)
    huge = BASE_WORKFLOW + f"# {'x' * 98}\n" * 10_500
    repo, pr = await open_pr(world, {CI_PATH: huge, ".github/workflows/release.yml": RELEASE_WORKFLOW})
    check = review_check(world.github, repo, pr.head_sha)
    assert f"- {CI_PATH} was not reviewed: {CI_PATH} is too large to read" in check.output["summary"]
    assert {path for path, _, _ in annotated(check)} == {".github/workflows/release.yml"}


@pytest.mark.parametrize(
    ("fail_on", "conclusion"), [("error", "success"), ("warning", "failure"), ("never", "neutral")]
)
async def test_fail_on_sets_the_conclusion(world, fail_on, conclusion):
    repo, pr = await open_pr(world, {CI_PATH: BASE_WORKFLOW + TEST_JOB}, config=f"review:\n  fail_on: {fail_on}\n")
    check = review_check(world.github, repo, pr.head_sha)
    assert {a.annotation_level for a in check.annotations} == {"warning", "notice"}
    assert check.conclusion == conclusion


async def test_ignored_rules_are_dropped(world):
    config = "review:\n  ignore: [zizmor/template-injection, 'speed/*']\n"
    repo, pr = await open_pr(world, {CI_PATH: BASE_WORKFLOW + LINT_JOB}, config=config)
    check = review_check(world.github, repo, pr.head_sha)
    assert check.annotations == [] and check.conclusion == "success"
    assert check.output["title"] == "Workflow review: no findings (1 more outside the changed lines)"


def suggestions(github, repo, pr) -> list[list[tuple[str, int | None, str]]]:
    """Per review the App posted: (path, line, suggested text) of each of its comments."""
    found = []
    for review in github.reviews(repo, pr.number):
        comments = [github.state.review_comments[comment_id] for comment_id in review.comment_ids]
        found.append([(c.path, c.line, c.body.split("```suggestion\n", 1)[1].removesuffix("\n```")) for c in comments])
    return found


async def test_suggestions_are_posted_on_exact_lines_and_not_repeated_on_the_next_push(world):
    github = world.github
    repo, pr = await open_pr(world, {CI_PATH: BASE_WORKFLOW + LINT_JOB}, config="review:\n  suggestions: true\n")
    assert suggestions(github, repo, pr) == [[(CI_PATH, 18, "  lint:\n    timeout-minutes: 60")]]
    docs_job = "  docs:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make docs\n"
    timed_lint = LINT_JOB.replace("  lint:\n", "  lint:\n    timeout-minutes: 60\n")
    await github.synchronize(pr, files={CI_PATH: BASE_WORKFLOW + timed_lint + docs_job})
    await world.settle()
    assert suggestions(github, repo, pr) == [
        [(CI_PATH, 18, "  lint:\n    timeout-minutes: 60")],
        [(CI_PATH, 23, "  docs:\n    timeout-minutes: 60")],
    ]
    await github.synchronize(pr, files={"src/app.py": "print('hi')\n"})
    await world.settle()
    assert len(github.reviews(repo, pr.number)) == 2


async def test_more_than_fifty_annotations_arrive_in_batches(world):
    jobs = "".join(
        f"  job{index}:\n    runs-on: ubuntu-latest\n    timeout-minutes: 5\n    steps:\n"
        f"      - run: echo ${{{{ nope.part{index} }}}}\n"
        for index in range(60)
    )
    path = ".github/workflows/many.yml"
    workflow = f"name: Many\non:\n  push:\npermissions: {{}}\njobs:\n{jobs}"
    repo, pr = await open_pr(world, {path: workflow})
    check = review_check(world.github, repo, pr.head_sha)
    unknown = [line for _, line, rule in annotated(check) if rule == "syntax/expression"]
    assert unknown == [10 + 5 * index for index in range(60)]
    assert len(set(annotated(check))) == len(check.annotations)
    batches = -(-len(check.annotations) // 50)
    assert world.github.calls[("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}")] == batches - 1


async def test_a_github_error_during_the_review_is_retried_and_the_check_run_posted_once(world):
    world.github.faults.queue_errors(502, count=1)
    repo, pr = await open_pr(world, {CI_PATH: BASE_WORKFLOW + LINT_JOB})
    assert len(world.slept) == 1
    check = review_check(world.github, repo, pr.head_sha)
    assert annotated(check) == [(CI_PATH, 18, "speed/missing-timeout"), (CI_PATH, 21, "zizmor/template-injection")]


async def test_a_failed_check_run_creation_is_retried_without_a_duplicate(world, monkeypatch):
    github = world.github
    fail_first_request(monkeypatch, github, "POST", "/repos/{owner}/{repo}/check-runs", status=502)
    repo, pr = await open_pr(world, {CI_PATH: BASE_WORKFLOW + LINT_JOB})
    assert github.calls[("POST", "/repos/{owner}/{repo}/check-runs")] == 2
    check = review_check(github, repo, pr.head_sha)
    assert annotated(check) == [(CI_PATH, 18, "speed/missing-timeout"), (CI_PATH, 21, "zizmor/template-injection")]


def fail_first_request(monkeypatch, github, method: str, route: str, *, status: int) -> None:
    """The first request to (`method`, `route`) answers `status`.

    The simulator records a request before asking for its fault."""
    next_fault = github.faults.next_fault
    failed = []

    def fault_for_this_request(request_method: str):
        latest = github.requests[-1]
        if not failed and (latest.method, latest.route) == (method, route):
            failed.append(latest)
            return QueuedError(
                status, {}, {"message": "Server Error", "documentation_url": "https://docs.github.com/rest"}
            )
        return next_fault(request_method)

    monkeypatch.setattr(github.faults, "next_fault", fault_for_this_request)


async def test_steps_copied_from_an_unchanged_workflow_are_pointed_out(world):
    setup = (
        "      - uses: actions/checkout@v4\n"
        "      - run: pip install -r requirements.txt\n"
        "      - run: pip install -e .\n"
    )
    docs = (
        f"name: Docs\non:\n  push:\njobs:\n  docs:\n    runs-on: ubuntu-latest\n"
        f"    timeout-minutes: 10\n    steps:\n{setup}      - run: make docs\n"
    )
    lint = (
        f"name: Lint\non:\n  push:\njobs:\n  lint:\n    runs-on: ubuntu-latest\n"
        f"    timeout-minutes: 10\n    steps:\n{setup}      - run: make lint\n"
    )
    repo, pr = await open_pr(world, {".github/workflows/lint.yml": lint}, base={".github/workflows/docs.yml": docs})
    check = review_check(world.github, repo, pr.head_sha)
    duplicates = [a for a in check.annotations if a.title == "shared-actions/duplicated-steps"]
    assert [(a.path, a.start_line) for a in duplicates] == [(".github/workflows/lint.yml", 10)]
    assert ".github/workflows/docs.yml:10 (job `docs`)" in duplicates[0].message
