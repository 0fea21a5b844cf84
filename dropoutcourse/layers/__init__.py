"""Dropout-family Keras 3 layers written from scratch, and Monte-Carlo dropout prediction.

One module per layer, as in Keras' own source tree:

* :mod:`~dropoutcourse.layers.scratch_dropout` — ``ScratchDropout`` (inverted dropout);
* :mod:`~dropoutcourse.layers.drop_block` — ``DropBlock2D`` (drop squares of a feature map);
* :mod:`~dropoutcourse.layers.drop_connect_dense` — ``DropConnectDense`` (drop weights);
* :mod:`~dropoutcourse.layers.drop_path` — ``DropPath`` (stochastic depth) and
  ``drop_path_rates`` (its linear depth schedule);
* :mod:`~dropoutcourse.layers.mc_predict` — ``mc_predict`` and ``DROPOUT_LAYER_TYPES``.

Every layer here follows the Keras conventions:

* ``rate`` is the probability of *dropping* a unit (or a weight, a block centre, a branch);
* the noise is applied only when ``call(..., training=True)`` — ``model.fit`` does that for
  you, while ``model.predict``, ``model.evaluate`` and ``model(x)`` run in inference mode;
* inverted dropout: kept values are scaled by ``1 / (1 - rate)`` *during training*, so that
  nothing has to be rescaled at inference time;
* randomness comes from a ``keras.random.SeedGenerator`` owned by the layer, which is what
  makes the layers work inside ``tf.function`` / ``fit`` (and on every Keras backend).
"""

from dropoutcourse.layers.drop_block import DropBlock2D
from dropoutcourse.layers.drop_connect_dense import DropConnectDense
from dropoutcourse.layers.drop_path import DropPath, drop_path_rates
from dropoutcourse.layers.mc_predict import DROPOUT_LAYER_TYPES, mc_predict
from dropoutcourse.layers.scratch_dropout import ScratchDropout

__all__ = [
    "ScratchDropout",
    "DropBlock2D",
    "DropConnectDense",
    "DropPath",
    "drop_path_rates",
    "DROPOUT_LAYER_TYPES",
    "mc_predict",
]
