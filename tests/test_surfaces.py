"""Specification of course.surfaces: honest gradients, true minima, and a faithful optimizer loop."""
import numpy as np
import pytest

from course.gradcheck import numerical_gradient, rel_error
from course.surfaces import (
    Surface,
    ill_conditioned_quadratic,
    ravine,
    rosenbrock,
    run_trajectory,
    saddle,
)

SURFACES = {
    "quadratic": ill_conditioned_quadratic,
    "rotated quadratic": lambda: ill_conditioned_quadratic(condition_number=50.0, angle=0.7),
    "rosenbrock": rosenbrock,
    "rosenbrock a=2": lambda: rosenbrock(a=2.0, b=10.0),
    "saddle": saddle,
    "ravine": ravine,
}


def sgd(w, dw, config):
    """Plain gradient descent in the course's update-rule interface."""
    config.setdefault("learning_rate", 0.01)
    return w - config["learning_rate"] * dw, config


@pytest.fixture(params=sorted(SURFACES))
def surface(request) -> Surface:
    return SURFACES[request.param]()


@pytest.fixture(params=sorted(name for name in SURFACES if name != "saddle"))
def bowl(request) -> Surface:
    """A surface that has a minimum."""
    return SURFACES[request.param]()


def test_gradient_matches_centred_differences_at_several_points(surface):
    rng = np.random.default_rng(0)
    xmin, xmax, ymin, ymax = surface.extent
    points = [surface.start] + [rng.uniform([xmin, ymin], [xmax, ymax]) for _ in range(5)]
    for p in points:
        p = np.array(p, dtype=np.float64)
        numeric = numerical_gradient(lambda q: float(surface.f(q)), p)
        assert rel_error(surface.grad(p), numeric) < 1e-6, f"{surface.name} at {p}"


def test_gradient_is_zero_at_the_minimum(bowl):
    np.testing.assert_allclose(bowl.grad(bowl.minimum), 0.0, atol=1e-12)


def test_minimum_is_lower_than_its_neighbourhood(bowl):
    offsets = np.random.default_rng(1).normal(scale=0.1, size=(50, 2))
    assert np.all(bowl.f(bowl.minimum + offsets) > bowl.f(bowl.minimum))


def test_saddle_has_zero_gradient_at_the_origin_but_no_minimum():
    s = saddle()
    assert s.minimum is None
    np.testing.assert_array_equal(s.grad(np.zeros(2)), 0.0)
    assert s.start[1] != 0, "a start on the ridge y = 0 would never escape"


def test_f_and_grad_are_vectorized_over_a_meshgrid(surface):
    X, Y, Z = surface.grid(resolution=7)
    assert X.shape == Y.shape == Z.shape == (7, 7)
    P = np.stack([X, Y], axis=-1)
    assert surface.grad(P).shape == (7, 7, 2)
    np.testing.assert_allclose(Z[3, 4], surface.f(P[3, 4]))
    np.testing.assert_allclose(surface.grad(P)[2, 5], surface.grad(P[2, 5]))


def test_quadratic_hessian_has_eigenvalues_one_and_kappa():
    q = ill_conditioned_quadratic(condition_number=20.0, angle=0.3)
    np.testing.assert_allclose(np.linalg.eigvalsh(q.hessian), [1.0, 20.0])
    p = np.array([0.4, -1.3])
    np.testing.assert_allclose(q.f(p), 0.5 * p @ q.hessian @ p)


def test_gradient_descent_converges_to_the_quadratic_minimum():
    q = ill_conditioned_quadratic(condition_number=10.0, angle=0.5)

    path = run_trajectory(q, sgd, {"learning_rate": 0.15}, steps=300)

    assert path.shape == (301, 2)
    np.testing.assert_array_equal(path[0], q.start)
    np.testing.assert_allclose(path[-1], q.minimum, atol=1e-6)


def test_trajectory_never_mutates_start_even_for_an_in_place_rule():
    def sgd_in_place(w, dw, config):
        w -= 0.01 * dw
        return w, config

    start = np.array([0.0, 0.5])
    surface = rosenbrock()

    path = run_trajectory(surface, sgd_in_place, start=start, steps=5)

    np.testing.assert_array_equal(start, [0.0, 0.5])
    np.testing.assert_array_equal(surface.start, [-1.5, 2.0])
    assert len(np.unique(path, axis=0)) == 6, "every iterate must be stored, not one shared array"


def test_state_stored_in_config_does_not_leak_between_runs():
    def counting(w, dw, config):
        config["calls"] = config.get("calls", 0) + 1
        return w, config

    config = {"learning_rate": 0.1}
    run_trajectory(saddle(), counting, config, steps=3)
    assert config == {"learning_rate": 0.1}


def test_divergent_run_is_truncated_at_the_last_finite_point():
    q = ill_conditioned_quadratic(condition_number=20.0)

    path = run_trajectory(q, sgd, {"learning_rate": 1.0}, steps=1000)  # lr > 2 / kappa: diverges

    assert 1 < len(path) < 1001
    assert np.all(np.isfinite(path))
