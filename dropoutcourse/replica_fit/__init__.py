"""Train a student's own Keras model on many seeds at once (see :func:`fit_replicas`)."""

from dropoutcourse.replica_fit.api import FittedReplicas, fit_replica_models, fit_replicas
from dropoutcourse.replica_fit.support import (
    SUPPORTED_LAYERS,
    UnsupportedLayerError,
    check_supported,
)

__all__ = [
    "SUPPORTED_LAYERS",
    "FittedReplicas",
    "UnsupportedLayerError",
    "check_supported",
    "fit_replica_models",
    "fit_replicas",
]
