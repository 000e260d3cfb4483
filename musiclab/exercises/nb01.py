"""Exercises of notebook 01 (the Note-RNN): sampling temperature, a counting baseline scored in nats,
and the model's next-event distribution. The checks compare with the kit's own sampler formula,
``NGramModel`` + ``score``, and the shipped ``note_rnn_fast``.
"""
from __future__ import annotations

import numpy as np
import torch

from musiclab.checkpoints import load_model
from musiclab.exercises.compare import as_array, check_cases, close
from musiclab.exercises.feedback import Feedback
from musiclab.exercises.registry import Exercise, check, register  # noqa: F401  (nb01.check for the notebook)
from musiclab.exercises.solutions import n01
from musiclab.models.baselines import NGramModel
from musiclab.models.melody_data import score


# --- 01.1 ----------------------------------------------------------------------------------------

def _kit_temperature(probs, temperature: float) -> np.ndarray:
    """What ``sample`` does: softmax(log p / τ)."""
    return torch.softmax(torch.log(torch.as_tensor(probs, dtype=torch.float64)) / temperature, -1).numpy()


def _temperature_hint(got, want) -> str:
    got = as_array(got)
    if got.shape == want.shape and not np.allclose(got.sum(axis=-1), 1, atol=1e-4):
        return "normalise: divide by the sum over the last axis, so each row sums to 1"
    return "raise p to the power 1/τ (not τ), then normalise; τ < 1 must sharpen the distribution"


def check_with_temperature(answer) -> Feedback:
    rng = np.random.default_rng(1)
    skewed = rng.dirichlet(np.full(38, 0.3))
    batch = rng.dirichlet(np.ones(38), size=3)
    cases = [("a skewed p [38], τ = 1", (skewed, 1.0)), ("the same p, τ = 0.5", (skewed, 0.5)),
             ("the same p, τ = 2", (skewed, 2.0)), ("a batch p [3, 38], τ = 0.8", (batch, 0.8))]
    return check_cases("01.1", answer, cases, _kit_temperature, "raise p to the power 1/τ, then normalise over the last axis",
                       diagnose=_temperature_hint, same=close(1e-6),
                       what="softmax(log p / τ), as the Note-RNN samples")


register(Exercise(
    id="01.1", title="Temperature: reshape a next-event distribution", level="warm-up", minutes=5,
    stub="def with_temperature(probs, temperature):\n"
         "    \"\"\"p_τ(x) ∝ p(x)^(1/τ) over the last axis: probs [..., 38] → [..., 38].\"\"\"\n"
         "    raise NotImplementedError(\"power, then normalise\")\n",
    check=check_with_temperature, solution=lambda: n01.with_temperature,
    wrong=lambda: lambda probs, t: np.asarray(probs) ** t / (np.asarray(probs) ** t).sum(-1, keepdims=True)))


# --- 01.2 ----------------------------------------------------------------------------------------

def _kit_unigram(train, test, k: float) -> float:
    return score(NGramModel(order=1, k=k).fit(train), test)["nll"]


def _unigram_hint(got, want) -> str:
    if isinstance(got, (int, float, np.number)) and got < 0:
        return "the NLL is the *negative* mean log-probability: a positive number of nats"
    return ("smooth every one of the 38 events: p(x) = (count(x) + k) / (steps + 38·k), then average "
            "−log p over every test step (natural log)")


def _windows(seed: int, n: int, t: int) -> np.ndarray:
    """Melody-like windows: mostly holds, a few pitches, some note-offs."""
    rng = np.random.default_rng(seed)
    events = np.array([1, 1, 1, 14, 16, 18, 19, 21, 0, 26])
    return rng.choice(events, size=(n, t))


def check_unigram_nll(answer) -> Feedback:
    train, test = _windows(2, 40, 32), _windows(3, 10, 32)
    cases = [("train 40 × 32, test 10 × 32, k = 1", (train, test, 1.0)),
             ("the same windows, k = 0.01", (train, test, 0.01)),
             ("train on 3 windows, k = 0.5", (train[:3], test, 0.5))]
    return check_cases("01.2", answer, cases, _kit_unigram, "p(x) = (count(x) + k) / (steps + 38·k) from train; average −log p(x) over every test step",
                       diagnose=_unigram_hint, same=close(1e-4),
                       what="score(NGramModel(order=1, k).fit(train), test)['nll']")


register(Exercise(
    id="01.2", title="A counting baseline: the unigram NLL in nats", level="core", minutes=10,
    stub="def unigram_nll(train, test, k):\n"
         "    \"\"\"Mean −log p(x) (nats) over test [N, T], p from add-k counts of train [N, T].\"\"\"\n"
         "    raise NotImplementedError(\"count, smooth, take −log, average\")\n",
    check=check_unigram_nll, solution=lambda: n01.unigram_nll,
    wrong=lambda: lambda train, test, k: float(-np.log(
        (np.bincount(np.asarray(train).ravel(), minlength=38) + k) / np.asarray(train).size)[
        np.asarray(test).ravel()].mean())))


# --- 01.3 ----------------------------------------------------------------------------------------

def _kit_next(model, prefix, temperature: float) -> np.ndarray:
    with torch.no_grad():
        logits, state = model.step(model.begin_tokens(1), model.initial_state(1))
        for event in prefix:
            logits, state = model.step(torch.tensor([event]), state)
    return torch.softmax(logits[0].float() / temperature, -1).numpy()


def _next_hint(got, want) -> str:
    got = as_array(got).reshape(-1)
    if got.shape == want.shape and not np.isclose(got.sum(), 1, atol=1e-4):
        return "return probabilities (softmax of the log-probabilities / τ), summing to 1"
    return ("row t of model.next_log_probs(events) is the distribution *before* event t: to see past "
            "the whole prefix, append one more (any) event and read the last row")


def check_next_event_probs(answer) -> Feedback:
    model = load_model("note_rnn_fast", device="cpu").eval()
    cases = [("after C4 held a beat, τ = 1", (model, [14, 1, 1, 1], 1.0)),
             ("after C4 E4 G4 and a note-off, τ = 1", (model, [14, 1, 18, 1, 21, 1, 0], 1.0)),
             ("after C4 E4 G4 and a note-off, τ = 0.5", (model, [14, 1, 18, 1, 21, 1, 0], 0.5)),
             ("after a D4, τ = 2", (model, [16], 2.0))]
    return check_cases("01.3", lambda m, p, t: as_array(answer(m, p, t)).reshape(-1), cases, _kit_next,
                       "model.next_log_probs gives log p at every step; softmax(log p / τ) gives probabilities",
                       diagnose=_next_hint, same=close(1e-4), what="the Note-RNN stepped event by event")


register(Exercise(
    id="01.3", title="What does the model expect next? (and how temperature changes it)", level="open-ended",
    minutes=15,
    stub="def next_event_probs(model, prefix, temperature=1.0):\n"
         "    \"\"\"The model's probabilities [38] for the event after `prefix` (a list), at `temperature`.\"\"\"\n"
         "    raise NotImplementedError(\"use model.next_log_probs\")\n",
    check=check_next_event_probs, solution=lambda: n01.next_event_probs,
    wrong=lambda: lambda model, prefix, t: torch.softmax(
        model.next_log_probs(torch.tensor([list(prefix)]))[0, -1].detach() / t, -1)))
