"""Result charts for the course: tidy results in, figures out. Nothing here trains a model.

The pictures that explain an idea rather than show a result (network diagrams with dropped
units, image grids, the fitting demo) are in :mod:`dropoutcourse.pictures`, in the same style.
Every function takes the tidy results that :mod:`dropoutcourse.experiments` (or
:func:`dropoutcourse.config_fit.fit_configs`) returns, draws them in one consistent style with the
colour-blind-safe Okabe–Ito palette, labels every axis, and returns the matplotlib ``Axes``
(or ``Figure`` for :func:`image_grid`). Pass ``ax=`` to draw into a panel of your own; end a
notebook cell with ``;`` so that no ``repr`` leaks into the output.

Example::

    history = experiments.compare(data)
    plots.learning_curves(history, metrics=("train_loss", "test_loss"));
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

# the student's one plotting namespace: the Keras training curves and the lecture pictures
# live in their own modules and are re-exported here (``plots.history_curves`` etc.)
from dropoutcourse.history_plots import history_curves, replica_curves
from dropoutcourse.pictures import fit_demo, image_grid, network_diagram
from dropoutcourse.plot_style import (
    COURSE_STYLE,
    DROPPED_COLOR,
    OKABE_ITO,
    PALETTE,
    pretty,
    set_course_style,
    use_course_style,
)
from dropoutcourse.plot_style import color as _color
from dropoutcourse.plot_style import new_ax as _new_ax
from dropoutcourse.plot_style import require_frame as _require_frame

__all__ = [
    "PALETTE",
    "OKABE_ITO",
    "DROPPED_COLOR",
    "COURSE_STYLE",
    "use_course_style",
    "set_course_style",
    "pretty",
    "learning_curves",
    "sweep",
    "bar_with_spread",
    "mc_convergence",
    "paired_effects",
    "save_figure",
    "history_curves",
    "replica_curves",
    "network_diagram",
    "image_grid",
    "fit_demo",
]

# --------------------------------------------------------------------------- helpers


def _group_order(values: pd.Series) -> list:
    """Numeric groups sorted, other groups in order of first appearance."""
    uniq = list(pd.unique(values))
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return sorted(uniq, key=lambda v: (pd.isna(v), v))
    return uniq


def _groups(df: pd.DataFrame, by: str | None) -> list[tuple[object, pd.DataFrame]]:
    if by is None:
        return [(None, df)]
    key = df[by]
    out = []
    for value in _group_order(key):
        mask = key.isna() if pd.isna(value) else key == value
        out.append((value, df[mask]))
    return out


def _group_label(by: str | None, value: object) -> str:
    if by is None:
        return "all runs"
    if by in {"label"} or isinstance(value, str):
        return str(value)
    if isinstance(value, float | np.floating) and float(value).is_integer() and by != "hidden_rate":
        value = int(value)
    if pd.isna(value):
        return f"{pretty(by)} = none"
    return f"{pretty(by)} = {value:g}" if isinstance(value, float | np.floating) else f"{value}"


def _n_seeds(df: pd.DataFrame, by: str | None = None) -> int:
    """Number of runs per group (the largest group), for titles."""
    col = "replica" if "replica" in df.columns else ("seed" if "seed" in df.columns else None)
    if col is None:
        return len(df)
    if by is None or by not in df.columns:
        return int(df[col].nunique())
    return int(df.groupby(by, sort=False, dropna=False)[col].nunique().max())


def _check_band(band: str | None) -> str | None:
    if band not in ("std", "minmax", None):
        raise ValueError(f"band must be 'std', 'minmax' or None, got {band!r}")
    return band


# --------------------------------------------------------------------------- curves


def learning_curves(
    history: pd.DataFrame,
    metric: str = "test_loss",
    by: str | None = "label",
    ax: Axes | None = None,
    band: str | None = "std",
    metrics: Sequence[str] | None = None,
    title: str | None = None,
) -> Axes:
    """Mean over replicas of ``metric`` per epoch, one line per group, with a spread band.

    ``history`` has one row per (replica, epoch) (``experiments.compare``). ``band`` is
    ``"std"`` (mean ± one standard deviation over replicas), ``"minmax"`` or ``None``.
    ``metrics=("train_loss", "test_loss")`` draws several metrics per group: training curves
    dashed, test curves solid, same colour per group.
    """
    metric_list = [metric] if metrics is None else list(metrics)
    if not metric_list:
        raise ValueError("metrics must name at least one column")
    _check_band(band)
    needed = ["epoch", *metric_list] + ([by] if by is not None else [])
    _require_frame(history, "history", needed)
    ax = _new_ax(ax)
    with use_course_style():
        for i, (value, group) in enumerate(_groups(history, by)):
            for m in metric_list:
                stats = group.groupby("epoch")[m].agg(["mean", "std", "min", "max"]).sort_index()
                x = stats.index.to_numpy()
                mean = stats["mean"].to_numpy(dtype=float)
                style = "--" if str(m).startswith("train") and len(metric_list) > 1 else "-"
                name = _group_label(by, value)
                if len(metric_list) > 1:
                    name = f"{name} ({'train' if style == '--' else pretty(m).split()[0]})"
                ax.plot(x, mean, linestyle=style, color=_color(i), label=name)
                if band == "std":
                    sd = stats["std"].fillna(0.0).to_numpy(dtype=float)
                    lo, hi = mean - sd, mean + sd
                elif band == "minmax":
                    lo, hi = stats["min"].to_numpy(float), stats["max"].to_numpy(float)
                if band is not None:
                    ax.fill_between(x, lo, hi, color=_color(i), alpha=0.18, linewidth=0)
        ax.set_xlabel(pretty("epoch"))
        if len(metric_list) == 1:
            ax.set_ylabel(pretty(metric_list[0]))
        else:
            kinds = {m.split("_", 1)[-1] for m in metric_list}
            ax.set_ylabel(pretty(kinds.pop()) if len(kinds) == 1 else "value")
        spread = {"std": "mean ± std", "minmax": "mean, min–max", None: "mean"}[band]
        if title is None:
            if len(metric_list) == 1:
                what = pretty(metric_list[0])
                what = what[0].upper() + what[1:]
            else:
                what = "Training (dashed) and test (solid)"
            title = f"{what} ({spread} over {_n_seeds(history, by)} runs)"
        ax.set_title(title)
        ax.legend(title=pretty(by) if by is not None else None)
    return ax


def sweep(
    results: pd.DataFrame,
    x: str = "hidden_rate",
    y: str = "test_acc",
    by: str | None = None,
    ax: Axes | None = None,
    logx: bool = False,
    title: str | None = None,
    show_points: bool = True,
) -> Axes:
    """Mean ± std of ``y`` at each value of ``x`` (error bars), each run as a faint dot.

    ``results`` has one row per replica (e.g. ``fit_configs(...).final()``); ``by`` splits the
    runs into several lines (e.g. ``by="hidden_rate"`` in the data-size sweep).
    """
    needed = [x, y] + ([by] if by is not None else [])
    _require_frame(results, "results", needed)
    ax = _new_ax(ax)
    with use_course_style():
        for i, (value, group) in enumerate(_groups(results, by)):
            stats = group.groupby(x)[y].agg(["mean", "std"]).sort_index()
            xs = stats.index.to_numpy(dtype=float)
            ax.errorbar(
                xs,
                stats["mean"].to_numpy(float),
                yerr=stats["std"].fillna(0.0).to_numpy(float),
                color=_color(i),
                marker="o",
                markersize=5,
                capsize=3,
                label=_group_label(by, value),
            )
            if show_points:
                ax.scatter(
                    group[x].to_numpy(float),
                    group[y].to_numpy(float),
                    color=_color(i),
                    alpha=0.3,
                    s=12,
                    linewidths=0,
                    zorder=1,
                )
        if logx:
            ax.set_xscale("log")
        ax.set_xlabel(pretty(x))
        ax.set_ylabel(pretty(y))
        if title is None:
            title = f"{pretty(y)[0].upper() + pretty(y)[1:]} vs {pretty(x)} (mean ± std)"
        ax.set_title(title)
        if by is not None:
            ax.legend(title=pretty(by))
    return ax


def bar_with_spread(
    results: pd.DataFrame,
    by: str = "label",
    y: str = "test_acc",
    ax: Axes | None = None,
    kind: str = "bar",
    order: Sequence | None = None,
    title: str | None = None,
) -> Axes:
    """One bar (``kind="bar"``) or point (``kind="point"``) per group: mean ± std, seeds as dots.

    Bars start at zero, so small differences between high accuracies are invisible — which is
    sometimes the honest picture. ``kind="point"`` zooms in on the differences instead.
    """
    if kind not in ("bar", "point"):
        raise ValueError(f"kind must be 'bar' or 'point', got {kind!r}")
    _require_frame(results, "results", [by, y])
    groups = _groups(results, by)
    if order is not None:
        lookup = {v: g for v, g in groups}
        unknown = [o for o in order if o not in lookup]
        if unknown:
            raise ValueError(f"order names group(s) {unknown} not found in column {by!r}")
        groups = [(o, lookup[o]) for o in order]
    ax = _new_ax(ax, figsize=(max(4.0, 1.2 * len(groups) + 2), 4.0))
    rng = np.random.default_rng(0)  # jitter of the dots only
    with use_course_style():
        pos = np.arange(len(groups))
        for i, (_, group) in enumerate(groups):
            vals = group[y].to_numpy(float)
            mean, sd = float(np.mean(vals)), float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
            if kind == "bar":
                ax.bar(pos[i], mean, width=0.6, color=_color(i), alpha=0.75)
                ax.errorbar(pos[i], mean, yerr=sd, color="black", capsize=4, linewidth=1.2)
            else:
                ax.errorbar(
                    pos[i], mean, yerr=sd, color=_color(i), marker="D", markersize=7, capsize=5
                )
            jitter = rng.uniform(-0.12, 0.12, size=len(vals))
            ax.scatter(
                pos[i] + jitter + (0.25 if kind == "point" else 0.0),
                vals,
                color="black" if kind == "bar" else _color(i),
                s=14,
                alpha=0.6,
                zorder=3,
            )
        ax.set_xticks(pos)
        ax.set_xticklabels([_group_label(by, v) for v, _ in groups], rotation=15, ha="right")
        ax.set_xlabel(pretty(by))
        ax.set_ylabel(pretty(y))
        ax.grid(axis="x", visible=False)
        if title is None:
            title = f"{pretty(y)[0].upper() + pretty(y)[1:]} per {pretty(by)} (mean ± std, dots = seeds)"
        ax.set_title(title)
    return ax


def mc_convergence(df: pd.DataFrame, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Paper Figure 11: test error of Monte-Carlo averaging over k thinned nets vs k.

    ``df`` has columns ``k, mc_error, ws_error`` (errors as fractions, one row per seed, k and
    repetition). Draws the MC mean ± std band against k (log axis) and the weight-scaling
    error as a horizontal line with its ± std band.
    """
    _require_frame(df, "df", ["k", "mc_error", "ws_error"])
    ax = _new_ax(ax)
    with use_course_style():
        stats = df.groupby("k")["mc_error"].agg(["mean", "std"]).sort_index()
        ks = stats.index.to_numpy(float)
        mean = 100 * stats["mean"].to_numpy(float)
        sd = 100 * stats["std"].fillna(0.0).to_numpy(float)
        ax.plot(ks, mean, marker="o", color=_color(0), label="Monte-Carlo average of k nets")
        ax.fill_between(ks, mean - sd, mean + sd, color=_color(0), alpha=0.2, linewidth=0)
        ws_cols = [c for c in ("seed", "replica") if c in df.columns]
        ws = df.drop_duplicates(ws_cols)["ws_error"] if ws_cols else df["ws_error"]
        ws_mean, ws_sd = 100 * float(ws.mean()), 100 * float(ws.std(ddof=1)) if len(ws) > 1 else 0.0
        ax.axhline(ws_mean, color=_color(1), linestyle="--", label="weight scaling (one pass)")
        ax.axhspan(ws_mean - ws_sd, ws_mean + ws_sd, color=_color(1), alpha=0.12, linewidth=0)
        ax.set_xscale("log")
        ax.set_xlabel(pretty("k"))
        ax.set_ylabel("test error (%)")
        if title is None:
            title = "Monte-Carlo averaging vs weight scaling (mean ± std)"
        ax.set_title(title)
        ax.legend()
    return ax


def paired_effects(
    runs: pd.DataFrame, paired: pd.DataFrame, margin: float, cost_margin: float | None = None
):
    """Lecture 5 §3: every dropout variant minus no dropout, paired by seed.

    Left, the training loss (95 % interval); right, test accuracy in points (90 % interval)
    with the band from −``cost_margin`` (default ``margin``) to +``margin``. Dots are the seeds. ``runs`` has one
    row per (``label``, ``seed``) with ``train_loss`` and ``test_acc`` (one label ``"none"``);
    ``paired`` is ``claims.lecture5.cnn_paired(runs)``. Returns the figure.
    """
    _require_frame(runs, "runs", ["label", "seed", "train_loss", "test_acc"])
    per_seed = runs.pivot(index="seed", columns="label")
    with use_course_style():
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
        for i, v in enumerate(paired.index):
            rise = per_seed["train_loss"][v] - per_seed["train_loss"]["none"]
            diff = 100 * (per_seed["test_acc"][v] - per_seed["test_acc"]["none"])
            for ax, dots, (lo, mid, hi) in (
                (ax1, rise, paired.loc[v, ["loss_rise_lo", "loss_rise", "loss_rise_hi"]]),
                (ax2, diff, paired.loc[v, ["test_lo", "test_diff", "test_hi"]]),
            ):
                ax.scatter(i + 0.2 + np.zeros(len(dots)), dots, s=12, color="0.55")
                yerr = [[mid - lo], [hi - mid]]
                ax.errorbar(i, mid, yerr=yerr, fmt="D", color=_color(i), capsize=5)
        low = margin if cost_margin is None else cost_margin
        ax2.axhspan(
            -low, margin, color="0.9", zorder=0, label=f"margins (−{low:g}, +{margin:g} points)"
        )
        for ax in (ax1, ax2):
            ax.axhline(0, color="black", linewidth=0.8)
            ax.set_xticks(range(len(paired)), paired.index)
        ax1.set(ylabel="training loss − none's (nats)", title="Training loss (95 %)")
        ax2.set(
            ylabel="test accuracy − none's (points)",
            title="Test accuracy (90 % interval, dots = seeds)",
        )
        ax2.legend(loc="lower right")
    return fig


def save_figure(obj: Axes | Figure, path: str | Path, dpi: int = 150) -> Path:
    """Save the figure that ``obj`` (an Axes or Figure) belongs to as PNG, close it, return the path."""
    fig = obj if isinstance(obj, Figure) else obj.get_figure()
    if fig is None:
        raise ValueError("obj is not attached to a figure")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with use_course_style():
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path
