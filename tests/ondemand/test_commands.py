"""Comment commands: found only where written as commands, parsed by a real argument parser, usage on mistakes."""

from __future__ import annotations

import pytest

from bot.commands import COMMANDS, CommandSet, CommandSpec, UsageError, command_line


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/ci test", "/ci test"),
        ("Please run\n\n  /ci test python-matrix\nthanks", "/ci test python-matrix"),
        ("> /ci test\nquoted only", None),
        ("```\n/ci test\n```\n", None),
        ("~~~~\n/ci test\n~~~\n/ci still in code\n~~~~\n/ci help", "/ci help"),
        ("    /ci test (indented code)", None),
        ("<!-- /ci test -->", None),
        ("/cinema tonight?", None),
        ("run /ci test please", None),
        ("/ci test a\r\n/ci cancel", "/ci test a"),
    ],
)
def test_commands_are_found_only_where_written_as_commands(body, expected):
    assert command_line(body) == expected


def test_arguments_are_parsed_with_quotes():
    command = COMMANDS.parse("""/ci test python-matrix --matrix '{"python": ["3.11", "3.12"]}' --ref main""")
    assert command is not None and command.spec.name == "test"
    assert command.arguments.target == "python-matrix" and command.arguments.ref == "main"
    assert command.arguments.matrix == '{"python": ["3.11", "3.12"]}'
    assert COMMANDS.parse("nothing to see") is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("/ci tset", "unknown command 'tset'; did you mean /ci test?"),
        ("/ci test --matrx {}", "unrecognized arguments: --matrx"),
        ("/ci test --mat {}", "unrecognized arguments: --mat"),
        ("/ci test 'open", "the command cannot be read: No closing quotation"),
        ("/ci", "which command? These are the commands:"),
        ("/ci cancel now", "unrecognized arguments: now"),
    ],
)
def test_mistakes_give_a_message_and_the_usage(body, message):
    with pytest.raises(UsageError) as raised:
        COMMANDS.parse(body)
    assert raised.value.message == message
    assert "/ci" in raised.value.usage


def test_a_new_command_registers_in_one_line():
    commands = CommandSet(dict(COMMANDS.specs))
    commands.add(CommandSpec("health", "the CI health report", needs_write=False))
    command = commands.parse("/ci health")
    assert command is not None and command.spec.name == "health" and not command.spec.needs_write
    assert "/ci health\n    the CI health report" in commands.usage()
