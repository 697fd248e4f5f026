"""Tests for the per-repository configuration: defaults, validation with line numbers, merging, documentation."""

import dataclasses
import re
import textwrap
from pathlib import Path

import pytest

from bot.config.loading import build_config, check_config_text
from bot.config.schema import (
    CONFIG_PATH,
    DEFAULT_CONFIG,
    ComparisonConfig,
    ConfigProblem,
    RepoConfig,
    ReviewConfig,
    SharedActionConfig,
)
from bot.config.validation import parse_config_layer


def config_text(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def only_problem(text: str) -> ConfigProblem:
    _config, problems = check_config_text(config_text(text))
    assert len(problems) == 1, problems
    return problems[0]


# --- defaults ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\n", "# nothing configured yet\n", "---\n", "comparison:\nreview:\n"])
def test_empty_file_gives_defaults_and_no_problems(text):
    assert check_config_text(text) == (DEFAULT_CONFIG, [])


def test_defaults_are_the_documented_ones():
    assert (
        RepoConfig(
            comparison=ComparisonConfig(
                enabled=True,
                baseline_branches=(),
                baseline_runs=20,
                baseline_events=("push",),
                min_runs=5,
                threshold_percent=10,
                threshold_seconds=30,
                alpha=0.01,
                new_failure_pass_rate=0.9,
                comment="on-change",
                fail_on="never",
                workflows=(),
                ignore_jobs=(),
            ),
            review=ReviewConfig(
                enabled=True,
                analyzers=("syntax", "security", "speed", "shared-actions", "config"),
                ignore=(),
                only_changed_lines=True,
                fail_on="error",
                suggestions=False,
            ),
            shared_actions=(),
        )
        == DEFAULT_CONFIG
    )


def test_full_valid_file_is_read_into_plain_values():
    config, problems = check_config_text(
        config_text("""
        comparison:
          enabled: false
          baseline_branches: [release/*]
          baseline_runs: 0x1E
          baseline_events: [push, schedule]
          min_runs: 8
          threshold_percent: 12.5
          threshold_seconds: 0
          alpha: 0.01
          new_failure_pass_rate: 1
          comment: always
          fail_on: new-failure
          workflows: [ci.yml, "test-*.yml"]
          ignore_jobs: ["docs*"]
        review:
          enabled: true
          analyzers: [syntax, security]
          ignore: ["speed/missing-timeout", "zizmor/*"]
          only_changed_lines: false
          fail_on: warning
          suggestions: true
          security_strict: true
        shared_actions:
          - uses: provide-io/ci-tooling/actions/setup-python-env@v0
            replaces:
              - uses: actions/setup-python@*
              - run: pip install*
            with: {python-version: "3.12", cache: true, retries: 3}
            description: Set up Python with caching
        """)
    )
    assert problems == []
    assert config.comparison == ComparisonConfig(
        enabled=False,
        baseline_branches=("release/*",),
        baseline_runs=30,
        baseline_events=("push", "schedule"),
        min_runs=8,
        threshold_percent=12.5,
        threshold_seconds=0,
        alpha=0.01,
        new_failure_pass_rate=1,
        comment="always",
        fail_on="new-failure",
        workflows=("ci.yml", "test-*.yml"),
        ignore_jobs=("docs*",),
    )
    assert config.review == ReviewConfig(
        enabled=True,
        analyzers=("syntax", "security"),
        ignore=("speed/missing-timeout", "zizmor/*"),
        only_changed_lines=False,
        fail_on="warning",
        suggestions=True,
        security_strict=True,
    )
    assert config.shared_actions == (
        SharedActionConfig(
            uses="provide-io/ci-tooling/actions/setup-python-env@v0",
            replaces=({"uses": "actions/setup-python@*"}, {"run": "pip install*"}),
            with_={"python-version": "3.12", "cache": True, "retries": 3},
            description="Set up Python with caching",
        ),
    )
    # ruamel.yaml's formatting-preserving subclasses must not leak into the config
    assert type(config.comparison.baseline_runs) is int
    assert type(config.comparison.threshold_percent) is float
    assert type(config.shared_actions[0].with_["python-version"]) is str


# --- each kind of problem, with its line ---------------------------------------------------------


def test_unknown_key_is_reported_with_a_suggestion():
    problem = only_problem("""
        comparison:
          baseline_runs: 10
          min-runs: 3
        """)
    assert (problem.line, problem.column, problem.key) == (3, 3, "comparison.min-runs")
    assert problem.message == "unknown key 'comparison.min-runs'; did you mean 'comparison.min_runs'?"
    assert str(problem) == "line 3: unknown key 'comparison.min-runs'; did you mean 'comparison.min_runs'?"


def test_unknown_top_level_key_is_reported_with_a_suggestion():
    problem = only_problem("""
        # the App's settings
        reveiw:
          enabled: false
        """)
    assert (problem.line, problem.key) == (2, "reveiw")
    assert "did you mean 'review'?" in problem.message


def test_key_in_the_wrong_section_points_to_the_right_one():
    problem = only_problem("""
        review:
          min_runs: 3
        """)
    assert (problem.line, problem.key) == (2, "review.min_runs")
    assert "did you mean 'comparison.min_runs'?" in problem.message


def test_unknown_key_without_a_close_match_lists_the_allowed_keys():
    problem = only_problem("""
        review:
          zzz: 1
        """)
    assert problem.line == 2
    assert "enabled, analyzers, ignore, only_changed_lines, fail_on, suggestions, security_strict" in problem.message


def test_wrong_type_is_reported_at_the_value():
    problem = only_problem("""
        comparison:
          enabled: true
          min_runs: five
        """)
    assert (problem.line, problem.column, problem.key) == (3, 13, "comparison.min_runs")
    assert problem.message == "comparison.min_runs must be an integer between 2 and 100, got 'five'"
    assert str(problem) == "line 3: comparison.min_runs must be an integer between 2 and 100, got 'five'"


@pytest.mark.parametrize("key", ["baseline_runs", "min_runs", "threshold_seconds", "alpha"])
def test_a_boolean_is_not_a_number(key):
    problem = only_problem(f"""
        comparison:
          {key}: true
        """)
    assert (problem.line, problem.key) == (2, f"comparison.{key}")
    assert problem.message.endswith("got true")


def test_a_number_or_yes_is_not_a_boolean():
    _, problems = check_config_text(
        config_text("""
        review:
          enabled: 1
          suggestions: yes
        """)
    )
    assert [(p.line, p.key) for p in problems] == [(2, "review.enabled"), (3, "review.suggestions")]
    assert problems[0].message == "review.enabled must be true or false, got 1"
    assert "yes/no/on/off are text in YAML 1.2" in problems[1].message


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("baseline_runs: 0", "an integer between 1 and 100"),
        ("baseline_runs: 101", "an integer between 1 and 100"),
        ("min_runs: 1", "an integer between 2 and 100"),
        ("min_runs: 2.5", "an integer between 2 and 100"),
        ("threshold_percent: 0", "a number greater than 0"),
        ("threshold_seconds: -1", "a number at least 0"),
        ("alpha: 0.5", "a number greater than 0 and less than 0.5"),
        ("alpha: .nan", "a number greater than 0 and less than 0.5"),
        ("new_failure_pass_rate: 1.5", "a number greater than 0 and at most 1"),
    ],
)
def test_out_of_range_number_is_reported(setting, expected):
    problem = only_problem(f"""
        comparison:
          comment: never
          {setting}
        """)
    assert problem.line == 3
    assert f"must be {expected}, got" in problem.message


def test_bad_enum_member_is_reported_with_a_suggestion():
    problem = only_problem("""
        comparison:
          comment: on_change
        """)
    assert (problem.line, problem.key) == (2, "comparison.comment")
    assert problem.message == (
        "comparison.comment must be one of on-change, always or never, got 'on_change'; did you mean 'on-change'?"
    )


def test_bad_list_item_is_reported_at_its_own_line():
    problem = only_problem("""
        review:
          analyzers:
            - syntax
            - securty
        """)
    assert (problem.line, problem.column, problem.key) == (4, 7, "review.analyzers[1]")
    assert "did you mean 'security'?" in problem.message


def test_unknown_baseline_event_is_reported():
    problem = only_problem("""
        comparison:
          baseline_events: [push, pushh]
        """)
    assert (problem.line, problem.key) == (2, "comparison.baseline_events[1]")
    assert "did you mean 'push'?" in problem.message


def test_string_where_a_list_belongs_is_reported_with_an_example():
    problem = only_problem("""
        comparison:
          workflows: ci.yml
        """)
    assert (problem.line, problem.key) == (2, "comparison.workflows")
    assert "write it as a list, e.g. [ci.yml]" in problem.message


def test_empty_baseline_events_is_reported():
    problem = only_problem("""
        comparison:
          baseline_events: []
        """)
    assert (problem.line, problem.key) == (2, "comparison.baseline_events")
    assert "must be a non-empty list" in problem.message


def test_missing_value_is_reported_at_its_key():
    problem = only_problem("""
        comparison:
          min_runs:
          alpha: 0.1
        """)
    assert (problem.line, problem.key) == (2, "comparison.min_runs")
    assert problem.message.endswith("got nothing (null)")


def test_yaml_syntax_error_is_reported_with_line_and_column():
    config, problems = check_config_text(
        config_text("""
        comparison:
          min_runs: 3
          baseline_events: [push
        review:
          enabled: false
        """)
    )
    assert config == DEFAULT_CONFIG
    assert len(problems) == 1
    assert (problems[0].line, problems[0].column) == (4, 7)  # the ':' after 'enabled'
    assert problems[0].message.startswith("the file is not valid YAML: ")
    assert "started on line 3" in problems[0].message


def test_tab_indentation_is_a_syntax_error():
    problem = only_problem("comparison:\n\tmin_runs: 3\n")
    assert (problem.line, problem.column) == (2, 1)
    assert "not valid YAML" in problem.message


def test_duplicate_key_is_reported_at_the_second_one():
    problem = only_problem("""
        comparison:
          min_runs: 3
          min_runs: 4
        """)
    assert (problem.line, problem.key) == (3, "min_runs")
    assert problem.message == "the key 'min_runs' appears twice in the mapping that starts on line 2"


@pytest.mark.parametrize(
    ("text", "line", "got"),
    [("- comparison\n", 1, "got a list"), ("\n\njust words\n", 3, "got 'just words'"), ("42\n", 1, "got 42")],
)
def test_top_level_that_is_not_a_mapping_is_reported(text, line, got):
    config, problems = check_config_text(text)
    assert config == DEFAULT_CONFIG
    assert [(p.line, p.key) for p in problems] == [(line, "")]
    assert problems[0].message.startswith("the file must be a mapping of settings")
    assert problems[0].message.endswith(got)


def test_section_that_is_not_a_mapping_is_reported():
    problem = only_problem("""
        review: [syntax]
        """)
    assert (problem.line, problem.key) == (1, "review")
    assert problem.message == "review must be a mapping of settings, got a list"


def test_bad_shared_actions_entries_are_reported_and_left_out():
    config, problems = check_config_text(
        config_text("""
        shared_actions:
          - uses: org/tools/setup@v1
            replaces:
              - run: make setup
          - uses: not-a-reference
            replaces: []
          - replaces:
              - runs: npm ci
            color: blue
          - just a string
          - uses: org/tools/.github/workflows/test.yml@main
            replaces: [{uses: "actions/checkout@*"}]
            with: {matrix: [1, 2]}
        """)
    )
    assert [(p.line, p.key) for p in problems] == [
        (5, "shared_actions[1].uses"),
        (6, "shared_actions[1].replaces"),
        (7, "shared_actions[2].uses"),
        (8, "shared_actions[2].replaces[0].runs"),
        (9, "shared_actions[2].color"),
        (10, "shared_actions[3]"),
        (13, "shared_actions[4].with.matrix"),
    ]
    messages = [p.message for p in problems]
    assert messages[0].startswith("shared_actions[1].uses must be an action or reusable workflow reference")
    assert messages[1].endswith("got an empty list")
    assert messages[2] == "shared_actions[2] is missing 'uses'"
    assert "did you mean 'shared_actions[2].replaces[0].run'?" in messages[3]
    assert config.shared_actions == (SharedActionConfig("org/tools/setup@v1", ({"run": "make setup"},)),)


def test_shared_actions_must_be_a_list():
    problem = only_problem("""
        shared_actions:
          uses: org/tools/setup@v1
        """)
    assert (problem.line, problem.key) == (1, "shared_actions")
    assert "start each entry with '- uses: ...'" in problem.message


def test_min_runs_larger_than_baseline_runs_is_reported_and_both_fall_back():
    config, problems = check_config_text(
        config_text("""
        comparison:
          baseline_runs: 10
          min_runs: 12
        """)
    )
    assert [(p.line, p.key) for p in problems] == [(3, "comparison.min_runs")]
    assert problems[0].message.startswith(
        "comparison.min_runs (12) must not be larger than comparison.baseline_runs (10)"
    )
    assert (config.comparison.baseline_runs, config.comparison.min_runs) == (20, 5)


def test_baseline_runs_below_the_default_min_runs_is_reported():
    config, problems = check_config_text("comparison:\n  baseline_runs: 3\n")
    assert [(p.line, p.key) for p in problems] == [(2, "comparison.baseline_runs")]
    assert config.comparison.baseline_runs == 20


# --- several problems, partial validity ------------------------------------------------------------


def test_all_problems_are_reported_at_once_and_valid_parts_are_kept():
    config, problems = check_config_text(
        config_text("""
        comparison:
          baseline_runs: 40
          min_runs: lots
          threshold_percent: 15
          comment: sometimes
        review:
          fail_on: warning
          suggestions: "true"
        colour: blue
        """)
    )
    assert [(p.line, p.key) for p in problems] == [
        (3, "comparison.min_runs"),
        (5, "comparison.comment"),
        (8, "review.suggestions"),
        (9, "colour"),
    ]
    assert "write it without quotes" in problems[2].message
    assert config.comparison.baseline_runs == 40
    assert config.comparison.threshold_percent == 15
    assert config.comparison.min_runs == DEFAULT_CONFIG.comparison.min_runs
    assert config.comparison.comment == DEFAULT_CONFIG.comparison.comment
    assert config.review.fail_on == "warning"
    assert config.review.suggestions is False


def test_a_list_with_a_bad_item_falls_back_as_a_whole():
    config, problems = check_config_text("comparison:\n  ignore_jobs: [lint, 3, '']\n")
    assert [p.key for p in problems] == ["comparison.ignore_jobs[1]", "comparison.ignore_jobs[2]"]
    assert config.comparison.ignore_jobs == ()


# --- merging organization and repository files -----------------------------------------------------

ORG_FILE = config_text("""
    comparison:
      baseline_runs: 30
      threshold_percent: 20
      ignore_jobs: [docs, lint]
    review:
      ignore: ["zizmor/*"]
    shared_actions:
      - uses: org/tools/setup@v1
        replaces: [{run: make setup}]
    """)
REPO_FILE = config_text("""
    comparison:
      threshold_percent: 5
      ignore_jobs: [bench]
    review:
      fail_on: never
    """)


def test_repository_file_overrides_organization_file_key_by_key():
    org_layer, org_problems = parse_config_layer(ORG_FILE, "octo-org/.github:" + CONFIG_PATH)
    repo_layer, repo_problems = parse_config_layer(REPO_FILE, "octo-org/app:" + CONFIG_PATH)
    config, problems = build_config([org_layer, repo_layer])
    assert org_problems == repo_problems == problems == []
    assert config.comparison.baseline_runs == 30  # only the organization set it
    assert config.comparison.threshold_percent == 5  # both set it: the repository wins
    assert config.comparison.ignore_jobs == ("bench",)  # lists replace, they are not joined
    assert config.comparison.min_runs == 5  # nobody set it: the default
    assert config.review.ignore == ("zizmor/*",)
    assert config.review.fail_on == "never"
    assert [action.uses for action in config.shared_actions] == ["org/tools/setup@v1"]


def test_repository_can_empty_a_list_the_organization_set():
    org_layer, _ = parse_config_layer(ORG_FILE)
    repo_layer, _ = parse_config_layer("shared_actions: []\ncomparison:\n  ignore_jobs: []\n")
    config, _ = build_config([org_layer, repo_layer])
    assert config.shared_actions == ()
    assert config.comparison.ignore_jobs == ()


def test_invalid_repository_setting_falls_back_to_the_organization_value():
    org_layer, _ = parse_config_layer(ORG_FILE)
    repo_layer, problems = parse_config_layer("comparison:\n  threshold_percent: -5\n")
    config, _ = build_config([org_layer, repo_layer])
    assert [p.key for p in problems] == ["comparison.threshold_percent"]
    assert config.comparison.threshold_percent == 20


def test_inconsistency_across_files_drops_the_later_files_setting():
    org_layer, _ = parse_config_layer("comparison:\n  baseline_runs: 50\n  min_runs: 10\n", "org")
    repo_layer, _ = parse_config_layer("comparison:\n  enabled: true\n  baseline_runs: 8\n", "repo")
    config, problems = build_config([org_layer, repo_layer])
    assert [(p.source, p.line, p.key) for p in problems] == [("repo", 3, "comparison.baseline_runs")]
    assert (config.comparison.baseline_runs, config.comparison.min_runs) == (50, 10)


def test_config_objects_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_CONFIG.comparison.min_runs = 3  # type: ignore[misc]


# --- the documentation matches the code -------------------------------------------------------------

DOCS = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text(encoding="utf-8")


def test_documented_example_is_valid():
    example = re.search(r"```yaml\n(.*?)```", DOCS, re.DOTALL)[1]
    config, problems = check_config_text(example)
    assert problems == []
    assert config != DEFAULT_CONFIG


@pytest.mark.parametrize("section", ["comparison", "review"])
def test_every_setting_is_documented_with_its_default(section):
    defaults = getattr(DEFAULT_CONFIG, section)
    table = DOCS.split(f"## `{section}`", 1)[1].split("\n## ", 1)[0]
    documented = dict(re.findall(r"^\| `(\w+)` \| [^|]+ \| `([^`]*)` \|", table, re.MULTILINE))
    assert set(documented) == {setting.name for setting in dataclasses.fields(defaults)}
    for name, documented_default in documented.items():
        parsed, problems = check_config_text(f"{section}:\n  {name}: {documented_default}\n")
        assert problems == [], name
        assert getattr(getattr(parsed, section), name) == getattr(defaults, name), name


def test_every_shared_action_key_is_documented():
    table = DOCS.split("## `shared_actions`", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^\| `(\w+)` \|", table, re.MULTILINE) == ["uses", "replaces", "with", "description"]
