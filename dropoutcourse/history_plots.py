"""Training curves of Keras runs: one ``History``, or many seeds from ``fit_replicas``.

``history_curves(model.fit(...))`` draws what Keras logged epoch by epoch: the training curve
(measured *with* dropout on, averaged over the epoch) and the validation curve (dropout off,
after the epoch). ``replica_curves(runs)`` draws the same two curves for every seed of a
``fit_replicas`` table, thin, with their mean bold: one ``fit`` is one of the thin lines.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes

from dropoutcourse.plot_style import PALETTE, new_ax, pretty, require_frame

__all__ = ["history_curves", "replica_curves"]


def _as_frame(history) -> pd.DataFrame:
    """A ``keras.callbacks.History``, its ``.history`` dict or a table -> a DataFrame."""
    logs = getattr(history, "history", history)
    if isinstance(logs, dict):
        frame = pd.DataFrame(logs)
        return frame.assign(epoch=range(1, len(frame) + 1))
    if isinstance(logs, pd.DataFrame):
        return logs
    raise TypeError(
        "history must be what model.fit returns (a History), its .history dict or a "
        f"DataFrame from fit_replicas, got {type(history).__name__}"
    )


def history_curves(history, metric: str = "loss", ax: Axes | None = None, title=None) -> Axes:
    """Training and validation ``metric`` per epoch of one run (``"loss"``, ``"accuracy"``...)."""
    frame = require_frame(_as_frame(history), "history", [metric, "epoch"])
    ax = new_ax(ax)
    ax.plot(frame["epoch"], frame[metric], color=PALETTE[0], label=f"training {metric}")
    if f"val_{metric}" in frame:
        ax.plot(
            frame["epoch"], frame[f"val_{metric}"], color=PALETTE[1], label=f"validation {metric}"
        )
    ax.set(xlabel="epoch", ylabel=pretty(metric), title=title or f"{metric} per epoch")
    ax.legend()
    return ax


def replica_curves(
    runs: pd.DataFrame, metric: str = "loss", ax: Axes | None = None, title=None
) -> Axes:
    """Every seed's training and validation ``metric`` (thin) and their means (bold)."""
    keys = [k for k in (metric, f"val_{metric}") if k in runs]
    runs = require_frame(runs, "runs", ["seed", "epoch", metric])
    ax = new_ax(ax)
    for color, key, name in zip(PALETTE, keys, ("training", "validation"), strict=False):
        for _, one in runs.groupby("seed"):
            ax.plot(one["epoch"], one[key], color=color, alpha=0.25, linewidth=0.8)
        mean = runs.groupby("epoch")[key].mean()
        ax.plot(mean.index, mean.values, color=color, linewidth=2.2, label=f"{name} (mean)")
    n = runs["seed"].nunique()
    ax.set(xlabel="epoch", ylabel=pretty(metric), title=title or f"{metric}: {n} seeds")
    ax.legend()
    return ax
