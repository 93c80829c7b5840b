"""Lecture 03 (gradient flow) states these as facts; each test recomputes one with the lecture's own call."""
import numpy as np
import pytest

from course import experiments as ex
from course import load_dataset
from course.surfaces import ill_conditioned_quadratic, ravine, saddle


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def batch(data):
    return data["X_train"][:500], data["y_train"][:500]


# ---------------------------------------------------------------- 3.2 vanishing and exploding

def test_a_deep_sigmoid_network_starves_its_first_layer_of_gradient(batch):
    sigmoid = ex.probe_deep_net("sigmoid", "xavier_normal", *batch).weight_grad_norms
    assert sigmoid[0] < 1e-4 * sigmoid[-2]
    relu = ex.probe_deep_net("relu", "kaiming_normal", *batch).weight_grad_norms
    assert relu[0] > 0.1 * relu[-2]


def test_the_sigmoid_gradient_ratio_shrinks_with_depth(batch):
    ratios = [(lambda n: n[0] / n[-2])(ex.probe_deep_net("sigmoid", "xavier_normal", *batch, depth=d).weight_grad_norms)
              for d in (2, 4, 8)]
    assert ratios[0] > ratios[1] > ratios[2]


def test_weights_above_he_make_the_backward_gradient_explode_toward_the_input(batch):
    p = ex.probe_deep_net("relu", "kaiming_normal", *batch, gain=1.5 * np.sqrt(2))
    grads = [np.linalg.norm(g) for g in p.gradients.values()]
    assert grads[0] > 10 * grads[-1]


# ---------------------------------------------------------------- 3.3 clipping

def test_clipping_by_norm_keeps_the_direction_and_by_value_does_not():
    out = ex.clip_by_norm_and_value(np.array([3.0, 0.6]), max_norm=1.0, clip_value=0.5)
    g, by_norm, by_value = out["original"], out["by norm"], out["by value"]
    cosine = lambda a, b: a @ b / np.linalg.norm(a) / np.linalg.norm(b)  # noqa: E731
    assert np.linalg.norm(by_norm) == pytest.approx(1.0, rel=1e-5)
    assert cosine(g, by_norm) == pytest.approx(1.0)
    assert np.abs(by_value).max() <= 0.5
    assert cosine(g, by_value) < 0.9


def test_clipping_by_norm_rescues_a_learning_rate_that_diverges_without_it(data):
    runs = ex.clipping_runs(data, lr=0.3, max_norm=1.0, clip_value=0.05, epochs=5)
    assert runs["no clipping"].diverged
    by_norm = runs["clip by norm (1)"]
    assert not by_norm.diverged and by_norm.val_acc[-1] > 0.8


# ---------------------------------------------------------------- 3.4 and 3.5 learning rate

@pytest.fixture(scope="module")
def lr_hist(data):
    return ex.lr_runs(data, [1e-3, 0.1, 1.0, 3.0], epochs=5)


def test_too_small_a_learning_rate_crawls_and_too_large_diverges(lr_hist):
    assert np.mean(lr_hist[0.1].loss[-10:]) < 0.5 * np.mean(lr_hist[1e-3].loss[-10:])
    assert np.mean(lr_hist[1e-3].loss[-10:]) > 2.0  # barely below log(10) after five epochs
    assert lr_hist[3.0].diverged and not lr_hist[1.0].diverged


def test_the_update_to_data_ratio_tracks_the_learning_rate(lr_hist):
    ratio = {lr: np.nanmedian(lr_hist[lr].update_ratios["fc2.weight"]) for lr in (1e-3, 0.1, 1.0)}
    assert ratio[1e-3] < 1e-3 < ratio[0.1] < ratio[1.0]
    assert 1e-4 < ratio[0.1] < 1e-2


# ---------------------------------------------------------------- 3.7 optimizers

def test_momentum_reaches_the_minimum_in_fewer_steps_than_sgd():
    for surface in (ill_conditioned_quadratic(20.0), ravine()):
        paths = ex.surface_paths(surface, steps=150)
        sgd = ex.steps_to_reach(paths["SGD"], surface.minimum)
        momentum = ex.steps_to_reach(paths["momentum"], surface.minimum)
        assert momentum is not None
        assert sgd is None or momentum < sgd


def test_adaptive_methods_leave_the_saddle_faster_than_sgd():
    surface = saddle()
    paths = ex.surface_paths(surface, steps=150)
    sgd = ex.steps_to_escape(paths["SGD"], surface)
    for name in ("Adagrad", "RMSprop", "Adadelta", "Adam"):
        assert ex.steps_to_escape(paths[name], surface) < sgd / 3, name


def test_adam_converges_to_the_worst_point_of_reddis_problem_and_amsgrad_to_the_best():
    assert ex.adam_counterexample(amsgrad=False)[-100:].min() > 0.99
    assert ex.adam_counterexample(amsgrad=True)[-100:].max() < -0.99


# ---------------------------------------------------------------- 3.8 dead relus

def test_a_large_learning_rate_kills_relu_units_and_a_small_one_does_not(data):
    dead = ex.dead_relu_runs(data, [0.01, 1.0], epochs=3)
    assert max(dead[0.01][0]) == 0.0
    assert max(dead[1.0][0]) >= 0.5


# ---------------------------------------------------------------- 3.9 pretraining

def test_greedy_pretraining_lets_a_deep_sigmoid_network_learn():
    runs = ex.greedy_pretraining_experiment(load_dataset("digits"))
    assert runs["random"].val_acc[-1] < 0.15
    assert runs["pretrained"].val_acc[-1] > 0.8
