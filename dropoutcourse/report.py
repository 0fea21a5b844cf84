"""``reproduce`` and ``figures``: run the paper experiments, draw them, write ``results.md``.

``reproduce`` runs the paper experiments of :mod:`dropoutcourse.experiments` (comparison,
rate sweep with n and p·n fixed, data-size sweep, MC vs weight scaling, regularizer table,
the Keras tutorial's k-fold comparison) and writes into ``out`` one PNG per experiment, the
tidy results as CSV, and ``results.md``: mean ± std tables over the seeds and a one-line
reading per experiment that is computed from the numbers. ``figures`` draws the pictures
that need no training. The command line (:mod:`dropoutcourse.__main__`) only parses arguments.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

#: Settings of the hidden ``--quick`` mode (used by the CLI test): seconds, not minutes.
QUICK = {
    "compare": dict(epochs=3, hidden=(16, 16)),
    "rate_sweep": dict(epochs=3, rates=(0.0, 0.5), depth=1, base_units=8),
    "data_size_sweep": dict(updates=6, sizes=(50, 100), hidden=(16, 16)),
    "mc_vs_weight_scaling": dict(epochs=3, ks=(1, 4), repeats=1, hidden=(16, 16)),
    "regularizer_table": dict(epochs=3, hidden=(16, 16)),
    "keras_tutorial_cv": dict(folds=3, epochs=2),
}


# --------------------------------------------------------------------------- formatting


def _pm(mean: float, std: float, digits: int = 3) -> str:
    std = 0.0 if std != std else std  # NaN (one seed) → 0
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _table(frame, by: Sequence[str], metrics: Sequence[str], digits: int = 3) -> str:
    """Markdown table of mean ± std of each metric per group, with n."""
    from dropoutcourse.experiments import summarize

    parts = [summarize(frame, list(by), m) for m in metrics]
    header = [*by, *metrics, "n"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for i in range(len(parts[0])):
        keys = [_cell(parts[0].iloc[i][k]) for k in by]
        cells = [_pm(p.iloc[i]["mean"], p.iloc[i]["std"], digits) for p in parts]
        lines.append("| " + " | ".join([*keys, *cells, str(int(parts[0].iloc[i]["n"]))]) + " |")
    return "\n".join(lines)


def _cell(value) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1:
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _paired(res: dict) -> str:
    """A paired difference as numbers only: the verdicts are the claims' (no p < 0.05 here)."""
    return (
        f"paired by seed: sd of the difference {100 * res['std_diff']:.2f} points, n = {res['n']}"
    )


# --------------------------------------------------------------------------- readings


def _read_compare(history) -> tuple[str, str]:
    from dropoutcourse.experiments import generalization_gap, paired_comparison

    final = generalization_gap(history[history["epoch"] == history["epoch"].max()])
    labels = list(dict.fromkeys(final["label"]))
    table = _table(final, ["label"], ["test_acc", "test_loss", "train_acc", "acc_gap"])
    if len(labels) < 2:
        return table, "Only one setting: nothing to compare."
    base, other = labels[0], labels[1]
    a = final[final.label == other].sort_values("seed")
    b = final[final.label == base].sort_values("seed")
    gap_a, gap_b = a["acc_gap"].mean(), b["acc_gap"].mean()
    diff = a["test_acc"].mean() - b["test_acc"].mean()
    if len(a) >= 2 and len(a) == len(b):
        test = _paired(paired_comparison(a["test_acc"].to_numpy(), b["test_acc"].to_numpy()))
    else:
        test = "one seed"
    reading = (
        f"'{other}' ends with test accuracy {100 * diff:+.2f} points vs '{base}' "
        f"({test}); its train−test accuracy gap is "
        f"{100 * gap_a:.1f} vs {100 * gap_b:.1f} points."
    )
    return table, reading


def _read_rate_sweep(final) -> tuple[str, str]:
    from dropoutcourse import experiments as ex
    from dropoutcourse.experiments import summarize

    out_tables, readings = [], []
    for mode, group in final.groupby("mode", sort=False):
        out_tables.append(
            f"**{mode}**\n\n" + _table(group, ["hidden_rate", "units"], ["test_acc", "test_loss"])
        )
        s = summarize(group, "hidden_rate", "test_acc").sort_values("hidden_rate")
        best = s.loc[s["mean"].idxmax()]
        zero = s[s.hidden_rate == 0.0]
        top = s.iloc[-1]
        within = s[s["mean"] >= best["mean"] - best["std"]]["hidden_rate"]
        text = f"{mode}: best rate {best.hidden_rate:g} (test accuracy {_pm(best['mean'], best['std'])})"
        if not zero.empty:
            text += f", rate 0: {zero['mean'].iloc[0]:.3f}"
        text += f", rate {top.hidden_rate:g}: {top['mean']:.3f}; rates within one std of the best: {within.min():g}–{within.max():g}."
        failed = ex.untrained_rates(group)
        if failed:
            text += f" Rate(s) {', '.join(f'{r:g}' for r in failed)} did not train (chance-level accuracy)."
        readings.append(text)
    return "\n\n".join(out_tables), " ".join(readings)


def _read_data_size(final) -> tuple[str, str]:
    from dropoutcourse.experiments import dropout_gain, summarize

    table = _table(final, ["train_size", "hidden_rate"], ["test_acc", "test_loss"])
    gain = dropout_gain(final, by="train_size")
    if gain.empty:
        return table, "No dropout runs to compare with rate 0."
    g = summarize(gain, ["train_size", "hidden_rate"], "gain")
    g_table = _table(gain, ["train_size", "hidden_rate"], ["gain"])
    peak = g.loc[g["mean"].idxmax()]
    first, last = g.iloc[0], g.iloc[-1]
    shape = (
        "rises then falls (the paper's pattern)"
        if peak.train_size not in (first.train_size, last.train_size)
        and peak["mean"] > first["mean"]
        and peak["mean"] > last["mean"]
        else "does not rise and fall (unlike the paper)"
    )
    reading = (
        f"Gain in test accuracy from dropout (paired by seed): {100 * first['mean']:+.2f} ± "
        f"{100 * first['std']:.2f} points at {int(first.train_size)} examples, largest "
        f"{100 * peak['mean']:+.2f} ± {100 * peak['std']:.2f} at {int(peak.train_size)}, "
        f"{100 * last['mean']:+.2f} ± {100 * last['std']:.2f} at {int(last.train_size)}; the mean gain "
        f"{shape}."
    )
    return table + "\n\nGain (dropout − no dropout, same seed):\n\n" + g_table, reading


def _read_mc(df) -> tuple[str, str]:
    from dropoutcourse.experiments import summarize

    s = summarize(df, "k", "mc_error").sort_values("k")
    ws = df.drop_duplicates("seed")["ws_error"]
    ws_mean, ws_std = float(ws.mean()), float(ws.std()) if len(ws) > 1 else 0.0
    lines = ["| k | MC test error | n |", "|---|---|---|"]
    for _, r in s.iterrows():
        lines.append(f"| {int(r.k)} | {_pm(r['mean'], r['std'], 4)} | {int(r.n)} |")
    lines.append(f"| weight scaling | {_pm(ws_mean, ws_std, 4)} | {len(ws)} |")
    reached = s[s["mean"] <= ws_mean]
    last = s.iloc[-1]
    if reached.empty:
        where = f"MC averaging never reached the weight-scaling error (up to k = {int(last.k)})"
    else:
        where = f"MC averaging first matches weight scaling at k = {int(reached.k.iloc[0])}"
    diff = last["mean"] - ws_mean
    within = "within" if abs(diff) <= max(ws_std, last["std"]) else "outside"
    reading = (
        f"{where}; at k = {int(last.k)} the difference is {100 * diff:+.2f} points, {within} one "
        f"std ({100 * ws_std:.2f}) — weight scaling is {'a good' if within == 'within' else 'not a perfect'} "
        f"approximation of the model average here."
    )
    return "\n".join(lines), reading


def _read_regularizers(final) -> tuple[str, str]:
    from dropoutcourse.experiments import summarize

    table = _table(final, ["label"], ["test_acc", "test_loss", "train_acc"])
    s = summarize(final, "label", "test_acc").sort_values("mean", ascending=False)
    ranking = " > ".join(f"{r.label} ({r['mean']:.3f})" for _, r in s.iterrows())
    best = s.iloc[0]
    close = s[s["mean"] >= best["mean"] - best["std"]]["label"].tolist()
    reading = (
        f"Ranking by mean test accuracy: {ranking}. Within one std of the best: {', '.join(close)}."
    )
    return table, reading


# --------------------------------------------------------------------------- reproduce


def _read_kfold(cv) -> tuple[str, str]:
    """Mean ± std over folds per model, and paired, corrected tests against the baseline."""
    from dropoutcourse import experiments as ex

    folds = int(cv["fold"].max())
    table = _table(cv, ["model"], ["accuracy"])
    base = cv[cv.model == "baseline"].sort_values("fold")["accuracy"].to_numpy()
    parts = []
    for name in ("visible", "hidden"):
        other = cv[cv.model == name].sort_values("fold")["accuracy"].to_numpy()
        res = ex.paired_comparison(other, base, test_train_ratio=1 / (folds - 1))
        parts.append(
            f"{name} − baseline = {100 * res['mean_diff']:+.2f} points "
            f"(fold std of the difference {100 * res['std_diff']:.2f})"
        )
    return table, f"{folds} folds, the same for every model. " + "; ".join(parts) + "."


#: The claims that judge what each section shows (their rules, not a p < 0.05 of the report's).
SECTION_CLAIMS = {
    "compare": ("flagship",),
    "rate_sweep": ("rate_plateau",),
    "data_size_sweep": ("overfitting_needs_small_data", "digits_gain_is_small"),
    "mc_vs_weight_scaling": ("mc_vs_weight_scaling",),
    "regularizer_table": ("regularisers",),
    "keras_tutorial_cv": ("keras_tutorial_kfold",),
}


def claims_section(names, log: Callable[[str], None] = print) -> str:
    """The claims' verdicts, checks (with SE margins) and numbers, as Markdown."""
    from dropoutcourse import claims

    blocks = []
    for name in dict.fromkeys(names):
        log(f"  claim {name} ...")
        blocks.append("```\n" + str(claims.run(name)) + "\n```")
    return (
        "## What the claims conclude\n\nThe tables above describe; the verdicts are the "
        "claims' pre-declared rules on their own settings (default seed set; `python -m "
        "dropoutcourse claims` runs them on other sets).\n\n" + "\n\n".join(blocks) + "\n"
    )


# --------------------------------------------------------------------------- the sections
# Each section: title, run(seeds, full, overrides) -> tidy frame, draw(frame) -> Figure,
# read(frame) -> (markdown table, one-line reading computed from the numbers).


def _run_compare(seeds, full, kw):
    from dropoutcourse import experiments as ex

    return ex.compare(seeds=seeds, full=full, **kw)


def _draw_compare(hist):
    import matplotlib.pyplot as plt

    from dropoutcourse import plots

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    plots.learning_curves(hist, metrics=("train_loss", "test_loss"), ax=axes[0])
    plots.learning_curves(hist, metrics=("train_acc", "test_acc"), ax=axes[1])
    return fig


def _run_rate_sweep(seeds, full, kw):
    import pandas as pd

    from dropoutcourse import experiments as ex

    frames = [ex.rate_sweep(mode=m, seeds=seeds, full=full, **kw) for m in ("n_fixed", "pn_fixed")]
    return pd.concat(frames, ignore_index=True)


def _draw_rate_sweep(final):
    import matplotlib.pyplot as plt

    from dropoutcourse import experiments as ex
    from dropoutcourse import plots

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained", sharey=True)
    for ax, (mode, group) in zip(axes, final.groupby("mode", sort=False), strict=False):
        units = sorted(group["units"].unique())
        if mode == "n_fixed":
            detail = f"n = {units[0]} units"
        else:
            pn = int(group.loc[group.hidden_rate.idxmin(), "units"])
            detail = f"p·n ≈ {pn}: {units[0]}…{units[-1]} units"
        failed = ex.untrained_rates(group)
        shown = group[~group.hidden_rate.isin(failed)]
        name = "n fixed" if mode == "n_fixed" else "p·n fixed"
        note = f"; rate {', '.join(f'{r:g}' for r in failed)}: did not train" if failed else ""
        plots.sweep(shown, x="hidden_rate", y="test_acc", ax=ax, title=f"{name} ({detail}{note})")
    return fig


def _run_data_size(seeds, full, kw):
    from dropoutcourse import experiments as ex

    return ex.data_size_sweep(seeds=seeds, full=full, **kw)


def _draw_data_size(final):
    import matplotlib.pyplot as plt

    from dropoutcourse import experiments as ex
    from dropoutcourse import plots

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    plots.sweep(final, x="train_size", y="test_acc", by="hidden_rate", logx=True, ax=axes[0])
    gain = ex.dropout_gain(final, by="train_size")
    plots.sweep(
        gain,
        x="train_size",
        y="gain",
        by="hidden_rate",
        logx=True,
        ax=axes[1],
        title="Gain in test accuracy from dropout (same seed)",
    )
    axes[1].axhline(0.0, color="black", linewidth=0.8)
    return fig


def _run_mc(seeds, full, kw):
    from dropoutcourse import experiments as ex

    return ex.mc_vs_weight_scaling(seeds=seeds, full=full, **kw)


def _draw_mc(df):
    from dropoutcourse import plots

    return plots.mc_convergence(df).figure


def _run_regularizers(seeds, full, kw):
    from dropoutcourse import experiments as ex

    return ex.regularizer_table(seeds=seeds, full=full, **kw)


def _draw_points(by: str, y: str):
    def draw(frame):
        from dropoutcourse import plots

        return plots.bar_with_spread(frame, by=by, y=y, kind="point").figure

    return draw


def _run_kfold(seeds, full, kw):
    from dropoutcourse import experiments as ex

    return ex.keras_tutorial_cv(full=full, **kw)  # folds, not seeds


_SECTIONS = {
    "compare": ("Dropout vs no dropout", _run_compare, _draw_compare, _read_compare),
    "rate_sweep": (
        "Effect of the dropout rate (paper Fig. 9): n fixed and p·n fixed",
        _run_rate_sweep,
        _draw_rate_sweep,
        _read_rate_sweep,
    ),
    "data_size_sweep": (
        "Effect of the training-set size (paper Fig. 10)",
        _run_data_size,
        _draw_data_size,
        _read_data_size,
    ),
    "mc_vs_weight_scaling": (
        "Monte-Carlo averaging vs weight scaling (paper Fig. 11)",
        _run_mc,
        _draw_mc,
        _read_mc,
    ),
    "regularizer_table": (
        "Dropout vs other regularizers (paper Table 9)",
        _run_regularizers,
        _draw_points("label", "test_acc"),
        _read_regularizers,
    ),
    "keras_tutorial_cv": (
        "The Keras tutorial's k-fold comparison (folds, not seeds)",
        _run_kfold,
        _draw_points("model", "accuracy"),
        _read_kfold,
    ),
}


def reproduce(
    out: str | Path = "results",
    *,
    full: bool = False,
    n_seeds: int = 5,
    quick: bool = False,
    only: Sequence[str] | None = None,
    log: Callable[[str], None] = print,
) -> Path:
    """Run the experiments, write PNGs, CSVs and ``results.md`` into ``out``; return its path."""
    import matplotlib

    matplotlib.use("Agg")

    if n_seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {n_seeds}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = range(n_seeds)
    settings = (
        "quick (test) settings" if quick else ("full settings" if full else "default settings")
    )
    started = time.perf_counter()
    sections: list[str] = []
    todo = list(QUICK) if only is None else list(only)
    for number, (name, section) in enumerate(_SECTIONS.items(), start=1):
        if name not in todo:
            continue
        log(f"[{number}/{len(_SECTIONS)}] {section[0]} ...")
        run_kwargs = dict(QUICK[name]) if quick else {}
        sections.append(_run_section(name, section, out, seeds, full, run_kwargs, settings, log))

    if not quick:  # the quick (test) mode stays seconds long: no claim is trained there
        sections.append(claims_section([c for n in todo for c in SECTION_CLAIMS[n]], log))
    total = time.perf_counter() - started
    path = out / "results.md"
    path.write_text(_results_header(full, settings, n_seeds, total) + "\n" + "\n".join(sections))
    log(f"Wrote {path} ({total:.0f} s).")
    return path


def _run_section(
    name: str,
    section: tuple,
    out: Path,
    seeds: range,
    full: bool,
    run_kwargs: dict,
    settings: str,
    log: Callable[[str], None],
) -> str:
    """Run one section of :func:`reproduce`: write ``name``.csv and .png, return its Markdown."""
    from dropoutcourse import plots

    title, run, draw, read = section
    t0 = time.perf_counter()
    frame = run(seeds, full, run_kwargs)
    secs = time.perf_counter() - t0
    frame.to_csv(out / f"{name}.csv", index=False)
    plots.save_figure(draw(frame), out / f"{name}.png")
    table, reading = read(frame)
    text = (
        f"## {title}\n\n*{len(seeds)} seeds, {settings}, {secs:.0f} s.*\n\n"
        f"**Reading:** {reading}\n\n{table}\n\n![{title}]({name}.png)\n\nData: `{name}.csv`\n"
    )
    log(f"    {reading}")
    log(f"      done in {secs:.1f} s")
    return text


def _results_header(full: bool, settings: str, n_seeds: int, total: float) -> str:
    """The title and introduction of ``results.md``."""
    return (
        "# Dropout experiments, reproduced in miniature\n\n"
        f"Generated by `python -m dropoutcourse reproduce{' --full' if full else ''}` "
        f"({settings}, {n_seeds} seeds per setting, {total:.0f} s in total). "
        "Numbers are mean ± std over seeds (std with ddof = 1). The readings below are computed "
        "from these numbers; they are not written by hand and draw no conclusions: those are "
        "the claims' (last section). rate = drop probability "
        "(the paper's p = 1 − rate).\n"
    )


# --------------------------------------------------------------------------- figures


def figures(out: str | Path = "figures", log: Callable[[str], None] = print) -> list[Path]:
    """Draw the figures that need no training: network diagrams, masks, under/over-fitting."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)  # one stream, drawn from in this order by the figures below
    written = _network_figures(out, rng)
    written.append(_mask_figure(out, rng))
    written.append(_fit_figure(out, rng))
    for p in written:
        log(f"wrote {p}")
    return written


def _network_figures(out: Path, rng) -> list[Path]:
    """Paper Figure 1 (standard and thinned net) and three thinned nets of one network."""
    import matplotlib.pyplot as plt

    from dropoutcourse import pictures, plots

    written = []
    sizes = [4, 6, 6, 3]
    written.append(
        plots.save_figure(
            pictures.network_diagram(sizes, title="(a) Standard neural net"),
            out / "network_standard.png",
        )
    )
    masks = [
        (rng.random(n) >= rate).astype(int)
        for n, rate in zip(sizes[:-1], (0.2, 0.5, 0.5), strict=True)
    ] + [None]
    written.append(
        plots.save_figure(
            pictures.network_diagram(sizes, masks=masks, title="(b) After applying dropout"),
            out / "network_thinned.png",
        )
    )
    # three thinned nets sampled from the same network: the "ensemble" picture
    fig, axes = plt.subplots(1, 3, figsize=(12, 4), layout="constrained")
    for i, ax in enumerate(axes):
        m = [(rng.random(n) >= 0.5).astype(int) for n in sizes[1:-1]]
        pictures.network_diagram(sizes, masks=[None, *m, None], ax=ax, title=f"thinned net {i + 1}")
    written.append(plots.save_figure(fig, out / "network_ensemble.png"))
    return written


def _mask_figure(out: Path, rng) -> Path:
    """Inverted-dropout masks on a digit image, for rates 0, 0.2, 0.5, 0.8."""
    from sklearn.datasets import load_digits

    from dropoutcourse import pictures, plots

    digit = load_digits().images[0] / 16.0
    imgs, titles = [], []
    for rate in (0.0, 0.2, 0.5, 0.8):
        keep = rng.random(digit.shape) >= rate
        imgs.append(digit * keep / (1.0 - rate))
        titles.append(f"rate {rate:g}")
    return plots.save_figure(
        pictures.image_grid(imgs, titles=titles, ncols=4, suptitle="Inverted dropout on the input"),
        out / "dropout_masks.png",
    )


def _fit_figure(out: Path, rng) -> Path:
    """Under-, right- and over-fitting: polynomials of degree 1, 3 and 14 through 15 points."""
    import numpy as np

    from dropoutcourse import pictures, plots
    from dropoutcourse.demos import polynomial_predict

    x = np.sort(rng.uniform(-1, 1, 15))
    truth = np.sin(np.pi * x)
    y = truth + rng.normal(0, 0.25, x.size)
    grid = np.linspace(-1, 1, 200)
    preds = {f"degree {d}": polynomial_predict(x, y, d, grid) for d in (1, 3, 14)}
    return plots.save_figure(
        pictures.fit_demo(x, y, grid, preds, truth=np.sin(np.pi * grid)), out / "fit_demo.png"
    )
