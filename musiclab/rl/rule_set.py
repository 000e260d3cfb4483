"""A set of music-theory rules with weights: the reward r_MT of the RL tuner, and the machinery of rules.

A rule is a small pure function ``rule(composition, action, step) -> float`` (:mod:`musiclab.rl.rules`
holds the RL Tuner's, :mod:`musiclab.rl.drum_rules` the drums'); :func:`magnitude` writes its reward
magnitude on it and :func:`with_batch` / :func:`per_item_batch` give it a vectorised twin. A
:class:`RuleSet` adds weighted rules up, one step at a time or for a whole batch at once (the tuner
calls :meth:`RuleSet.rewards` once per step). Notebook 02 shows a set as a table (:func:`describe`).
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Mapping

import numpy as np

from musiclab.data.melody import NUM_CLASSES, check_events
from musiclab.errors import BadParameterError, check_choice, check_range


def magnitude(text: str) -> Callable[[Callable], Callable]:
    """Decorator that writes a rule's reward magnitude on it (shown by :func:`describe`)."""
    def tag(fn: Callable) -> Callable:
        fn.magnitude = text
        return fn
    return tag


def with_batch(batch_fn: Callable[..., np.ndarray]) -> Callable[[Callable], Callable]:
    """Decorator giving a rule a vectorised twin ``batch_fn(compositions [B, t], actions [B], step) -> [B]``.

    :meth:`RuleSet.rewards` calls the twin once per batch instead of the rule once per item; the two
    must agree (the heavier rules below are written once, as the twin, and the rule calls it).
    """
    def tag(fn: Callable) -> Callable:
        fn.batched = batch_fn
        return fn
    return tag


def per_item_batch(fn: Callable) -> Callable:
    """Decorator giving a rule written for plain sequences a batch twin that runs it on each item
    as a list of ints (lists index far faster than numpy rows in a Python loop).
    """
    def batch(compositions: np.ndarray, actions: np.ndarray, step: int) -> np.ndarray:
        return np.array([fn(composition, action, step)
                         for composition, action in zip(compositions.tolist(), actions.tolist())], dtype=np.float64)
    fn.batched = batch
    return fn


def _bind(fn: Callable, num_steps: int) -> Callable:
    """``fn`` with its ``num_steps`` keyword bound when it has one."""
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return fn
    return partial(fn, num_steps=num_steps) if "num_steps" in parameters else fn


@dataclass(frozen=True)
class RuleSet:
    """A named set of rules with weights: the music-theory reward r_MT(action, composition).

    ``rules`` maps a rule name to ``(fn, weight)``; ``fn(composition, action, step) -> float`` (a
    keyword ``num_steps`` is bound from this set's ``num_steps``). The reward of a step is
    Σ weight · fn(...). Build one from the named rules with :func:`make_rule_set`, or from your own
    functions (notebook 02); a rule without a batch twin is called item by item in :meth:`rewards`.
    """

    name: str
    rules: dict[str, tuple[Callable[..., float], float]]
    #: Length of the pieces being composed (steps): the end-of-piece rules need it.
    num_steps: int = 32
    _bound: list = field(init=False, repr=False, compare=False)
    _batched: list = field(init=False, repr=False, compare=False)
    _looped: list = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_range("num_steps", self.num_steps, 1)
        checked: dict[str, tuple[Callable[..., float], float]] = {}
        for rule_name, entry in dict(self.rules).items():
            if not (isinstance(entry, tuple) and len(entry) == 2 and callable(entry[0])):
                raise BadParameterError(
                    f"rule {rule_name!r} of rule set {self.name!r} must be a (function, weight) pair, got {entry!r}")
            fn, weight = entry
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight):
                raise BadParameterError(
                    f"weight of rule {rule_name!r} in rule set {self.name!r} must be a finite number, got {weight!r}")
            checked[rule_name] = (fn, float(weight))
        object.__setattr__(self, "rules", checked)
        object.__setattr__(self, "_bound", [(rule_name, _bind(fn, self.num_steps), weight)
                                            for rule_name, (fn, weight) in checked.items()])
        object.__setattr__(self, "_batched", [(_bind(fn.batched, self.num_steps), weight)
                                              for fn, weight in checked.values() if hasattr(fn, "batched")])
        object.__setattr__(self, "_looped", [(_bind(fn, self.num_steps), weight)
                                             for fn, weight in checked.values() if not hasattr(fn, "batched")])

    def _checked(self, composition, action, step: int) -> tuple[np.ndarray, int]:
        """Validate one (composition, action, step); return the composition as int64 and the action as int."""
        check_range("step", step, 0, self.num_steps - 1)
        if isinstance(action, bool) or not isinstance(action, (int, np.integer)):
            raise BadParameterError(f"action must be an integer event, got {action!r}")
        check_range("action", action, 0, NUM_CLASSES - 1)
        return check_events(composition, "composition"), int(action)

    def reward(self, composition, action: int, step: int) -> float:
        """Weighted sum of the rules for appending ``action`` (an event) at ``step`` to ``composition`` [t]."""
        composition, action = self._checked(composition, action, step)
        return float(sum(weight * fn(composition, action, step) for _, fn, weight in self._bound))

    def rewards(self, compositions, actions, step: int) -> np.ndarray:
        """Batched :meth:`reward`: compositions [B, t] (int), actions [B] → float64 rewards [B].

        Numpy arrays or torch tensors; all items are at the same ``step``. Used by the DQN tuner
        (notebook 02) once per environment step.
        """
        compositions = check_events(compositions, "compositions", ndim=2)
        actions = check_events(actions, "actions", ndim=None).reshape(-1)
        if len(compositions) != len(actions):
            raise BadParameterError(
                f"compositions must be [B, t] with B = len(actions) = {len(actions)}, got shape {compositions.shape}")
        check_range("step", step, 0, self.num_steps - 1)
        out = np.zeros(len(actions), dtype=np.float64)
        for batch_fn, weight in self._batched:
            out += weight * batch_fn(compositions, actions, step)
        for b in range(len(actions) if self._looped else 0):
            composition, action = compositions[b], int(actions[b])
            out[b] += sum(weight * fn(composition, action, step) for fn, weight in self._looped)
        return out

    def breakdown(self, composition, action: int, step: int) -> dict[str, float]:
        """Each rule's weighted reward for one step, by rule name (for plots of which rules fire)."""
        composition, action = self._checked(composition, action, step)
        return {rule_name: float(weight * fn(composition, action, step)) for rule_name, fn, weight in self._bound}

    def trace(self, melody) -> dict[str, np.ndarray]:
        """Per-step weighted rewards of every rule over a whole ``melody`` [T ≤ num_steps]: name → [T]."""
        melody = check_events(melody, "melody")
        if len(melody) > self.num_steps:
            raise BadParameterError(f"melody must have at most num_steps = {self.num_steps} events, got {len(melody)}")
        table = {rule_name: np.zeros(len(melody)) for rule_name in self.rules}
        for step in range(len(melody)):
            for rule_name, value in self.breakdown(melody[:step], melody[step], step).items():
                table[rule_name][step] = value
        return table


def describe(rules: RuleSet) -> list[dict]:
    """One row per rule: name, weight, magnitude and what it rewards (a table for notebook 02)."""
    rows = []
    for rule_name, (fn, weight) in rules.rules.items():
        doc = inspect.getdoc(fn) or ""
        rows.append({
            "rule": rule_name,
            "weight": weight,
            "magnitude": getattr(fn, "magnitude", "(not stated)"),
            "description": " ".join(doc.split("\n\n")[0].split()),
        })
    return rows


def reweighted(rules: RuleSet, weights: Mapping[str, float]) -> RuleSet:
    """``rules`` with the weights of some of its rules replaced: ``reweighted(rules, {'low_autocorrelation':
    3.0})``. Raises UnknownNameError for a rule the set does not hold."""
    for rule_name in weights:
        check_choice(f"rule of rule set {rules.name!r}", rule_name, rules.rules)
    return RuleSet(rules.name, {rule_name: (fn, weights.get(rule_name, weight))
                                for rule_name, (fn, weight) in rules.rules.items()}, num_steps=rules.num_steps)
