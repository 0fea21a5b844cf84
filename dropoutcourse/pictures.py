"""Lecture pictures: drawings that explain an idea (not result charts; those are in plots).

:func:`network_diagram` draws a small MLP with its dropped units greyed out,
:func:`image_grid` a grid of images or masks, :func:`fit_demo` training points with the curves
of under-, over- and right-fitting models. Same style and palette as :mod:`dropoutcourse.plots`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from dropoutcourse.plot_style import DROPPED_COLOR, use_course_style
from dropoutcourse.plot_style import color as _color
from dropoutcourse.plot_style import new_ax as _new_ax

__all__ = ["network_diagram", "image_grid", "fit_demo"]


def network_diagram(
    layer_sizes: Sequence[int],
    masks: Sequence[object | None] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    layer_names: Sequence[str] | None = None,
) -> Axes:
    """The thinned-network picture of the paper's Figure 1.

    ``layer_sizes`` lists the units per layer, input first. ``masks`` is ``None`` (the full
    network) or one entry per layer: ``None`` (all units kept) or an array of that layer's
    size whose zeros mark dropped units (any non-zero value — 1, or 1/(1 − rate) for an
    inverted-dropout mask — means kept). Dropped units are drawn grey and crossed out, and all
    their connections are removed. The circles carry ``gid`` ``"kept"``/``"dropped"`` and the
    connections ``gid="connection"``, so a test can count them.
    """
    sizes = _check_layer_sizes(layer_sizes)
    kept = _kept_units(masks, sizes)
    if layer_names is None:
        layer_names = ["input"] + [f"hidden {i}" for i in range(1, len(sizes) - 1)] + ["output"]
    if len(layer_names) != len(sizes):
        raise ValueError(f"layer_names must have {len(sizes)} entries, got {len(layer_names)}")

    height = max(sizes)
    dx = 2.5  # horizontal distance between layers (units are 1 apart vertically)
    ax = _new_ax(ax, figsize=(0.5 * dx * (len(sizes) - 1) + 1.6, 0.5 * height + 1.4))
    ys = [np.arange(n)[::-1] - (n - 1) / 2.0 for n in sizes]
    with use_course_style():
        _draw_connections(ax, kept, ys, dx)
        _draw_units(ax, kept, ys, dx)
        _layout_diagram(ax, layer_names, dx, height)
        n_dropped = int(sum((~k).sum() for k in kept))
        if title is None:
            title = (
                "Standard network"
                if n_dropped == 0
                else f"Thinned network ({n_dropped} units dropped)"
            )
        ax.set_title(title)
    return ax


def _check_layer_sizes(layer_sizes: Sequence[int]) -> list[int]:
    """``layer_sizes`` as ints; ValueError unless ≥ 2 layers of 1 to 40 units (integers)."""
    sizes = [int(s) for s in layer_sizes]
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least 2 layers, got {len(sizes)}")
    if any(s < 1 or s > 40 for s in sizes) or any(
        s != v for s, v in zip(sizes, layer_sizes, strict=True)
    ):
        raise ValueError(
            f"layer_sizes must be integers in [1, 40] (a small picture), got {list(layer_sizes)}"
        )
    return sizes


def _kept_units(masks: Sequence[object | None] | None, sizes: list[int]) -> list[np.ndarray]:
    """One boolean array per layer, True where :func:`network_diagram`'s mask keeps the unit."""
    if masks is None:
        masks = [None] * len(sizes)
    if len(masks) != len(sizes):
        raise ValueError(f"masks must have one entry per layer ({len(sizes)}), got {len(masks)}")
    kept: list[np.ndarray] = []
    for i, (m, n) in enumerate(zip(masks, sizes, strict=True)):
        if m is None:
            kept.append(np.ones(n, dtype=bool))
            continue
        arr = np.asarray(m, dtype=float).ravel()
        if arr.shape != (n,):
            raise ValueError(
                f"masks[{i}] must have {n} entries (layer size), got shape {np.shape(m)}"
            )
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(f"masks[{i}] must be 0 (dropped) or positive (kept), got {arr}")
        kept.append(arr > 0)
    return kept


def _draw_connections(ax: Axes, kept: list[np.ndarray], ys: list[np.ndarray], dx: float) -> None:
    """A line (``gid="connection"``) between every two kept units of neighbouring layers."""
    for layer in range(len(kept) - 1):
        for a in np.flatnonzero(kept[layer]):
            for b in np.flatnonzero(kept[layer + 1]):
                (line,) = ax.plot(
                    [dx * layer, dx * (layer + 1)],
                    [ys[layer][a], ys[layer + 1][b]],
                    color="#666666",
                    linewidth=0.7,
                    alpha=0.6,
                    zorder=1,
                )
                line.set_gid("connection")


def _draw_units(
    ax: Axes, kept: list[np.ndarray], ys: list[np.ndarray], dx: float, radius: float = 0.18
) -> None:
    """A circle per unit (``gid`` "kept"/"dropped"), coloured by layer; dropped ones crossed."""
    for layer, layer_kept in enumerate(kept):
        color = _color(0) if 0 < layer < len(kept) - 1 else (_color(2) if layer == 0 else _color(1))
        for u in range(layer_kept.size):
            x, y = dx * layer, ys[layer][u]
            on = bool(layer_kept[u])
            circle = Circle(
                (x, y),
                radius,
                facecolor=color if on else DROPPED_COLOR,
                edgecolor="black" if on else "#888888",
                linewidth=1.0,
                zorder=2,
            )
            circle.set_gid("kept" if on else "dropped")
            ax.add_patch(circle)
            if not on:
                _draw_cross(ax, x, y, radius * 0.75)


def _draw_cross(ax: Axes, x: float, y: float, d: float) -> None:
    """An × of half-width ``d`` over the point (x, y), each stroke ``gid="cross"``."""
    for sx in (1, -1):
        (cross,) = ax.plot(
            [x - d, x + d],
            [y - sx * d, y + sx * d],
            color="#555555",
            linewidth=1.2,
            zorder=3,
        )
        cross.set_gid("cross")


def _layout_diagram(ax: Axes, layer_names: Sequence[str], dx: float, height: int) -> None:
    """Limits, equal aspect, layer names as x tick labels; no grid, spines or y ticks."""
    n_layers = len(layer_names)
    ax.set_xlim(-0.8, dx * (n_layers - 1) + 0.8)
    ax.set_ylim(-height / 2.0 - 0.3, height / 2.0 + 0.3)
    ax.set_aspect("equal")
    ax.set_xticks(dx * np.arange(n_layers))
    ax.set_xticklabels(list(layer_names))
    ax.set_yticks([])
    ax.grid(False)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", length=0)
    ax.set_xlabel("layer")


def image_grid(
    images: Sequence[np.ndarray] | np.ndarray,
    titles: Sequence[str] | None = None,
    ncols: int = 4,
    cmap: str | None = None,
    suptitle: str | None = None,
    panel_size: float = 2.2,
    vmin: float | None = None,
    vmax: float | None = None,
) -> Figure:
    """Show images (H×W, H×W×1 or H×W×3) in a grid and return the ``Figure``.

    Grey-scale images use ``cmap`` (default ``"gray"``); unused panels are hidden.
    """
    imgs = [np.asarray(im) for im in images]
    if not imgs:
        raise ValueError("images must contain at least one image")
    for i, im in enumerate(imgs):
        if im.ndim == 3 and im.shape[-1] == 1:
            imgs[i] = im[..., 0]
        elif not (im.ndim == 2 or (im.ndim == 3 and im.shape[-1] in (3, 4))):
            raise ValueError(
                f"images[{i}] must be H×W, H×W×1, H×W×3 or H×W×4, got shape {im.shape}"
            )
    if titles is not None and len(titles) != len(imgs):
        raise ValueError(f"titles must have one entry per image ({len(imgs)}), got {len(titles)}")
    if not isinstance(ncols, int | np.integer) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    ncols = int(min(ncols, len(imgs)))
    nrows = int(np.ceil(len(imgs) / ncols))
    with use_course_style():
        fig, axes = plt.subplots(
            nrows,
            ncols,
            figsize=(panel_size * ncols, panel_size * nrows + (0.4 if suptitle else 0.0)),
            squeeze=False,
            layout="constrained",
        )
        for i, ax in enumerate(axes.ravel()):
            if i >= len(imgs):
                ax.set_visible(False)
                continue
            im = imgs[i]
            ax.imshow(im, cmap=(cmap or "gray") if im.ndim == 2 else None, vmin=vmin, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=10)
        if suptitle:
            fig.suptitle(suptitle)
    return fig


def fit_demo(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_grid: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    ax: Axes | None = None,
    truth: np.ndarray | None = None,
    title: str | None = None,
) -> Axes:
    """Under-, over- and right-fitting: training points plus one prediction curve per model.

    ``predictions`` maps a legend label to predictions on ``x_grid``; ``truth`` (optional) is
    the true function on ``x_grid``, drawn dashed black.
    """
    xt, yt = np.ravel(np.asarray(x_train, float)), np.ravel(np.asarray(y_train, float))
    xg = np.ravel(np.asarray(x_grid, float))
    if xt.shape != yt.shape:
        raise ValueError(
            f"x_train and y_train must have the same length, got {xt.shape} and {yt.shape}"
        )
    if not isinstance(predictions, Mapping) or not predictions:
        raise ValueError("predictions must be a non-empty dict {label: predictions on x_grid}")
    curves = {}
    for name, pred in predictions.items():
        p = np.ravel(np.asarray(pred, float))
        if p.shape != xg.shape:
            raise ValueError(f"predictions[{name!r}] has shape {p.shape}, x_grid has {xg.shape}")
        curves[name] = p
    ax = _new_ax(ax)
    order = np.argsort(xg)
    with use_course_style():
        if truth is not None:
            tr = np.ravel(np.asarray(truth, float))
            if tr.shape != xg.shape:
                raise ValueError(f"truth has shape {tr.shape}, x_grid has {xg.shape}")
            ax.plot(xg[order], tr[order], "k--", linewidth=1.2, label="true function")
        for i, (name, p) in enumerate(curves.items()):
            ax.plot(xg[order], p[order], color=_color(i), label=str(name))
        ax.scatter(xt, yt, color="black", s=22, zorder=3, label="training data")
        lo, hi = np.min(yt), np.max(yt)
        pad = 0.5 * (hi - lo + 1e-9)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_title(title or "Under-, over- and right-fitting")
        ax.legend()
    return ax
