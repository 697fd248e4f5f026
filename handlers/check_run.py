""" "Re-run" on the App's workflow review check run: review the pull request again."""

from __future__ import annotations

from gidgethub import routing, sansio

from bot.app.services import Services
from bot.github.publish import repo_vars
from handlers.pull_request import REVIEW_CHECK, review_pull_request

router = routing.Router()


@router.register("check_run", action="rerequested")
async def rerun_review(event: sansio.Event, gh, services: Services) -> None:
    check_run, repo = event.data["check_run"], event.data["repository"]["full_name"]
    if check_run.get("name") != REVIEW_CHECK or (check_run.get("app") or {}).get("id") != services.settings.app_id:
        return
    head_sha = check_run["head_sha"]
    # Fork PRs are missing from `check_run.pull_requests`, as from `workflow_run.pull_requests`.
    numbers = [pr["number"] for pr in check_run.get("pull_requests") or []]
    if not numbers:
        found = await gh.getitem("/repos/{owner}/{repo}/commits/{sha}/pulls", url_vars=repo_vars(repo, sha=head_sha))
        numbers = [pr["number"] for pr in found if pr.get("state") == "open" and pr["head"]["sha"] == head_sha]
    for number in numbers:
        pr = await gh.getitem("/repos/{owner}/{repo}/pulls/{number}", url_vars=repo_vars(repo, number=str(number)))
        if pr["head"]["sha"] == head_sha:
            await review_pull_request(gh, services, repo, pr, rerun=True)
