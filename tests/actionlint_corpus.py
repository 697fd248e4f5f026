"""actionlint's example workflows (tests/fixtures/actionlint-testdata, MIT): loading them and scoring a review on them.

``ok/`` holds valid workflows; each ``err/NAME.yaml`` has ``err/NAME.out`` listing the errors actionlint reports
(``test.yaml:LINE:COL: message [kind]``, some lines written as ``/regular expression/``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.review.model import Finding, SourceFile

CORPUS = Path(__file__).parent / "fixtures" / "actionlint-testdata"
EXPECTED_LINE = re.compile(r"^/?test\\?\.yaml:(\d+):(\d+): .*?(?:\[([a-z-]+)\\?\])?/?$")


@dataclass(frozen=True)
class Expected:
    """What actionlint reports for one invalid workflow: the lines it names, and each error's kind."""

    lines: frozenset[int]
    kinds: tuple[str, ...]

    @property
    def whole_file(self) -> bool:
        """Whether the .out names no line at all (or line 0, a YAML error without position): any finding counts."""
        return not self.lines or self.lines == frozenset({0})


def workflow_path(name: str) -> str:
    """Where a corpus file is placed for review: a workflow of a repository."""
    return f".github/workflows/{name}"


def ok_files() -> list[SourceFile]:
    """The valid example workflows (``ok/*.yaml``), as workflow files."""
    folder = CORPUS / "ok"
    return [
        SourceFile(workflow_path(path.name), path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.yaml"))
    ]


def err_files() -> list[tuple[SourceFile, Expected]]:
    """The invalid example workflows (``err/*.yaml``) with what actionlint reports on each."""
    folder = CORPUS / "err"
    cases = []
    for path in sorted(folder.glob("*.yaml")):
        lines: set[int] = set()
        kinds: list[str] = []
        for text in path.with_suffix(".out").read_text(encoding="utf-8").splitlines():
            match = EXPECTED_LINE.match(text.strip())
            if match:
                lines.add(int(match.group(1)))
                kinds.append(match.group(3))
        source = SourceFile(workflow_path(path.name), path.read_text(encoding="utf-8"))
        cases.append((source, Expected(frozenset(lines), tuple(kinds))))
    return cases


def hits_named_line(findings: Iterable[Finding], expected: Expected) -> bool:
    """Whether a finding lies at one of the lines the .out names (any finding when it names none)."""
    findings = list(findings)
    if expected.whole_file:
        return bool(findings)
    return any(line in expected.lines for finding in findings for line in range(finding.line, finding.end_line + 1))
