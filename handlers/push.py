"""On pushes: refresh what the App knows of the default branch, and check a changed `.github/ci-orchestrator.yml`."""

from __future__ import annotations

import gidgethub
from gidgethub import routing, sansio

from bot.app.services import Services
from bot.config.report import CHECK_NAME, config_check
from bot.config.schema import CONFIG_PATH, check_config_contents
from bot.github.publish import repo_vars

router = routing.Router()


def changes_config(push: dict) -> bool:
    touched = {
        path for commit in push.get("commits") or [] for key in ("added", "modified") for path in commit.get(key) or []
    }
    head = push.get("head_commit") or {}
    touched.update(path for key in ("added", "modified") for path in head.get(key) or [])
    return CONFIG_PATH in touched


@router.register("push")
async def refresh_and_check_config(event: sansio.Event, gh, services: Services) -> None:
    push, repository = event.data, event.data["repository"]
    repo = repository["full_name"]
    if push.get("deleted") or not push.get("ref", "").startswith("refs/heads/"):
        return
    branch = push["ref"].removeprefix("refs/heads/")
    if branch == repository.get("default_branch"):
        services.configs.invalidate(repo)
        services.baselines.invalidate(repo, branch)
    if not changes_config(push):
        return
    try:
        contents = await gh.getitem(
            "/repos/{owner}/{repo}/contents/{+path}{?ref}",
            url_vars=repo_vars(repo, path=CONFIG_PATH, ref=push["after"]),
        )
    except gidgethub.BadRequest as error:
        if error.status_code == 404:  # changed, then deleted again in the same push
            return
        raise
    _, problems = check_config_contents(contents)
    output, annotations = config_check(problems)
    await services.publisher.upsert_check_run(
        gh, repo, push["after"], CHECK_NAME, conclusion=output.conclusion, output=output, annotations=annotations
    )
