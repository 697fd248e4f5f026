"""The import graph keeps the architecture: event → handler → flow → pure core, with one GitHub seam.

Every `import` in the product code (module level or inside functions) is checked against the rules
below; a failure names the file, the line and the forbidden import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE_CORES = ("bot.comparison", "bot.review", "bot.config", "bot.health", "bot.report", "bot.ondemand", "bot.commands")
RUNTIME_AND_SEAMS = ("bot.app", "bot.github", "bot.store", "bot.flows", "bot.cli", "bot.testing", "handlers")

# (modules the rule applies to, imports they must not make, why)
RULES: list[tuple[tuple[str, ...], tuple[str, ...], str]] = [
    (PURE_CORES, RUNTIME_AND_SEAMS, "pure cores do no I/O: they import no runtime, GitHub seam, flow or handler"),
    (
        ("bot.flows",),
        ("bot.app", "bot.github", "bot.store", "bot.cli", "bot.testing", "handlers"),
        "flows reach GitHub only through the CIProvider seam, and import no handler or command line",
    ),
    (("handlers",), ("bot.cli", "bot.testing"), "handlers import no command line and no test support"),
    (
        ("bot.github", "bot.store"),
        ("handlers", "bot.app.server", "bot.app.dispatcher", "bot.cli", "bot.testing"),
        "the GitHub seam and the store import no handler, server, command line or test support",
    ),
    (("bot.app",), ("bot.cli", "bot.testing"), "the App runtime imports no command line or test support"),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, relative imports resolved."""
    return imports_in(path.read_text(encoding="utf-8"), module_name(path), is_package=path.name == "__init__.py")


def imports_in(source: str, module: str, *, is_package: bool = False) -> list[tuple[int, str]]:
    tree = ast.parse(source)
    package = module if is_package else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


PRODUCT_FILES = sorted([*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("handlers").glob("*.py")])


def violations() -> list[str]:
    found = []
    for path in PRODUCT_FILES:
        name = module_name(path)
        for applies_to, forbidden, why in RULES:
            if not within(name, applies_to):
                continue
            for line, imported in imports_of(path):
                if within(imported, forbidden) and not within(imported, (name,)):
                    found.append(f"{path.relative_to(ROOT)}:{line}: imports {imported} ({why})")
        if name.startswith("handlers.") and name != "handlers":
            for line, imported in imports_of(path):
                if within(imported, ("handlers",)) and imported != name:
                    found.append(f"{path.relative_to(ROOT)}:{line}: imports {imported} (no handler imports another)")
    return found


def test_the_import_graph_keeps_the_layers() -> None:
    assert violations() == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import bot.github.client\n", ["bot.github.client"]),
        ("from bot.app import metrics\n", ["bot.app", "bot.app.metrics"]),
        ("def f():\n    from handlers import push\n", ["handlers", "handlers.push"]),
        ("from .model import RunRecord\n", ["bot.comparison.model", "bot.comparison.model.RunRecord"]),
    ],
)
def test_imports_are_found_also_inside_functions_and_relative(source: str, expected: list[str]) -> None:
    assert [module for _, module in imports_in(source, "bot.comparison.probe")] == expected
