"""Monte-Carlo dropout prediction: ``mc_predict`` and the layers it switches on."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import keras
import numpy as np
from keras import ops

from dropoutcourse._validate import check_positive_int, check_seed
from dropoutcourse.layers.drop_block import DropBlock2D
from dropoutcourse.layers.drop_connect_dense import DropConnectDense
from dropoutcourse.layers.drop_path import DropPath
from dropoutcourse.layers.scratch_dropout import ScratchDropout

#: Layers whose ``training=True`` behaviour is "inject noise" — the ones MC dropout switches on.
DROPOUT_LAYER_TYPES: tuple[type[keras.layers.Layer], ...] = (
    keras.layers.Dropout,
    keras.layers.GaussianDropout,
    keras.layers.SpatialDropout1D,
    keras.layers.SpatialDropout2D,
    keras.layers.SpatialDropout3D,
    keras.layers.AlphaDropout,
    keras.layers.GaussianNoise,
    ScratchDropout,
    DropBlock2D,
    DropConnectDense,
    DropPath,
)


def _all_layers(model: keras.layers.Layer) -> Iterator[keras.layers.Layer]:
    """Every layer of ``model``, descending into nested models (Sequential inside Functional…)."""
    seen = set()  # a layer shared between an outer and a nested model is listed once
    queue = list(getattr(model, "layers", []))
    while queue:
        layer = queue.pop(0)
        if id(layer) not in seen:
            seen.add(id(layer))
            yield layer
            queue.extend(getattr(layer, "layers", []))


@contextlib.contextmanager
def _dropout_always_on(model: keras.Model, seed: int | None):
    """Temporarily make every dropout-family layer of ``model`` behave as in training.

    We shadow each such layer's ``call`` with a small wrapper that forces ``training=True``.
    The model itself is then called with ``training=False``, so every *other* layer
    (BatchNormalization above all) stays in inference mode. This works for Sequential,
    Functional and subclassed models alike, because every layer is invoked through its
    ``call``. On exit the wrappers are removed and the random-generator states restored, so
    the model is left exactly as it was found.
    """
    patched, saved_states = [], []
    try:
        for i, layer in enumerate(_all_layers(model)):
            if not isinstance(layer, DROPOUT_LAYER_TYPES):
                continue
            original_call = layer.call

            def call_in_training_mode(*args, _call=original_call, **kwargs):
                kwargs["training"] = True
                return _call(*args, **kwargs)

            layer.call = call_in_training_mode
            patched.append(layer)
            generator = getattr(layer, "seed_generator", None)  # Keras' Dropout(0) has none
            if generator is not None:
                # saved with or without `seed`: the model's own stream is left as found
                saved_states.append((generator, np.array(generator.state.value)))
                if seed is not None:
                    # a distinct stream per layer, reproducible from `seed`
                    state = np.array([seed + i, 0], dtype=generator.state.dtype)
                    generator.state.assign(state)
        yield model
    finally:
        for layer in patched:
            del layer.call  # the class's own `call` shows through again
        for generator, state in saved_states:
            generator.state.assign(state)


def mc_predict(
    model: keras.Model,
    x,
    n_samples: int,
    *,
    seed: int | None = None,
    batch_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Monte-Carlo dropout (Gal & Ghahramani, 2016): mean and std over noisy forward passes.

    Only the dropout-family layers (``DROPOUT_LAYER_TYPES``) are switched to training
    mode; every other layer runs in inference mode. This avoids the classic pitfall of
    ``model(x, training=True)``, which also makes BatchNormalization normalise with the
    statistics of the current batch (and, under ``fit``, update its moving averages).

    Args:
        model: a built Keras model (Sequential, Functional or subclassed), single output.
        x: inputs, as you would pass them to ``model(x)``.
        n_samples: number of stochastic forward passes (>= 1).
        seed: makes the dropout masks reproducible; None draws fresh masks.
        batch_size: split ``x`` into batches of this size (None: one batch). Note that
            ``DropConnectDense`` shares one weight mask within a batch.

    Returns:
        ``(mean, std)``, NumPy arrays with the shape of the model output, taken over the
        ``n_samples`` passes.

    Raises ValueError for a model with RNN ``dropout``/``recurrent_dropout`` (not switched on
    here) and warns when the model has no dropout-family layer at all. The layers' random
    generators are restored afterwards, with or without ``seed``.
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    if seed is not None:
        seed = check_seed(seed)  # it becomes a SeedGenerator state, an unsigned integer
    _check_dropout_layers(model)
    samples = []
    with _dropout_always_on(model, seed):
        for _ in range(n_samples):
            samples.append(_one_pass(model, x, batch_size))
    samples = np.stack(samples)  # (n_samples, *output_shape)
    return samples.mean(axis=0), samples.std(axis=0)


def _check_dropout_layers(model: keras.Model) -> None:
    """ValueError for RNN dropout (not switched on); a warning (at mc_predict's caller) when the
    model has no dropout-family layer."""
    layers = list(_all_layers(model))
    rnn = [
        layer.name
        for layer in layers
        if getattr(layer, "dropout", 0) or getattr(layer, "recurrent_dropout", 0)
        if not isinstance(layer, DROPOUT_LAYER_TYPES)
    ]
    if rnn:
        # an RNN's dropout lives in its cell and is not switched on here: std would be 0
        raise ValueError(
            f"mc_predict cannot switch on the dropout/recurrent_dropout of {rnn}; "
            f"put a Dropout layer (noise_shape=(None, 1, features)) before the RNN instead"
        )
    if not any(isinstance(layer, DROPOUT_LAYER_TYPES) for layer in layers):
        warnings.warn(
            "mc_predict found no dropout-family layer in the model: every pass is the same "
            "and std is 0",
            UserWarning,
            stacklevel=3,  # the line that called mc_predict
        )


def _one_pass(model: keras.Model, x, batch_size: int | None) -> np.ndarray:
    """One forward pass (inference mode but for the layers switched on), in batches if asked."""

    def forward(inputs) -> np.ndarray:
        return ops.convert_to_numpy(model(inputs, training=False))

    if batch_size is None:
        return forward(x)
    n = len(keras.tree.flatten(x)[0])
    batches = [
        forward(keras.tree.map_structure(lambda a, s=start: a[s : s + batch_size], x))
        for start in range(0, n, batch_size)
    ]
    return np.concatenate(batches, axis=0)
