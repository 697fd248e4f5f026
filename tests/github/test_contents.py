"""Reading the configuration through GitHub's contents API: the organization's file, then the repository's."""

import base64
import http
import textwrap

import gidgethub
import pytest

from bot.config.schema import CONFIG_PATH, DEFAULT_CONFIG, LoadedConfig
from bot.flows.provider import UnreadableFile
from bot.github.contents import load_repo_config, text_from_contents


def config_text(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


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


class FakeGitHub:
    """Answers the contents API from a dict of (owner/repo, ref) → file text; everything else is a 404."""

    def __init__(self, files: dict[tuple[str, str | None], str], error: gidgethub.BadRequest | None = None):
        self.files = files
        self.error = error
        self.requests: list[tuple[str, dict]] = []

    async def getitem(self, url: str, url_vars: dict | None = None, **kwargs):
        self.requests.append((url, dict(url_vars or {})))
        if self.error is not None:
            raise self.error
        key = (f"{url_vars['owner']}/{url_vars['repo']}", url_vars.get("ref"))
        assert url_vars["path"] == ".github/ci-orchestrator.yml"  # encoded segment by segment: nothing to encode
        if key not in self.files:
            raise gidgethub.BadRequest(http.HTTPStatus.NOT_FOUND)
        content = base64.encodebytes(self.files[key].encode()).decode()  # GitHub wraps lines, like this
        return {"type": "file", "encoding": "base64", "path": CONFIG_PATH, "content": content}


async def test_neither_file_gives_defaults():
    gh = FakeGitHub({})
    loaded = await load_repo_config(gh, "octo-org", "app")
    assert loaded == LoadedConfig(config=DEFAULT_CONFIG, problems=[], sources=[])
    assert [vars_["repo"] for _, vars_ in gh.requests] == [".github", "app"]
    assert all(url == "/repos/{owner}/{repo}/contents/{+path}{?ref}" for url, _ in gh.requests)


async def test_repository_file_only():
    gh = FakeGitHub({("octo-org/app", "abc123"): "comparison:\n  min_runs: 7\n"})
    loaded = await load_repo_config(gh, "octo-org", "app", ref="abc123")
    assert loaded.config.comparison.min_runs == 7
    assert loaded.problems == []
    assert loaded.sources == ["octo-org/app:.github/ci-orchestrator.yml@abc123"]
    org_request, repo_request = (vars_ for _, vars_ in gh.requests)
    assert "ref" not in org_request  # the organization's file is read from its default branch
    assert repo_request["ref"] == "abc123"


async def test_organization_file_only():
    gh = FakeGitHub({("octo-org/.github", None): ORG_FILE})
    loaded = await load_repo_config(gh, "octo-org", "app")
    assert loaded.config.comparison.baseline_runs == 30
    assert loaded.sources == ["octo-org/.github:.github/ci-orchestrator.yml"]


async def test_both_files_merge_with_the_repository_winning():
    gh = FakeGitHub({("octo-org/.github", None): ORG_FILE, ("octo-org/app", None): REPO_FILE})
    loaded = await load_repo_config(gh, "octo-org", "app")
    assert loaded.config.comparison.baseline_runs == 30
    assert loaded.config.comparison.threshold_percent == 5
    assert loaded.sources == [
        "octo-org/.github:.github/ci-orchestrator.yml",
        "octo-org/app:.github/ci-orchestrator.yml",
    ]


async def test_problems_name_the_file_they_are_in():
    gh = FakeGitHub(
        {
            ("octo-org/.github", None): "comparison:\n  alpha: 2\n",
            ("octo-org/app", "main"): "review:\n  enabled: true\n  fail_on: sometimes\n",
        }
    )
    loaded = await load_repo_config(gh, "octo-org", "app", ref="main")
    assert [(p.source, p.line, p.key) for p in loaded.problems] == [
        ("octo-org/.github:.github/ci-orchestrator.yml", 2, "comparison.alpha"),
        ("octo-org/app:.github/ci-orchestrator.yml@main", 3, "review.fail_on"),
    ]
    assert str(loaded.problems[0]).startswith(
        "octo-org/.github:.github/ci-orchestrator.yml, line 2: comparison.alpha must be"
    )
    assert loaded.config == DEFAULT_CONFIG


async def test_the_organizations_own_github_repository_is_read_once():
    gh = FakeGitHub({("octo-org/.github", None): ORG_FILE})
    loaded = await load_repo_config(gh, "octo-org", ".github")
    assert len(gh.requests) == 1
    assert loaded.sources == ["octo-org/.github:.github/ci-orchestrator.yml"]


@pytest.mark.parametrize("status", [http.HTTPStatus.FORBIDDEN, http.HTTPStatus.UNPROCESSABLE_ENTITY])
async def test_errors_other_than_not_found_propagate(status):
    gh = FakeGitHub({}, error=gidgethub.BadRequest(status))
    with pytest.raises(gidgethub.BadRequest) as raised:
        await load_repo_config(gh, "octo-org", "app")
    assert raised.value.status_code == status


@pytest.mark.parametrize(
    ("contents", "says"),
    [
        ([{"type": "file", "name": "a.yml"}], "the path is a directory, not a file"),
        ({"type": "symlink", "target": "x"}, "(it is a symlink)"),
        ({"type": "file", "encoding": "none", "content": "", "path": CONFIG_PATH}, f"{CONFIG_PATH} is too large"),
        ({"type": "file", "encoding": "base64", "content": base64.b64encode(b"\xff\xfe").decode()}, "not UTF-8"),
    ],
)
async def test_unreadable_file_is_a_problem_not_a_crash(contents, says):
    class OddGitHub(FakeGitHub):
        async def getitem(self, url, url_vars=None, **kwargs):
            if url_vars["repo"] == "app":
                return contents
            return await super().getitem(url, url_vars)

    gh = OddGitHub({("octo-org/.github", None): "review:\n  fail_on: never\n"})
    loaded = await load_repo_config(gh, "octo-org", "app")
    assert loaded.config.review.fail_on == "never"  # the organization's file still applies
    assert [(p.source, p.line) for p in loaded.problems] == [("octo-org/app:.github/ci-orchestrator.yml", 1)]
    assert says in loaded.problems[0].message


def test_text_from_contents_reads_the_api_response():
    content = base64.b64encode(b"review:\n  fail_on: sometimes\n").decode()
    assert text_from_contents({"type": "file", "encoding": "base64", "content": content}) == (
        "review:\n  fail_on: sometimes\n"
    )


def test_text_from_contents_names_what_is_not_a_file():
    with pytest.raises(UnreadableFile, match="is not a regular file \\(it is a submodule\\)"):
        text_from_contents({"type": "submodule", "path": CONFIG_PATH})
