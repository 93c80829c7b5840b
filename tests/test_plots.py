"""Specification of course.plots: each figure is rendered headless and its contents inspected."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure

from course.plots import (
    MAX_WIDTH_INCHES,
    colorful_dimension_image,
    plot_colorful_dimension,
    plot_decision_boundary,
    plot_layer_histograms,
    plot_learning_curves,
    plot_trajectories,
)
from course.surfaces import ill_conditioned_quadratic, rosenbrock, run_trajectory, saddle


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def layer_acts(n_layers=4, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    return {f"tanh {i}": np.tanh(rng.normal(scale=0.5 * i, size=(200, 16))) for i in range(1, n_layers + 1)}


def sgd(w, dw, config):
    return w - config["learning_rate"] * dw, config


def test_learning_curves_show_loss_per_iteration_and_accuracy_per_epoch():
    history = {"loss": list(np.linspace(2.3, 0.5, 100)), "train_acc": [0.5, 0.7, 0.8], "val_acc": [0.45, 0.6, 0.65]}

    fig = plot_learning_curves(history)

    loss_ax, acc_ax = fig.axes
    assert isinstance(fig, Figure)
    assert len(loss_ax.get_lines()) == 2, "raw loss and its smoothed line"
    np.testing.assert_allclose(loss_ax.get_lines()[0].get_ydata(), history["loss"])
    assert [t.get_text() for t in acc_ax.get_legend().get_texts()] == ["train", "validation"]
    np.testing.assert_array_equal(acc_ax.get_lines()[1].get_xdata(), [1, 2, 3])


def test_smoothed_loss_is_a_trailing_mean():
    fig = plot_learning_curves({"loss": [4.0, 2.0, 0.0, 2.0]}, window=2)
    smoothed = fig.axes[0].get_lines()[1].get_ydata()
    np.testing.assert_allclose(smoothed, [4.0, 3.0, 1.0, 1.0])


def test_layer_histograms_have_one_panel_per_layer_titled_with_name_and_stats():
    acts = layer_acts(n_layers=4)

    fig = plot_layer_histograms(acts, bins=30, title="tanh network")

    assert len(fig.axes) == 4
    for ax, (name, a) in zip(fig.axes, acts.items()):
        assert name in ax.get_title()
        assert f"std {a.std():.3f}" in ax.get_title()
    assert fig.get_suptitle() == "tanh network"


def test_many_layer_histograms_wrap_into_rows_no_wider_than_the_limit():
    fig = plot_layer_histograms(layer_acts(n_layers=10), per_row=4)

    assert len(fig.axes) == 10
    assert fig.get_figwidth() <= MAX_WIDTH_INCHES
    assert len({round(ax.get_position().y0, 3) for ax in fig.axes}) == 3  # rows of 4, 4 and 2


def test_colorful_dimension_image_has_one_normalized_row_per_layer():
    acts = layer_acts(n_layers=5)

    image = colorful_dimension_image(acts, bins=40)

    assert image.shape == (5, 40)
    np.testing.assert_allclose(image.sum(axis=1), 1.0)
    edges = image[:, [0, -1]].sum(axis=1)
    assert edges[-1] > 0.4 > edges[0], "the saturated last layer piles up at -1 and +1; the first does not"


def test_colorful_dimension_rows_share_one_range():
    image = colorful_dimension_image([np.zeros((4, 2)), np.ones((4, 2))], bins=2, value_range=(0.0, 1.0))
    np.testing.assert_array_equal(image, [[1.0, 0.0], [0.0, 1.0]])


def test_colorful_dimension_plot_shows_that_image_with_layer_names_in_order():
    acts = layer_acts(n_layers=3)

    fig = plot_colorful_dimension(acts, bins=25)

    ax = fig.axes[0]
    (im,) = ax.get_images()
    assert im.get_array().shape == (3, 25)
    np.testing.assert_allclose(im.get_array().filled(0.0), colorful_dimension_image(acts, 25))
    assert [t.get_text() for t in ax.get_yticklabels()] == list(acts)


def test_trajectories_draw_one_labelled_line_per_path_and_a_star_at_the_minimum():
    q = ill_conditioned_quadratic(condition_number=10.0)
    paths = {
        f"lr {lr}": run_trajectory(q, sgd, {"learning_rate": lr}, steps=20) for lr in (0.02, 0.1, 0.18)
    }

    fig = plot_trajectories(q, paths)

    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(paths)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert len(lines) == len(paths) + 1
    np.testing.assert_allclose(lines["lr 0.1"].get_xydata(), paths["lr 0.1"])
    assert lines["_minimum"].get_marker() == "*"
    assert any(isinstance(c, ContourSet) for c in ax.collections)


def test_trajectories_on_a_surface_without_minimum_have_no_star():
    fig = plot_trajectories(saddle(), {"sgd": run_trajectory(saddle(), sgd, {"learning_rate": 0.1}, steps=10)})
    assert len(fig.axes[0].get_lines()) == 1


def test_trajectories_draw_on_a_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    returned = plot_trajectories(rosenbrock(), {}, ax=right)
    assert returned is fig
    assert right.collections and not left.collections


def test_decision_boundary_has_filled_regions_and_every_point():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(37, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)

    fig = plot_decision_boundary(lambda P: (P[:, 0] + P[:, 1] > 0).astype(int), X, y, resolution=50)

    (ax,) = fig.axes
    contours = [c for c in ax.collections if isinstance(c, ContourSet)]
    scatters = [c for c in ax.collections if isinstance(c, PathCollection) and not isinstance(c, ContourSet)]
    assert len(contours) == 1 and contours[0].filled
    assert len(scatters) == 1
    np.testing.assert_allclose(scatters[0].get_offsets(), X)
