"""The course's figures: learning curves, activation histograms, optimizer paths, decision boundaries.

Every function draws with matplotlib, returns the Figure and never calls plt.show(), so the same
call works in a notebook, in a script that saves files and in a headless test. Functions that draw
on one Axes take `ax`, functions that draw several panels take `axes`; when None, a new figure is
made. Activations come as a dict name -> array or a list (see `course.diagnostics.as_named_layers`).

The figures these functions make are at most MAX_WIDTH_INCHES wide, so that at 100 dpi their text
(8 points and up) stays at least 10 px tall on a screen that shows them at most 1200 px wide
(tests/test_lecture_figures.py holds every lecture figure to that).
"""
from __future__ import annotations

from typing import Callable

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.ticker import MaxNLocator

from course.diagnostics import activation_stats, as_named_layers
from course.surfaces import Surface

MAX_WIDTH_INCHES = 12.0


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over `window` points; the first points average over what exists so far."""
    cumsum = np.cumsum(np.insert(values, 0, 0.0))
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    starts = np.arange(1, len(values) + 1) - counts
    return (cumsum[1:] - cumsum[starts]) / counts


def plot_learning_curves(history: dict, axes=None, window: int | None = None):
    """Loss per iteration (raw and smoothed) beside train and validation accuracy per epoch.

    Inputs:
    - history: dict with 'loss' (per-iteration list) and optionally 'train_acc' and 'val_acc'
      (per-epoch lists)
    - axes: two Axes to draw on, or None for a new figure
    - window: iterations in the smoothing average; default about 1/20 of the run

    Returns the Figure.
    """
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    loss_ax, acc_ax = axes
    fig = loss_ax.figure

    loss = np.asarray(history["loss"], dtype=np.float64)
    window = window or max(1, len(loss) // 20)
    loss_ax.plot(loss, alpha=0.3, label="loss")
    loss_ax.plot(_moving_average(loss, window), label=f"mean of last {window}")
    loss_ax.set(title="Training loss", xlabel="iteration", ylabel="loss")
    loss_ax.legend()

    for key, label in (("train_acc", "train"), ("val_acc", "validation")):
        if key in history:
            acc = history[key]
            acc_ax.plot(np.arange(1, len(acc) + 1), acc, marker="o", label=label)
    acc_ax.set(title="Accuracy", xlabel="epoch", ylabel="accuracy")
    acc_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if acc_ax.get_legend_handles_labels()[0]:
        acc_ax.legend()
    fig.tight_layout()
    return fig


def plot_layer_histograms(acts, bins: int = 50, title: str | None = None, axes=None, per_row: int = 4):
    """One histogram per layer, titled with the layer's name, mean and standard deviation.

    Inputs:
    - acts: dict name -> array, or a list of arrays, one per layer
    - bins: bins per layer
    - title: figure title
    - per_row: panels per row when the function makes the figure
    - axes: one Axes per layer, or None for new panels, at most `per_row` to a row (sharing the
      x axis, so that layers whose activations collapse toward zero stand out)

    Returns the Figure.
    """
    stats = activation_stats(acts, kind=None, bins=bins)
    if axes is None:
        columns = min(len(stats), per_row)
        rows = -(-len(stats) // columns)
        fig, grid = plt.subplots(rows, columns, figsize=(min(2.6 * columns, MAX_WIDTH_INCHES), 2.6 * rows),
                                 sharex=True, squeeze=False)
        for spare in grid.flat[len(stats):]:
            spare.remove()
        axes = grid.flat[:len(stats)]
    fig = axes[0].figure
    for ax, s in zip(axes, stats):
        ax.stairs(s.counts, s.edges, fill=True)
        ax.set_title(f"{s.name}\nmean {s.mean:+.3f}, std {s.std:.3f}", fontsize=9)
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _shared_range(layers: dict, value_range) -> tuple[float, float]:
    if value_range is not None:
        return value_range
    lo = min(float(a.min()) for a in layers.values())
    hi = max(float(a.max()) for a in layers.values())
    # A constant input (every activation zero) still needs a bin of nonzero width.
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


def colorful_dimension_image(acts, bins: int = 60, value_range=None) -> np.ndarray:
    """The data behind `plot_colorful_dimension`: one histogram per row, over one shared range.

    Inputs:
    - acts: dict name -> array, or a list of arrays (layers, or one layer at successive steps)
    - bins: histogram bins
    - value_range: (lo, hi) shared by every row; default the smallest and largest value overall

    Returns image, (n_rows, bins): each row is the fraction of that row's values in each bin, so it
    sums to 1 (values outside `value_range` are left out before normalizing).
    """
    layers = as_named_layers(acts)
    lo, hi = _shared_range(layers, value_range)
    rows = [np.histogram(a, bins=bins, range=(lo, hi))[0] for a in layers.values()]
    image = np.array(rows, dtype=np.float64)
    totals = image.sum(axis=1, keepdims=True)
    return np.divide(image, totals, out=np.zeros_like(image), where=totals > 0)


def plot_colorful_dimension(acts, bins: int = 60, value_range=None, ax=None):
    """The "colorful dimension": every row a histogram, colour the log of its density.

    One image shows how a whole stack of layers (or one layer over training) is distributed; a
    log colour scale makes the thin tails visible next to a spike at zero. Rows appear in the
    given order, top to bottom, labelled with their names; x is the activation value.

    Inputs: as `colorful_dimension_image`, plus `ax` (None for a new figure).

    Returns the Figure. The image's array is exactly `colorful_dimension_image(acts, bins,
    value_range)`; empty bins are drawn in the colormap's lowest colour.
    """
    layers = as_named_layers(acts)
    lo, hi = _shared_range(layers, value_range)
    image = colorful_dimension_image(layers, bins, (lo, hi))
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 0.4 * len(layers) + 1.5))
    fig = ax.figure

    viridis = plt.get_cmap("viridis")
    cmap = viridis.with_extremes(bad=viridis(0.0))  # LogNorm masks zeros: draw them as "none", not as holes
    positive = image[image > 0]
    vmin = positive.min() if positive.size else 1e-6
    im = ax.imshow(
        image,
        aspect="auto",
        interpolation="nearest",
        cmap=cmap,
        norm=LogNorm(vmin=vmin, vmax=max(vmin, image.max())),
        extent=(lo, hi, len(layers) - 0.5, -0.5),
    )
    ax.set_yticks(range(len(layers)), list(layers))
    ax.set(xlabel="activation value", title="Activation density per row (log scale)")
    fig.colorbar(im, ax=ax, label="fraction of values")
    return fig


def plot_trajectories(surface: Surface, paths: dict, levels: int = 30, ax=None):
    """Optimizer paths over the contours of a Surface.

    Inputs:
    - surface: a course.surfaces.Surface
    - paths: dict label -> (T, 2) points, e.g. from course.surfaces.run_trajectory
    - levels: number of contour levels
    - ax: Axes to draw on, or None for a new figure

    Returns the Figure; the legend has one entry per path, and a star (not in the legend) marks
    the minimum when the surface has one.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 5))
    fig = ax.figure

    X, Y, Z = surface.grid()
    # Levels at quantiles of f spread contours evenly over the window, whether f spans 1e-2..1e4
    # (Rosenbrock) or goes negative (the saddle); evenly spaced values would crowd one corner.
    contour_levels = np.unique(np.quantile(Z, np.linspace(0, 1, levels)))
    ax.contour(X, Y, Z, levels=contour_levels, cmap="Greys", linewidths=0.7)

    for label, points in paths.items():
        points = np.asarray(points)
        ax.plot(points[:, 0], points[:, 1], marker="o", markersize=3, linewidth=1.2, label=label)
    if surface.minimum is not None:
        ax.plot(*surface.minimum, marker="*", markersize=15, color="gold", markeredgecolor="k",
                linestyle="none", label="_minimum")
    xmin, xmax, ymin, ymax = surface.extent
    ax.set(xlim=(xmin, xmax), ylim=(ymin, ymax), title=surface.name, xlabel="x", ylabel="y")
    if paths:
        ax.legend()
    return fig


def plot_decision_boundary(predict: Callable[[np.ndarray], np.ndarray], X, y, resolution: int = 200, ax=None):
    """Regions a classifier assigns to each class, with the data on top.

    Inputs:
    - predict: maps points (M, 2) to integer labels (M,)
    - X: (N, 2) data points; y: (N,) integer labels
    - resolution: grid points per axis
    - ax: Axes to draw on, or None for a new figure

    Returns the Figure: a filled contour of predicted classes over the data's range plus 10%,
    and a scatter of the N points coloured by their true label.
    """
    X, y = np.asarray(X), np.asarray(y)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 5))
    fig = ax.figure

    margin = 0.1 * (X.max(axis=0) - X.min(axis=0)) + 1e-9
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    regions = np.asarray(predict(grid)).reshape(xx.shape)

    # One level boundary halfway between consecutive labels, and one colour scale for both layers,
    # so a point's colour matches the region of its class.
    n_classes = int(max(regions.max(), y.max())) + 1
    cmap = plt.get_cmap("tab10" if n_classes <= 10 else "tab20")
    ax.contourf(xx, yy, regions, levels=np.arange(n_classes + 1) - 0.5, cmap=cmap,
                vmin=-0.5, vmax=cmap.N - 0.5, alpha=0.3)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=cmap, vmin=-0.5, vmax=cmap.N - 0.5, edgecolors="k", s=20)
    ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]))
    return fig
