"""How good are predicted probabilities? Calibration, proper scores and uncertainty, in NumPy.

Pure functions on NumPy arrays (no TensorFlow): give them what ``model.predict``,
``layers.mc_predict`` or an ensemble returns.

* ``probs``: shape ``(N, C)``, one probability vector per sample (rows sum to 1);
* ``labels``: shape ``(N,)``, integer classes in ``[0, C)``;
* ``sample_probs``: shape ``(T, N, C)``, T stochastic passes (MC dropout) or ensemble members;
* ``logits``: shape ``(N, C)``, the pre-softmax outputs.

Logarithms are natural (entropies in nats). SciPy (``fit_temperature``) and pandas
(``reliability_diagram``) are imported only by the function that needs them.
"""

from __future__ import annotations

import math

import numpy as np

from dropoutcourse._validate import check_labels, check_positive_float, check_positive_int

__all__ = [
    "expected_calibration_error",
    "reliability_diagram",
    "negative_log_likelihood",
    "brier_score",
    "predictive_entropy",
    "mutual_information",
    "auroc",
    "softmax",
    "fit_temperature",
]

#: Tolerance on ``sum(probs[i]) == 1`` (float32 softmax outputs are off by ~1e-7).
SUM_TOLERANCE = 1e-4


# --------------------------------------------------------------------------- input checks
def _real_array(x, name: str) -> np.ndarray:
    """``x`` as a float64 array; TypeError unless it is numeric, ValueError on NaN or inf."""
    arr = np.asarray(x)
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        bad = int(arr.size - np.isfinite(arr).sum())
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s)")
    return arr


def _check_probs(probs, name: str = "probs", ndim: int = 2) -> np.ndarray:
    """Probability vectors on the last axis: entries in [0, 1], each vector sums to 1."""
    arr = _real_array(probs, name)
    if arr.ndim != ndim or arr.shape[-1] < 2 or arr.size == 0:
        axes = "(N, C)" if ndim == 2 else "(T, N, C)"
        raise ValueError(
            f"{name} must have shape {axes} with N >= 1 samples and C >= 2 classes, "
            f"got shape {arr.shape}"
        )
    if arr.min() < 0.0 or arr.max() > 1.0:
        raise ValueError(
            f"{name} must hold probabilities in [0, 1], got values from {arr.min()} to {arr.max()}"
        )
    worst = np.abs(arr.sum(axis=-1) - 1.0).max()
    if worst > SUM_TOLERANCE:
        raise ValueError(
            f"{name} must sum to 1 over the last axis (classes) within {SUM_TOLERANCE}, "
            f"but a row is off by {worst:.3g}; pass probabilities (softmax outputs), not logits"
        )
    return arr


def _check_probs_and_labels(probs, labels) -> tuple[np.ndarray, np.ndarray]:
    probs = _check_probs(probs)
    labels = check_labels(labels, probs.shape[1], "labels")
    if len(labels) != len(probs):
        raise ValueError(
            f"labels must have one entry per row of probs, got {len(labels)} labels "
            f"for {len(probs)} rows"
        )
    return probs, labels


def _check_logits(logits, labels=None) -> tuple[np.ndarray, np.ndarray | None]:
    logits = _real_array(logits, "logits")
    if logits.ndim != 2 or logits.shape[1] < 2 or logits.size == 0:
        raise ValueError(f"logits must have shape (N, C) with N >= 1, C >= 2, got {logits.shape}")
    if labels is not None:
        labels = check_labels(labels, logits.shape[1], "labels")
        if len(labels) != len(logits):
            raise ValueError(f"labels has {len(labels)} entries for {len(logits)} rows of logits")
    return logits, labels


# --------------------------------------------------------------------------- calibration
def _bin_statistics(probs, labels, n_bins) -> tuple[np.ndarray, ...]:
    """Edges, and per bin: count, summed confidence, number correct."""
    probs, labels = _check_probs_and_labels(probs, labels)
    n_bins = check_positive_int(n_bins, "n_bins")
    confidence = probs.max(axis=1)  # top-class probability
    correct = probs.argmax(axis=1) == labels  # ties go to the lowest class index
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # bin m is (edges[m], edges[m+1]]: `side="left"` puts a value equal to an upper edge
    # into the bin below; 0 joins the first bin, 1.0 the last
    which = np.searchsorted(edges[1:-1], confidence, side="left")
    count = np.bincount(which, minlength=n_bins)
    conf_sum = np.bincount(which, weights=confidence, minlength=n_bins)
    n_correct = np.bincount(which, weights=correct, minlength=n_bins)
    return edges, count, conf_sum, n_correct


def expected_calibration_error(probs, labels, n_bins: int = 15) -> float:
    """Expected calibration error (Guo et al., 2017), equal-width bins over the confidence.

    ``ECE = Σ_m |B_m|/N · |acc(B_m) − conf(B_m)|``, where B_m holds the samples whose
    top-class probability falls in bin m, ``acc`` is the fraction of them predicted
    correctly (argmax == label) and ``conf`` their mean top-class probability.

    Bins are ``[0, 1/M], (1/M, 2/M], …, ((M−1)/M, 1]``: upper edges inclusive, lower edges
    exclusive except the first bin's (so a confidence of exactly 1.0 is in the last bin).
    Empty bins contribute nothing. 0 is perfect calibration, 1 the worst possible.
    """
    _, count, conf_sum, n_correct = _bin_statistics(probs, labels, n_bins)
    # |B_m|/N · |n_correct/|B_m| − conf_sum/|B_m|| = |n_correct − conf_sum| / N
    return float(np.abs(n_correct - conf_sum).sum() / count.sum())


def reliability_diagram(probs, labels, n_bins: int = 15):
    """The table behind a reliability diagram: one row per confidence bin.

    Columns ``bin_lo, bin_hi`` (the bin is ``(bin_lo, bin_hi]``, the first one closed),
    ``count``, ``confidence`` (mean top-class probability) and ``accuracy`` (fraction
    correct); empty bins have count 0 and NaN. Perfect calibration: accuracy == confidence.
    Same binning as :func:`expected_calibration_error`.
    """
    import pandas as pd

    edges, count, conf_sum, n_correct = _bin_statistics(probs, labels, n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 -> NaN for empty bins
        confidence = np.where(count > 0, conf_sum / count, np.nan)
        accuracy = np.where(count > 0, n_correct / count, np.nan)
    return pd.DataFrame(
        {
            "bin_lo": edges[:-1],
            "bin_hi": edges[1:],
            "count": count.astype(np.int64),
            "confidence": confidence,
            "accuracy": accuracy,
        }
    )


# --------------------------------------------------------------------------- proper scores
def negative_log_likelihood(probs, labels, eps: float = 1e-12) -> float:
    """Mean negative log-likelihood: ``−1/N Σ_i log p_i[y_i]``.

    The probability of the true class is clipped at ``eps`` first, so a confident mistake
    (p = 0) costs ``−log(eps)`` instead of infinity.
    """
    probs, labels = _check_probs_and_labels(probs, labels)
    eps = check_positive_float(eps, "eps")
    if eps >= 1.0:
        raise ValueError(f"eps must be a small positive number below 1, got {eps!r}")
    p_true = probs[np.arange(len(labels)), labels]
    return float(-np.log(np.maximum(p_true, eps)).mean())


def brier_score(probs, labels) -> float:
    """Multi-class Brier score: ``1/N Σ_i Σ_k (p_ik − [y_i = k])²``, in [0, 2].

    As in Lakshminarayanan et al. (2017) and Ovadia et al. (2019). For two classes it is
    twice the binary Brier score ``1/N Σ_i (p_i1 − y_i)²`` (sklearn's ``brier_score_loss``),
    because both columns make the same error.
    """
    probs, labels = _check_probs_and_labels(probs, labels)
    onehot = np.eye(probs.shape[1])[labels]
    return float(((probs - onehot) ** 2).sum(axis=1).mean())


# --------------------------------------------------------------------------- uncertainty
def _entropy(probs: np.ndarray) -> np.ndarray:
    # 0 · log 0 = 0 (the limit), so zero probabilities contribute nothing
    logs = np.log(np.where(probs > 0, probs, 1.0))
    return -(probs * logs).sum(axis=-1)


def predictive_entropy(probs) -> np.ndarray:
    """Entropy of each predicted distribution: ``H[p_i] = −Σ_k p_ik log p_ik``, shape (N,).

    0 for a one-hot prediction, ``log C`` for the uniform one. Pass the *mean* over MC
    passes to get the total predictive uncertainty.
    """
    return _entropy(_check_probs(probs))


def mutual_information(sample_probs) -> np.ndarray:
    """Epistemic uncertainty from T passes: ``I_i = H[mean_t p_ti] − mean_t H[p_ti]``, shape (N,).

    ``sample_probs`` has shape (T, N, C): T MC-dropout passes or ensemble members. The
    total uncertainty (entropy of the mean) minus the expected per-pass entropy (aleatoric
    part) leaves the disagreement between passes (the BALD score of Houlsby et al., 2011).
    It is ≥ 0 because entropy is concave, and 0 when every pass predicts the same.
    """
    sample_probs = _check_probs(sample_probs, "sample_probs", ndim=3)
    total = _entropy(sample_probs.mean(axis=0))
    expected = _entropy(sample_probs).mean(axis=0)
    return np.maximum(total - expected, 0.0)  # float rounding can dip below 0 by ~1e-16


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``values``; tied values share the average of their ranks."""
    unique, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    first = np.cumsum(counts) - counts  # ranks taken by the smaller values
    return (first + (counts + 1) / 2.0)[inverse.ravel()]


def auroc(scores_in, scores_out) -> float:
    """Area under the ROC curve for telling out-of-distribution samples from in-distribution.

    ``AUROC = P(s_out > s_in) + ½ P(s_out = s_in)`` for a random pair (higher score = more
    likely OOD, e.g. predictive entropy). Computed from ranks (Mann–Whitney U):
    ``(R_out − n_out(n_out + 1)/2) / (n_in · n_out)``, with R_out the sum of the OOD scores'
    ranks in the pooled sample. 0.5: no better than chance; 1: perfect separation.
    """
    scores_in = _real_array(scores_in, "scores_in")
    scores_out = _real_array(scores_out, "scores_out")
    for name, arr in (("scores_in", scores_in), ("scores_out", scores_out)):
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    n_in, n_out = len(scores_in), len(scores_out)
    ranks = _average_ranks(np.concatenate([scores_in, scores_out]))
    u_out = ranks[n_in:].sum() - n_out * (n_out + 1) / 2.0
    return float(u_out / (n_in * n_out))


# --------------------------------------------------------------------------- temperature
def softmax(logits, temperature: float = 1.0) -> np.ndarray:
    """``softmax(z / T)`` over the last axis: ``exp(z_k/T) / Σ_j exp(z_j/T)``.

    T > 1 flattens the distribution (less confident), T < 1 sharpens it; the argmax (and so
    the accuracy) never changes. The row maximum is subtracted first, so large logits do
    not overflow.
    """
    logits = _real_array(logits, "logits")
    if logits.ndim < 1 or logits.shape[-1] == 0:
        raise ValueError(f"logits must have a non-empty last axis (classes), got {logits.shape}")
    temperature = check_positive_float(temperature, "temperature")
    z = logits / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _nll_at_temperature(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    # −log softmax(z/T)[y] = logsumexp(z/T) − z_y/T, computed stably
    z = logits / temperature
    z_max = z.max(axis=1)
    logsumexp = z_max + np.log(np.exp(z - z_max[:, None]).sum(axis=1))
    return float((logsumexp - z[np.arange(len(labels)), labels]).mean())


def fit_temperature(logits, labels, *, max_temperature: float = 100.0) -> float:
    """Temperature scaling (Guo et al., 2017): the T > 0 that minimises the validation NLL.

    ``T* = argmin_T −1/N Σ_i log softmax(z_i / T)[y_i]``. One scalar, fitted on held-out
    data (never the training set, where the network is overconfident by construction);
    then predict with ``softmax(logits, T*)``. The search runs over ``log T`` in
    ``[−log max_temperature, log max_temperature]`` (bounded Brent), so T stays positive.
    """
    from scipy.optimize import minimize_scalar

    logits, labels = _check_logits(logits, labels)
    max_temperature = check_positive_float(max_temperature, "max_temperature")
    if max_temperature <= 1.0:
        raise ValueError(f"max_temperature must be > 1, got {max_temperature!r}")
    bound = math.log(max_temperature)
    result = minimize_scalar(
        lambda log_t: _nll_at_temperature(logits, labels, math.exp(log_t)),
        bounds=(-bound, bound),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(math.exp(result.x))
