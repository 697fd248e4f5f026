"""Every event handler module, joined into the one router the dispatcher uses."""

from gidgethub import routing

router = routing.Router()
