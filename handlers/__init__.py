"""Every event handler module, joined into the one router the dispatcher uses."""

from gidgethub import routing

from handlers import check_run, installation, pull_request, push, workflow_run

router = routing.Router(check_run.router, installation.router, pull_request.router, push.router, workflow_run.router)
