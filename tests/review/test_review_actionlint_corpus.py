"""The review against actionlint's example workflows: no error on the valid ones, a finding on the invalid ones' lines.

The share of invalid files found is printed (``pytest -s``) and held above a floor. The floors are the targets of
issue #11: 80 % from our own analyzers (the pure ones alone reach it), 95 % with actionlint installed.
"""

import warnings

import pytest
from actionlint_corpus import err_files, hits_named_line, ok_files

from bot.review.engine import review_files
from bot.review.model import ReviewOptions
from bot.review.security import find_executable

OWN_ANALYZERS = ("syntax", "speed", "shared-actions")
OWN_FLOOR = 0.80
WITH_ACTIONLINT_FLOOR = 0.95


def review(source, analyzers):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ruamel warns about anchors the corpus redefines on purpose
        result = review_files([source], ReviewOptions(analyzers=analyzers))
    assert result.errors == [], result.errors
    return result.findings


def test_the_corpus_is_all_there() -> None:
    assert len(ok_files()) == 84
    assert len(err_files()) == 95


def test_no_error_on_valid_workflows() -> None:
    errors = [
        (source.path, finding.line, finding.rule, finding.message)
        for source in ok_files()
        for finding in review(source, OWN_ANALYZERS)
        if finding.level == "error"
    ]
    assert errors == []


def test_invalid_workflows_get_a_finding_at_a_line_actionlint_names() -> None:
    cases = err_files()
    found = [source.path for source, expected in cases if hits_named_line(review(source, OWN_ANALYZERS), expected)]
    share = len(found) / len(cases)
    print(f"\nown analyzers ({', '.join(OWN_ANALYZERS)}): {len(found)}/{len(cases)} invalid files = {share:.1%}")
    assert share >= OWN_FLOOR


@pytest.mark.skipif(find_executable("actionlint") is None, reason="actionlint is not installed (optional extra)")
def test_with_actionlint_the_invalid_workflows_are_found() -> None:
    cases = err_files()
    analyzers = (*OWN_ANALYZERS, "security")
    found = [source.path for source, expected in cases if hits_named_line(review(source, analyzers), expected)]
    share = len(found) / len(cases)
    print(f"\nwith zizmor and actionlint: {len(found)}/{len(cases)} invalid files = {share:.1%}")
    assert share >= WITH_ACTIONLINT_FLOOR
