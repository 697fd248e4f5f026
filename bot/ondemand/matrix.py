"""A suite's matrix expanded into legs, with `include` and `exclude` applied the way GitHub applies them.

GitHub's rules (jobs.<id>.strategy.matrix): the legs are the cartesian product of the matrix's values, in the
order written; every `exclude` entry removes the legs that match all of its keys; then each `include` entry is
added to every leg whose original matrix values it does not change (values added by an earlier include may
change), and one that fits no leg becomes a leg of its own. Fixed `inputs` are set on every leg, under the
matrix's values.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

Matrix = tuple[tuple[str, tuple[str, ...]], ...]  # input name → values, in the order written
Combination = tuple[tuple[str, str], ...]  # input name → value


def _matches(leg: dict[str, str], entry: Combination) -> bool:
    return all(leg.get(name) == value for name, value in entry)


def expand(
    matrix: Matrix, include: Sequence[Combination] = (), exclude: Sequence[Combination] = (), inputs: Combination = ()
) -> list[Combination]:
    """The legs of a suite, each as (input, value) pairs: matrix inputs first, in the order written."""
    names = [name for name, _ in matrix]
    product = [dict(zip(names, values, strict=True)) for values in itertools.product(*(v for _, v in matrix))]
    if not matrix:
        product = []
    legs = [leg for leg in product if not any(_matches(leg, entry) for entry in exclude)]
    originals = [dict(leg) for leg in legs]
    extra: list[dict[str, str]] = []
    for entry in include:
        fitted = False
        for leg, original in zip(legs, originals, strict=True):
            if all(original.get(name, value) == value for name, value in entry):
                leg.update(entry)
                fitted = True
        if not fitted:
            extra.append(dict(entry))
    fixed = dict(inputs)
    return [tuple({**fixed, **leg}.items()) for leg in [*legs, *extra]]


def leg_label(leg: Combination) -> str:
    """How a leg is named in tables and check runs: its values, in order (`3.12, ubuntu-latest`)."""
    return ", ".join(value for _, value in leg) or "(no inputs)"
