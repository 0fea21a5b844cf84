"""How much faster is ``fit_replicas`` than a loop of ``model.fit``? (A measurement, not a test.)

Two workloads, each timed side by side in this one run (the same machine state for both):

1. **8 seeds of a small MLP** (64-128-10, Dropout 0.5, Adam, 300 digits, 30 epochs, validation
   every epoch): the loop runs all 8 seeds.
2. **The course's 50-configuration sweep** written as Keras models: 10 dropout rates × 5 seeds of
   a 64-256-256-10 MLP on 300 digits, 100 epochs, batch 32, SGD lr 0.01 with momentum 0.9,
   validation every epoch. ``fit_replicas`` gets the list of 10 models (one per rate) and 5
   seeds; the loop times ``--fit-subset`` configurations (default 5, spread over the rates)
   and extrapolates linearly to 50.

Run:  .venv/bin/python benchmarks/fit_replicas_speed.py [--quick] [--skip-sweep]
Wall times depend on what else runs on the machine; CPU times (all threads) are printed too.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def clock(fn):
    """Run fn(); return (result, wall seconds, CPU seconds of all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def mlp(data, hidden, rate, optimizer):
    """The student's model: Dense(relu) → Dropout(rate) per hidden layer, softmax output."""
    import keras

    layers = [keras.Input((data.n_features,))]
    for width in hidden:
        layers += [keras.layers.Dense(width, activation="relu"), keras.layers.Dropout(rate)]
    layers.append(keras.layers.Dense(data.n_classes, activation="softmax"))
    model = keras.Sequential(layers)
    model.compile(
        optimizer=optimizer(), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def fit_loop(build, data, pairs, epochs):
    """``set_random_seed``; build; ``fit`` for every (rate, seed); final val accuracies."""
    import keras

    accs = []
    for rate, seed in pairs:
        keras.utils.set_random_seed(seed)
        history = build(rate).fit(
            data.x_train, data.y_train, epochs=epochs, batch_size=32,
            validation_data=(data.x_test, data.y_test), verbose=0,
        )  # fmt: skip
        accs.append(history.history["val_accuracy"][-1])
    return accs


def replicas(build, data, rates, seeds, epochs):
    import dropoutcourse

    runs = dropoutcourse.fit_replicas(
        [build(r) for r in rates], data.x_train, data.y_train, seeds=seeds, epochs=epochs,
        validation_data=(data.x_test, data.y_test), verbose=False,
    )  # fmt: skip
    return runs[runs.epoch == epochs]


def report(name, n, fast, fast_wall, fast_cpu, loop_wall, loop_cpu, scale=1.0):
    print(
        f"{name:<12}: {fast_wall:7.1f} s wall, {fast_cpu:7.1f} s CPU for {n} replicas | fit loop "
        f"{loop_wall * scale:7.1f} s wall, {loop_cpu * scale:7.1f} s CPU"
        + (f" (extrapolated ×{scale:.0f})" if scale != 1 else "")
        + f" → {loop_wall * scale / fast_wall:5.1f}× wall, {loop_cpu * scale / fast_cpu:5.1f}× CPU"
    )


def eight_seeds(data, epochs):
    import keras

    def build(rate):
        return mlp(data, (128,), rate, lambda: keras.optimizers.Adam())

    seeds = list(range(8))
    runs, w, c = clock(lambda: replicas(build, data, [0.5], seeds, epochs))
    accs, lw, lc = clock(lambda: fit_loop(build, data, [(0.5, s) for s in seeds], epochs))
    report("8 seeds", 8, runs, w, c, lw, lc)
    print(f"   sanity: mean final val accuracy replicas {runs.val_accuracy.mean():.3f}, "
          f"loop {np.mean(accs):.3f}")  # fmt: skip


def sweep(data, epochs, subset, hidden):
    import keras

    def build(rate):
        return mlp(data, hidden, rate, lambda: keras.optimizers.SGD(0.01, momentum=0.9))

    rates, seeds = [round(0.1 * k, 1) for k in range(10)], list(range(5))
    pairs = [(r, s) for r in rates for s in seeds]
    runs, w, c = clock(lambda: replicas(build, data, rates, seeds, epochs))
    picked = pairs[:: len(pairs) // subset][:subset]
    accs, lw, lc = clock(lambda: fit_loop(build, data, picked, epochs))
    report("50 configs", 50, runs, w, c, lw, lc, scale=len(pairs) / len(picked))
    same = runs.set_index(["model", "seed"]).loc[[(rates.index(r), s) for r, s in picked]]
    print(f"   sanity: mean final val accuracy on the {len(picked)} timed configs: replicas "
          f"{same.val_accuracy.mean():.3f}, loop {np.mean(accs):.3f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny settings (smoke test)")
    parser.add_argument("--skip-sweep", action="store_true", help="only the 8-seed workload")
    parser.add_argument("--fit-subset", type=int, default=5, help="fit-loop configs to time")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import dropoutcourse  # noqa: F401, I001  (before TensorFlow: keeps its import notice quiet)
    import tensorflow as tf  # noqa: I001

    from dropoutcourse.data import load_digits

    tf.constant(1.0) + 1.0  # warm TensorFlow up once so neither side pays for it
    data = load_digits(train_size=300, seed=0)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    eight_seeds(data, epochs=3 if args.quick else 30)
    if not args.skip_sweep:
        hidden = (64,) if args.quick else (256, 256)
        sweep(data, epochs=3 if args.quick else 100, subset=1 if args.quick else args.fit_subset,
              hidden=hidden)  # fmt: skip
    print(f"machine load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
