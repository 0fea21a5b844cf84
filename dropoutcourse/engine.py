"""Train many small MLPs ("replicas") at once, in one compiled TensorFlow computation.

Why: the course compares dropout rates, seeds and regularisers, e.g. 10 rates × 5 seeds.
Looping ``model.fit`` 50 times costs minutes on a laptop CPU, mostly in per-epoch and
per-step Python overhead. Here all R replicas share one architecture and every weight
tensor carries a leading *replica axis*: W has shape (R, n_in, n_out) and one batched matmul
runs all R networks side by side. A whole epoch (all mini-batch steps of all replicas) is
one ``tf.function`` call.

What each replica sees is exactly what a Keras ``Sequential`` of
``Dropout(input_rate) → [Dense(relu) → Dropout(hidden_rate)] × L → Dense(softmax)``
trained with ``fit(shuffle=True)`` would see: Glorot-uniform kernels and zero biases, its own
shuffle every epoch, mini-batches of ``batch_size`` (the last one smaller), inverted dropout
(kept units scaled by 1/(1-rate), so inference needs no rescaling), Keras' SGD-with-momentum
or Adam update rule, L2 = λ·Σ‖W‖² on every kernel, and a max-norm constraint applied after
each update. The statistics agree with Keras (``tests/test_engine.py``); the random bits
don't, because the random streams differ.

Replicas are independent: every replica draws its initial weights, its shuffles and its
dropout masks from its own ``seed``, so a replica's history does not depend on which other
replicas are trained alongside it. Two configs with the same seed share their initial
weights, shuffles and uniform draws ("common random numbers"), which makes differences
between, say, dropout rates less noisy.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from dropoutcourse import _replicas
from dropoutcourse._replica_train import Adam, EpochProgram, Momentum, train_epochs
from dropoutcourse._validate import (
    check_choice,
    check_finite_array,
    check_labels,
    check_nonneg_float,
    check_nonneg_int,
    check_positive_float,
    check_positive_int,
    check_rate,
    check_row_sets,
    check_same_length,
    check_seed,
    check_unit_interval,
)
from dropoutcourse.data import Dataset
from dropoutcourse.switches import effective_rate

__all__ = ["ReplicaConfig", "TrainResult", "train_replicas"]

# the random streams, the batching, Glorot and Adam are shared with the CNN trainer
_INIT, _SHUFFLE, _MASKS, _MC = _replicas.INIT, _replicas.SHUFFLE, _replicas.MASKS, _replicas.MC
_key = _replicas.key


@dataclass(frozen=True)
class ReplicaConfig:
    """Settings of one replica. ``rate`` values are *drop* probabilities in [0, 1).

    * ``hidden_rate``: dropout after every hidden layer; ``input_rate``: on the inputs.
    * ``l2``: λ in λ·Σ‖W‖², added to the loss for every kernel (not the biases).
    * ``max_norm``: cap on the L2 norm of each hidden unit's incoming weights (None: no cap).
    * ``gaussian``: multiplicative N(1, rate/(1-rate)) noise instead of Bernoulli masks.
    * ``train_size``: train on the first n training samples only (None: all of them).
    * ``seed``: initial weights, shuffling and masks. ``label``: free text for plots.
    """

    hidden_rate: float = 0.0
    input_rate: float = 0.0
    l2: float = 0.0
    max_norm: float | None = None
    gaussian: bool = False
    train_size: int | None = None
    seed: int = 0
    label: str = ""

    def __post_init__(self) -> None:
        # frozen dataclass: normalise the fields with object.__setattr__
        object.__setattr__(self, "hidden_rate", check_rate(self.hidden_rate, "hidden_rate"))
        object.__setattr__(self, "input_rate", check_rate(self.input_rate, "input_rate"))
        object.__setattr__(self, "l2", check_nonneg_float(self.l2, "l2"))
        if self.max_norm is not None:
            object.__setattr__(self, "max_norm", check_positive_float(self.max_norm, "max_norm"))
        if not isinstance(self.gaussian, bool | np.bool_):
            raise TypeError(f"gaussian must be True or False, got {self.gaussian!r}")
        if self.train_size is not None:
            object.__setattr__(
                self, "train_size", check_positive_int(self.train_size, "train_size")
            )
        object.__setattr__(self, "seed", check_seed(self.seed, "seed"))
        if not isinstance(self.label, str):
            raise TypeError(f"label must be a string, got {self.label!r}")


# --------------------------------------------------------------------------- the network


class _ReplicaMLP:
    """R MLPs with one architecture; parameters stacked along a leading replica axis."""

    def __init__(self, configs: Sequence[ReplicaConfig], sizes: Sequence[int]) -> None:
        import tensorflow as tf

        self.tf = tf
        self.configs = list(configs)
        self.sizes = list(sizes)  # [n_in, *hidden, n_out]
        self.n_layers = len(sizes) - 1
        self.kernels, self.biases = [], []
        seeds = [c.seed for c in self.configs]
        for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            # Glorot uniform, as Keras' Dense, from each replica's own stream
            w = _replicas.glorot_uniform(seeds, layer, (n_in, n_out), n_in, n_out)
            self.kernels.append(tf.Variable(w, name=f"kernel{layer}"))
            # biases as (R, 1, n_out) so that they broadcast over the sample axis
            zeros = np.zeros((len(self.configs), 1, n_out), np.float32)
            self.biases.append(tf.Variable(zeros, name=f"bias{layer}"))
        # dropout site `layer` multiplies the *input* of that layer: site 0 is input dropout,
        # site l ≥ 1 is dropout on the output of hidden layer l
        # the rates applied (0 inside switches.without_dropout); the history keeps the nominal ones
        self.site_rates = [[effective_rate(c.input_rate) for c in self.configs]] + [
            [effective_rate(c.hidden_rate) for c in self.configs] for _ in range(self.n_layers - 1)
        ]

    @property
    def params(self) -> list:
        return [p for pair in zip(self.kernels, self.biases, strict=True) for p in pair]

    def masks(self, keys: Sequence[int], counter, batch: int) -> list:
        """One (R, batch, width) multiplicative noise tensor per dropout site (None: no noise).

        Each replica draws from its own key, so its masks never depend on the other replicas.
        """
        tf = self.tf
        out = []
        n_sites = len(self.site_rates)
        for site, rates in enumerate(self.site_rates):
            width = self.sizes[site]
            if not any(rates):
                out.append(None)  # nobody drops here: skip the random numbers entirely
                continue
            per_replica = []
            for r, (config, rate) in enumerate(zip(self.configs, rates, strict=True)):
                # keys: Python ints, or an int64 tensor (R,) so one trace serves every MC seed
                seed = tf.stack([tf.cast(keys[r], tf.int64), counter * n_sites + site])
                if rate == 0.0:
                    per_replica.append(tf.ones((batch, width)))
                elif config.gaussian:
                    sigma = math.sqrt(rate / (1.0 - rate))
                    noise = tf.random.stateless_normal((batch, width), seed, 1.0, sigma)
                    per_replica.append(noise)
                else:
                    uniform = tf.random.stateless_uniform((batch, width), seed)
                    # inverted dropout: kept units are scaled up already during training
                    per_replica.append(_replicas.inverted_keep(uniform, rate))
            out.append(tf.stack(per_replica))
        return out

    def forward(self, x, masks: list | None = None):
        """Outputs (R, N, n_out) before softmax. ``x``: shared (N, F) or per replica (R, N, F)."""
        tf = self.tf
        h = x
        for layer, (w, b) in enumerate(zip(self.kernels, self.biases, strict=True)):
            if masks is not None and masks[layer] is not None:
                h = h * masks[layer]  # broadcasting turns a shared (N, F) x into (R, N, F)
            if len(h.shape) == 2:
                h = h[None]  # the same inputs for every replica: broadcast over the R kernels
            h = tf.matmul(h, w) + b  # batched over the replica axis
            if layer < self.n_layers - 1:
                h = tf.nn.relu(h)
        return h


# --------------------------------------------------------------------------- results


@dataclass
class TrainResult:
    """What :func:`train_replicas` returns.

    ``history``: one row per (replica, epoch), metrics in inference mode (no dropout) on the
    replica's full training subset and on the full test set; losses are the data loss
    (cross-entropy, or MSE for regression) without the L2 penalty.
    ``weights``: list of (kernel (R, n_in, n_out), bias (R, n_out)) NumPy pairs per layer.
    """

    history: pd.DataFrame
    configs: list[ReplicaConfig]
    weights: list[tuple[np.ndarray, np.ndarray]]
    n_classes: int
    _net: _ReplicaMLP = field(repr=False)

    def __repr__(self) -> str:
        # the default dataclass repr would print every weight array
        epochs = int(self.history["epoch"].max())
        acc = self.final()["test_acc"].mean()
        return (
            f"TrainResult({len(self.configs)} replicas, {epochs} epochs, "
            f"mean final test_acc={acc:.3f}; see .history, .final(), .predict_proba())"
        )

    def final(self) -> pd.DataFrame:
        """The last-epoch row of every replica."""
        last = self.history["epoch"].max()
        return self.history[self.history["epoch"] == last].reset_index(drop=True)

    def replica_weights(self, replica: int) -> list[np.ndarray]:
        """Weights of one replica in Keras order [W1, b1, W2, b2, ...] (for ``set_weights``)."""
        return [a[replica] for pair in self.weights for a in pair]

    def predict_proba(self, x: np.ndarray, *, mc_samples: int = 0, seed: int = 0) -> np.ndarray:
        """Class probabilities (R, N, C); regression: predictions (R, N, 1).

        ``mc_samples == 0``: one deterministic pass with dropout off — with inverted dropout
        this *is* the paper's weight-scaling rule. ``mc_samples == k``: the average of k
        stochastic passes with dropout on (Monte-Carlo model averaging, the paper's Fig. 11).
        """
        tf = self.tf
        x = np.asarray(x, np.float32).reshape(len(x), -1)
        if x.shape[1] != self._net.sizes[0]:
            raise ValueError(f"x must have {self._net.sizes[0]} features, got {x.shape[1]}")
        mc_samples = check_nonneg_int(mc_samples, "mc_samples")
        x_t = tf.constant(x)
        finish = (lambda z: z) if self.n_classes == 0 else tf.nn.softmax
        if mc_samples == 0:
            return finish(self._net.forward(x_t)).numpy()
        keys = tf.constant([_key(c.seed, _MC, seed) for c in self.configs], tf.int64)
        stochastic = self._stochastic_pass()
        total = sum(stochastic(x_t, tf.constant(k, tf.int64), keys) for k in range(mc_samples))
        return (total / mc_samples).numpy()

    def _stochastic_pass(self):
        """The compiled dropout-on pass, traced once: the MC seed enters as a tensor of keys."""
        if "_mc_pass" not in self.__dict__:
            tf = self.tf
            finish = (lambda z: z) if self.n_classes == 0 else tf.nn.softmax
            spec = (
                tf.TensorSpec([None, self._net.sizes[0]], tf.float32),
                tf.TensorSpec([], tf.int64),
                tf.TensorSpec([len(self.configs)], tf.int64),
            )

            @tf.function(input_signature=spec)
            def stochastic(x_t, counter, keys):
                masks = self._net.masks(keys, counter, tf.shape(x_t)[0])
                return finish(self._net.forward(x_t, masks))

            self.__dict__["_mc_pass"] = stochastic
        return self.__dict__["_mc_pass"]

    @property
    def tf(self):
        return self._net.tf


# --------------------------------------------------------------------------- training


def _check_dataset(data: Dataset) -> None:
    for attr in ("x_train", "y_train", "x_test", "y_test", "n_classes"):
        if not hasattr(data, attr):
            raise TypeError(f"data must be a dropoutcourse.data.Dataset, got {type(data)}")
    if data.n_classes == 1:
        raise ValueError("data.n_classes must be 0 (regression) or >= 2 (classification)")
    # NaN would surface only as "diverged"; mismatched or out-of-range labels as a TF error
    for part in ("train", "test"):
        x, y = getattr(data, f"x_{part}"), getattr(data, f"y_{part}")
        check_finite_array(np.asarray(x, np.float32), f"data.x_{part}")
        check_same_length(x, y, f"data.x_{part}", f"data.y_{part}")
        if data.n_classes >= 2:
            check_labels(y, data.n_classes, f"data.y_{part}")
        else:
            check_finite_array(np.asarray(y, np.float32), f"data.y_{part}")


def _check_configs(configs, hidden: tuple[int, ...]) -> list[ReplicaConfig]:
    configs = list(configs) if not isinstance(configs, ReplicaConfig) else [configs]
    if not configs:
        raise ValueError("configs must contain at least one ReplicaConfig, got an empty list")
    for c in configs:
        if not isinstance(c, ReplicaConfig):
            raise TypeError(f"configs must contain ReplicaConfig objects, got {type(c).__name__}")
    if not hidden and any(c.hidden_rate or c.max_norm is not None for c in configs):
        raise ValueError("hidden=() has no hidden units: hidden_rate and max_norm would do nothing")
    return configs


def _train_sizes(configs: list[ReplicaConfig], n_train: int) -> list[int]:
    """Each replica's number of training examples (its ``train_size``, or all of them)."""
    sizes = [n_train if c.train_size is None else c.train_size for c in configs]
    if max(sizes) > n_train:
        raise ValueError(
            f"train_size must be in [1, {n_train}] (the dataset's training samples), "
            f"got {max(sizes)}"
        )
    return sizes


def _samples(configs: list[ReplicaConfig], train_rows, n_train: int):
    """Each replica's training-set size, and its own rows (None: the first ``size`` rows)."""
    if train_rows is None:
        return _train_sizes(configs, n_train), None
    rows = _check_train_rows(train_rows, configs, n_train)
    return [len(own) for own in rows], rows


def _check_train_rows(train_rows, configs: list[ReplicaConfig], n_train: int) -> list[np.ndarray]:
    """``train_rows`` as one int array per replica: distinct rows of ``data.x_train``."""
    rows = check_row_sets(train_rows, n_train, len(configs))
    for r, (own, config) in enumerate(zip(rows, configs, strict=True)):
        if config.train_size is not None and config.train_size != len(own):
            raise ValueError(
                f"configs[{r}].train_size={config.train_size} disagrees with the "
                f"{len(own)} rows of train_rows[{r}]; leave train_size None"
            )
    return [own.astype(np.int32) for own in rows]


class _MLPObjective:
    """The MLP replicas' batch loss, update (with max-norm) and evaluation, as TF functions."""

    def __init__(
        self, net: _ReplicaMLP, data: Dataset, configs, sizes, optimizer, batch_size, rows=None
    ):
        import tensorflow as tf

        self.tf, self.net, self.optimizer, self.batch_size = tf, net, optimizer, batch_size
        self.regression = data.n_classes == 0
        # the training part of the evaluation set: the first max(sizes) rows, or all of them
        # when each replica has its own rows
        n_eval = max(sizes) if rows is None else len(data.x_train)
        x_train = np.asarray(data.x_train, np.float32).reshape(len(data.x_train), -1)[:n_eval]
        x_test = np.asarray(data.x_test, np.float32).reshape(len(data.x_test), -1)
        y_dtype = np.float32 if self.regression else np.int32
        self.y_train = tf.constant(np.asarray(data.y_train)[:n_eval].astype(y_dtype))
        y_all = np.concatenate([data.y_train[:n_eval], data.y_test]).astype(y_dtype)
        self.y_all, self.n_eval = tf.constant(y_all), n_eval
        self.x_train, self.x_all = (
            tf.constant(x_train),
            tf.constant(np.concatenate([x_train, x_test])),
        )
        self.mask_keys = [_key(c.seed, _MASKS) for c in configs]
        self.l2 = tf.constant([c.l2 for c in configs], tf.float32)
        self.any_l2 = any(c.l2 for c in configs)
        caps = [np.inf if c.max_norm is None else c.max_norm for c in configs]
        self.max_norm = tf.constant(caps, tf.float32)[:, None, None]
        self.any_max_norm = any(c.max_norm is not None for c in configs)
        # the replica's own training samples in the evaluation: weight 1/n on each of them
        eval_w = np.zeros((len(configs), n_eval), np.float32)
        for r, n in enumerate(sizes):
            eval_w[r, slice(n) if rows is None else rows[r]] = 1.0 / n
        self.eval_w = tf.constant(eval_w)
        # replica r's batch index i means row rows[r][i] of x_train (None: row i itself)
        self.rows = None
        if rows is not None:
            table = np.zeros((len(configs), max(sizes)), np.int32)
            for r, own in enumerate(rows):
                table[r, : len(own)] = own
            self.rows = tf.constant(table)
        # with equal training-set sizes every replica takes every step: no need to mask updates
        self.all_active = len(set(sizes)) == 1

    def per_sample_loss(self, out, y):
        tf = self.tf
        if self.regression:
            return tf.square(out[..., 0] - y)
        return tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.broadcast_to(y, out.shape[:-1]), logits=out
        )

    def loss(self, idx, wts, counter):
        """Sum over replicas of each one's batch loss (+ its L2 penalty)."""
        tf, net = self.tf, self.net
        if self.rows is not None:
            idx = tf.gather(self.rows, idx, batch_dims=1)  # the replica's own rows
        xb = tf.gather(self.x_train, idx)  # (R, B, F): each replica its own batch
        masks = net.masks(self.mask_keys, counter, self.batch_size)
        out = net.forward(xb, masks)
        loss = tf.reduce_sum(wts * self.per_sample_loss(out, tf.gather(self.y_train, idx)), 1)
        if self.any_l2:
            loss += self.l2 * tf.add_n([tf.reduce_sum(w**2, axis=[1, 2]) for w in net.kernels])
        return tf.reduce_sum(loss)

    def update(self, grads, wts) -> None:
        tf = self.tf
        # a replica with fewer samples has run out of batches: it must not move at all
        active = (tf.reduce_sum(wts, axis=1) > 0)[:, None, None]
        fused = self.all_active and isinstance(self.optimizer, Momentum)
        self.optimizer.apply(grads, None if fused else active)
        if self.any_max_norm:
            for w in self.net.kernels[:-1]:  # the hidden units' incoming weights
                norms = tf.sqrt(tf.reduce_sum(w**2, axis=1, keepdims=True))  # (R, 1, out)
                scale = tf.where(active & (norms > self.max_norm), self.max_norm / norms, 1.0)
                w.assign(w * scale)

    def evaluate(self):
        """(4, R): train loss, train accuracy, test loss, test accuracy, in inference mode."""
        tf, n = self.tf, self.n_eval
        out = self.net.forward(self.x_all)  # no masks: inverted dropout needs no rescaling
        loss = self.per_sample_loss(out, self.y_all)
        if self.regression:
            correct = tf.fill(loss.shape, np.nan)
        else:
            correct = tf.argmax(out, axis=-1, output_type=tf.int32) == self.y_all
            correct = tf.cast(correct, tf.float32)
        return tf.stack(
            [
                tf.reduce_sum(loss[:, :n] * self.eval_w, axis=1),
                tf.reduce_sum(correct[:, :n] * self.eval_w, axis=1),
                tf.reduce_mean(loss[:, n:], axis=1),
                tf.reduce_mean(correct[:, n:], axis=1),
            ]
        )


def _optimizer(name: str, params, learning_rate: float, momentum: float, n_replicas: int):
    if name == "sgd":
        return Momentum(params, learning_rate, momentum)
    return Adam(params, learning_rate, step_shape=(n_replicas, 1, 1))


def train_replicas(
    data: Dataset,
    configs: Sequence[ReplicaConfig],
    *,
    hidden: Sequence[int] = (256, 256),
    epochs: int = 100,
    batch_size: int = 32,
    optimizer: str = "sgd",
    learning_rate: float = 0.01,
    momentum: float = 0.9,
    eval_every: int = 1,
    verbose: bool = True,
    train_rows: Sequence[Sequence[int]] | None = None,
) -> TrainResult:
    """Train one MLP per config, all at once; see the module docstring for the semantics.

    ``optimizer``: "sgd" (Keras SGD with ``momentum``: v ← m·v − lr·g; w ← w + v) or "adam"
    (Keras defaults β₁=0.9, β₂=0.999, ε=1e-7; ``momentum`` ignored). Softmax cross-entropy
    when ``data.n_classes >= 2``, mean squared error when ``data.n_classes == 0``.
    ``eval_every``: measure the metrics after every ``eval_every``-th epoch and after the last
    one (the history then has rows for those epochs only); evaluating costs about an epoch, so
    a sweep that needs only the final numbers runs almost twice as fast with ``eval_every=10``.
    ``verbose``: a tqdm progress bar over epochs (notebooks pass ``verbose=False``).
    ``train_rows``: replica r trains (and is scored) on rows ``train_rows[r]`` of ``x_train``,
    e.g. a fresh sample per seed; None: on the first ``train_size`` rows.
    """
    _check_dataset(data)
    hidden = tuple(check_positive_int(h, "hidden (each layer width)") for h in hidden)
    configs = _check_configs(configs, hidden)
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    eval_every = check_positive_int(eval_every, "eval_every")
    optimizer = check_choice(optimizer, "optimizer", ("sgd", "adam"))
    learning_rate = check_positive_float(learning_rate, "learning_rate")
    momentum = check_unit_interval(momentum, "momentum")
    sizes, train_rows = _samples(configs, train_rows, len(data.x_train))
    n_in = int(np.prod(np.shape(data.x_train)[1:]))
    net = _ReplicaMLP(configs, [n_in, *hidden, 1 if data.n_classes == 0 else data.n_classes])
    update_rule = _optimizer(optimizer, net.params, learning_rate, momentum, len(configs))
    objective = _MLPObjective(net, data, configs, sizes, update_rule, batch_size, train_rows)
    program = EpochProgram(
        net.params, objective.loss, objective.update, objective.evaluate, (4, len(configs))
    )
    evaluated = [e for e in range(1, epochs + 1) if e % eval_every == 0 or e == epochs]
    metrics = train_epochs(
        program,
        [c.seed for c in configs],
        sizes,
        batch_size,
        epochs,
        evaluated,
        verbose=verbose,
        postfix=lambda m: {"test_acc": f"{m[3].mean():.3f}"},
    )
    history = _history(configs, sizes, metrics, evaluated)
    _warn_if_diverged(history)
    weights = [
        (w.numpy(), b.numpy()[:, 0, :]) for w, b in zip(net.kernels, net.biases, strict=True)
    ]
    return TrainResult(history, configs, weights, data.n_classes, net)


def _warn_if_diverged(history: pd.DataFrame) -> None:
    diverged = sorted(history.loc[~np.isfinite(history["train_loss"]), "replica"].unique())
    if diverged:
        warnings.warn(
            f"replicas {diverged} diverged (non-finite loss): lower learning_rate or set "
            f"max_norm (the paper pairs dropout + high learning rates with max-norm)",
            RuntimeWarning,
            stacklevel=3,
        )


_COLUMNS = [
    "replica",
    "label",
    "seed",
    "hidden_rate",
    "input_rate",
    "l2",
    "max_norm",
    "gaussian",
    "train_size",
    "epoch",
    "train_loss",
    "train_acc",
    "test_loss",
    "test_acc",
]


def _history(
    configs: list[ReplicaConfig], sizes: list[int], metrics: np.ndarray, epochs: list[int]
) -> pd.DataFrame:
    """Tidy table: one row per (replica, evaluated epoch); epochs counted from 1."""
    rows = []
    for r, (config, n) in enumerate(zip(configs, sizes, strict=True)):
        settings = asdict(config) | {"train_size": n}
        for i, e in enumerate(epochs):
            loss_tr, acc_tr, loss_te, acc_te = metrics[i, :, r]
            rows.append(
                settings
                | {
                    "replica": r,
                    "epoch": e,
                    "train_loss": loss_tr,
                    "train_acc": acc_tr,
                    "test_loss": loss_te,
                    "test_acc": acc_te,
                }
            )
    return pd.DataFrame(rows, columns=_COLUMNS)
