"""Reference solutions for notebook 03 (the c, ε and temperature playground): predict c = 0.1 from the
formula, the ε-mixed policy, and a search for the c that keeps motifs with the most variety."""
from __future__ import annotations

import numpy as np
import torch

from musiclab.eval.diversity import distinct_4gram_share
from musiclab.eval.paper import paper_metrics
from musiclab.rl.compose import compose


def predict_c01() -> dict[str, str]:
    """03.1: at c = 0.1 against c = 0.6, r = log p + r_MT / c weighs the rules 6 times more, so:
    the Note-RNN's log p counts for less ("lower"), the rewarded tonic start is played more
    ("higher"), and the few rewarded patterns crowd out the rest: fewer distinct phrases ("lower")."""
    return {"mean_log_p": "lower", "starts_with_tonic": "higher", "distinct_4gram_share": "lower"}


def epsilon_policy(policy_probs, prior_probs, epsilon: float) -> torch.Tensor:
    """03.2: the distribution an ε-step composes from: (1 − ε) · π(· | s) + ε · p(· | s); [..., C]."""
    return (1 - epsilon) * torch.as_tensor(policy_probs) + epsilon * torch.as_tensor(prior_probs)


def most_varied_c(q_net) -> float:
    """03.3: among c = 0.3, 0.4, … 1.5, the c whose 300 melodies (seed 1, T = 1) have the largest share of
    distinct 4-grams while keeping at least 70 % of notes in motifs."""
    best, best_share = None, -1.0
    for c in np.round(np.arange(0.3, 1.51, 0.1), 2):
        melodies = compose(q_net, 300, 32, c=float(c), seed=1)
        share = distinct_4gram_share(melodies)
        if paper_metrics(melodies)["notes_in_motif"] >= 0.70 and share > best_share:
            best, best_share = float(c), share
    return best
