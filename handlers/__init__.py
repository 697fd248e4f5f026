"""Every event handler module, joined into the one router the dispatcher uses."""

from gidgethub import routing

from handlers import check_run, issue_comment, pull_request, push, workflow_job, workflow_run

router = routing.Router(
    check_run.router, issue_comment.router, pull_request.router, push.router, workflow_job.router, workflow_run.router
)
