"""plots.py draws what it is given, labels every axis, and rejects bad input clearly."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from dropoutcourse import plots


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _history(labels=("no dropout", "dropout 0.5"), seeds=3, epochs=6):
    rows = []
    rng = np.random.default_rng(0)
    replica = 0
    for label in labels:
        for seed in range(seeds):
            for epoch in range(1, epochs + 1):
                rows.append(
                    dict(
                        replica=replica,
                        label=label,
                        seed=seed,
                        hidden_rate=0.5 if "0.5" in label else 0.0,
                        epoch=epoch,
                        train_loss=1 / epoch + rng.normal(0, 0.01),
                        test_loss=1.2 / epoch + rng.normal(0, 0.01),
                        train_acc=1 - 0.5 / epoch,
                        test_acc=0.9 - 0.5 / epoch + rng.normal(0, 0.01),
                    )
                )
            replica += 1
    return pd.DataFrame(rows)


def _final(rates=(0.0, 0.25, 0.5), seeds=4):
    rng = np.random.default_rng(1)
    rows = [
        dict(
            hidden_rate=r, seed=s, label=f"rate {r}", test_acc=0.9 + 0.05 * r + rng.normal(0, 0.01)
        )
        for r in rates
        for s in range(seeds)
    ]
    return pd.DataFrame(rows)


def _labelled(ax):
    assert isinstance(ax, Axes)
    assert ax.get_xlabel().strip()
    assert ax.get_ylabel().strip()
    assert ax.get_title().strip()


def test_palette_is_okabe_ito_and_style_context_restores_rcparams():
    assert len(PALETTE := plots.PALETTE) == 8
    assert {to_hex(c) for c in PALETTE} == {
        "#000000", "#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7"
    }  # fmt: skip
    before = matplotlib.rcParams["axes.spines.top"]
    with plots.use_course_style():
        assert matplotlib.rcParams["axes.spines.top"] is False
    assert matplotlib.rcParams["axes.spines.top"] == before
    assert plots.pretty("test_acc") == "test accuracy"
    assert plots.pretty("weird_name") == "weird name"


def test_learning_curves_one_line_and_band_per_group():
    hist = _history()
    ax = plots.learning_curves(hist, metric="test_loss")
    _labelled(ax)
    assert len(ax.get_lines()) == 2
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 2
    # the line is the mean over the replicas of its group
    line = ax.get_lines()[0]
    expected = hist[hist.label == "no dropout"].groupby("epoch")["test_loss"].mean()
    np.testing.assert_allclose(line.get_ydata(), expected.to_numpy())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["no dropout", "dropout 0.5"]


def test_learning_curves_train_dashed_test_solid_same_colour():
    ax = plots.learning_curves(_history(), metrics=("train_loss", "test_loss"), band="minmax")
    lines = ax.get_lines()
    assert len(lines) == 4
    assert [ln.get_linestyle() for ln in lines] == ["--", "-", "--", "-"]
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    assert "loss" in ax.get_ylabel()


def test_learning_curves_without_band_or_groups_and_into_given_axes():
    fig, (a, b) = plt.subplots(1, 2)
    out = plots.learning_curves(_history(), metric="test_acc", by=None, band=None, ax=b)
    assert out is b
    assert len(b.get_lines()) == 1 and not b.collections
    assert not a.get_lines()


def test_learning_curves_errors_name_the_problem():
    hist = _history()
    with pytest.raises(ValueError, match="val_loss"):
        plots.learning_curves(hist, metric="val_loss")
    with pytest.raises(ValueError, match="group"):
        plots.learning_curves(hist, by="group")
    with pytest.raises(ValueError, match="band"):
        plots.learning_curves(hist, band="iqr")
    with pytest.raises(TypeError, match="DataFrame"):
        plots.learning_curves(hist.to_dict())
    with pytest.raises(ValueError, match="empty"):
        plots.learning_curves(hist.iloc[:0])
    with pytest.raises(TypeError, match="ax"):
        plots.learning_curves(hist, ax="left")


def test_sweep_errorbars_match_mean_and_std_and_draws_every_run():
    res = _final()
    ax = plots.sweep(res, x="hidden_rate", y="test_acc")
    _labelled(ax)
    assert ax.get_xlabel() == "hidden dropout rate"
    mean_line = ax.get_lines()[0]
    stats = res.groupby("hidden_rate")["test_acc"].agg(["mean", "std"])
    np.testing.assert_allclose(mean_line.get_ydata(), stats["mean"].to_numpy())
    dots = ax.collections[-1]
    assert len(dots.get_offsets()) == len(res)


def test_sweep_by_group_and_log_axis():
    res = pd.concat([_final().assign(train_size=n) for n in (50, 100, 400)], ignore_index=True)
    ax = plots.sweep(res, x="train_size", y="test_acc", by="hidden_rate", logx=True)
    assert ax.get_xscale() == "log"
    assert len(ax.get_legend().get_texts()) == 3
    with pytest.raises(ValueError, match="units"):
        plots.sweep(res, x="units")


def test_bar_with_spread_bars_and_points():
    res = _final()
    ax = plots.bar_with_spread(res, by="label", y="test_acc")
    _labelled(ax)
    from matplotlib.patches import Rectangle

    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == 3
    means = res.groupby("label", sort=False)["test_acc"].mean().to_numpy()
    np.testing.assert_allclose([b.get_height() for b in bars], means)
    n_dots = sum(len(c.get_offsets()) for c in ax.collections if c.get_offsets().size)
    assert n_dots >= len(res)
    ax2 = plots.bar_with_spread(res, kind="point", order=["rate 0.5", "rate 0.0"])
    assert not ax2.patches
    assert [t.get_text() for t in ax2.get_xticklabels()] == ["rate 0.5", "rate 0.0"]
    with pytest.raises(ValueError, match="kind"):
        plots.bar_with_spread(res, kind="pie")
    with pytest.raises(ValueError, match="rate 9"):
        plots.bar_with_spread(res, order=["rate 9"])


def _circles(ax, gid):
    return [p for p in ax.patches if p.get_gid() == gid]


def test_network_diagram_full_network():
    ax = plots.network_diagram([3, 4, 2])
    assert len(_circles(ax, "kept")) == 9
    assert not _circles(ax, "dropped")
    assert len([ln for ln in ax.get_lines() if ln.get_gid() == "connection"]) == 3 * 4 + 4 * 2
    assert ax.get_title() and ax.get_xlabel()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["input", "hidden 1", "output"]


def test_network_diagram_dropped_units_are_grey_crossed_and_disconnected():
    masks = [np.array([1, 0, 1]), np.array([2.0, 0.0, 0.0, 2.0]), None]  # inverted mask values ok
    ax = plots.network_diagram([3, 4, 2], masks=masks, title="one thinned net")
    dropped = _circles(ax, "dropped")
    assert len(dropped) == 3  # number of zeros in the masks
    assert all(to_hex(c.get_facecolor()) == plots.DROPPED_COLOR.lower() for c in dropped)
    kept_colors = {to_hex(c.get_facecolor()) for c in _circles(ax, "kept")}
    assert plots.DROPPED_COLOR.lower() not in kept_colors
    assert len([ln for ln in ax.get_lines() if ln.get_gid() == "cross"]) == 2 * 3
    assert len([ln for ln in ax.get_lines() if ln.get_gid() == "connection"]) == 2 * 2 + 2 * 2
    assert ax.get_title() == "one thinned net"


def test_network_diagram_rejects_bad_masks():
    with pytest.raises(ValueError, match="masks"):
        plots.network_diagram([3, 4], masks=[None])
    with pytest.raises(ValueError, match=r"masks\[1\]"):
        plots.network_diagram([3, 4], masks=[None, [1, 0]])
    with pytest.raises(ValueError, match="layer_sizes"):
        plots.network_diagram([3])
    with pytest.raises(ValueError, match="layer_sizes"):
        plots.network_diagram([3, 0, 2])


def test_image_grid_returns_figure_and_hides_unused_panels():
    imgs = [np.random.default_rng(i).random((8, 8)) for i in range(5)] + [np.zeros((8, 8, 3))]
    fig = plots.image_grid(imgs, titles=[f"img {i}" for i in range(6)], ncols=4, suptitle="masks")
    assert isinstance(fig, Figure)
    visible = [a for a in fig.axes if a.get_visible()]
    assert len(visible) == 6 and len(fig.axes) == 8
    assert visible[0].get_title() == "img 0"
    assert visible[0].images[0].get_cmap().name == "gray"
    with pytest.raises(ValueError, match="titles"):
        plots.image_grid(imgs, titles=["a"])
    with pytest.raises(ValueError, match=r"images\[0\]"):
        plots.image_grid([np.zeros((2, 2, 2, 2))])


def test_mc_convergence_draws_mc_curve_and_weight_scaling_line():
    rows = [
        dict(seed=s, k=k, repeat=r, mc_error=0.1 + 0.05 / k, ws_error=0.1 + 0.001 * s)
        for s in range(3)
        for k in (1, 2, 5, 10)
        for r in range(2)
    ]
    ax = plots.mc_convergence(pd.DataFrame(rows))
    _labelled(ax)
    assert ax.get_xscale() == "log"
    assert len(ax.get_lines()) == 2
    np.testing.assert_allclose(
        ax.get_lines()[0].get_ydata(), [100 * (0.1 + 0.05 / k) for k in (1, 2, 5, 10)]
    )
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [10.1, 10.1])
    with pytest.raises(ValueError, match="ws_error"):
        plots.mc_convergence(pd.DataFrame(rows).drop(columns="ws_error"))


def test_fit_demo_draws_one_curve_per_model_plus_truth():
    x = np.linspace(0, 1, 10)
    grid = np.linspace(0, 1, 50)
    preds = {"underfit": 0 * grid, "overfit": np.sin(9 * grid), "right": np.sin(3 * grid)}
    ax = plots.fit_demo(x, np.sin(3 * x), grid, preds, truth=np.sin(3 * grid))
    _labelled(ax)
    assert len(ax.get_lines()) == 4
    assert len(ax.collections[0].get_offsets()) == 10
    with pytest.raises(ValueError, match="overfit"):
        plots.fit_demo(x, np.sin(3 * x), grid, {"overfit": np.zeros(3)})
    with pytest.raises(ValueError, match="y_train"):
        plots.fit_demo(x, x[:3], grid, preds)


def test_save_figure_writes_png_and_closes(tmp_path):
    ax = plots.sweep(_final())
    path = plots.save_figure(ax, tmp_path / "sub" / "sweep.png")
    assert path.exists() and path.read_bytes()[:4] == b"\x89PNG"
    assert not plt.fignum_exists(ax.figure.number)


def _band_limits(ax) -> tuple[float, float]:
    """The y-extent, in data units, of the first shaded span on ``ax``."""
    band = ax.patches[0]
    ys = band.get_patch_transform().transform(band.get_path().vertices)[:, 1]
    return float(ys.min()), float(ys.max())


def test_paired_effects_draws_both_panels_with_the_margin_band():
    rng = np.random.default_rng(0)
    runs = pd.DataFrame(
        [
            {"label": lab, "seed": s, "train_loss": rng.random(), "test_acc": rng.random()}
            for lab in ("none", "element 0.2")
            for s in range(4)
        ]
    )
    paired = pd.DataFrame(
        {
            "loss_rise_lo": [0.1],
            "loss_rise": [0.2],
            "loss_rise_hi": [0.3],
            "test_lo": [-1.0],
            "test_diff": [0.0],
            "test_hi": [1.0],
        },
        index=["element 0.2"],
    )
    fig = plots.paired_effects(runs, paired, margin=1.5)
    left, right = fig.axes
    assert right.get_legend().get_texts()[0].get_text() == "margins (−1.5, +1.5 points)"
    assert _band_limits(right) == pytest.approx((-1.5, 1.5))
    fig = plots.paired_effects(runs, paired, margin=2.0, cost_margin=3.0)
    right = fig.axes[1]
    assert right.get_legend().get_texts()[0].get_text() == "margins (−3, +2 points)"
    assert _band_limits(right) == pytest.approx((-3.0, 2.0))
    assert all(ax.get_ylabel() for ax in (left, right))
    with pytest.raises(ValueError, match="runs"):
        plots.paired_effects(runs.drop(columns="train_loss"), paired, margin=1.0)
