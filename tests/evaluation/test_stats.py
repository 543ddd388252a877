from __future__ import annotations

import pytest

from llmpick.evaluation import mcnemar_exact_p, wilson_interval


def test_wilson_interval_known_values() -> None:
    # Reference values from the Wilson formula (z = 1.96): 8/10 -> [0.490, 0.943].
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-3) and high == pytest.approx(0.9433, abs=1e-3)
    assert wilson_interval(0, 20)[0] == 0.0 and wilson_interval(0, 20)[1] > 0.1
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_mcnemar_exact() -> None:
    # Discordant 0 vs 4: two-sided binomial p = 2 * 0.5**4 = 0.125.
    assert mcnemar_exact_p(0, 4) == pytest.approx(0.125)
    assert mcnemar_exact_p(3, 3) == 1.0
    assert mcnemar_exact_p(0, 0) == 1.0
    assert mcnemar_exact_p(1, 9) == pytest.approx(0.02148, abs=1e-4)
    assert 0 < mcnemar_exact_p(4000, 4300) < 0.05  # large counts stay finite


def test_a_paired_comparison_read_the_other_way_round_negates_and_swaps() -> None:
    from llmpick.evaluation._stats import PairedComparison

    pair = PairedComparison(
        metric="exact_match",
        a="tuned/x",
        b="local/x",
        n=200,
        mean_a=0.54,
        mean_b=0.07,
        diff=0.47,
        ci_low=0.39,
        ci_high=0.54,
        method="mcnemar",
        p_value=1e-20,
        prob_a_better=0.99,
        a_only=99,
        b_only=6,
    )
    back = pair.swapped()
    assert (back.a, back.b, back.mean_a, back.mean_b) == ("local/x", "tuned/x", 0.07, 0.54)
    assert (back.diff, back.ci_low, back.ci_high) == (-0.47, -0.54, -0.39)
    assert (back.a_only, back.b_only, back.p_value) == (6, 99, 1e-20)
    assert back.prob_a_better == pytest.approx(0.01)
    assert back.swapped() == pair
    level = PairedComparison("m", "a", "b", 10, 0.5, 0.5, 0.0, 0.0, 0.0, "mcnemar", 1.0, 0.5)
    assert str(level.swapped().diff) == "0.0"  # never "-0.0"
