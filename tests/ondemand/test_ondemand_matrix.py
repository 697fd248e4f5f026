"""Matrix expansion with GitHub's include/exclude rules (the examples of GitHub's documentation)."""

from __future__ import annotations

from bot.ondemand.matrix import expand, leg_label


def as_dicts(legs):
    return [dict(leg) for leg in legs]


def test_the_cartesian_product_in_the_order_written():
    legs = expand((("python", ("3.11", "3.12", "3.13")), ("os", ("ubuntu-latest", "macos-latest"))))
    assert len(legs) == 6
    assert legs[0] == (("python", "3.11"), ("os", "ubuntu-latest"))
    assert legs[1] == (("python", "3.11"), ("os", "macos-latest"))
    assert leg_label(legs[-1]) == "3.13, macos-latest"


def test_include_follows_githubs_documented_example():
    # docs.github.com: "Example: Expanding configurations" (fruit × animal with five include entries)
    matrix = (("fruit", ("apple", "pear")), ("animal", ("cat", "dog")))
    include = (
        (("color", "green"),),
        (("color", "pink"), ("animal", "cat")),
        (("fruit", "apple"), ("shape", "circle")),
        (("fruit", "banana"),),
        (("fruit", "banana"), ("animal", "cat")),
    )
    assert as_dicts(expand(matrix, include)) == [
        {"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"},
        {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"},
        {"fruit": "pear", "animal": "cat", "color": "pink"},
        {"fruit": "pear", "animal": "dog", "color": "green"},
        {"fruit": "banana"},
        {"fruit": "banana", "animal": "cat"},
    ]


def test_exclude_removes_partial_matches_before_include():
    matrix = (("os", ("macos-latest", "windows-latest")), ("version", ("12", "14", "16")), ("env", ("a", "b")))
    exclude = ((("os", "macos-latest"), ("version", "12"), ("env", "a")), (("os", "windows-latest"), ("version", "16")))
    legs = as_dicts(expand(matrix, exclude=exclude))
    assert len(legs) == 12 - 1 - 2
    assert {"os": "windows-latest", "version": "16", "env": "a"} not in legs
    # an include that only names excluded values becomes its own leg
    legs = as_dicts(expand(matrix, include=((("os", "windows-latest"), ("version", "16")),), exclude=exclude))
    assert legs[-1] == {"os": "windows-latest", "version": "16"}


def test_only_include_and_fixed_inputs():
    legs = expand((), include=((("site", "prod"),), (("site", "dev"), ("debug", "true"))), inputs=(("debug", "false"),))
    assert as_dicts(legs) == [{"debug": "false", "site": "prod"}, {"debug": "true", "site": "dev"}]
    assert expand(()) == []
