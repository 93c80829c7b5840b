import math

import pytest

from course import schedules


def test_step_decay_drops_by_gamma_every_step_size():
    f = schedules.step_decay(10, gamma=0.5)
    assert [f(t) for t in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]


def test_exponential_and_inverse_time():
    assert schedules.exponential(0.9)(3) == pytest.approx(0.729)
    assert schedules.inverse_time(0.5)(4) == pytest.approx(1 / 3)


def test_cosine_starts_at_one_ends_at_min_and_stays_there():
    f = schedules.cosine(100, min_factor=0.1)
    assert f(0) == 1.0
    assert f(50) == pytest.approx(0.55)
    assert f(100) == pytest.approx(0.1) and f(500) == pytest.approx(0.1)


def test_warmup_ramps_linearly_then_hands_over():
    f = schedules.warmup(4, then=schedules.exponential(0.5))
    assert [f(t) for t in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 0.5]


def test_non_positive_lengths_are_rejected_by_name():
    with pytest.raises(ValueError, match="total_steps"):
        schedules.cosine(0)
    assert math.isfinite(schedules.constant()(10**9))
