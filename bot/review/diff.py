"""Which lines a pull request changed: new-side line numbers of added lines in a unified-diff patch."""

from __future__ import annotations

import re

HUNK_HEADER = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


class AllLines(set[int]):
    """Stands for "every line changed" (a file without a patch: binary, too large, or new and huge).

    It is a ``set[int]`` that contains every line number; it is empty when iterated.
    """

    def __contains__(self, line: object) -> bool:
        return isinstance(line, int)

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return "AllLines()"


def changed_lines(patch: str | None) -> set[int]:
    """New-side numbers of the lines a file's ``patch`` adds; ``AllLines()`` when there is no patch."""
    if patch is None:
        return AllLines()
    added: set[int] = set()
    new_line = 0
    in_hunk = False
    for text in patch.splitlines():
        header = HUNK_HEADER.match(text)
        if header:
            new_line = int(header.group(1))
            in_hunk = True
            continue
        if not in_hunk or text.startswith("\\"):
            continue
        if text.startswith("+"):
            added.add(new_line)
            new_line += 1
        elif text.startswith("-"):
            continue
        else:
            new_line += 1
    return added
