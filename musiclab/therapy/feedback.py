"""Feedback → reward → personalisation: the loop of the therapy session (notebook 07).

1. A piece plays; the listener reacts at any moment ("more like this" +1 / "less like this" −1, or a
   calm-o-meter reading 0..1). :func:`record_feedback` maps the playback time to the 16th-note step
   it refers to (``step = ⌊seconds · tempo / 60 · 4⌋``) and stores the event in the
   :class:`~musiclab.therapy.profiles.ProfileStore`.
2. The :class:`~musiclab.therapy.preference.PreferenceModel` learns from the window of music before each
   reaction (:meth:`Personaliser.observe`).
3. Its reward joins the RL Tuner's: for every step of a composition

       r(s, a) = log p(a | s) + r_MT(a, s) / c + weight · r_pref(s, a)

   (r_pref enters the tuner as one more rule of weight ``weight · c``, which the tuner divides by c),
   and :meth:`Personaliser.personalise` re-tunes the Q-network for a few hundred compositions,
   warm-started from its current weights, so the next piece reflects the listener. Repeat forever.
   The next piece is the best of ``candidates`` ε-greedy pieces of the re-tuned network (and their
   octave transpositions) by the preference model (:meth:`Personaliser.compose_piece`). With
   ``match_theory`` (default) only candidates with the music-theory profile of the piece that the
   unpersonalised generator would play with the same seed may be chosen
   (:func:`~musiclab.eval.melody.piece_profiles`, :func:`~musiclab.therapy.theory_match.theory_matches`;
   that piece itself always may): the listener changes register, density, leaps and rests, not how
   well the music follows the RL Tuner's rules. The re-tuned network alone
   drifts from the RL Tuner's metric table (``bench/personalisation.py``: "network alone"); the
   match is the anchor that keeps what the listener hears on it, and the re-tuning supplies
   candidates nearer the listener's taste and carries it across sessions.
4. :meth:`Personaliser.save` / :meth:`Personaliser.restore` keep the tuned Q-network and the
   preference model per profile.

:func:`~musiclab.therapy.simulation.simulate_session` runs the whole loop with a
:class:`~musiclab.therapy.preference.SimulatedListener` (headless notebooks, tests,
``bench/personalisation.py``).
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from musiclab.data.melody import STEPS_PER_QUARTER
from musiclab.errors import BadParameterError, check_range
from musiclab.eval.melody import piece_profiles
from musiclab.models.sequence import resolve_generator
from musiclab.rl.q_network import QNetwork
from musiclab.rl.replay import EpisodeReplay
from musiclab.rl.rule_set import RuleSet
from musiclab.rl.rules import rule_set
from musiclab.rl.compose import compose
from musiclab.rl.tuner import Tuner
from musiclab.rl.tuner_config import preset
from musiclab.therapy.personaliser_config import PersonaliserConfig
from musiclab.therapy.preference import (NUM_FEATURES, FeatureScale, PreferenceModel, PreferenceRule,
                                         all_window_features, feedback_target, window_features)
from musiclab.therapy.profiles import ProfileStore
from musiclab.therapy.records import FeedbackEvent, Profile
from musiclab.therapy.theory_match import leap_counts, octave_variants, theory_matches


def seconds_to_step(seconds: float, tempo_bpm: float, length: int | None = None) -> int:
    """The 16th-note step sounding ``seconds`` after the start at ``tempo_bpm`` quarter notes per minute:
    ⌊seconds · tempo / 60 · 4⌋, clipped to the last step when ``length`` (steps) is given."""
    check_range("seconds", seconds, 0.0)
    check_range("tempo_bpm", tempo_bpm, 0.0, low_open=True)
    step = int(math.floor(float(seconds) * float(tempo_bpm) / 60.0 * STEPS_PER_QUARTER + 1e-9))
    return step if length is None else min(step, int(length) - 1)


def record_feedback(store: ProfileStore, profile: Profile, piece_id: int, seconds: float, value: float,
                    tempo_bpm: float, kind: str = "more_less", length: int | None = None,
                    at=None) -> FeedbackEvent:
    """Store a reaction given ``seconds`` into the playback of piece ``piece_id`` (played at
    ``tempo_bpm``) at the step it refers to (clipped to ``length`` steps); ``at``: when (default now).

    The store raises UnknownPieceError for a piece this profile does not have. Notebook 07.
    """
    step = seconds_to_step(seconds, tempo_bpm, length)
    return store.add_feedback(profile, piece_id, step, value, kind, unit="step", at=at)


#: Candidate pieces composed in one batch by :meth:`Personaliser.compose_pieces` (it composes many
#: next pieces' candidates in batches of at most this many, one random stream through all).
CANDIDATE_BATCH = 16_384


@dataclass
class RoundReport:
    """One personalisation round."""

    round: int
    """1 for the first round, then 2, 3, ..."""
    seconds: float
    """Wall time of the round."""
    episodes: int
    """Compositions played in it."""
    updates: int
    """Q-network updates in it."""
    log_p: float
    """Mean log p(a | s) per step of its compositions."""
    rules_and_preference: float
    """Mean (r_MT + weight·c·r_pref) / c per step of its compositions (the tuner's rule part)."""
    examples: int
    """Feedback examples the preference model had learned from."""


class Personaliser:
    """One listener's generator: a tuned Q-network, re-tuned toward their feedback (notebook 07).

    ``q_net``: the starting network (e.g. ``load_q_network('rl_tuner_therapy')``; it is copied, never
    changed, and kept as the unpersonalised generator that composes the reference pieces of the
    theory match). ``scale``: the feature standardisation (default: fitted on
    ``config.scale_pieces`` pieces of ``q_net``, which also give the usual leap shares, ``leap_rates``).
    Compose with :meth:`compose_piece`, learn with :meth:`observe`, re-tune with
    :meth:`personalise`.
    """

    def __init__(self, q_net: QNetwork, config: PersonaliserConfig | None = None,
                 scale: FeatureScale | None = None) -> None:
        if not isinstance(q_net, QNetwork):
            raise BadParameterError(f"q_net must be a tuned QNetwork (load_q_network), got {type(q_net).__name__}")
        self.config = config = config if config is not None else PersonaliserConfig()
        conditioned = q_net.c_encoder is not None
        self.c = float(config.c if config.c is not None else q_net.config.c)
        if not conditioned and self.c != q_net.config.c:
            raise BadParameterError(f"this Q-network was tuned at c={q_net.config.c} only; use c=None")
        usual = compose(q_net, config.scale_pieces, config.length, c=self.c, epsilon=config.epsilon,
                        seed=config.seed, temperature=config.compose_temperature).numpy()
        self.scale = scale if scale is not None else FeatureScale.fit(usual, config.window)
        parts, wholes = (counts.sum(axis=0) for counts in leap_counts(piece_profiles(usual)))
        self.leap_rates = np.divide(parts, wholes, out=np.zeros(2), where=wholes > 0)
        self.start = copy.deepcopy(q_net).eval()
        self.preference = PreferenceModel(l2=config.l2)
        theory = rule_set(preset(config.tuner_preset).rules, config.length)  # the starting network's rules
        self.rules = RuleSet(f"{theory.name}+preference", {
            **theory.rules,
            "preference": (PreferenceRule(self.preference, self.scale, config.window), config.weight * self.c)},
            num_steps=config.length)
        tuner_config = preset(
            config.tuner_preset, algorithm=q_net.config.algorithm, c=self.c,
            c_range=(self.c, self.c) if conditioned else None, episodes=config.episodes, length=config.length, batch_size=config.batch_size,
            memory=config.episodes * config.length, train_every=config.train_every, lr=config.lr,
            exploration="boltzmann", temperature_start=config.temperature, temperature=config.temperature,
            anneal_fraction=0.0,
            seed=config.seed, num_threads=config.num_threads)
        self.tuner = Tuner.from_q_network(q_net, tuner_config, self.rules)
        self.rounds: list[RoundReport] = []

    @property
    def q_net(self) -> QNetwork:
        """The listener's current Q-network."""
        return self.tuner.q_net

    def piece_scores(self, pieces) -> np.ndarray:
        """Mean P(like) of the preference model over the full windows of each piece: [N, T] → [N]."""
        features = all_window_features(pieces, self.config.window)[:, min(self.config.window, self.config.length) - 1:]
        return self.preference.probability(self.scale(features)).mean(axis=1)

    def compose_pieces(self, n: int, seed: int) -> np.ndarray:
        """``n`` next pieces at once: np.int64 [n, length].

        For each, ``candidates`` pieces composed ε-greedily by the listener's network (one seeded
        random stream, :data:`CANDIDATE_BATCH` candidates per batch), with ``octaves`` each also an
        octave lower and higher, and the one the preference model likes best. With ``match_theory``
        the unpersonalised generator first composes a reference piece (same seed); only the
        reference and the candidates whose :func:`piece_profiles` :func:`theory_matches` it may be
        chosen, and without feedback the reference is played. Without ``match_theory`` and
        feedback, the first candidate.
        """
        cfg = self.config
        n = int(check_range("n", n, 1))
        reference = None
        if cfg.match_theory:
            reference = compose(self.start, n, cfg.length, c=self.c, epsilon=cfg.epsilon, seed=seed,
                                temperature=cfg.compose_temperature).numpy()
            if self.preference.count == 0:
                return reference
        generator = resolve_generator(seed)  # one stream through every batch: same seed, same pieces
        per_batch = max(1, CANDIDATE_BATCH // cfg.candidates)
        chosen = []
        for first in range(0, n, per_batch):
            count = min(per_batch, n - first)
            candidates = compose(self.q_net, count * cfg.candidates, cfg.length, c=self.c, epsilon=cfg.epsilon,
                                 generator=generator, temperature=cfg.compose_temperature).numpy()
            chosen.append(self._choose(candidates.reshape(count, cfg.candidates, cfg.length),
                                       None if reference is None else reference[first:first + count]))
        return np.concatenate(chosen)

    def _choose(self, pieces: np.ndarray, reference: np.ndarray | None) -> np.ndarray:
        """The piece to play from each row of candidates ``pieces`` [m, K, length] (:meth:`compose_pieces`),
        given the unpersonalised ``reference`` pieces [m, length] (None without ``match_theory``): [m, length]."""
        cfg, m = self.config, len(pieces)
        if reference is not None:
            pieces = np.concatenate([reference[:, None], pieces], axis=1)
        elif self.preference.count == 0 or (cfg.candidates == 1 and not cfg.octaves):
            return pieces[:, 0]
        allowed = np.ones(pieces.shape[:2], dtype=bool)
        if cfg.octaves:
            pieces, allowed = octave_variants(pieces.reshape(-1, cfg.length))
            pieces, allowed = pieces.reshape(m, -1, cfg.length), allowed.reshape(m, -1)
        if reference is not None:
            profiles = piece_profiles(pieces.reshape(-1, cfg.length)).reshape(m, pieces.shape[1], -1)
            allowed &= theory_matches(profiles, piece_profiles(reference), self.leap_rates, cfg.leap_tolerance,
                                      cfg.share_tolerance, cfg.autocorrelation_tolerance)
            allowed[:, 1 if cfg.octaves else 0] = True  # the reference itself, as it is
        scores = np.full(allowed.shape, -np.inf)
        scores[allowed] = self.piece_scores(pieces[allowed])  # with a theory match, a few in a hundred
        return pieces[np.arange(m), np.argmax(scores, axis=1)]

    def compose_piece(self, seed: int) -> np.ndarray:
        """The next piece (:meth:`compose_pieces` with n = 1): np.int64 [length]."""
        return self.compose_pieces(1, seed)[0]

    def observe(self, piece, position: int, value: float, kind: str = "more_less") -> None:
        """Learn from one reaction ``value`` (of ``kind``) at step ``position`` of ``piece`` [T]."""
        z = self.scale(window_features(piece, int(position), self.config.window))[0]
        self.preference.observe(z, feedback_target(value, kind))

    def learn_from_store(self, store: ProfileStore, profile: Profile) -> int:
        """Rebuild the preference model from every stored feedback event (step positions) on the
        profile's stored pieces; returns how many examples it learned from."""
        self.preference.inputs.clear()
        self.preference.targets.clear()
        pieces = {}
        for event in store.feedback(profile):
            if event.unit != "step":
                continue
            if event.piece_id not in pieces:
                pieces[event.piece_id] = store.piece(profile, event.piece_id).events
            piece = pieces[event.piece_id]
            if piece is None or piece.ndim != 1 or event.position >= len(piece):
                continue
            z = self.scale(window_features(piece, int(event.position), self.config.window))[0]
            self.preference.inputs.append(z)
            self.preference.targets.append(feedback_target(event.value, event.kind))
        self.preference.fit()
        return self.preference.count

    def personalise(self) -> RoundReport | None:
        """One round: re-tune the Q-network for ``episodes`` compositions on
        log p + r_MT / c + weight · r_pref, warm-started from its current weights (fresh replay,
        since the reward changed). None (nothing done) before the first feedback."""
        if self.preference.count == 0:
            return None
        tuner, cfg = self.tuner, self.config
        start_updates, start_rounds = tuner.updates, len(tuner.history.episodes)
        tuner.replay = EpisodeReplay(tuner.config.memory, cfg.length)
        tuner.config.episodes = tuner.episodes_played + cfg.episodes
        started = time.perf_counter()
        tuner.run(quiet=True)
        history = tuner.history
        report = RoundReport(round=len(self.rounds) + 1, seconds=time.perf_counter() - started,
                             episodes=cfg.episodes, updates=tuner.updates - start_updates,
                             log_p=float(np.mean(history.log_p_reward[start_rounds:])),
                             rules_and_preference=float(np.mean(history.rule_reward[start_rounds:])),
                             examples=self.preference.count)
        self.rounds.append(report)
        return report

    def state_dict(self) -> dict:
        """Everything to restore this listener's generator: the Q-network ('q_net.*'), the preference
        model and its examples ('preference.*'), the feature scale ('scale.*'), as tensors."""
        state = {f"q_net.{k}": v.detach().cpu().clone() for k, v in self.q_net.state_dict().items()}
        inputs = np.asarray(self.preference.inputs, dtype=np.float64).reshape(-1, NUM_FEATURES)
        state.update({
            "preference.weights": torch.from_numpy(self.preference.weights.copy()),
            "preference.bias": torch.tensor(self.preference.bias, dtype=torch.float64),
            "preference.inputs": torch.from_numpy(inputs),
            "preference.targets": torch.tensor(self.preference.targets, dtype=torch.float64),
            "scale.mean": torch.from_numpy(self.scale.mean.copy()),
            "scale.std": torch.from_numpy(self.scale.std.copy()),
        })
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore from :meth:`state_dict` (a BadParameterError names a missing or mismatched part)."""
        needed = ("preference.weights", "preference.bias", "preference.inputs", "preference.targets",
                  "scale.mean", "scale.std")
        missing = [key for key in needed if key not in state]
        if missing:
            raise BadParameterError(f"personaliser state lacks {', '.join(missing)}")
        q_state = {k[len("q_net."):]: v for k, v in state.items() if k.startswith("q_net.")}
        try:
            self.tuner.load_q_state(q_state)
        except RuntimeError as error:
            raise BadParameterError(f"the saved Q-network does not fit this one: {error}") from None
        scale = FeatureScale(state["scale.mean"].numpy(), state["scale.std"].numpy())
        self.scale.mean, self.scale.std = scale.mean, scale.std
        self.preference.weights = state["preference.weights"].numpy().astype(np.float64).copy()
        self.preference.bias = float(state["preference.bias"])
        self.preference.inputs[:] = list(state["preference.inputs"].numpy().astype(np.float64))
        self.preference.targets[:] = [float(t) for t in state["preference.targets"].tolist()]

    def save(self, store: ProfileStore, profile: Profile) -> int:
        """Store this generator as ``profile``'s model state; returns the new version number."""
        return store.save_model_state(profile, self.state_dict())

    def restore(self, store: ProfileStore, profile: Profile) -> bool:
        """Load ``profile``'s saved generator if there is one; True when it was restored."""
        state = store.load_model_state(profile)
        if state is None:
            return False
        self.load_state_dict(state)
        return True
