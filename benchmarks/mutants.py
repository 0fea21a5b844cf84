"""Plant classic dropout bugs one at a time and check that the fast tests catch every one.

Not part of ``make test`` (it runs the fast tests once per mutant: about 10-20 minutes on two
cores). Each mutant is a one-line change of the package's source, applied to a scratch copy
of the repository; the fast tests (``-m "not slow"``) of the test files listed with it run
against that copy and must fail. A mutant whose tests all pass *survived*: a bug the suite
would not notice.

    .venv/bin/python benchmarks/mutants.py            # every mutant
    .venv/bin/python benchmarks/mutants.py --list     # print the list
    .venv/bin/python benchmarks/mutants.py --only 3 7 # some of them

Exit status 1 if any mutant survives (or no longer applies because the code moved).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutant:
    bug: str
    path: str
    original: str
    mutated: str
    tests: tuple[str, ...]


CNN_TESTS = ("tests/replica_fit/test_conv_masks.py",)
VARIANT_TESTS = ("tests/test_variant_fit.py",)
REPLICA_TESTS = ("tests/replica_fit/test_random_ops.py", "tests/replica_fit/test_fit_replicas.py")
REFERENCE_TESTS = ("tests/test_reference.py", "tests/test_reference_vs_keras.py")
SCRATCH_DROPOUT_TESTS = ("tests/layers/test_scratch_dropout.py",)
DROP_BLOCK_TESTS = ("tests/layers/test_drop_block.py",)
DROP_PATH_TESTS = ("tests/layers/test_drop_path.py",)

MUTANTS: list[Mutant] = [
    Mutant(
        "reference: inverted dropout without the 1/(1 - rate) rescale",
        "dropoutcourse/reference.py",
        "    mask = (_bernoulli_keep(x.shape, rate, rng) / (1.0 - rate)).astype(x.dtype)",
        "    mask = _bernoulli_keep(x.shape, rate, rng).astype(x.dtype)",
        REFERENCE_TESTS,
    ),
    Mutant(
        "reference: rate used as the keep probability",
        "dropoutcourse/reference.py",
        "    return rng.random(shape) >= rate",
        "    return rng.random(shape) < rate",
        REFERENCE_TESTS,
    ),
    Mutant(
        "reference: backward pass forgets the mask",
        "dropoutcourse/reference.py",
        '    check_broadcastable(mask, dout, "mask", "dout")\n    return dout * mask',
        '    check_broadcastable(mask, dout, "mask", "dout")\n    return dout',
        REFERENCE_TESTS,
    ),
    Mutant(
        "reference: Gaussian sigma = rate instead of sqrt(rate / (1 - rate))",
        "dropoutcourse/reference.py",
        "    sigma = np.sqrt(rate / (1.0 - rate))",
        "    sigma = rate",
        REFERENCE_TESTS,
    ),
    Mutant(
        "layers: ScratchDropout without the rescale",
        "dropoutcourse/layers/scratch_dropout.py",
        "        return inputs * mask / (1.0 - self.rate)",
        "        return inputs * mask",
        SCRATCH_DROPOUT_TESTS,
    ),
    Mutant(
        "layers: ScratchDropout also drops at inference",
        "dropoutcourse/layers/scratch_dropout.py",
        "        if not training or self.rate == 0.0:\n            return inputs\n        shape",
        "        if self.rate == 0.0:\n            return inputs\n        shape",
        SCRATCH_DROPOUT_TESTS,
    ),
    Mutant(
        "DropBlock: gamma divided by block_size instead of block_size squared",
        "dropoutcourse/layers/drop_block.py",
        "    gamma = rate / bs**2 * (height * width)",
        "    gamma = rate / bs * (height * width)",
        (*CNN_TESTS, *DROP_BLOCK_TESTS),
    ),
    Mutant(
        "fit_replicas: spatial dropout draws one value per pixel (noise_shape ignored)",
        "dropoutcourse/replica_fit/random_ops.py",
        "    shape = tf_random._get_concrete_noise_shape(inputs, noise_shape)",
        "    shape = tf.shape(inputs)",
        CNN_TESTS,
    ),
    Mutant(
        "fit_replicas: dropout masks without the 1/(1 - rate) rescale",
        "dropoutcourse/replica_fit/random_ops.py",
        "    return inputs * keep / tf.cast(1.0 - rate, inputs.dtype)",
        "    return inputs * keep",
        REPLICA_TESTS,
    ),
    Mutant(
        "fit_replicas: every replica, step and layer draws the same mask",
        "dropoutcourse/replica_fit/random_ops.py",
        "    keep = tf.cast(hashed_uniform(shape, draw_seed(seed)) >= rate, inputs.dtype)",
        "    keep = tf.cast(hashed_uniform(shape, tf.constant([1, 2])) >= rate, inputs.dtype)",
        REPLICA_TESTS,
    ),
    Mutant(
        "fit_replicas: Gaussian dropout sigma = rate",
        "dropoutcourse/replica_fit/random_ops.py",
        "        stddev = tf.sqrt(rate / (1.0 - rate))",
        "        stddev = rate",
        REPLICA_TESTS,
    ),
    Mutant(
        "fit_replicas: dropout left on when measuring the validation metrics",
        "dropoutcourse/replica_fit/loop.py",
        "            loss, sums, _ = _replica_stats(group, xr, yr, training=False)",
        "            loss, sums, _ = _replica_stats(group, xr, yr, training=True)",
        REPLICA_TESTS,
    ),
    Mutant(
        "fit_replicas: dropout left on in the replicas' predictions (the experiments' scores)",
        "dropoutcourse/replica_fit/loop.py",
        "        return _call_replica(group, *args, x, training=False)[0]",
        "        return _call_replica(group, *args, x, training=True)[0]",
        (*REPLICA_TESTS, "tests/test_config_fit.py"),
    ),
    Mutant(
        "fit_replicas: shared_start ignored (paired arms start from different weights)",
        "dropoutcourse/replica_fit/api.py",
        "        share_start(groups, _uncompiled(models[0] if shared_start is True else shared_start))",
        "        pass",
        (*REPLICA_TESTS, "tests/test_config_fit.py"),
    ),
    Mutant(
        "experiments' scores: training set scored on every row, not the replica's own",
        "dropoutcourse/config_fit.py",
        "                        own = rows[r]",
        "                        own = slice(None, n)",
        ("tests/test_config_fit.py",),
    ),
    Mutant(
        "models.mlp: max-norm on the outgoing instead of the incoming weights",
        "dropoutcourse/models.py",
        "    constraint = keras.constraints.MaxNorm(a.max_norm, axis=0) if a.max_norm is not None else None",
        "    constraint = keras.constraints.MaxNorm(a.max_norm, axis=1) if a.max_norm is not None else None",
        ("tests/test_models.py",),
    ),
    Mutant(
        "models: SGD without momentum",
        "dropoutcourse/models.py",
        "        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum)",
        "        return keras.optimizers.SGD(learning_rate=learning_rate)",
        ("tests/test_models.py",),
    ),
    Mutant(
        "fit_variants: variants of a seed start from their own weights (shared_start ignored)",
        "dropoutcourse/variant_fit.py",
        "        shared_start=shared_start,",
        "        shared_start=False,",
        VARIANT_TESTS,
    ),
    Mutant(
        "final_scores: every variant scored with the first variant's replicas (training set)",
        "dropoutcourse/variant_fit.py",
        "        train = fitted.predict(data.x_train, model=m)",
        "        train = fitted.predict(data.x_train, model=0)",
        VARIANT_TESTS,
    ),
    Mutant(
        "experiments: dropout gain with the sign flipped",
        "dropoutcourse/experiments.py",
        '    merged["gain"] = merged[metric] - merged[f"{metric}_base"]',
        '    merged["gain"] = merged[f"{metric}_base"] - merged[metric]',
        ("tests/test_experiments.py",),
    ),
    Mutant(
        "stats: confidence interval without the 1/n (sd instead of the standard error)",
        "dropoutcourse/stats.py",
        "* sd * math.sqrt(1.0 / n + ratio)",
        "* sd * math.sqrt(1.0 + ratio)",
        ("tests/test_stats.py", "tests/test_claims.py"),
    ),
    Mutant(
        "layers: DropPath draws one value per element instead of one per sample",
        "dropoutcourse/layers/drop_path.py",
        "        shape = (ops.shape(inputs)[0],) + (1,) * (len(inputs.shape) - 1)",
        "        shape = ops.shape(inputs)",
        DROP_PATH_TESTS,
    ),
]


def _copy_repo(dest: Path) -> None:
    ignore = shutil.ignore_patterns(
        ".git", ".venv", "node_modules", "build", ".claims-cache", "__pycache__", "results"
    )
    for name in (
        "dropoutcourse",
        "tests",
        "conftest.py",
        "pyproject.toml",
        "homework",
        "slides",
        "tools",
    ):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)


def run_mutant(m: Mutant, python: str) -> tuple[str, float]:
    """'caught', 'SURVIVED' or 'stale' (the original line is no longer in the source)."""
    with tempfile.TemporaryDirectory(prefix="mutant-") as tmp:
        work = Path(tmp)
        _copy_repo(work)
        target = work / m.path
        text = target.read_text()
        if text.count(m.original) != 1:
            return "stale", 0.0
        target.write_text(text.replace(m.original, m.mutated))
        env = {k: v for k, v in os.environ.items() if k != "DROPOUTCOURSE_CLAIMS_CACHE"}
        env |= {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"}
        cmd = [python, "-m", "pytest", "-x", "-q", "-m", "not slow", "-p", "no:cacheprovider"]
        cmd += ["-o", "addopts=", *m.tests]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
        if done.returncode == 5:  # no tests collected: the list is wrong, not the code
            return "stale", elapsed
        return ("caught" if done.returncode != 0 else "SURVIVED"), elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="print the mutants and exit")
    parser.add_argument("--only", type=int, nargs="+", help="mutant numbers to run (from 1)")
    args = parser.parse_args(argv)
    chosen = list(enumerate(MUTANTS, 1))
    if args.only:
        chosen = [(i, m) for i, m in chosen if i in set(args.only)]
    if args.list:
        for i, m in chosen:
            print(f"{i:2d}. {m.bug}  ({m.path}; tests: {', '.join(m.tests)})")
        return 0
    results = []
    for i, m in chosen:
        status, elapsed = run_mutant(m, sys.executable)
        results.append(status)
        print(f"{i:2d}. {status:8s} {elapsed:5.0f} s  {m.bug}", flush=True)
    caught = results.count("caught")
    print(f"\n{caught}/{len(results)} mutants caught")
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
