"""How much faster is the replica engine than looping ``model.fit``? (Not a test: a measurement.)

The sweep of the course: 10 dropout rates × 5 seeds of a 64-256-256-10 MLP on 300 digits,
100 epochs, batch 32, SGD with momentum, test metrics every epoch (``--eval-every N``: every
N epochs and at the end, on both sides).

* engine: all 50 replicas in one ``train_replicas`` call (compilation included);
* fit loop: one Keras model per configuration, ``model.fit(..., validation_data=test)`` so
  that it also measures the test set every epoch. To keep the script short, only
  ``--fit-subset`` configurations (default 5, spread over the rates) are timed and the time
  is extrapolated linearly to all 50 — the output says so.

Run:  make benchmark   or   .venv/bin/python benchmarks/engine_speed.py [--quick]
Wall times depend on what else runs on the machine; CPU times (all threads) are printed too.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

# The engine's default (and experiments.TRAINING's), given to both sides: with 0.05 and momentum
# 0.9 the 2×256 nets with dropout ≥ 0.5 diverge after ~25 epochs (Keras and engine alike).
LEARNING_RATE = 0.01


def keras_fit(data, rate: float, seed: int, hidden, epochs: int, eval_every: int = 1) -> float:
    """Train one Keras MLP with ``fit``; return its final test accuracy."""
    import keras

    keras.utils.set_random_seed(seed)
    layers = [keras.Input((data.n_features,))]
    for width in hidden:
        layers += [keras.layers.Dense(width, activation="relu"), keras.layers.Dropout(rate)]
    layers.append(keras.layers.Dense(data.n_classes, activation="softmax"))
    model = keras.Sequential(layers)
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(
        data.x_train,
        data.y_train,
        epochs=epochs,
        batch_size=32,
        validation_data=(data.x_test, data.y_test),
        validation_freq=eval_every,
        verbose=0,
    )
    return history.history["val_accuracy"][-1]


def clock(fn):
    """Run fn(); return (result, wall seconds, CPU seconds of all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sweep (smoke test, ~1 min)")
    parser.add_argument("--fit-subset", type=int, default=5, help="fit-loop configs to time")
    parser.add_argument(
        "--no-onednn",
        action="store_true",
        help="turn TensorFlow's oneDNN kernels off (the course keeps them on; importing "
        "dropoutcourse first hides their import notice)",
    )
    parser.add_argument(
        "--eval-every",
        type=int,
        default=1,
        help="measure the test set every N epochs, on both sides (engine eval_every, "
        "Keras validation_freq); a sweep needs only the final numbers",
    )
    args = parser.parse_args()
    if "tensorflow" in sys.modules:
        raise RuntimeError("TensorFlow was imported too early to choose the oneDNN setting")
    # read by TensorFlow at import time, so set before dropoutcourse/TF are imported
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0" if args.no_onednn else "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import dropoutcourse  # noqa: F401  (before TensorFlow: keeps its import notice quiet)
    from dropoutcourse.data import load_digits
    from dropoutcourse.engine import ReplicaConfig, train_replicas

    if args.quick:
        rates, seeds, hidden, epochs, subset = [0.0, 0.5], [0, 1], (64,), 5, 1
    else:
        rates = [round(0.1 * k, 1) for k in range(10)]  # 0.0, 0.1, ..., 0.9
        seeds, hidden, epochs, subset = range(5), (256, 256), 100, args.fit_subset
    data = load_digits(train_size=300, seed=0)
    configs = [ReplicaConfig(hidden_rate=r, seed=s) for r in rates for s in seeds]
    n = len(configs)
    arch = "-".join(str(k) for k in (data.n_features, *hidden, data.n_classes))
    print(f"sweep: {len(rates)} rates × {len(seeds)} seeds = {n} configs, {arch} MLP, ")
    print(
        f"       {data.n_train} digits, {epochs} epochs, batch 32, SGD lr {LEARNING_RATE} momentum 0.9"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start, "
        f"oneDNN {'off' if args.no_onednn else 'on (course default)'}, "
        f"test set measured every {args.eval_every} epoch(s) on both sides"
    )

    # warm TensorFlow up once (import, thread pools) so neither side pays for it
    import tensorflow as tf

    tf.constant(1.0) + 1.0

    result, eng_wall, eng_cpu = clock(
        lambda: train_replicas(
            data,
            configs,
            hidden=hidden,
            epochs=epochs,
            learning_rate=LEARNING_RATE,
            eval_every=args.eval_every,
            verbose=True,
        )
    )
    eng_acc = result.final()["test_acc"].mean()
    print(f"engine   : {eng_wall:7.1f} s wall, {eng_cpu:7.1f} s CPU for all {n} configs")

    # spread the timed subset over the sweep (every k-th configuration)
    picked = configs[:: max(1, n // subset)][:subset]
    accs, fit_wall, fit_cpu = clock(
        lambda: [
            keras_fit(data, c.hidden_rate, c.seed, hidden, epochs, args.eval_every) for c in picked
        ]
    )
    scale = n / len(picked)
    print(
        f"fit loop : {fit_wall:7.1f} s wall, {fit_cpu:7.1f} s CPU for {len(picked)} configs "
        f"→ extrapolated ×{scale:.0f}: {fit_wall * scale:7.1f} s wall, {fit_cpu * scale:7.1f} s CPU"
    )
    print(
        f"speed-up : {fit_wall * scale / eng_wall:5.1f}× (wall), "
        f"{fit_cpu * scale / eng_cpu:5.1f}× (CPU)"
    )
    picked_acc = (
        result.final()
        .set_index(["hidden_rate", "seed"])
        .loc[[(c.hidden_rate, c.seed) for c in picked], "test_acc"]
    )
    print(
        f"sanity   : mean final test accuracy on the timed configs — engine "
        f"{picked_acc.mean():.3f}, fit {np.mean(accs):.3f}; engine over all {n}: {eng_acc:.3f}"
    )
    print(f"machine load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
