"""Compose with a tuned Q-network: play many compositions at once, by sampling its policy (notebooks
02-03). :func:`play` is the batched loop the tuner explores with; :func:`compose` is what a user calls.
"""
from __future__ import annotations

import numpy as np
import torch

from musiclab.errors import BadParameterError, check_range
from musiclab.limits import check_limit
from musiclab.models.sequence import as_token_batch, resolve_generator
from musiclab.rl.q_network import QNetwork
from musiclab.rl.replay import EpisodeBatch
from musiclab.rl.rule_set import RuleSet


@torch.no_grad()
def play(q_net: QNetwork, n: int, length: int, c=None, *, epsilon: float = 0.0,
         temperature: float | None = None, random_actions: str = "prior", rules: RuleSet | None = None,
         generator: torch.Generator | None = None, primer: torch.Tensor | None = None) -> EpisodeBatch:
    """Play ``n`` compositions of ``length`` steps in parallel with the Q-network's policy.

    Each step: greedy on the policy logits (or, with ``temperature``, a sample of their softmax at
    that temperature); then with probability ``epsilon`` the action is replaced by a random one from
    ``random_actions`` ('prior': sampled from the frozen prior p(a | s); 'uniform'). With ``primer``
    (LongTensor [n, P], P <= length) steps 0..P-1 play the primer instead (scored like any step; the
    drum tuner starts from real 8-step openings, notebook 05). Returns the actions [n, length],
    log p(a_t | s_t) of the prior and the rules' reward r_MT (0 without ``rules``) per step, and c [n].
    """
    if primer is not None:
        primer = as_token_batch(primer, "primer", q_net.num_classes).cpu()
        if primer.shape[0] != n or primer.shape[1] > length:
            raise BadParameterError(f"primer must be [n={n}, P <= {length}], got {tuple(primer.shape)}")
    device = q_net.device
    state = q_net.initial_state(n, c)
    tokens = q_net.begin_tokens(n)
    actions = torch.empty((n, length), dtype=torch.long)
    log_p = torch.empty((n, length))
    rule_reward = np.zeros((n, length))
    for t in range(length):
        values, prior_log_p, state = q_net.step_values(tokens, state)
        logits = q_net.policy_logits(values.float(), prior_log_p).cpu()
        prior_log_p = prior_log_p.cpu()
        if temperature is None:
            chosen = logits.argmax(dim=-1)
        else:
            chosen = torch.multinomial(torch.softmax(logits / temperature, -1), 1, generator=generator).squeeze(1)
        if epsilon > 0:
            explore = torch.rand(n, generator=generator) < epsilon
            if random_actions == "prior":
                random = torch.multinomial(prior_log_p.exp(), 1, generator=generator).squeeze(1)
            else:
                random = torch.randint(q_net.num_classes, (n,), generator=generator)
            chosen = torch.where(explore, random, chosen)
        if primer is not None and t < primer.shape[1]:
            chosen = primer[:, t]
        log_p[:, t] = prior_log_p.gather(1, chosen.unsqueeze(1)).squeeze(1)
        if rules is not None:
            rule_reward[:, t] = rules.rewards(actions[:, :t].numpy(), chosen.numpy(), t)
        actions[:, t] = chosen
        tokens = chosen.to(device)
    return EpisodeBatch(actions, log_p, torch.from_numpy(rule_reward).float(), state[2].cpu())


def compose(q_net: QNetwork, n: int = 1, length: int = 32, c=None, epsilon: float = 0.0,
            seed: int | None = None, generator: torch.Generator | None = None,
            temperature: float = 1.0, primer=None) -> torch.Tensor:
    """Compose ``n`` melodies (or grids) of ``length`` steps with a tuned Q-network: LongTensor [n, length].

    Each step samples the policy: softmax(logits / ``temperature``) of its logits (Q for 'dqn', Ψ for
    'psi', log p + G for 'g'), as the RL Tuner's evaluation composed (at temperature 1, the default);
    ``temperature=0`` plays the greedy event (argmax), which makes every piece the same tune. The
    first event is chosen after the network's start token (the paper primed with a random note
    instead). With probability ``epsilon`` a step's event is instead *sampled from the reward model*
    (the frozen prior inside ``q_net``). ``c`` (> 0, default: the network's c) can be any value for a
    c-conditioned network. ``primer`` (1-D, shared by all pieces, or [n, P], P <= ``length``) fixes the
first P events: the network continues your tune (``musiclab.data.primer``). Same seed, same music. One 32-step melody takes tens of milliseconds on a
    CPU (``bench/rl_tuner.py`` measures it). Notebooks 02 and 03 (the c / ε / temperature playground).
    """
    if not isinstance(q_net, QNetwork):
        raise BadParameterError(f"compose needs a QNetwork (from tune or load_q_network), got {type(q_net).__name__}")
    n = int(check_limit("max_pieces", "n", check_range("n", n, 1)))
    length = int(check_limit("max_steps", "length", check_range("length", length, 1)))
    check_range("epsilon", epsilon, 0, 1)
    check_range("temperature", temperature, 0)
    generator = resolve_generator(seed, generator)
    if primer is not None:
        primer = as_token_batch(primer, "primer", q_net.num_classes)
        primer = primer.expand(n, -1) if primer.shape[0] == 1 else primer
    was_training = q_net.training
    q_net.eval()
    try:
        return play(q_net, n, length, c, epsilon=float(epsilon), generator=generator, primer=primer,
                    temperature=float(temperature) if temperature > 0 else None).actions
    finally:
        q_net.train(was_training)
