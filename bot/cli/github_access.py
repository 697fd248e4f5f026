"""How the command line reaches GitHub: a token from the environment or `gh`, and the API address."""

from __future__ import annotations

import os
import shutil
import subprocess

DEFAULT_API_URL = "https://api.github.com"


class NoToken(Exception):
    """No token was found; the message says where the command line looks."""


def github_token() -> str:
    """`GITHUB_TOKEN`, else `GH_TOKEN`, else what `gh auth token` prints."""
    for name in ("GITHUB_TOKEN", "GH_TOKEN"):
        if os.environ.get(name):
            return os.environ[name]
    gh = shutil.which("gh")
    if gh is not None:
        answer = subprocess.run([gh, "auth", "token"], capture_output=True, text=True, timeout=30, check=False)
        if answer.returncode == 0 and answer.stdout.strip():
            return answer.stdout.strip()
    raise NoToken("no GitHub token: set GITHUB_TOKEN (or GH_TOKEN), or log in with 'gh auth login'")


def api_url() -> str:
    """`GITHUB_API_URL` (set by GitHub Actions, and for GitHub Enterprise Server), else github.com's."""
    return os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL
