"""Exercises of notebook 03 (the c, ε and temperature playground): predict from the reward formula
what c = 0.1 does, then measure it; the distribution an ε-step composes from; and a search for the c
that keeps the motifs with the most variety. The checks measure with the shipped c-conditioned DQN
(``rl_tuner_playground``), 300 melodies of 32 steps, seed 1, as notebook 03 does.
"""
from __future__ import annotations

import numpy as np
import torch

from musiclab.eval.diversity import distinct_4gram_share
from musiclab.eval.paper import paper_metrics
from musiclab.exercises.compare import check_cases, close
from musiclab.exercises.feedback import Feedback, attempt, failed, passed
from musiclab.exercises.registry import Exercise, check, register  # noqa: F401  (nb03.check for the notebook)
from musiclab.exercises.solutions import n03
from musiclab.rl.compose import compose
from musiclab.rl.tuner import load_q_network

MEASURED = ("mean_log_p", "starts_with_tonic", "distinct_4gram_share")


def _measure(q_net, c: float) -> dict[str, float]:
    """The three figures of 03.1 for 300 melodies at ``c`` (seed 1, temperature 1)."""
    melodies = compose(q_net, 300, 32, c=c, seed=1)
    figures = paper_metrics(melodies, q_net.prior)
    return {"mean_log_p": figures["mean_log_p"], "starts_with_tonic": figures["starts_with_tonic"],
            "distinct_4gram_share": distinct_4gram_share(melodies)}


# --- 03.1 ----------------------------------------------------------------------------------------

def check_predict_c01(answer) -> Feedback:
    q_net = load_q_network("rl_tuner_playground")
    at_01, at_06 = _measure(q_net, 0.1), _measure(q_net, 0.6)
    truth = {key: "higher" if at_01[key] > at_06[key] else "lower" for key in MEASURED}
    measured = "; ".join(f"{key} {at_01[key]:.3f} at c = 0.1 vs {at_06[key]:.3f} at c = 0.6" for key in MEASURED)
    expected = "for each figure, 'higher' or 'lower' at c = 0.1 than at c = 0.6, as measured"
    hint = "r = log p + r_MT / c: which half of the reward gains weight when c falls from 0.6 to 0.1?"
    prediction, problem = attempt("03.1", expected, hint, answer)
    if problem is not None:
        return problem
    if not isinstance(prediction, dict) or set(prediction) != set(MEASURED):
        return failed("03.1", expected, f"{prediction!r}", f"return a dict with exactly the keys {list(MEASURED)}")
    wrong = [key for key in MEASURED if str(prediction[key]).strip().lower() != truth[key]]
    got = f"your prediction {prediction}; measured: {measured}"
    if wrong:
        return failed("03.1", expected, got, f"look again at {', '.join(wrong)}: {hint} The rules reward a "
                      "tonic start and a few patterns; log p is what the Note-RNN finds likely")
    return passed("03.1", expected, got)


register(Exercise(
    id="03.1", title="Predict from the formula what c = 0.1 does, then measure it", level="warm-up", minutes=5,
    stub="def predict_c01():\n"
         "    \"\"\"'higher' or 'lower' at c = 0.1 than at c = 0.6, for each of the three figures.\"\"\"\n"
         "    raise NotImplementedError(\"return {'mean_log_p': ..., 'starts_with_tonic': ..., "
         "'distinct_4gram_share': ...}\")\n",
    check=check_predict_c01, solution=lambda: n03.predict_c01,
    wrong=lambda: lambda: {"mean_log_p": "higher", "starts_with_tonic": "higher", "distinct_4gram_share": "higher"}))


# --- 03.2 ----------------------------------------------------------------------------------------

def _mixture(policy, prior, epsilon: float) -> np.ndarray:
    """With probability ε the step is drawn from the prior, otherwise from the policy (``compose``)."""
    return np.asarray(policy) * (1 - epsilon) + np.asarray(prior) * epsilon


def _epsilon_hint(got, want) -> str:
    policy, prior, epsilon = _EPSILON_CASES[0][1]  # the first case, where a wrong answer shows
    if np.allclose(np.asarray(torch.as_tensor(got)), _mixture(prior, policy, epsilon), atol=1e-6):
        return "ε is the weight of the Note-RNN's p (the random step), 1 − ε that of the tuned policy π"
    return ""


def _epsilon_cases():
    rng = np.random.default_rng(4)
    policy, prior = rng.dirichlet(np.full(38, 0.2), size=2), rng.dirichlet(np.ones(38), size=2)
    return [("ε = 0.3", (policy, prior, 0.3)), ("ε = 0 (the policy alone)", (policy, prior, 0.0)),
            ("ε = 1 (the Note-RNN alone)", (policy, prior, 1.0)), ("one step, ε = 0.5", (policy[0], prior[0], 0.5))]


_EPSILON_CASES = _epsilon_cases()


def check_epsilon_policy(answer) -> Feedback:
    return check_cases("03.2", answer, _EPSILON_CASES, _mixture,
                       "each step: with probability 1 − ε an event drawn from π, with probability ε one drawn "
                       "from the Note-RNN's p; add the two ways of getting each event",
                       same=close(1e-6), what="the law of total probability over the two draws",
                       diagnose=_epsilon_hint)


register(Exercise(
    id="03.2", title="ε: the distribution a composing step draws from", level="core", minutes=10,
    stub="def epsilon_policy(policy_probs, prior_probs, epsilon):\n"
         "    \"\"\"P(event) [..., 38] when a step follows π (probs [..., 38]) but with probability ε samples p.\"\"\"\n"
         "    raise NotImplementedError(\"mix the two distributions\")\n",
    check=check_epsilon_policy, solution=lambda: n03.epsilon_policy,
    wrong=lambda: lambda policy, prior, epsilon: epsilon * torch.as_tensor(policy) + (1 - epsilon) * torch.as_tensor(prior)))


# --- 03.3 ----------------------------------------------------------------------------------------

MIN_MOTIF, MIN_SHARE = 0.70, 0.24


def check_most_varied_c(answer) -> Feedback:
    q_net = load_q_network("rl_tuner_playground")
    expected = (f"a c in [0.1, 10] whose 300 melodies (seed 1) keep notes_in_motif ≥ {MIN_MOTIF:.0%} with "
                f"distinct_4gram_share ≥ {MIN_SHARE:.0%}")
    hint = "scan c (e.g. 0.3 … 1.5 in steps of 0.1), measure both figures at each, keep the most varied that keeps the motifs"
    c, problem = attempt("03.3", expected, hint, lambda: answer(q_net))
    if problem is not None:
        return problem
    if isinstance(c, bool) or not isinstance(c, (int, float, np.number)) or not 0.1 <= float(c) <= 10:
        return failed("03.3", expected, f"{c!r}", "return one number, a value of c between 0.1 and 10")
    melodies = compose(q_net, 300, 32, c=float(c), seed=1)
    motif, share = paper_metrics(melodies)["notes_in_motif"], distinct_4gram_share(melodies)
    got = f"c = {float(c):g}: notes_in_motif {motif:.1%}, distinct_4gram_share {share:.1%}"
    if motif < MIN_MOTIF:
        return failed("03.3", expected, got, "too few notes in motifs: a smaller c gives the rules more weight")
    if share < MIN_SHARE:
        return failed("03.3", expected, got, "the motifs are kept but the phrases repeat: a larger c buys variety")
    return passed("03.3", expected, got)


register(Exercise(
    id="03.3", title="Search c: the most variety that keeps the motifs", level="open-ended", minutes=15,
    stub="def most_varied_c(q_net):\n"
         "    \"\"\"The c whose melodies have the most distinct 4-grams with ≥ 70 % of notes in motifs.\"\"\"\n"
         "    raise NotImplementedError(\"scan c with compose, paper_metrics and distinct_4gram_share\")\n",
    check=check_most_varied_c, solution=lambda: n03.most_varied_c, wrong=lambda: lambda q_net: 0.3))
