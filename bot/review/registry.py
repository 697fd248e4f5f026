"""Discovery of review analyzers through the ``ci_orchestrator.analyzers`` entry-point group."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import EntryPoint, entry_points

from bot.review.model import Analyzer

ENTRY_POINT_GROUP = "ci_orchestrator.analyzers"


def available_analyzers() -> dict[str, EntryPoint]:
    """Every analyzer installed in the environment, built-in or third-party, by name."""
    return {entry.name: entry for entry in entry_points(group=ENTRY_POINT_GROUP)}


def load_analyzers(names: Sequence[str]) -> tuple[list[Analyzer], list[str]]:
    """Instantiate the named analyzers (each entry point is a class taking no arguments).

    Returns the analyzers in the order asked for and, in plain words, the names that are not
    installed or failed to load.
    """
    installed = available_analyzers()
    analyzers: list[Analyzer] = []
    errors: list[str] = []
    for name in dict.fromkeys(names):
        entry = installed.get(name)
        if entry is None:
            known = ", ".join(sorted(installed)) or "none"
            errors.append(f"analyzer '{name}' is not installed (installed: {known})")
            continue
        try:
            analyzer = entry.load()()
        except Exception as error:  # a broken third-party plugin must not stop the review
            errors.append(f"analyzer '{name}' could not be loaded: {type(error).__name__}: {error}")
            continue
        analyzers.append(analyzer)
    return analyzers, errors
