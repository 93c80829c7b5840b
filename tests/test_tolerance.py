import numpy as np
import pytest
import torch

from course.tolerance import DEFAULT, Tolerance, assert_close, compare, tolerance_for


def test_near_zero_entries_are_judged_against_the_array_scale():
    expected = np.array([1.0, 1e-12])
    actual = np.array([1.0, 1e-12 + 1e-13])  # elementwise relative error 10%, absolute 1e-13
    assert compare(actual, expected).passed


def test_a_real_difference_fails_and_reports_where():
    expected = np.arange(6.0).reshape(2, 3)
    actual = expected.copy()
    actual[1, 2] += 1e-4
    result = compare(actual, expected)
    assert not result.passed
    assert result.worst_index == (1, 2)
    assert result.max_error == pytest.approx(1e-4)
    assert result.scaled_error == pytest.approx(1e-4 / 5)


def test_shape_mismatch_and_nan_fail_with_a_reason():
    assert "shape" in compare(np.zeros(3), np.zeros(4)).problem
    result = compare(np.array([1.0, np.nan]), np.array([1.0, 2.0]))
    assert not result.passed and "non-finite" in result.problem


def test_all_zero_reference_accepts_only_zeros():
    assert compare(np.zeros(3), np.zeros(3)).passed
    assert not compare(np.array([0, 0, 1e-30]), np.zeros(3)).passed


def test_tolerance_depends_on_dtype_and_accepts_numpy_and_torch_names():
    assert tolerance_for(np.float64) == tolerance_for("float64") == tolerance_for(torch.float64) == DEFAULT
    assert tolerance_for(torch.float32).rtol > DEFAULT.rtol
    with pytest.raises(ValueError, match="float16"):
        tolerance_for("float16")


def test_assert_close_message_names_the_output_and_the_error_size():
    with pytest.raises(AssertionError, match=r"db differs: max error 0\.5"):
        assert_close(np.array([1.5]), np.array([1.0]), Tolerance(1e-7, 1e-9), name="db")
