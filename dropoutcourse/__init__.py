"""dropoutcourse — the companion package of an open course on dropout regularization.

Convention used everywhere in this package: ``rate`` is the probability of *dropping* a
unit (as in Keras). The 2014 paper's ``p`` (and CS231n's ``p``, deeplearning.ai's
``keep_prob``) is the probability of *keeping* it: ``rate = 1 - p``. See
:func:`dropoutcourse.reference.keep_prob_to_rate`.

Importing this package is cheap: TensorFlow is imported only by the modules that need it
(``layers``, ``models``, ``engine``, ``experiments``), and the environment is prepared so that
TensorFlow stays silent on stderr.
"""

import os as _os

# TensorFlow prints absl/oneDNN notices on import unless both are set before the first import.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

__version__ = "0.1.0"
