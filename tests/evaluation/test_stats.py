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
