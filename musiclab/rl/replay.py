"""Replay memory of whole compositions for the RL tuner (notebook 03).

In sequence tuning the state of a composition is its prefix, so a transition
(s_t, a_t, r_t, s_{t+1}) is fully described by the actions of its episode. The memory therefore
stores whole episodes: the actions [T], the two parts of each step's reward (log p(a_t | s_t)
of the reward model, and the music-theory reward r_MT before scaling) [T], and the episode's c.
A minibatch of E episodes is E·T transitions that the Q-network scores in one teacher-forced
pass, instead of one LSTM state per transition. Capacity is counted in transitions, as in the
papers (100,000 transitions = 3,125 episodes of 32 steps); the oldest episodes are overwritten.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from musiclab.errors import BadParameterError, check_range


@dataclass
class EpisodeBatch:
    """Episodes drawn from the memory: actions [E, T] (long), log_p and rule_reward [E, T] (float),
    c [E] (float)."""

    actions: torch.Tensor
    log_p: torch.Tensor
    rule_reward: torch.Tensor
    c: torch.Tensor

    def __len__(self) -> int:
        return int(self.actions.shape[0])


class EpisodeReplay:
    """A ring buffer of whole episodes of ``length`` steps, holding ``capacity`` transitions."""

    def __init__(self, capacity: int, length: int) -> None:
        check_range("length", length, 1)
        check_range("capacity", capacity, length)
        self.length = int(length)
        self.max_episodes = int(capacity) // self.length
        self.actions = torch.zeros((self.max_episodes, self.length), dtype=torch.long)
        self.log_p = torch.zeros((self.max_episodes, self.length))
        self.rule_reward = torch.zeros((self.max_episodes, self.length))
        self.c = torch.zeros(self.max_episodes)
        self._next = 0
        self._size = 0

    def __len__(self) -> int:
        """Episodes held."""
        return self._size

    @property
    def transitions(self) -> int:
        """Transitions held (episodes × length)."""
        return self._size * self.length

    def add(self, batch: EpisodeBatch) -> None:
        """Store the episodes of ``batch`` (each ``length`` steps), overwriting the oldest when full."""
        if batch.actions.dim() != 2 or batch.actions.shape[1] != self.length:
            raise BadParameterError(
                f"episodes must have shape [E, {self.length}], got {tuple(batch.actions.shape)}")
        count = len(batch)
        slots = (self._next + torch.arange(count)) % self.max_episodes
        if count > self.max_episodes:  # only the newest episodes fit
            slots, keep = slots[-self.max_episodes:], slice(count - self.max_episodes, None)
        else:
            keep = slice(None)
        self.actions[slots] = batch.actions[keep].cpu()
        self.log_p[slots] = batch.log_p[keep].detach().float().cpu()
        self.rule_reward[slots] = batch.rule_reward[keep].detach().float().cpu()
        self.c[slots] = batch.c[keep].detach().float().cpu()
        self._next = int((self._next + count) % self.max_episodes)
        self._size = min(self._size + count, self.max_episodes)

    def sample(self, count: int, generator: torch.Generator | None = None) -> EpisodeBatch:
        """``count`` episodes drawn uniformly with replacement (seeded by ``generator``)."""
        check_range("count", count, 1)
        if self._size == 0:
            raise BadParameterError("the replay memory is empty; add episodes before sampling")
        index = torch.randint(self._size, (int(count),), generator=generator)
        return EpisodeBatch(self.actions[index], self.log_p[index], self.rule_reward[index], self.c[index])
