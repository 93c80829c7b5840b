"""Lecture 01 (foundations) states these as facts; each test recomputes one with the lecture's own call."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course import experiments as ex
from course.gradcheck import numerical_gradient, rel_error


pytestmark = pytest.mark.usefixtures("one_thread")


# ---------------------------------------------------------------- 1.1 losses

def test_double_softmax_cannot_go_below_its_floor_and_learns_slower(data):
    runs = ex.loss_comparison(data, epochs=10)
    logits, double = runs["cross-entropy on logits"], runs["cross-entropy on probabilities"]
    floor = ex.double_softmax_floor(10)
    assert floor == pytest.approx(np.log(1 + 9 / np.e))
    assert min(double.loss) >= floor - 1e-12
    assert min(double.loss) < floor + 0.01  # it does reach the floor: the trouble is the floor itself
    assert np.mean(logits.loss[-10:]) < 0.05
    assert np.mean(double.grad_norms["fc1.weight"]) < 0.7 * np.mean(logits.grad_norms["fc1.weight"])
    assert double.val_acc[0] < logits.val_acc[0] - 0.2


def test_sigmoid_with_mse_loses_the_gradient_when_confidently_wrong():
    grads = ex.output_gradients(np.array([-10.0, 0.0]))
    assert abs(grads["sigmoid + MSE"][0]) < 1e-3
    assert grads["sigmoid + cross-entropy"][0] == pytest.approx(-1.0, abs=1e-4)


def test_bce_on_probabilities_clamps_the_loss_and_zeroes_the_gradient():
    out = ex.bce_on_probabilities_vs_logits(z=-120.0)
    assert out["BCELoss(sigmoid(z))"] == (pytest.approx(100.0), pytest.approx(0.0))
    assert out["BCEWithLogitsLoss(z)"] == (pytest.approx(120.0), pytest.approx(-1.0))


# ---------------------------------------------------------------- 1.2 softmax, 1.3 backprop

def test_softmax_jacobian_is_diag_p_minus_p_p_transpose():
    s = torch.tensor([1.0, -0.5, 2.0, 0.3], dtype=torch.float64)
    J = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, dim=0), s)
    torch.testing.assert_close(J, ex.softmax_jacobian_by_hand(s), rtol=0, atol=1e-15)


def test_cross_entropy_gradient_is_p_minus_one_hot():
    s = torch.tensor([1.0, -0.5, 2.0, 0.3], dtype=torch.float64, requires_grad=True)
    F.cross_entropy(s[None], torch.tensor([2])).backward()
    expected = torch.softmax(s.detach(), dim=0) - F.one_hot(torch.tensor(2), 4)
    torch.testing.assert_close(s.grad, expected.double())


def test_hand_derived_gradient_matches_autograd_and_finite_differences():
    x0, y0 = 3.0, -4.0
    by_hand = np.array(ex.staged_gradient_by_hand(x0, y0))
    xt = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    yt = torch.tensor(y0, dtype=torch.float64, requires_grad=True)
    ex.staged_function(xt, yt).backward()
    assert rel_error(by_hand, np.array([xt.grad.item(), yt.grad.item()])) < 1e-12
    assert rel_error(by_hand, numerical_gradient(lambda v: ex.staged_function(v[0], v[1]), np.array([x0, y0]))) < 1e-8


# ---------------------------------------------------------------- 1.4 universal approximation

def target(x):
    return np.sin(2 * np.pi * x) + 0.5 * x


def test_bump_network_is_one_hidden_layer_of_two_sigmoids_per_bump():
    net = ex.bump_network(target, 16)
    assert [type(m).__name__ for m in net] == ["Linear", "Sigmoid", "Linear"]
    assert net.fc1.out_features == 32


def test_bump_construction_error_shrinks_like_one_over_the_number_of_bumps():
    counts = [2, 4, 8, 16, 32, 64, 128, 256]
    errors = np.array(list(ex.bump_errors(target, counts).values()))
    assert np.all(np.diff(errors) < 0)
    slope = np.polyfit(np.log(counts[3:]), np.log(errors[3:]), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.1)
    assert errors[-1] < 0.01


# ---------------------------------------------------------------- 1.5 batch size

def test_gradient_noise_falls_like_one_over_the_batch_size(data):
    net = ex.make_net([64, 64, 10], "relu", "kaiming_normal", seed=0)
    sizes = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    noise = np.array(list(ex.gradient_noise(net, data["X_train"], data["y_train"], sizes, draws=50).values()))
    assert np.all(np.diff(noise) < 0)
    slope = np.polyfit(np.log(sizes), np.log(noise), 1)[0]
    assert -1.25 < slope < -0.8


def test_small_batches_make_more_progress_per_epoch(data):
    N = len(data["X_train"])
    runs = ex.batch_size_runs(data, batch_sizes=[1, 16, 256, N], epochs=3, lr=0.05)
    final = {b: h.train_acc[-1] for b, h in runs.items()}
    assert final[16] > 0.9 and final[1] > 0.85
    assert final[16] > final[256] > final[N]
    assert len(runs[1].loss) == 3 * N and len(runs[N].loss) == 3


# ---------------------------------------------------------------- 1.6 capacity

def test_a_tiny_network_underfits_and_a_large_one_memorizes_the_wrong_labels():
    spirals = ex.noisy_spirals(noise=0.4, label_noise=0.15)
    capacity = ex.capacity_sweep(spirals, {"2 units": [2], "16 units": [16], "2 x 256 units": [256, 256]}, epochs=800)
    _, tiny = capacity["2 units"]
    _, medium = capacity["16 units"]
    _, big = capacity["2 x 256 units"]
    assert tiny.train_acc[-1] < 0.7 and tiny.val_acc[-1] < 0.7
    assert big.train_acc[-1] >= 0.97  # it fits the wrong labels too: 15% of them are wrong
    assert big.best_epoch < len(big.val_acc) - 100  # validation peaks long before training ends...
    assert big.best_val_acc - big.val_acc[-1] >= 0.1  # ...and then falls
    assert big.val_acc[-1] < medium.val_acc[-1] - 0.05  # below the network too small to memorize


def test_label_noise_changes_only_the_chosen_fraction_of_training_labels():
    clean = ex.noisy_spirals(noise=0.4, label_noise=0.0)
    noisy = ex.noisy_spirals(noise=0.4, label_noise=0.15)
    wrong = np.mean(clean["y_train"] != noisy["y_train"])
    assert 0.05 < wrong < 0.25
    np.testing.assert_array_equal(clean["y_val"], noisy["y_val"])
    np.testing.assert_array_equal(clean["X_train"], noisy["X_train"])
