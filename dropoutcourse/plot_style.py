"""The course's figure style, shared by every figure module (plots, pictures, history_plots).

Okabe–Ito colours (colour-blind safe), one set of matplotlib settings, readable axis labels
for the columns the experiments produce, and the two checks every drawing function starts
with. Drawing functions live in :mod:`dropoutcourse.plots` (results),
:mod:`dropoutcourse.pictures` (lecture pictures) and :mod:`dropoutcourse.history_plots`
(Keras training curves); this module draws nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

__all__ = [
    "COURSE_STYLE",
    "DROPPED_COLOR",
    "OKABE_ITO",
    "PALETTE",
    "color",
    "new_ax",
    "pretty",
    "require_frame",
    "set_course_style",
    "use_course_style",
]

#: Okabe & Ito (2008) colour-blind-safe colours, by name.
OKABE_ITO: dict[str, str] = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "bluish green": "#009E73",
    "orange": "#E69F00",
    "reddish purple": "#CC79A7",
    "sky blue": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}

#: The colour cycle used by every figure (Okabe–Ito, strongest contrasts first).
PALETTE: tuple[str, ...] = tuple(OKABE_ITO.values())

#: Colour of dropped units in :func:`network_diagram`.
DROPPED_COLOR = "#BBBBBB"

#: The course's matplotlib settings (applied by :func:`use_course_style`).
COURSE_STYLE: dict[str, object] = {
    "axes.prop_cycle": mpl.cycler(color=list(PALETTE)),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "lines.linewidth": 1.8,
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "image.cmap": "viridis",
}

#: Human-readable axis labels for the columns the experiments produce.
_LABELS: dict[str, str] = {
    "epoch": "epoch",
    "train_loss": "training loss (cross-entropy)",
    "test_loss": "test loss (cross-entropy)",
    "train_acc": "training accuracy",
    "test_acc": "test accuracy",
    "train_error": "training error",
    "test_error": "test error",
    "hidden_rate": "hidden dropout rate",
    "input_rate": "input dropout rate",
    "train_size": "training examples",
    "units": "hidden units per layer",
    "label": "setting",
    "seed": "seed",
    "l2": "L2 coefficient",
    "max_norm": "max-norm c",
    "gap": "generalization gap",
    "acc_gap": "accuracy gap (train − test)",
    "loss_gap": "loss gap (test − train)",
    "k": "number of sampled networks k",
    "mc_error": "MC-averaged test error",
    "ws_error": "weight-scaling test error",
    "gain": "gain from dropout",
    "acc": "accuracy",
    "loss": "loss (cross-entropy)",
}


def pretty(name: str) -> str:
    """Axis label for a column name (``"test_acc"`` → ``"test accuracy"``)."""
    return _LABELS.get(str(name), str(name).replace("_", " "))


@contextlib.contextmanager
def use_course_style() -> Iterator[None]:
    """Context manager applying :data:`COURSE_STYLE` to the figures created inside it."""
    with mpl.rc_context(COURSE_STYLE):
        yield


def set_course_style() -> None:
    """Apply :data:`COURSE_STYLE` globally (e.g. at the top of a notebook)."""
    mpl.rcParams.update(COURSE_STYLE)


def new_ax(ax: Axes | None, figsize: tuple[float, float] = (6.0, 4.0)) -> Axes:
    """``ax`` itself, or a new Axes in the course style when ``ax`` is None."""
    if ax is None:
        with use_course_style():
            _, ax = plt.subplots(figsize=figsize, layout="constrained")
    elif not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def require_frame(df: object, name: str, columns: Sequence[str]) -> pd.DataFrame:
    """``df`` after checking it is a non-empty DataFrame with ``columns`` (errors name ``name``)."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"{name} is missing column(s) {missing}; available columns: {list(df.columns)}"
        )
    if len(df) == 0:
        raise ValueError(f"{name} is empty: nothing to plot")
    return df


def color(i: int) -> str:
    """The i-th colour of :data:`PALETTE` (cycling)."""
    return PALETTE[i % len(PALETTE)]
