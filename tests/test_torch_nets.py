"""course.torch_nets: the lectures' torch bench builds, initializes and trains what it says."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from course import load_dataset
from course.surfaces import ill_conditioned_quadratic, run_trajectory
from course.torch_nets import (
    accuracy,
    init_weights,
    linear_layers,
    lsuv_init,
    mlp,
    torch_update_rule,
    train_torch,
)


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


# ---------------------------------------------------------------- mlp

def test_mlp_has_one_linear_per_size_pair_and_no_activation_after_the_last():
    model = mlp([64, 100, 50, 10], activation="tanh")
    kinds = [type(m) for m in model]
    assert kinds == [nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Linear]
    assert [(m.in_features, m.out_features) for m in linear_layers(model)] == [(64, 100), (100, 50), (50, 10)]
    assert list(dict(model.named_children())) == ["fc1", "tanh1", "fc2", "tanh2", "fc3"]


def test_mlp_puts_norm_before_activation_and_dropout_after_it():
    model = mlp([8, 16, 16, 3], activation="relu", norm="batchnorm", dropout=0.5)
    kinds = [type(m) for m in model]
    assert kinds == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Dropout] * 2 + [nn.Linear]
    assert model.drop1.p == 0.5
    assert isinstance(mlp([8, 16, 3], norm="layernorm")[1], nn.LayerNorm)


@pytest.mark.parametrize("name, kind", [("sigmoid", nn.Sigmoid), ("leaky_relu", nn.LeakyReLU),
                                        ("elu", nn.ELU), ("identity", nn.Identity)])
def test_mlp_uses_the_named_activation(name, kind):
    assert isinstance(mlp([4, 5, 2], activation=name)[1], kind)


def test_mlp_is_float64_by_default_and_can_drop_biases():
    model = mlp([4, 5, 2], bias=False)
    assert all(p.dtype == torch.float64 for p in model.parameters())
    assert all(layer.bias is None for layer in linear_layers(model))
    assert next(mlp([4, 2], dtype=torch.float32).parameters()).dtype == torch.float32


def test_mlp_rejects_unknown_choices_with_the_options():
    with pytest.raises(ValueError, match="relu"):
        mlp([4, 2, 2], activation="swish")
    with pytest.raises(ValueError, match="batchnorm"):
        mlp([4, 2, 2], norm="groupnorm")


# ---------------------------------------------------------------- init_weights

WIDE = [400, 400, 400]  # wide layers make sample statistics tight


def weights_after(scheme, **kw):
    model = init_weights(mlp(WIDE), scheme, generator=seeded(), **kw)
    return model.fc1.weight.detach().numpy(), model.fc1.bias.detach().numpy()


@pytest.mark.parametrize(
    "scheme, kw, expected_std",
    [
        ("normal", {"std": 0.01}, 0.01),
        ("uniform01", {}, math.sqrt(1 / 12)),
        ("xavier_uniform", {}, math.sqrt(2 / 800)),
        ("xavier_normal", {}, math.sqrt(2 / 800)),
        ("kaiming_uniform", {}, math.sqrt(2 / 400)),
        ("kaiming_normal", {}, math.sqrt(2 / 400)),
        ("kaiming_normal", {"gain": 1.0}, math.sqrt(1 / 400)),
        ("xavier_normal", {"gain": 5 / 3}, 5 / 3 * math.sqrt(2 / 800)),
        ("orthogonal", {}, math.sqrt(1 / 400)),
        ("torch_default", {}, math.sqrt(1 / 3 / 400)),
    ],
)
def test_each_scheme_draws_weights_with_its_standard_deviation(scheme, kw, expected_std):
    W, _ = weights_after(scheme, **kw)
    assert W.std() == pytest.approx(expected_std, rel=0.03)


def test_centred_schemes_have_zero_mean_and_uniform01_has_mean_one_half():
    assert weights_after("uniform01")[0].mean() == pytest.approx(0.5, abs=0.01)
    assert 0.0 <= weights_after("uniform01")[0].min() and weights_after("uniform01")[0].max() <= 1.0
    for scheme in ("normal", "xavier_uniform", "kaiming_normal", "orthogonal"):
        W, _ = weights_after(scheme)
        assert abs(W.mean()) < 0.05 * W.std()


def test_zeros_and_constant_fill_every_weight():
    assert np.all(weights_after("zeros")[0] == 0)
    assert np.all(weights_after("constant", value=0.3)[0] == 0.3)


def test_biases_are_zero_except_for_torch_default():
    for scheme in ("normal", "xavier_uniform", "kaiming_normal", "orthogonal", "constant"):
        assert np.all(weights_after(scheme)[1] == 0)
    W, b = weights_after("torch_default")
    bound = 1 / math.sqrt(400)
    assert np.abs(W).max() <= bound and np.abs(b).max() <= bound and b.std() > 0


def test_torch_default_matches_the_range_of_reset_parameters():
    torch.manual_seed(0)
    reference = nn.Linear(400, 400, dtype=torch.float64).weight.detach().numpy()
    mine, _ = weights_after("torch_default")
    assert mine.std() == pytest.approx(reference.std(), rel=0.02)


def test_orthogonal_weights_have_orthonormal_rows():
    W, _ = weights_after("orthogonal")
    np.testing.assert_allclose(W @ W.T, np.eye(400), atol=1e-10)


def test_a_generator_makes_the_draw_reproducible_and_leaves_the_global_rng_alone():
    a, _ = weights_after("kaiming_normal")
    b, _ = weights_after("kaiming_normal")
    np.testing.assert_array_equal(a, b)
    model = mlp([4, 3])  # building draws PyTorch's default init from the global RNG; re-initializing must not
    before = torch.random.get_rng_state()
    init_weights(model, "normal", generator=seeded())
    assert torch.equal(torch.random.get_rng_state(), before)


def test_zero_initialization_keeps_every_hidden_unit_identical(digits):
    model = init_weights(mlp([64, 32, 10], activation="tanh"), "constant", value=0.1)
    train_torch(model, digits, torch.optim.SGD(model.parameters(), lr=0.1), epochs=2)
    W = model.fc1.weight.detach().numpy()
    np.testing.assert_allclose(W, np.broadcast_to(W[0], W.shape), atol=1e-12)


def test_unknown_scheme_is_rejected_with_the_options():
    with pytest.raises(ValueError, match="xavier_uniform"):
        init_weights(mlp([4, 2]), "glorot")


# ---------------------------------------------------------------- lsuv

def test_lsuv_gives_every_linear_output_unit_variance(digits):
    model = mlp([64, 100, 100, 100, 10], activation="relu")
    X = digits["X_train"][:500]
    lsuv_init(model, X, tol=0.05, generator=seeded())
    out = torch.as_tensor(X)
    variances = []
    with torch.no_grad():
        for layer in model:
            out = layer(out)
            if isinstance(layer, nn.Linear):
                variances.append(out.var().item())
    assert len(variances) == 4
    np.testing.assert_allclose(variances, 1.0, atol=0.05)


def test_lsuv_leaves_batchnorm_statistics_and_mode_unchanged(digits):
    model = mlp([64, 50, 10], norm="batchnorm").eval()
    lsuv_init(model, digits["X_train"][:200], generator=seeded())
    assert not model.training
    assert torch.all(model.bn1.running_mean == 0) and torch.all(model.bn1.running_var == 1)


# ---------------------------------------------------------------- train_torch

def test_train_torch_lowers_the_loss_and_learns_digits(digits):
    torch.manual_seed(0)
    model = mlp([64, 64, 10])
    h = train_torch(model, digits, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), epochs=5)
    assert np.mean(h.loss[-10:]) < 0.3 * np.mean(h.loss[:3])
    assert h.val_acc[-1] > 0.9
    assert h.val_acc[-1] == pytest.approx(accuracy(model, digits["X_val"], digits["y_val"]))
    assert not h.diverged


def test_history_has_one_entry_per_iteration_and_per_epoch(digits):
    torch.manual_seed(0)
    model = mlp([64, 16, 10])
    n_iter = 3 * (len(digits["X_train"]) // 100)
    h = train_torch(model, digits, torch.optim.SGD(model.parameters(), lr=0.1), epochs=3, batch_size=100, record_every=4)
    assert len(h.loss) == len(h.lr) == n_iter
    assert len(h.train_acc) == len(h.val_acc) == 3
    assert set(h.grad_norms) == set(h.update_ratios) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
    assert h.record_steps == list(range(0, n_iter, 4))
    assert all(len(v) == len(h.record_steps) for v in h.grad_norms.values())
    assert h["loss"] is h.loss and 0 <= h.best_epoch < 3


def test_train_torch_is_deterministic_for_a_seed(digits):
    def run():
        model = init_weights(mlp([64, 16, 10]), "kaiming_normal", generator=seeded())
        return train_torch(model, digits, torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, seed=3).loss

    assert run() == run()


def test_train_torch_stops_and_marks_the_history_when_the_loss_diverges(digits):
    torch.manual_seed(0)
    model = mlp([64, 100, 100, 10], activation="identity")
    h = train_torch(model, digits, torch.optim.SGD(model.parameters(), lr=1e3, momentum=0.9), epochs=3)
    assert h.diverged and h.stopped_early
    assert len(h.loss) < 3 * (len(digits["X_train"]) // 64)
    assert np.all(np.isfinite(h.loss))


def test_grad_clip_runs_before_the_step_and_bounds_the_update(digits):
    torch.manual_seed(0)
    model = init_weights(mlp([64, 16, 10]), "normal", std=1.0, generator=seeded())
    lr, max_norm = 1.0, 0.01
    params = list(model.parameters())
    h = train_torch(model, digits, torch.optim.SGD(params, lr=lr), epochs=1,
                    grad_clip=lambda m: nn.utils.clip_grad_norm_(m.parameters(), max_norm))
    # Plain SGD moves by lr * clipped gradient, so the weight's step is at most lr * max_norm.
    W_norm = np.linalg.norm(model.fc1.weight.detach().numpy())
    steps = np.array(h.update_ratios["fc1.weight"]) * W_norm
    assert steps.max() <= 1.01 * lr * max_norm
    assert max(h.grad_norms["fc1.weight"]) > max_norm  # the recorded norm is the unclipped one


def test_a_course_schedule_sets_the_learning_rate_per_iteration(digits):
    from course.schedules import step_decay

    model = mlp([64, 8, 10])
    h = train_torch(model, digits, torch.optim.SGD(model.parameters(), lr=0.1), epochs=1,
                    scheduler=step_decay(5, gamma=0.5))
    assert h.lr[:11] == pytest.approx([0.1] * 5 + [0.05] * 5 + [0.025])


def test_a_torch_scheduler_is_stepped_every_iteration(digits):
    model = mlp([64, 8, 10])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    h = train_torch(model, digits, opt, epochs=1, scheduler=torch.optim.lr_scheduler.StepLR(opt, 5, 0.5))
    assert h.lr[:11] == pytest.approx([0.1] * 5 + [0.05] * 5 + [0.025])


# ---------------------------------------------------------------- torch_update_rule

def test_torch_update_rule_reproduces_gradient_descent_on_a_quadratic():
    surface = ill_conditioned_quadratic(10.0)
    points = run_trajectory(surface, torch_update_rule(torch.optim.SGD, lr=0.05), steps=5)
    w = np.array(surface.start)
    for p in points[1:]:
        w = w - 0.05 * surface.grad(w)
        np.testing.assert_allclose(p, w, rtol=1e-12)


def test_torch_update_rule_keeps_optimizer_state_per_run():
    surface = ill_conditioned_quadratic(10.0)
    rule = torch_update_rule(torch.optim.Adam, lr=0.1)
    first = run_trajectory(surface, rule, steps=20)
    second = run_trajectory(surface, rule, steps=20)
    np.testing.assert_array_equal(first, second)
