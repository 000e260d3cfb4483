"""The reward and the temporal-difference targets of the RL Tuner's three algorithms (notebook 02).

The reward of playing event a after the prefix s is r(s, a) = log p(a | s) + r_MT(a, s) / c
(:func:`total_reward`, its one home). Q-learning, Ψ-learning and G-learning (Jaques et al. 2017)
differ in their targets, written out in :func:`dqn_target`, :func:`psi_target` and :func:`g_target`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from musiclab.rl.q_network import QNetwork
from musiclab.rl.replay import EpisodeBatch
from musiclab.rl.tuner_config import TunerConfig


def total_reward(log_p, rule_reward, c):
    """r(s, a) = log p(a | s) + r_MT(a, s) / c, elementwise (tensors or arrays of equal shape; ``log_p``
    may be 0 for the parts of the reward that leave the learned term out). The one home of the formula."""
    return log_p + rule_reward / c


def step_rewards(config: TunerConfig, batch: EpisodeBatch) -> torch.Tensor:
    """The reward [E, T] each algorithm learns from: log p + r_MT / c for 'dqn' and 'psi' (r_MT / c
    alone for the rules-only agent), r_MT / c for 'g' (whose prior enters through its target)."""
    learned = config.learned_reward and config.algorithm != "g"
    return total_reward(batch.log_p if learned else 0.0, batch.rule_reward, batch.c.unsqueeze(1))


def _next_state(values: torch.Tensor) -> torch.Tensor:
    """Per-state values [E, T] of s_0..s_{T-1} → values of the next states [E, T], 0 after the last step."""
    return F.pad(values[:, 1:], (0, 1))


def dqn_target(rewards: torch.Tensor, target_values: torch.Tensor, gamma: float,
               online_values: torch.Tensor | None = None) -> torch.Tensor:
    """Q-learning target: y_t = r_t + γ · max_a' Q⁻(s_{t+1}, a'), and y_{T-1} = r_{T-1}.

    ``rewards`` [E, T]; ``target_values`` [E, T, C] = Q⁻(s_t, ·) of the target network at s_0..s_{T-1}.
    With ``online_values`` [E, T, C] (the online network's Q), the Double Q-learning target
    y_t = r_t + γ · Q⁻(s_{t+1}, argmax_a' Q(s_{t+1}, a')).
    """
    if online_values is None:
        next_values = target_values.max(dim=-1).values
    else:
        next_values = target_values.gather(-1, online_values.argmax(dim=-1, keepdim=True)).squeeze(-1)
    return rewards + gamma * _next_state(next_values)


def psi_target(rewards: torch.Tensor, target_values: torch.Tensor, gamma: float) -> torch.Tensor:
    """Ψ-learning target: y_t = log p(a_t | s_t) + r_MT(a_t, s_t)/c + γ · log Σ_a' exp Ψ⁻(s_{t+1}, a')
    (the rewards carry the first two terms); the last step has no future term. Policy: softmax Ψ."""
    return rewards + gamma * _next_state(torch.logsumexp(target_values, dim=-1))


def g_target(rewards: torch.Tensor, target_values: torch.Tensor, prior_log_p: torch.Tensor,
             gamma: float) -> torch.Tensor:
    """G-learning target: y_t = r_MT(a_t, s_t)/c + γ · log Σ_a' p(a' | s_{t+1}) · exp G⁻(s_{t+1}, a')
    (the rewards carry r_MT/c only; ``prior_log_p`` [E, T, C] is log p(· | s_t)); no future term at
    the last step. Policy: π(a | s) ∝ p(a | s) · exp G(s, a)."""
    return rewards + gamma * _next_state(torch.logsumexp(prior_log_p + target_values, dim=-1))


def td_targets(config: TunerConfig, batch: EpisodeBatch, target: QNetwork,
               online_values: torch.Tensor | None = None) -> torch.Tensor:
    """The targets y [E, T] of ``config.algorithm`` for a minibatch of episodes (no gradient);
    ``online_values`` [E, T, C], the online network's Q on the same episodes, for ``config.double_q``."""
    with torch.no_grad():
        rewards = step_rewards(config, batch).to(target.device)
        values = target.q_values(batch.actions, net_c(target, batch.c)).float()
        if config.algorithm == "dqn":
            return dqn_target(rewards, values, config.gamma, online_values.detach() if config.double_q else None)
        if config.algorithm == "psi":
            return psi_target(rewards, values, config.gamma)
        return g_target(rewards, values, target.prior_log_p(batch.actions), config.gamma)


def net_c(q_net: QNetwork, c: torch.Tensor):
    """The c values to feed a network: per episode if conditioned, else its own c."""
    return c if q_net.c_encoder is not None else None
