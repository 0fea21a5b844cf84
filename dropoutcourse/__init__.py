"""dropoutcourse — the companion package of an open course on dropout regularization.

Convention used everywhere in this package: ``rate`` is the probability of *dropping* a
unit (as in Keras). The 2014 paper's ``p`` (and CS231n's ``p``, deeplearning.ai's
``keep_prob``) is the probability of *keeping* it: ``rate = 1 - p``. See
:func:`dropoutcourse.reference.keep_prob_to_rate`.

Importing this package is cheap: TensorFlow is imported only by the modules that need it
(``layers``, ``models``, ``experiments``), and it is prepared so that TensorFlow
stays silent on stderr: ``TF_CPP_MIN_LOG_LEVEL=3`` hides its log messages, and an import hook
(:mod:`dropoutcourse._quiet_tf`) hides the oneDNN notice that no log level hides. So import
``dropoutcourse`` before ``keras`` or ``tensorflow``. TensorFlow's oneDNN kernels stay on
(about twice as fast on a laptop CPU); ``TF_ENABLE_ONEDNN_OPTS=0`` switches them off.
"""

import os as _os

from dropoutcourse import _quiet_tf

#: TensorFlow prints absl log messages on import unless this is set before the first import.
QUIET_TF_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3"}
for _key, _value in QUIET_TF_ENV.items():
    _os.environ.setdefault(_key, _value)
_quiet_tf.install()


def subprocess_env() -> dict[str, str]:
    """A copy of ``os.environ`` for child processes (kernels, graders): quiet TF, no display.

    Values already set by the user win, as with the package's own import.
    """
    env = dict(_os.environ)
    for key, value in {**QUIET_TF_ENV, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}.items():
        env.setdefault(key, value)
    return env


__version__ = "0.1.0"


def __getattr__(name: str):
    # lazy: `dropoutcourse.fit_replicas` imports Keras only when it is first used
    if name in ("fit_replicas", "fit_replica_models"):
        from dropoutcourse import replica_fit

        return getattr(replica_fit, name)
    raise AttributeError(f"module 'dropoutcourse' has no attribute {name!r}")
