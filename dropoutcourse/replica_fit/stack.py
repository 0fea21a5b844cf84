"""Groups of replicas: a Keras model's weights drawn for every seed, stacked on axis 0.

For seed ``s`` the replica's initial weights and dropout seed-generator states are those of
``keras.utils.set_random_seed(s)`` followed by cloning the model from its config: those of a
loop of ``fit`` that builds the model after seeding, exactly, when its code constructs each
layer before applying the next (Python constructs the outer layer of ``Dense(3)(Dropout(0.5)(h))``
first, a clone the inner one; the draws are then different, their distribution the same).
The values are stacked along a new leading *replica axis*, so that one vectorised
``stateless_call`` runs all replicas and one optimizer (element-wise, hence independent per
replica) updates them.

Models that differ only in the ``rate`` of their ``Dropout``, ``SpatialDropout*`` or
``GaussianDropout`` layers (a rate sweep) share one group: their rates become per-replica
numbers (see :mod:`dropoutcourse.replica_fit.random_ops`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import keras
import numpy as np

from dropoutcourse.replica_fit.initial import initial_values, random_state_kept
from dropoutcourse.replica_fit.objective import Objective, objective_of
from dropoutcourse.replica_fit.support import walk_layers
from dropoutcourse.switches import dropout_enabled

__all__ = ["ReplicaGroup", "group_replicas"]

#: layers whose rate can differ between the replicas of one group (their random draw is a
#: plain ``dropout``/``normal`` call that reads the rate handed to it)
PER_REPLICA_RATE = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
                    "GaussianDropout")  # fmt: skip
#: the rate the shared template uses for them: any rate > 0 makes Keras call the random op
_TEMPLATE_RATE = 0.5


@dataclass
class ReplicaGroup:
    """Replicas of models with one architecture: template, who is who, stacked variables."""

    template: keras.Model  # a private clone: its structure only
    model_index: list[int]  # per replica: which of the caller's models it trains
    seeds: list[int]  # per replica: its seed
    rates: np.ndarray  # (R, n_sites): each replica's rate at each per-replica-rate site
    sites: list  # the template's layers that read their rate from ``rates``
    trainable: list  # keras.Variable (R, *shape), in template.trainable_variables order
    non_trainable: list  # the same for moving statistics and seed-generator states
    optimizer: keras.optimizers.Optimizer
    objective: Objective
    constraints: list  # per trainable variable: its constraint or None
    compiled: dict = field(default_factory=dict, repr=False)  # traced functions, by purpose

    @property
    def n_replicas(self) -> int:
        return len(self.seeds)


def _rate_sites(model: keras.Model) -> list:
    return [
        layer
        for layer in walk_layers(model)
        if type(layer).__name__ in PER_REPLICA_RATE
        and type(layer).__module__.startswith("keras.")
        and layer.rate > 0  # Keras builds no random state for a rate of 0
    ]


def _architecture_key(model: keras.Model) -> str:
    """Everything that must agree for two models to share a group (rates of sites excepted)."""
    config = model.get_config()

    def scrub(node):
        if isinstance(node, dict):
            if node.get("class_name") in PER_REPLICA_RATE and "config" in node:
                # only "is there noise at all" must agree: with rate 0 Keras draws nothing
                rate = node["config"].get("rate", 0)
                node = {**node, "config": {**node["config"], "rate": rate > 0, "name": None}}
            return {k: scrub(v) for k, v in node.items() if k != "name"}
        if isinstance(node, list):
            return [scrub(v) for v in node]
        return node

    compiled = model.get_compile_config()
    return json.dumps([scrub(config), scrub(compiled)], sort_keys=True, default=str)


def _clone_optimizer(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    config = optimizer.get_config()
    # clipping by a norm mixes the replicas (the norm would span the replica axis)
    for key in ("clipnorm", "global_clipnorm"):
        if config.get(key) is not None:
            raise ValueError(
                f"fit_replicas cannot use an optimizer with {key}= (the norm would mix "
                "replicas); use clipvalue= or train with a loop of fit"
            )
    return type(optimizer).from_config(config)


def _uncompiled(model: keras.Model) -> keras.Model:
    """A private clone of ``model`` that clones without compiling (same layers, same order)."""
    with random_state_kept():
        bare = keras.models.clone_model(model)
    bare.compiled = False  # clone_model compiles a clone of a compiled model; ours need not
    return bare


def _stacked(per_replica: Sequence[Sequence], template_vars: Sequence) -> list:
    return [
        keras.Variable(np.stack([np.asarray(v) for v in values]), name=f"replicas_{t.name}")
        for values, t in zip(zip(*per_replica, strict=True), template_vars, strict=True)
    ]


def _template(model: keras.Model) -> keras.Model:
    """A private clone of ``model`` whose per-replica-rate sites always draw noise.

    Inside ``switches.without_dropout`` every other dropout of the clone is switched off too
    (recurrent and attention dropout, AlphaDropout; the package's layers ask the switch).
    """
    with random_state_kept():
        template = keras.models.clone_model(model)
    for layer in _rate_sites(template):
        layer.rate = _TEMPLATE_RATE
    if not dropout_enabled():
        for layer in walk_layers(template):
            for attr in ("dropout", "recurrent_dropout"):
                # on the cells: the recurrent layers only forward these (read-only) to them
                if type(layer).__name__.endswith("Cell") and getattr(layer, attr, None):
                    setattr(layer, attr, 0.0)
            if type(layer).__name__ == "AlphaDropout":
                layer.rate = 0.0
    return template


def _new_group(models: Sequence[keras.Model], indices: list[int], seeds: list[int]) -> ReplicaGroup:
    first = models[indices[0]]
    objective = objective_of(first)
    pairs = [(m, s) for m in indices for s in seeds]
    bare = {m: _uncompiled(models[m]) for m in indices}
    initial = [values for m in indices for values in initial_values(bare[m], seeds)]
    template = _template(first)
    trainable = _stacked([t for t, _ in initial], template.trainable_variables)
    non_trainable = _stacked([n for _, n in initial], template.non_trainable_variables)
    rates = np.array(
        [[site.rate for site in _rate_sites(models[m])] for m, _ in pairs], "float32"
    ).reshape(len(pairs), -1)
    if not dropout_enabled():  # the claims' negative control: every rate is 0
        rates[:] = 0.0
    optimizer = _clone_optimizer(first.optimizer)
    optimizer.build(trainable)
    return ReplicaGroup(
        template=template,
        model_index=[m for m, _ in pairs],
        seeds=[s for _, s in pairs],
        rates=rates,
        sites=_rate_sites(template),
        trainable=trainable,
        non_trainable=non_trainable,
        optimizer=optimizer,
        objective=objective,
        constraints=[getattr(v, "constraint", None) for v in first.trainable_variables],
    )


def group_replicas(models: Sequence[keras.Model], seeds: Sequence[int]) -> list[ReplicaGroup]:
    """One group per architecture among ``models``; each model is trained on every seed."""
    by_key: dict[str, list[int]] = {}
    for i, model in enumerate(models):
        by_key.setdefault(_architecture_key(model), []).append(i)
    return [_new_group(models, indices, list(seeds)) for indices in by_key.values()]
