"""The demo plays its whole story against the local GitHub and finds everything the App should post."""

from __future__ import annotations

import io

from bot.testing.demo import play


async def test_the_demo_finds_everything_it_expects():
    out = io.StringIO()
    assert await play(out) == 0
    printed = out.getvalue()
    assert "check run “test suite: python-matrix”" in printed and "6 legs: 5 met the expectation, 1 did not" in printed
    assert ".github/workflows/matrix.yml:9: failure: Leg failed: 3.13, macos-latest" in printed
    assert "the App's reply to comment" in printed and "5 of 6 legs met the expectation" in printed
