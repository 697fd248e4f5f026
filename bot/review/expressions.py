"""GitHub Actions expressions: find the ``${{ }}`` in a string and parse each into a small syntax tree.

The grammar is GitHub's (docs: "Evaluate expressions in workflows and actions"): literals ``null``, ``true``,
``false``, numbers and single-quoted strings (``''`` escapes a quote); context names and property access
(``a.b``, ``a['b']``, ``a.*``, ``a[*]``); function calls; ``!``, ``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=``,
``&&``, ``||`` and parentheses. Names and functions are case-insensitive. Errors carry the offset, in the
expression's text, where they were found.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
NUMBER = re.compile(r"[+-]?(0x[0-9A-Fa-f]+|0o[0-7]+|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)")
OPERATORS = ("<=", ">=", "==", "!=", "&&", "||", "<", ">", "!", "(", ")", "[", "]", ".", ",", "*")
LITERAL_NAMES = {"null": None, "true": True, "false": False}


class ExpressionError(Exception):
    """A syntax error at ``offset`` of the expression's text."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


@dataclass(frozen=True)
class Token:
    kind: str  # "name", "number", "string", "op", "end"
    text: str
    offset: int
    value: object = None


@dataclass(frozen=True)
class Literal:
    value: object  # None, bool, float or str
    offset: int


@dataclass(frozen=True)
class Context:
    """A context name (``github``, ``matrix``, ...), lower-cased."""

    name: str
    offset: int


@dataclass(frozen=True)
class Property:
    """``receiver.name``, ``receiver['name']`` or, with ``name`` None, ``receiver.*`` (an object filter)."""

    receiver: Node
    name: str | None
    offset: int


@dataclass(frozen=True)
class Index:
    """``receiver[index]`` with an index that is not a string literal."""

    receiver: Node
    index: Node
    offset: int


@dataclass(frozen=True)
class Call:
    """A function call; ``name`` is lower-cased, ``written`` as in the text."""

    name: str
    written: str
    arguments: tuple[Node, ...]
    offset: int


@dataclass(frozen=True)
class Not:
    operand: Node
    offset: int


@dataclass(frozen=True)
class Binary:
    operator: str
    left: Node
    right: Node
    offset: int


Node = Literal | Context | Property | Index | Call | Not | Binary


@dataclass(frozen=True)
class Embedded:
    """One ``${{ }}`` in a string: its inner text and where that text starts in the string."""

    text: str
    start: int


def embedded_expressions(value: str) -> tuple[list[Embedded], ExpressionError | None]:
    """The ``${{ ... }}`` of a string, in order; an error (offset in ``value``) when one is not closed.

    A ``}}`` inside a single-quoted string literal does not close the expression.
    """
    found: list[Embedded] = []
    position = 0
    while True:
        opening = value.find("${{", position)
        if opening < 0:
            return found, None
        start = opening + 3
        index = start
        quoted = False
        while index < len(value):
            character = value[index]
            if character == "'":
                quoted = not quoted
            elif not quoted and value.startswith("}}", index):
                break
            index += 1
        else:
            return found, ExpressionError("`${{` is not closed by `}}`", opening)
        found.append(Embedded(value[start:index], start))
        position = index + 2


def tokens(text: str) -> Iterator[Token]:
    """The tokens of an expression's text, ending with an ``end`` token."""
    index = 0
    while index < len(text):
        character = text[index]
        if character.isspace():
            index += 1
            continue
        if character == "'":
            end = index + 1
            chunks = []
            while True:
                close = text.find("'", end)
                if close < 0:
                    raise ExpressionError("a string literal is not closed with `'`", index)
                chunks.append(text[end:close])
                if text.startswith("''", close):
                    chunks.append("'")
                    end = close + 2
                    continue
                break
            yield Token("string", text[index : close + 1], index, "".join(chunks))
            index = close + 1
            continue
        if character.isdigit() or (character in "+-." and index + 1 < len(text) and text[index + 1].isdigit()):
            match = NUMBER.match(text, index)
            if match:
                yield Token("number", match.group(0), index, parse_number(match.group(0)))
                index = match.end()
                continue
        match = NAME.match(text, index)
        if match:
            yield Token("name", match.group(0), index)
            index = match.end()
            continue
        operator = next((op for op in OPERATORS if text.startswith(op, index)), None)
        if operator is None:
            hint = " (strings take single quotes)" if character == '"' else ""
            raise ExpressionError(f"unexpected character `{character}`{hint}", index)
        yield Token("op", operator, index)
        index += len(operator)
    yield Token("end", "", len(text))


def parse_number(text: str) -> float:
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-").lower()
    if body.startswith("0x"):
        return sign * int(body, 16)
    if body.startswith("0o"):
        return sign * int(body[2:], 8)
    return sign * float(body)


BINARY_LEVELS = (("||",), ("&&",), ("==", "!="), ("<", "<=", ">", ">="))


class Parser:
    """Recursive descent over the tokens; raises ExpressionError at the first problem."""

    def __init__(self, text: str) -> None:
        self.tokens = list(tokens(text))
        self.position = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.position]

    def advance(self) -> Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def expect(self, text: str) -> Token:
        if self.current.kind != "op" or self.current.text != text:
            raise ExpressionError(f"expected `{text}` but found {describe_token(self.current)}", self.current.offset)
        return self.advance()

    def parse(self) -> Node:
        if self.current.kind == "end":
            raise ExpressionError("the expression is empty", 0)
        node = self.binary(0)
        if self.current.kind != "end":
            raise ExpressionError(f"unexpected {describe_token(self.current)}", self.current.offset)
        return node

    def binary(self, level: int) -> Node:
        if level == len(BINARY_LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while self.current.kind == "op" and self.current.text in BINARY_LEVELS[level]:
            operator = self.advance()
            node = Binary(operator.text, node, self.binary(level + 1), operator.offset)
        return node

    def unary(self) -> Node:
        if self.current.kind == "op" and self.current.text == "!":
            operator = self.advance()
            return Not(self.unary(), operator.offset)
        return self.postfix(self.primary())

    def primary(self) -> Node:
        token = self.advance()
        if token.kind == "end":
            raise ExpressionError("the expression ends too early", token.offset)
        if token.kind in ("number", "string"):
            return Literal(token.value, token.offset)
        if token.kind == "name":
            lowered = token.text.lower()
            if lowered in LITERAL_NAMES:
                return Literal(LITERAL_NAMES[lowered], token.offset)
            if self.current.kind == "op" and self.current.text == "(":
                return self.call(token)
            return Context(lowered, token.offset)
        if token.kind == "op" and token.text == "(":
            node = self.binary(0)
            self.expect(")")
            return node
        raise ExpressionError(f"unexpected {describe_token(token)}", token.offset)

    def call(self, name: Token) -> Call:
        self.expect("(")
        arguments: list[Node] = []
        if not (self.current.kind == "op" and self.current.text == ")"):
            arguments.append(self.binary(0))
            while self.current.kind == "op" and self.current.text == ",":
                self.advance()
                arguments.append(self.binary(0))
        self.expect(")")
        return Call(name.text.lower(), name.text, tuple(arguments), name.offset)

    def postfix(self, node: Node) -> Node:
        while self.current.kind == "op" and self.current.text in (".", "["):
            operator = self.advance()
            if operator.text == ".":
                token = self.advance()
                if token.kind == "op" and token.text == "*":
                    node = Property(node, None, token.offset)
                elif token.kind == "name":
                    node = Property(node, token.text.lower(), token.offset)
                else:
                    raise ExpressionError(
                        f"expected a property name after `.` but found {describe_token(token)}", token.offset
                    )
                continue
            if self.current.kind == "op" and self.current.text == "*":
                star = self.advance()
                node = Property(node, None, star.offset)
            else:
                index = self.binary(0)
                if isinstance(index, Literal) and isinstance(index.value, str):
                    node = Property(node, index.value.lower(), index.offset)
                else:
                    node = Index(node, index, operator.offset)
            self.expect("]")
        return node


def describe_token(token: Token) -> str:
    return "the end of the expression" if token.kind == "end" else f"`{token.text}`"


def parse_expression(text: str) -> Node:
    """The syntax tree of one expression (the inside of ``${{ }}``, or a whole ``if:``)."""
    return Parser(text).parse()


def walk(node: Node) -> Iterator[Node]:
    """``node`` and every node under it, parents first."""
    yield node
    if isinstance(node, Property):
        yield from walk(node.receiver)
    elif isinstance(node, Index):
        yield from walk(node.receiver)
        yield from walk(node.index)
    elif isinstance(node, Call):
        for argument in node.arguments:
            yield from walk(argument)
    elif isinstance(node, Not):
        yield from walk(node.operand)
    elif isinstance(node, Binary):
        yield from walk(node.left)
        yield from walk(node.right)


def property_path(node: Node) -> tuple[str, ...] | None:
    """``('steps', 'build', 'outputs')`` for ``steps.build.outputs``; None when the chain has calls or indexes."""
    names: list[str] = []
    while isinstance(node, Property):
        if node.name is None:
            return None
        names.append(node.name)
        node = node.receiver
    if not isinstance(node, Context):
        return None
    return (node.name, *reversed(names))
