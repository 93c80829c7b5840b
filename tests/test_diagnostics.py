"""Specification of course.diagnostics, checked against numbers worked out by hand or by autograd."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from course.diagnostics import (
    LayerStats,
    TorchRecorder,
    activation_stats,
    as_named_layers,
    dead_relu_fraction,
    grad_norms,
    parameter_grad_norms,
    saturated_fraction,
    update_ratio,
    update_ratios,
)
from course.tolerance import assert_close


def test_a_relu_unit_with_all_negative_inputs_is_dead_and_counts_one_over_d():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(64, 8))
    z[:, 3] = -np.abs(z[:, 3]) - 0.1  # unit 3 sees only negative pre-activations

    assert dead_relu_fraction(np.maximum(z, 0)) == 1 / 8


def test_a_sparse_but_alive_relu_layer_has_no_dead_units():
    a = np.maximum(np.random.default_rng(1).normal(size=(64, 8)), 0)
    assert (a == 0).mean() > 0.3  # many zero entries...
    assert dead_relu_fraction(a) == 0.0  # ...but every unit fires for some example


def test_tanh_fed_huge_preactivations_is_saturated_and_fed_tiny_ones_is_not():
    z = np.random.default_rng(2).normal(size=(256, 32))

    assert saturated_fraction(np.tanh(100 * z), "tanh") > 0.9
    assert saturated_fraction(np.tanh(0.01 * z), "tanh") == 0.0


def test_sigmoid_saturates_near_zero_and_near_one():
    a = np.array([0.005, 0.02, 0.5, 0.98, 0.995, 0.999])
    assert saturated_fraction(a, "sigmoid") == 3 / 6


def test_unknown_saturation_kind_is_rejected():
    with pytest.raises(ValueError, match="relu"):
        saturated_fraction(np.zeros(3), "relu")


def test_activation_stats_names_list_entries_and_summarises_each_layer():
    rng = np.random.default_rng(3)
    acts = [np.tanh(rng.normal(size=(100, 10))), np.tanh(50 * rng.normal(size=(100, 10)))]

    stats = activation_stats(acts, bins=20)

    assert [s.name for s in stats] == ["layer 1", "layer 2"]
    assert all(isinstance(s, LayerStats) for s in stats)
    assert stats[0].mean == pytest.approx(acts[0].mean())
    assert stats[0].std == pytest.approx(acts[0].std())
    assert stats[1].saturated_fraction > 0.9 > stats[0].saturated_fraction
    assert stats[0].counts.shape == (20,) and stats[0].edges.shape == (21,)
    assert stats[0].counts.sum() == 1000


def test_activation_stats_without_a_saturating_kind_reports_nan_saturation():
    z = np.array([[-1.0, 2.0, -3.0, 4.0, 5.0], [-6.0, -7.0, -8.0, 9.0, 0.0]])
    (stats,) = activation_stats({"relu": np.maximum(z, 0)}, kind=None)
    assert math.isnan(stats.saturated_fraction)
    assert stats.dead_fraction == 2 / 5  # columns 0 and 2 are zero for both examples


def test_dict_names_are_kept_in_order():
    assert list(as_named_layers({"b": [[1.0]], "a": [[2.0]]})) == ["b", "a"]


def test_grad_norms_are_l2_norms_of_the_whole_array():
    assert grad_norms({"W": np.array([[3.0, 0.0], [0.0, 4.0]])}) == {"W": 5.0}


def test_update_ratio_is_step_size_over_parameter_size():
    before = {"W": np.array([3.0, 4.0]), "b": np.zeros(2)}
    after = {"W": np.array([3.03, 4.04]), "b": np.array([0.1, 0.0])}

    ratios = update_ratios(before, after)

    assert ratios["W"] == pytest.approx(0.05 / 5.0)  # ||(0.03, 0.04)|| / ||(3, 4)||
    assert math.isnan(ratios["b"])  # a zero parameter has no scale to compare with


def small_tanh_net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3)).double()


def test_recorder_activations_equal_a_manual_forward_pass():
    model = small_tanh_net()
    x = torch.randn(6, 4, dtype=torch.float64)

    with TorchRecorder(model, module_types=(nn.Linear, nn.Tanh)) as rec:
        model(x)

    W1, b1, W2, b2 = (p.detach() for p in model.parameters())
    z1 = x @ W1.T + b1
    h1 = torch.tanh(z1)
    expected = {"0": z1, "1": h1, "2": h1 @ W2.T + b2}
    assert list(rec.activations) == ["0", "1", "2"]
    for name, value in expected.items():
        assert_close(rec.activations[name], value.numpy(), name=f"activation {name}")


def test_recorder_gradients_equal_autograd_gradients_of_each_output():
    model = small_tanh_net()
    x = torch.randn(6, 4, dtype=torch.float64)
    target = torch.randn(6, 3, dtype=torch.float64)

    with TorchRecorder(model, module_types=(nn.Linear, nn.Tanh)) as rec:
        out = model(x)
        loss = ((out - target) ** 2).sum()
        loss.backward()

    h = model[1](model[0](x))
    h.retain_grad()
    out_again = model[2](h)
    out_again.retain_grad()
    ((out_again - target) ** 2).sum().backward()
    assert list(rec.gradients) == ["0", "1", "2"], "gradients are reported in forward order"
    assert_close(rec.gradients["2"], out_again.grad.numpy(), name="gradient of the output")
    assert_close(rec.gradients["1"], h.grad.numpy(), name="gradient of the tanh output")
    assert rec.gradient_norms()["2"] == pytest.approx(np.linalg.norm(out_again.grad.numpy()))


def test_recorder_removes_every_hook_on_exit_even_after_an_error():
    model = small_tanh_net()
    with pytest.raises(RuntimeError):
        with TorchRecorder(model, module_types=(nn.Linear, nn.Tanh)):
            assert len(model[0]._forward_hooks) == 1
            raise RuntimeError("training blew up")
    for module in model.modules():
        assert not module._forward_hooks
        assert not module._backward_hooks


def test_recorder_gradients_survive_an_inplace_relu_and_a_no_grad_pass():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(inplace=True), nn.Linear(5, 1)).double()
    x = torch.randn(6, 4, dtype=torch.float64)

    with TorchRecorder(model) as rec:
        with torch.no_grad():
            model(x)
        z = model[0](x)
        model[2](model[1](z)).sum().backward()

    expected = (z > 0) * model[2].weight.detach()  # d out / d z through the ReLU
    assert_close(rec.gradients["0"], expected.numpy(), name="gradient of the first Linear")
    assert rec.activations["0"].min() < 0, "the record is taken before the in-place ReLU"


def test_recorder_default_records_only_linear_layers_and_gives_stats():
    model = small_tanh_net()
    with TorchRecorder(model) as rec:
        model(torch.randn(10, 4, dtype=torch.float64))
    assert list(rec.activations) == ["0", "2"]
    assert [s.name for s in rec.stats(kind=None)] == ["0", "2"]


def test_parameter_grad_norms_and_update_ratio_after_one_sgd_step():
    model = small_tanh_net()
    model(torch.randn(6, 4, dtype=torch.float64)).sum().backward()
    snapshot = {name: p.detach().clone() for name, p in model.named_parameters()}

    norms = parameter_grad_norms(model)
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    ratios = update_ratio(model, snapshot)

    w = model[0].weight
    assert norms["0.weight"] == pytest.approx(w.grad.norm().item())
    expected = (0.1 * w.grad.norm() / snapshot["0.weight"].norm()).item()
    assert ratios["0.weight"] == pytest.approx(expected)
    assert set(ratios) == set(snapshot)
