"""Exercises of notebook 02 (the RL Tuner): write a music-theory rule, tune a Note-RNN with it (a
tiny run, seconds), and implement the Ψ-learning target. The checks compare with a reference rule
on many random steps, measure the tuned network's endings, and compare with ``musiclab.rl.targets``.
"""
from __future__ import annotations

import numpy as np
import torch

from musiclab.checkpoints import load_model
from musiclab.data.melody import NO_EVENT, NOTE_OFF
from musiclab.exercises.compare import check_cases, close
from musiclab.exercises.feedback import Feedback, attempt, failed, passed
from musiclab.exercises.registry import Exercise, check, register  # noqa: F401  (nb02.check for the notebook)
from musiclab.exercises.solutions import n02
from musiclab.rl import tuner, tuner_config
from musiclab.rl.compose import compose
from musiclab.rl.q_network import QNetwork
from musiclab.rl.rule_set import RuleSet
from musiclab.rl.targets import dqn_target, psi_target
from musiclab.theory import TONIC_EVENT

C4, E4, G4, C5 = 14, 18, 21, 26


# --- 02.1 ----------------------------------------------------------------------------------------

def _ends_on_c(composition, action, step) -> float:
    """The definition the check holds the student's rule to (written apart from the reference)."""
    events = list(composition) + [action]
    if step != 31 or events[-1] == NOTE_OFF:
        return 0.0
    last_onset = next((e for e in reversed(events) if e > NO_EVENT), None)
    return 3.0 if last_onset is not None and TONIC_EVENT[last_onset] else 0.0


def _rule_cases() -> list[tuple[str, tuple]]:
    held_c = [C4, 1, 1, 1] * 7 + [G4, 1, C5]
    cases = [("a C onset at the last step", (np.array(held_c[:-1] + [1]), C4, 31)),
             ("a hold after a C (C5 at step 30)", (np.array(held_c), NO_EVENT, 31)),
             ("a hold after a G", (np.array(held_c[:-1] + [1]), NO_EVENT, 31)),
             ("a note-off after a C", (np.array(held_c), NOTE_OFF, 31)),
             ("a C onset at step 10 (not the end)", (np.array(held_c[:10]), C4, 10)),
             ("a hold at the end of 31 rests", (np.array([NOTE_OFF] + [NO_EVENT] * 30), NO_EVENT, 31)),
             ("an E onset at the last step", (np.array(held_c), E4, 31))]
    rng = np.random.default_rng(2)
    for i in range(40):
        composition = rng.choice([0, 1, 1, 1, C4, E4, G4, C5, 16, 19], size=31)
        cases.append((f"random melody {i + 1}", (composition, int(rng.choice([0, 1, C4, G4, C5])), 31)))
    return cases


def check_tonic_ending_rule(answer) -> Feedback:
    return check_cases("02.1", lambda *args: float(answer(*args)), _rule_cases(), _ends_on_c,
                       "+3 only at step 31 and only when the melody ends sounding a C: a C onset (C is "
                       "event 2, 14 or 26: TONIC_EVENT), or a hold (1) while the last onset so far is a C; "
                       "a note-off ends in silence", same=close(1e-9),
                       what="the rule 'ends sounding a C' (7 chosen steps and 40 random ones)")


register(Exercise(
    id="02.1", title="A rule of your own: end on the tonic", level="warm-up", minutes=10,
    stub="def tonic_ending_rule(composition, action, step):\n"
         "    \"\"\"+3 when a 32-step melody ends sounding a C (step 31: a C onset, or a hold after a C).\"\"\"\n"
         "    raise NotImplementedError(\"return 3.0 or 0.0\")\n",
    check=check_tonic_ending_rule, solution=lambda: n02.tonic_ending_rule,
    wrong=lambda: lambda composition, action, step: 3.0 if step == 31 and TONIC_EVENT[action] else 0.0))


# --- 02.2 ----------------------------------------------------------------------------------------

def ending_share(melodies) -> float:
    """Share of 32-step melodies [N, 32] that end sounding a C (the rule of 02.1 at their last step)."""
    rows = torch.as_tensor(melodies).tolist()
    return float(np.mean([_ends_on_c(row[:-1], row[-1], 31) > 0 for row in rows]))


def check_tune_for_endings(answer) -> Feedback:
    note_rnn = load_model("note_rnn_fast", device="cpu")
    before = ending_share(note_rnn.sample(300, 32, seed=1))
    expected = f"a tuned QNetwork whose melodies end on a C at least 20 points more often than the Note-RNN's ({before:.0%})"
    hint = ("tune with tuner.tune(note_rnn, tuner_config.preset('fast', episodes=512, c=0.05, rule_weights={}), "
            "rules=RuleSet('tonic ending', {'tonic_ending': (tonic_ending_rule, 1.0)}), quiet=True) and return its .q_net")
    q_net, problem = attempt("02.2", expected, hint, lambda: answer(note_rnn))
    if problem is not None:
        return problem
    if not isinstance(q_net, QNetwork):
        return failed("02.2", expected, f"a {type(q_net).__name__}", "return the tuned network: tune(...).q_net")
    after = ending_share(compose(q_net, 300, 32, seed=1))
    got = f"{after:.0%} of 300 melodies end on a C (the Note-RNN: {before:.0%})"
    if after < before + 0.2:
        return failed("02.2", expected, got, "the rule's weight must be positive: it rewards, not punishes"
                      if after < before else "give the rule more say: a smaller c (r_MT / c), or more compositions")
    return passed("02.2", expected, got)


def _punishing_tuning(note_rnn):
    """A typical wrong answer to 02.2: the rule's weight is negative, so the tuning avoids tonic endings."""
    rules = RuleSet("tonic ending", {"tonic_ending": (n02.tonic_ending_rule, -1.0)})
    return tuner.tune(note_rnn, tuner_config.preset("fast", episodes=512, c=0.05, rule_weights={}),
                      rules=rules, quiet=True).q_net


register(Exercise(
    id="02.2", title="Tune with your rule (a tiny run) and measure the endings", level="core", minutes=10,
    stub="def tune_for_endings(note_rnn):\n"
         "    \"\"\"Tune note_rnn with tonic_ending_rule alone; return the tuned QNetwork.\"\"\"\n"
         "    raise NotImplementedError(\"tuner.tune(...).q_net\")\n",
    check=check_tune_for_endings, solution=lambda: n02.tune_for_endings, wrong=lambda: _punishing_tuning))


# --- 02.3 ----------------------------------------------------------------------------------------

def _psi_hint(got, want) -> str:
    rewards, values, gamma = _PSI_CASES[0][1]
    if torch.allclose(torch.as_tensor(got).float(), dqn_target(rewards, values, gamma), atol=1e-5):
        return "that is the Q-learning target (max): Ψ-learning takes the soft max, torch.logsumexp over a'"
    return ""


def _psi_cases():
    generator = torch.Generator().manual_seed(3)
    return [("E = 4 episodes, T = 5 steps, γ = 0.5",
             (torch.randn(4, 5, generator=generator), torch.randn(4, 5, 38, generator=generator), 0.5)),
            ("E = 2, T = 3, γ = 0.9", (torch.randn(2, 3, generator=generator),
                                       3 * torch.randn(2, 3, 38, generator=generator), 0.9)),
            ("E = 1, T = 1 (no next state), γ = 0.5", (torch.randn(1, 1, generator=generator),
                                                       torch.randn(1, 1, 38, generator=generator), 0.5))]


_PSI_CASES = _psi_cases()


def check_psi_target(answer) -> Feedback:
    return check_cases("02.3", answer, _PSI_CASES, psi_target,
                       "y_t = r_t + γ · logsumexp_a' Ψ⁻(s_{t+1}, a'): the next state is step t + 1 of the "
                       "same episode, and the last step has no next state (its target is r alone)",
                       same=close(1e-5), what="musiclab.rl.targets.psi_target", diagnose=_psi_hint)


register(Exercise(
    id="02.3", title="Implement the Ψ-learning target", level="core", minutes=15,
    stub="def psi_target(rewards, target_values, gamma):\n"
         "    \"\"\"y [E, T] from rewards [E, T] and target-network values Ψ⁻ [E, T, C].\"\"\"\n"
         "    raise NotImplementedError(\"r + γ · logsumexp of the next state's values\")\n",
    check=check_psi_target, solution=lambda: n02.psi_target,
    wrong=lambda: lambda rewards, values, gamma: dqn_target(rewards, values, gamma)))
