"""`course.selfcheck` names how a value differs from the expected one, the way the hidden tests' feedback does."""
import linecache

import numpy as np
import pytest

from course.selfcheck import (InputGuard, assert_implemented, assert_matches, describe_difference, matching_mistake,
                              unimplemented)
from course.tolerance import Tolerance

EXPECTED = np.arange(1.0, 13.0).reshape(3, 4)


@pytest.mark.parametrize("actual, clause", [
    (5 * EXPECTED, "every entry is 5.00 times the expected value: did you forget to divide by N (= 5)?"),
    (EXPECTED / 5, "every entry is 0.20 times the expected value: did you divide by N (= 5) once too often?"),
    (2 * EXPECTED, "every entry is 2.00 times the expected value: a factor of 2 missing or extra?"),
    (-EXPECTED, "every entry has the opposite sign of the expected value"),
    (EXPECTED.T, "has shape (4, 3), the transpose of the expected (3, 4)"),
    (EXPECTED.ravel(), "has shape (12,), expected (3, 4): the right number of entries in the wrong shape (with the right values"),
    (EXPECTED + 0.5, "every entry is off by the same amount, +0.5"),
    (np.where(EXPECTED > 6, np.nan, EXPECTED), "contains nan or inf (first at index (1, 2)) where the expected value is finite"),
])
def test_a_simple_difference_is_named(actual, clause):
    assert describe_difference(actual, EXPECTED, n=5).startswith(clause)


def test_a_difference_without_a_pattern_gets_no_clause():
    noisy = EXPECTED + np.random.default_rng(0).standard_normal(EXPECTED.shape)
    assert describe_difference(noisy, EXPECTED, n=5) == ""
    assert describe_difference(2.4, 2.3) == ""  # two numbers always have a ratio: say nothing unless it means something


def test_a_ratio_can_be_given_its_meaning():
    clause = describe_difference(0.1 * EXPECTED, EXPECTED, hints={0.1: "is the bias correction of m missing?"})
    assert clause == "every entry is 0.10 times the expected value: is the bias correction of m missing?"


def test_a_failure_shows_the_value_next_to_the_expected_one():
    with pytest.raises(AssertionError) as failure:
        assert_matches(11.5, 2.3, "loss", n=5)
    assert str(failure.value) == "loss is 11.5, expected 2.3\n  5.00 times the expected value: did you forget to divide by N (= 5)?"

    with pytest.raises(AssertionError) as failure:
        assert_matches(5 * EXPECTED, EXPECTED, "dx", n=5, hint="dx carries the 1/N")
    lines = str(failure.value).splitlines()
    assert lines[0] == "dx differs from the expected value"
    assert "5.00 times" in lines[1]
    assert lines[2].startswith("  at index (2, 3): yours 60, expected 12")
    assert lines[3] == "  hint: dx carries the 1/N"


def test_a_known_mistake_is_named_before_any_pattern():
    with pytest.raises(AssertionError, match="the bias is missing"):
        assert_matches(EXPECTED + 1, EXPECTED, "out", mistakes={"the bias is missing": EXPECTED + 1})
    assert matching_mistake(0.1417, {"fan_out": 0.1414}, Tolerance(rtol=0.05, atol=0.0)) == "fan_out"
    assert matching_mistake(0.0707, {"fan_out": 0.1414}, Tolerance(rtol=0.05, atol=0.0)) is None


def test_a_passing_comparison_says_nothing():
    assert_matches(EXPECTED * (1 + 1e-12), EXPECTED, "out")


def test_the_guard_names_the_input_that_changed_in_place():
    x, cache = EXPECTED.copy(), (EXPECTED.copy(), 0.01)
    guard = InputGuard(x=x, cache=cache)
    assert guard.changed() == []
    cache[0][0, 0] = -1.0
    with pytest.raises(AssertionError, match="leaky_relu_backward changed cache in place"):
        guard.assert_unchanged("leaky_relu_backward")


def _define(source: str) -> dict:
    """Define functions from source that `inspect` can read back, as in a notebook cell."""
    filename = f"<test-{abs(hash(source))}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {}
    exec(compile(source, filename, "exec"), namespace)
    return namespace


def test_a_stub_is_named_and_an_implementation_is_not():
    ns = _define(
        "def stub(x):\n"
        "    \"\"\"Docstring.\"\"\"\n"
        "    # YOUR CODE HERE\n"
        "    raise NotImplementedError()\n"
        "def done(x, normalization=None):\n"
        "    if normalization:\n"
        "        raise NotImplementedError('A3 adds this')\n"
        "    return x\n"
        "class Net:\n"
        "    def __init__(self):\n"
        "        raise NotImplementedError()\n"
        "    def loss(self, X):\n"
        "        return 0.0\n")
    assert unimplemented(ns["stub"], ns["done"], ns["Net"], np.sum) == ["stub", "Net.__init__"]
    with pytest.raises(NotImplementedError, match="not implemented yet: stub, Net.__init__"):
        assert_implemented(ns["stub"], ns["done"], ns["Net"])
    assert_implemented(ns["done"])
