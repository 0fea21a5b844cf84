"""Dropout-family Keras 3 layers written from scratch, and Monte-Carlo dropout prediction.

Every layer here follows the Keras conventions:

* ``rate`` is the probability of *dropping* a unit (or a weight, or a block centre);
* the noise is applied only when ``call(..., training=True)`` — ``model.fit`` does that for
  you, while ``model.predict``, ``model.evaluate`` and ``model(x)`` run in inference mode;
* inverted dropout: kept values are scaled by ``1 / (1 - rate)`` *during training*, so that
  nothing has to be rescaled at inference time;
* randomness comes from a ``keras.random.SeedGenerator`` owned by the layer, which is what
  makes the layers work inside ``tf.function`` / ``fit`` (and on every Keras backend).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import keras
import numpy as np
from keras import ops

from dropoutcourse._replicas import dropblock_blocks
from dropoutcourse._validate import check_positive_int, check_rate, check_seed

__all__ = [
    "ScratchDropout",
    "DropBlock2D",
    "DropConnectDense",
    "DROPOUT_LAYER_TYPES",
    "mc_predict",
]


def _keep_mask(shape, rate: float, seed_generator) -> keras.KerasTensor:
    """A float mask of 0s and 1s, where each entry is 1 (kept) with probability 1 - rate."""
    uniform = keras.random.uniform(shape, seed=seed_generator)
    return ops.cast(uniform >= rate, "float32")


def _check_noise_shape(noise_shape) -> tuple[int | None, ...] | None:
    """Return ``noise_shape`` as a tuple of positive ints / None, or None."""
    if noise_shape is None:
        return None
    if isinstance(noise_shape, str) or not hasattr(noise_shape, "__iter__"):
        raise TypeError(f"noise_shape must be None or a tuple of ints/None, got {noise_shape!r}")
    return tuple(
        None if n is None else check_positive_int(n, "noise_shape entries") for n in noise_shape
    )


@keras.saving.register_keras_serializable(package="dropoutcourse")
class ScratchDropout(keras.layers.Layer):
    """Inverted dropout, the readable way: a re-implementation of ``keras.layers.Dropout``.

    While training, each input unit is set to 0 with probability ``rate`` and every kept
    unit is multiplied by ``1 / (1 - rate)``, so the expected output equals the input. At
    inference (``training`` False or None) the layer is the identity.

    Same arguments as Keras' layer: ``noise_shape`` is the shape of the mask, broadcast
    over the input (``(None, 1, features)`` shares one mask over all time steps; ``None``
    entries take the input's size).
    """

    def __init__(self, rate: float, noise_shape=None, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate(rate, "rate")
        self.noise_shape = _check_noise_shape(noise_shape)
        self.seed = None if seed is None else check_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.supports_masking = True
        # no weights: built as soon as it exists, like Keras' own stateless layers
        self._build_at_init()

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        shape = ops.shape(inputs)
        if self.noise_shape is not None:
            shape = tuple(
                s if n is None else n for s, n in zip(shape, self.noise_shape, strict=True)
            )
        mask = ops.cast(_keep_mask(shape, self.rate, self.seed_generator), inputs.dtype)
        # scale the survivors now, so inference needs no change: E[mask / (1 - rate)] = 1
        return inputs * mask / (1.0 - self.rate)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "rate": self.rate,
            "noise_shape": self.noise_shape,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="dropoutcourse")
class DropBlock2D(keras.layers.Layer):
    """DropBlock (Ghiasi, Lin & Le, 2018): drop contiguous ``block_size`` × ``block_size`` squares.

    Neighbouring pixels of a feature map are strongly correlated, so dropping single pixels
    hides almost nothing (the next layer can read the neighbour). DropBlock drops whole
    squares instead, independently in every channel. Input: channels_last ``(N, H, W, C)``.

    Recipe, while training:

    1. ``gamma = rate / bs² · (H·W) / ((H − bs + 1)(W − bs + 1))`` is the probability that a
       pixel is a block *centre*, chosen so that about ``rate`` of the pixels end up dropped
       (overlapping blocks make the real fraction slightly smaller).
    2. Sample Bernoulli(gamma) centres, only where a whole block fits inside the map.
    3. Grow every centre into a square with a max-pool of size bs (stride 1, 'same').
    4. ``mask = 1 − blocks``; rescale by ``count / sum(mask)`` so that the mean is preserved.

    When the feature map is smaller than ``block_size``, the block is shrunk to fit.
    At inference the layer is the identity.
    """

    def __init__(self, rate: float, block_size: int, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate(rate, "rate")
        self.block_size = check_positive_int(block_size, "block_size")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        # 1-3. block centres (where a whole block fits), grown into squares: the course's one
        # DropBlock mask, shared with the CNN replica trainer (static H and W are needed)
        uniform = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator)
        uniform = ops.reshape(uniform, (-1, *inputs.shape[1:]))
        mask = 1.0 - dropblock_blocks(uniform, self.rate, self.block_size)

        # 4. rescale so the mean activation is unchanged (guard against dropping everything)
        count = ops.cast(ops.size(mask), "float32")
        scale = count / ops.maximum(ops.sum(mask), 1.0)
        return inputs * ops.cast(mask * scale, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "rate": self.rate,
            "block_size": self.block_size,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="dropoutcourse")
class DropConnectDense(keras.layers.Layer):
    """A Dense layer with DropConnect (Wan et al., 2013): drop *weights*, not activations.

    While training, every entry of the kernel is zeroed with probability ``rate`` and the
    kept entries are scaled by ``1 / (1 - rate)`` (inverted, like Keras dropout), so that
    ``E[output] = x @ W + b``. The bias is never dropped. Inference uses the full kernel.

    Simplification: one kernel mask is drawn per call, i.e. it is *shared by the whole
    batch* (the paper draws one per example, which costs a batch of kernels). Every training
    step still sees a fresh mask.
    """

    def __init__(
        self,
        units: int,
        rate: float,
        activation=None,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int(units, "units")
        self.rate = check_rate(rate, "rate")
        self.activation = keras.activations.get(activation)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=(input_shape[-1], self.units), initializer="glorot_uniform"
        )
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def call(self, inputs, training=False):
        kernel = self.kernel
        if training and self.rate > 0.0:
            mask = _keep_mask(ops.shape(kernel), self.rate, self.seed_generator)
            kernel = kernel * ops.cast(mask, kernel.dtype) / (1.0 - self.rate)
        return self.activation(ops.matmul(inputs, kernel) + self.bias)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "rate": self.rate,
            "activation": keras.activations.serialize(self.activation),
            "seed": self.seed,
        }


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
            stacklevel=2,
        )

    def forward(inputs) -> np.ndarray:
        return ops.convert_to_numpy(model(inputs, training=False))

    samples = []
    with _dropout_always_on(model, seed):
        for _ in range(n_samples):
            if batch_size is None:
                samples.append(forward(x))
            else:
                n = len(keras.tree.flatten(x)[0])
                batches = [
                    forward(keras.tree.map_structure(lambda a, s=start: a[s : s + batch_size], x))
                    for start in range(0, n, batch_size)
                ]
                samples.append(np.concatenate(batches, axis=0))
    samples = np.stack(samples)  # (n_samples, *output_shape)
    return samples.mean(axis=0), samples.std(axis=0)
