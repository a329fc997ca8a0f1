"""`SpecialtyIndex` (built once per pool) answers exactly as `specialty_overlap` (per expert)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from expertpool.matching.scoring import SpecialtyIndex, specialty_overlap

# Few letters, so that names often contain one another, repeat, fold together or are empty.
_NAMES = st.text(alphabet="铅镉土壤ab-Ａ ", max_size=4)


@settings(max_examples=300, deadline=None)
@given(
    experts=st.lists(st.lists(_NAMES, max_size=4), max_size=12),
    wanted=st.lists(_NAMES, max_size=5),
)
def test_the_index_equals_the_per_expert_rule(experts, wanted):
    expected = specialty_overlap(wanted, experts)
    got = SpecialtyIndex(experts).overlap(wanted)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert np.array_equal(got, expected)  # exactly: the same counts over the same divisor


def test_both_directions_and_spellings():
    index = SpecialtyIndex([["铅同位素"], ["ｉｃｐ"], ["Cd"], []])
    assert index.overlap(["铅", "ICP-MS"]).tolist() == [0.5, 0.5, 0.0, 0.0]
