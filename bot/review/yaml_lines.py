"""ruamel.yaml helpers: parse once with line info, map a data path to a line, find block ends, walk jobs and steps.

Parsing is ruamel.yaml's round trip (YAML 1.2, line and column of every key and item), with libyaml's C parser in
place of ruamel's pure-Python scanner and parser where PyYAML has it: libyaml composes the node tree with its marks,
ruamel's resolver and round-trip constructor make the same objects from it as ruamel alone would (same values,
types, lines and columns: tests/review/test_review_yaml_lines.py compares both on every fixture). ruamel alone parses
what that path does not take: a YAML error (so the message stays ruamel's), a ``%YAML`` directive, a tab, an explicit
tag, an empty sequence item or flow mapping value.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML, nodes
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag


@dataclass(frozen=True)
class YamlProblem:
    """Why a text is not valid YAML, at a 1-based line and column."""

    line: int
    column: int
    message: str


@dataclass(frozen=True)
class ParsedYaml:
    """A round-trip parse: ``data`` keeps ruamel's line info; ``problem`` is set when parsing failed."""

    data: Any
    problem: YamlProblem | None
    lines: tuple[str, ...]


try:
    from yaml.cyaml import CParser
except ImportError:  # PyYAML built without libyaml: ruamel alone parses
    CParser = None

VERSION_DIRECTIVE = re.compile(r"^%YAML", re.MULTILINE)
LINE_BREAK = re.compile(r"\r\n|\r|\n")
RUAMEL_NODE_KINDS: dict[type, type] = {
    pyyaml.ScalarNode: nodes.ScalarNode,
    pyyaml.SequenceNode: nodes.SequenceNode,
    pyyaml.MappingNode: nodes.MappingNode,
}


class NotForLibyaml(Exception):
    """The text holds something the libyaml path does not take; ruamel alone parses it."""


class LibyamlComposer(CParser or object):  # type: ignore[misc]
    """libyaml's parser and composer, leaving each untagged node's tag to ruamel's YAML 1.2 resolver."""

    def __init__(self, text: str, resolver: VersionedResolver) -> None:
        super().__init__(text)
        self.ruamel_resolver = resolver

    def resolve(self, kind: type, value: str | None, implicit: tuple[bool, bool]) -> Tag:
        return self.ruamel_resolver.resolve(RUAMEL_NODE_KINDS[kind], value, implicit)

    def descend_resolver(self, parent: Any, index: Any) -> None:
        """Path resolvers are not used (ruamel's round trip registers none)."""

    def ascend_resolver(self) -> None:
        """Path resolvers are not used (ruamel's round trip registers none)."""


class RuamelNodes:
    """Turns libyaml's node tree into ruamel's (an alias stays the node it names, as in ruamel's composer).

    libyaml and ruamel place empty values differently: a block mapping's empty value is moved to where ruamel puts
    it; an empty item of a sequence or an empty value of a flow mapping is left to ruamel alone (NotForLibyaml), as
    is an explicit tag (ruamel keeps it as a TaggedScalar).
    """

    def __init__(self, text: str) -> None:
        self.lines = LINE_BREAK.split(text)
        self.made: dict[int, Any] = {}

    def node(self, node: Any) -> Any:
        found = self.made.get(id(node))
        if found is not None:
            return found
        if not isinstance(node.tag, Tag):
            raise NotForLibyaml(f"explicit tag {node.tag}")
        if isinstance(node, pyyaml.ScalarNode):
            style = node.style or None  # libyaml's plain style is "", ruamel's None
            self.made[id(node)] = nodes.ScalarNode(node.tag, node.value, node.start_mark, node.end_mark, style)
            return self.made[id(node)]
        is_sequence = isinstance(node, pyyaml.SequenceNode)
        children = node.value if is_sequence else [value for _, value in node.value] if node.flow_style else []
        if any(is_empty(child) for child in children):
            raise NotForLibyaml("an empty sequence item or flow mapping value")
        kind = nodes.SequenceNode if is_sequence else nodes.MappingNode
        result = kind(node.tag, [], node.start_mark, node.end_mark, node.flow_style)
        self.made[id(node)] = result
        if is_sequence:
            result.value = [self.node(child) for child in node.value]
            return result
        for key, value in node.value:
            made_value = self.node(value)
            if is_empty(value):
                made_value.start_mark = self.empty_value_mark(value.start_mark, key.start_mark.column)
            result.value.append((self.node(key), made_value))
        return result

    def empty_value_mark(self, mark: Any, key_column: int) -> Any:
        """Where ruamel places an empty block mapping value: at the next token, past blanks and comments; but right
        after the colon (libyaml's place) when a comment follows the colon and the next token is a sibling key."""
        line, column = mark.line, mark.column
        commented = line < len(self.lines) and self.lines[line][column:].strip().startswith("#")
        while line < len(self.lines):
            rest = self.lines[line][column:]
            stripped = rest.lstrip(" ")
            if stripped and not stripped.startswith("#"):
                found = column + len(rest) - len(stripped)
                if stripped.startswith(("---", "...")):
                    raise NotForLibyaml("an empty value before a document marker")
                if commented and found == key_column:
                    return mark
                return pyyaml.Mark(mark.name, -1, line, found, None, None)
            if line == len(self.lines) - 1:
                return pyyaml.Mark(mark.name, -1, line, len(self.lines[line]), None, None)
            line, column = line + 1, 0
        return mark


def is_empty(node: Any) -> bool:
    """An empty plain scalar: what a key with nothing after it, or a bare ``-``, holds."""
    return isinstance(node, pyyaml.ScalarNode) and node.value == "" and not node.style


def load_with_libyaml(text: str) -> Any:
    """ruamel's round-trip data for ``text``, composed by libyaml; NotForLibyaml when ruamel alone must parse it."""
    if CParser is None or VERSION_DIRECTIVE.search(text) or "\t" in text:
        raise NotForLibyaml("no libyaml, a %YAML directive, or a tab (ruamel refuses some that libyaml takes)")
    loader = YAML(typ="rt")
    try:
        root = LibyamlComposer(text, loader.resolver).get_single_node()
    except pyyaml.YAMLError as error:
        raise NotForLibyaml(str(error)) from error
    if root is None:
        return None
    try:
        return loader.constructor.construct_document(RuamelNodes(text).node(root))
    except YAMLError as error:  # a duplicate key, say: ruamel alone reports it, in its words
        raise NotForLibyaml(str(error)) from error


@functools.lru_cache(maxsize=512)
def parse_yaml(text: str) -> ParsedYaml:
    """Parse ``text`` once; analyzers share the cached result, so they must not modify ``data``."""
    lines = tuple(text.splitlines())
    try:
        try:
            data = load_with_libyaml(text)
        except NotForLibyaml:
            data = YAML(typ="rt").load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        message = " ".join(part for part in (error.context, error.problem) if part) or str(error)
        return ParsedYaml(None, YamlProblem(line, column, f"YAML syntax error: {message}"), lines)
    except YAMLError as error:
        return ParsedYaml(None, YamlProblem(1, 1, f"YAML syntax error: {error}"), lines)
    return ParsedYaml(data, None, lines)


def to_plain(node: Any) -> Any:
    """Turn ruamel's round-trip objects into plain JSON-like data (dates become ISO strings)."""
    if isinstance(node, dict):
        return {str(key): to_plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [to_plain(item) for item in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, (datetime.date, datetime.datetime)):
        return node.isoformat()
    return str(node)


def key_position(mapping: Any, key: Any) -> tuple[int, int] | None:
    """1-based (line, column) of ``key`` in a round-trip mapping, or None (also for keys a merge key brought in)."""
    if isinstance(mapping, CommentedMap) and key in (mapping.lc.data or {}):
        line, column = mapping.lc.key(key)
        return line + 1, column + 1
    return None


def value_position(mapping: Any, key: Any) -> tuple[int, int] | None:
    """1-based (line, column) of the value of ``key`` in a round-trip mapping, or None."""
    if isinstance(mapping, CommentedMap) and key in (mapping.lc.data or {}):
        line, column = mapping.lc.value(key)
        return line + 1, column + 1
    return None


def item_position(sequence: Any, index: int) -> tuple[int, int] | None:
    """1-based (line, column) of item ``index`` of a round-trip sequence (its first key for a mapping)."""
    if isinstance(sequence, CommentedSeq) and index in (sequence.lc.data or {}):
        line, column = sequence.lc.item(index)
        return line + 1, column + 1
    return None


def node_position(node: Any) -> tuple[int, int] | None:
    """1-based (line, column) where a round-trip mapping or sequence starts."""
    if isinstance(node, (CommentedMap, CommentedSeq)) and node.lc.line is not None:
        return node.lc.line + 1, node.lc.col + 1
    return None


def locate(data: Any, path: Sequence[str | int]) -> tuple[int, int]:
    """1-based (line, column) of the deepest node on ``path`` that exists; the key for mapping entries."""
    position = node_position(data) or (1, 1)
    node = data
    for step in path:
        if isinstance(node, CommentedMap) and step in node:
            position = key_position(node, step) or position
            node = node[step]
        elif isinstance(node, CommentedSeq) and isinstance(step, int) and 0 <= step < len(node):
            position = item_position(node, step) or position
            node = node[step]
        else:
            break
    return position


def indentation(line: str) -> int:
    """Number of leading spaces of ``line``."""
    return len(line) - len(line.lstrip(" "))


def block_end_line(lines: Sequence[str], start_line: int, parent_indent: int) -> int:
    """Last line (1-based) of the block that starts at ``start_line``.

    The block goes on while lines are blank, comments, or indented deeper than ``parent_indent``
    (the column, 0-based, of the key or ``-`` that opens it); trailing blank and comment lines are
    left out.
    """
    end = start_line
    for number in range(start_line + 1, len(lines) + 1):
        text = lines[number - 1]
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if indentation(text) <= parent_indent:
            break
        end = number
    return end


def dash_column(lines: Sequence[str], item_line: int, item_column: int) -> int | None:
    """0-based column of the ``-`` that opens a sequence item whose content starts at the given place."""
    text = lines[item_line - 1] if 0 < item_line <= len(lines) else ""
    before = text[: item_column - 1].rstrip()
    if before.endswith("-"):
        return len(before) - 1
    return None


def workflow_jobs(data: Any) -> list[tuple[str, CommentedMap]]:
    """(job id, job mapping) of a parsed workflow, in file order; malformed jobs are left out."""
    jobs = data.get("jobs") if isinstance(data, CommentedMap) else None
    if not isinstance(jobs, CommentedMap):
        return []
    return [(str(job_id), job) for job_id, job in jobs.items() if isinstance(job, CommentedMap)]


def job_steps(job: Any) -> list[tuple[int, CommentedMap]]:
    """(index, step mapping) of a job's (or composite action's) ``steps``; malformed steps are left out."""
    steps = job.get("steps") if isinstance(job, CommentedMap) else None
    if not isinstance(steps, CommentedSeq):
        return []
    return [(index, step) for index, step in enumerate(steps) if isinstance(step, CommentedMap)]


def step_action(step: Any) -> str:
    """The action of a ``uses`` step without its ref (``actions/checkout``), or ``""``."""
    uses = step.get("uses") if isinstance(step, CommentedMap) else None
    return str(uses).split("@", 1)[0].strip() if uses else ""


def step_ref(step: Any) -> str:
    """The ref of a ``uses`` step (``v4``), or ``""``."""
    uses = str(step.get("uses", "")) if isinstance(step, CommentedMap) else ""
    return uses.split("@", 1)[1].strip() if "@" in uses else ""


def step_display_name(step: Any) -> str:
    """The name GitHub shows for a step: its ``name``, else ``Run <action>`` or ``Run <first command line>``."""
    if not isinstance(step, CommentedMap):
        return ""
    if step.get("name"):
        return str(step["name"])
    if step.get("uses"):
        return f"Run {step['uses']}"
    first = next((line.strip() for line in str(step.get("run", "")).splitlines() if line.strip()), "")
    return f"Run {first}"


def step_lines(lines: Sequence[str], steps: Any, index: int) -> tuple[int, int, int] | None:
    """(first line, last line, 0-based dash column) of step ``index`` of a block-style steps list."""
    position = item_position(steps, index)
    if position is None:
        return None
    dash = dash_column(lines, position[0], position[1])
    if dash is None:
        return None
    return position[0], block_end_line(lines, position[0], dash), dash
