"""Feedback → reward → personalisation (musiclab.therapy.preference, .theory_match, .feedback, .simulation)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from musiclab.checkpoints import load_model
from musiclab.errors import BadParameterError
from musiclab.eval.melody import PIECE_PROFILE_KEYS, melody_metrics, piece_profiles
from musiclab.rl.q_network import QNetwork
from musiclab.rl.rules import rule_set
from musiclab.rl.compose import compose
from musiclab.rl.targets import total_reward
from musiclab.rl.tuner_config import preset
from musiclab.therapy import feedback
from musiclab.therapy.feedback import Personaliser, record_feedback, seconds_to_step
from musiclab.therapy.personaliser_config import PersonaliserConfig, personaliser_preset
from musiclab.therapy.preference import (FEATURES, NUM_FEATURES, FeatureScale, PreferenceModel, PreferenceRule,
                                         SimulatedListener, all_window_features, feedback_target, sounding_pitches,
                                         window_features)
from musiclab.therapy.profiles import ProfileStore, UnknownPieceError
from musiclab.therapy.simulation import satisfaction_of, simulate_session
from musiclab.therapy.theory_match import leap_counts, octave_variants, theory_matches

C4, D4, E4, G4, C5 = 60 - 46, 62 - 46, 64 - 46, 67 - 46, 72 - 46
TINY = dict(episodes=32, batch_size=32, train_every=1, candidates=2, scale_pieces=32)


@pytest.fixture(scope="module")
def q_net():
    """A small c-conditioned Q-network: the shipped fast Note-RNN before tuning."""
    return QNetwork.from_model(load_model("note_rnn_fast", device="cpu"), "dqn", conditioned=True, c=0.2)


@pytest.fixture(scope="module")
def scale(q_net):
    return Personaliser(q_net, PersonaliserConfig(**TINY)).scale


@pytest.fixture()
def store(tmp_path):
    with ProfileStore(tmp_path / "profiles.sqlite3", hashing="interactive") as opened:
        yield opened


def test_playback_seconds_map_to_sixteenth_steps_through_the_tempo():
    assert seconds_to_step(1.0, 60.0) == 4
    assert seconds_to_step(1.0, 120.0) == 8
    assert seconds_to_step(0.0, 72.0) == 0
    assert seconds_to_step(100.0, 72.0, length=32) == 31
    with pytest.raises(BadParameterError, match="tempo_bpm"):
        seconds_to_step(1.0, 0.0)


def test_sounding_pitches_carry_holds_and_leave_rests_silent():
    pitches = sounding_pitches(np.array([1, C4, 1, 0, 1, E4]))[0]
    assert np.isnan(pitches[0]) and np.isnan(pitches[3]) and np.isnan(pitches[4])
    assert pitches[1] == pitches[2] == 60 and pitches[5] == 64


def test_window_features_measure_register_density_leaps_rests_and_range():
    melody = np.array([C4, 1, G4, 1, 0, 1, C5, D4])
    features = dict(zip(FEATURES, window_features(melody, 7, window=8)[0]))
    assert features["density"] == pytest.approx(4 / 8)
    assert features["rest"] == pytest.approx(2 / 8)
    assert features["leap"] == pytest.approx((7 + 5 + 10) / 3)
    assert features["range"] == 72 - 60
    assert features["register"] == pytest.approx((60 * 2 + 67 * 2 + 72 + 62) / 6)
    late = window_features(melody, 7, window=2)[0]
    assert late[FEATURES.index("leap")] == 7.5 and late[FEATURES.index("register")] == 67


def test_features_of_every_window_agree_with_each_window_measured_alone():
    rng = np.random.default_rng(0)
    melodies = rng.integers(0, 38, (5, 20))
    melodies[rng.random(melodies.shape) < 0.4] = 1  # plenty of holds
    melodies[0, :6] = [1, 1, 0, 1, C4, 1]  # a rest before the first note
    for window in (1, 3, 8, 30):
        every = all_window_features(melodies, window)
        assert every.shape == (5, 20, NUM_FEATURES)
        for end in (0, 4, 19):
            np.testing.assert_array_equal(every[:, end], window_features(melodies, end, window))
    ends = np.array([3, 19, 0, 7, 12])
    np.testing.assert_array_equal(window_features(melodies, ends, 8), every_at(melodies, ends, 8))


def every_at(melodies, ends, window):
    """Each melody's window ending at its own end, measured one melody at a time."""
    return np.concatenate([window_features(m, e, window) for m, e in zip(melodies, ends)])


def test_a_window_with_no_notes_has_undefined_features_that_scale_to_usual():
    raw = window_features(np.array([0, 1, 1, 1]), 3, window=4)[0]
    assert np.isnan(raw[FEATURES.index("register")]) and raw[FEATURES.index("rest")] == 1.0
    scale = FeatureScale(np.zeros(NUM_FEATURES), np.ones(NUM_FEATURES))
    assert scale(raw)[FEATURES.index("register")] == 0.0


def test_feedback_values_become_liking_targets_and_bad_values_are_refused():
    assert feedback_target(1.0) == 1.0 and feedback_target(-1.0) == 0.0 and feedback_target(0.0) == 0.5
    assert feedback_target(0.8, "calm") == pytest.approx(0.8)
    with pytest.raises(BadParameterError, match="more_less"):
        feedback_target(2.0)
    with pytest.raises(BadParameterError, match="kind"):
        feedback_target(0.5, "loud")


def test_the_preference_model_learns_a_known_preference():
    rng = np.random.default_rng(0)
    hidden = np.array([2.0, -1.0, 0.0, 0.0, 1.0])
    model = PreferenceModel()
    for _ in range(200):
        z = rng.standard_normal(NUM_FEATURES)
        model.observe(z, float(rng.random() < 1 / (1 + np.exp(-hidden @ z))))
    cosine = model.weights @ hidden / np.linalg.norm(model.weights) / np.linalg.norm(hidden)
    assert cosine > 0.9
    assert model.probability(hidden) > 0.9 > 0.1 > model.probability(-hidden)
    assert model.count == 200


def test_the_preference_model_without_feedback_is_indifferent():
    model = PreferenceModel()
    assert model.probability(np.ones(NUM_FEATURES)) == 0.5 and model.reward(np.ones(NUM_FEATURES)) == 0.0


def test_total_reward_is_log_p_plus_rules_over_c_plus_weight_times_preference(q_net, scale):
    personaliser = Personaliser(q_net, PersonaliserConfig(**TINY, weight=3.0), scale=scale)
    personaliser.preference.weights = np.array([1.0, 0.5, -0.5, -1.0, 0.2])
    c, log_p = personaliser.c, -1.7
    theory, preference = rule_set(preset("fast").rules, 32), PreferenceRule(personaliser.preference, scale)
    composition = np.array([C4, 1, E4, 1, G4, 1, 1, 0, 1, E4, D4])
    for action in (0, 1, C4, C5):
        combined = total_reward(log_p, personaliser.rules.reward(composition, action, 11), c)
        expected = log_p + theory.reward(composition, action, 11) / c + 3.0 * preference(composition, action, 11)
        assert combined == pytest.approx(expected)
    batch = personaliser.rules.rewards(np.stack([composition] * 4), np.array([0, 1, C4, C5]), 11)
    single = [personaliser.rules.reward(composition, a, 11) for a in (0, 1, C4, C5)]
    assert batch == pytest.approx(single)


def test_a_simulated_listener_without_preferences_likes_half_the_time(scale):
    listener = SimulatedListener(np.zeros(NUM_FEATURES), scale)
    values = listener.react(np.array([C4, 1, E4, G4] * 8), np.arange(2000) % 32, np.random.default_rng(1))
    assert set(np.unique(values)) == {-1.0, 1.0}
    assert 0.46 < np.mean(values > 0) < 0.54


def test_a_simulated_listener_likes_what_matches_their_hidden_preference(scale):
    high = SimulatedListener(np.eye(NUM_FEATURES)[FEATURES.index("register")] * 3.0, scale)
    rng = np.random.default_rng(2)
    up, down = np.array([C5, 1, 1, 1] * 8), np.array([C4, 1, 1, 1] * 8)
    assert np.mean(high.react(up, np.full(500, 20), rng) > 0) > 0.8
    assert np.mean(high.react(down, np.full(500, 20), rng) > 0) < 0.3


def test_simulated_listeners_are_seeded_and_calm_readings_stay_in_range(scale):
    a, b = SimulatedListener.random(scale, seed=5), SimulatedListener.random(scale, seed=5)
    assert np.array_equal(a.weights, b.weights) and np.linalg.norm(a.weights) == pytest.approx(3.0)
    melody = np.array([C4, D4, E4, 1, G4, 0, C5, 1] * 4)
    first = a.react(melody, np.arange(32), np.random.default_rng(7))
    assert np.array_equal(first, b.react(melody, np.arange(32), np.random.default_rng(7)))
    calm = SimulatedListener.random(scale, seed=5, kind="calm", noise=0.3)
    readings = calm.react(melody, np.arange(32), np.random.default_rng(7))
    assert readings.min() >= 0.0 and readings.max() <= 1.0 and len(np.unique(readings)) > 2


def test_satisfaction_is_the_share_of_positive_reactions_or_the_mean_calm_reading():
    assert satisfaction_of([1, -1, 1, 1]) == 0.75
    assert satisfaction_of([0.2, 0.6], "calm") == pytest.approx(0.4)


@pytest.mark.slow
def test_one_personalisation_round_retunes_the_network_warm_started(q_net, scale):
    personaliser = Personaliser(q_net, PersonaliserConfig(**TINY), scale=scale)
    assert personaliser.personalise() is None  # nothing learned yet, nothing done
    start = {k: v.clone() for k, v in personaliser.q_net.state_dict().items()}
    assert all(torch.equal(start[k], v) for k, v in q_net.state_dict().items())  # warm start
    piece = personaliser.compose_piece(seed=0)
    assert piece.shape == (32,) and piece.dtype == np.int64
    for position in (8, 16, 24):
        personaliser.observe(piece, position, 1.0)
    report = personaliser.personalise()
    assert report.round == 1 and report.episodes == 32 and report.updates >= 1 and report.examples == 3
    assert report.seconds < 30
    after = personaliser.q_net.state_dict()
    assert not torch.equal(after["body.head.weight"], start["body.head.weight"])
    assert torch.equal(after["prior.head.weight"], start["prior.head.weight"])  # the prior stays frozen
    assert all(torch.equal(v, q_net.state_dict()[k]) for k, v in start.items())  # the given network untouched


def test_without_the_theory_match_the_next_piece_is_the_candidate_the_preference_model_likes_best(q_net, scale):
    config = PersonaliserConfig(**{**TINY, "candidates": 6}, match_theory=False, octaves=False)
    personaliser = Personaliser(q_net, config, scale=scale)
    candidates = compose(q_net, 3 * 6, 32, c=personaliser.c, epsilon=0.3, seed=11, temperature=0).numpy().reshape(3, 6, 32)
    plain = personaliser.compose_pieces(3, seed=11)
    assert plain.shape == (3, 32) and np.array_equal(plain, candidates[:, 0])  # no feedback: no choice
    personaliser.observe(np.array([C5, 1, 1, 1] * 8), 20, 1.0)  # likes high, held notes
    personaliser.observe(np.array([C4, D4, C4, D4] * 8), 20, -1.0)
    chosen = personaliser.compose_pieces(3, seed=11)
    scores = personaliser.piece_scores(candidates.reshape(-1, 32)).reshape(3, 6)
    assert np.array_equal(chosen, candidates[np.arange(3), scores.argmax(axis=1)])
    assert np.array_equal(personaliser.compose_piece(seed=5), personaliser.compose_pieces(1, seed=5)[0])
    assert (scores.max(axis=1) > scores.mean(axis=1)).all()


def test_many_next_pieces_draw_their_candidates_in_batches_from_one_seeded_stream(q_net, scale, monkeypatch):
    monkeypatch.setattr(feedback, "CANDIDATE_BATCH", 12)  # 6 candidates each: 2 next pieces per batch
    config = PersonaliserConfig(**{**TINY, "candidates": 6}, match_theory=False, octaves=False)
    personaliser = Personaliser(q_net, config, scale=scale)
    stream = torch.Generator().manual_seed(11)
    candidates = np.concatenate([compose(q_net, count * 6, 32, c=personaliser.c, epsilon=0.3, generator=stream,
                                         temperature=0).numpy() for count in (2, 2, 1)]).reshape(5, 6, 32)
    personaliser.observe(np.array([C5, 1, 1, 1] * 8), 20, 1.0)
    chosen = personaliser.compose_pieces(5, seed=11)
    scores = personaliser.piece_scores(candidates.reshape(-1, 32)).reshape(5, 6)
    assert np.array_equal(chosen, candidates[np.arange(5), scores.argmax(axis=1)])
    assert np.array_equal(chosen, personaliser.compose_pieces(5, seed=11))  # same seed, same pieces


def test_the_piece_profiles_add_up_to_the_metric_table(q_net):
    pieces = compose(q_net, 200, 32, c=0.2, epsilon=0.5, seed=3, temperature=0).numpy()
    profile, table = piece_profiles(pieces), melody_metrics(pieces)
    column = dict(zip(PIECE_PROFILE_KEYS, profile.T))
    notes = (pieces >= 2).sum(axis=1)
    for key in ("starts_with_tonic", "unique_max", "unique_min"):
        assert column[key].mean() == pytest.approx(table[key])
    assert column["leaps_stepped_back"].sum() / column["leaps"].sum() == pytest.approx(table["leaps_stepped_back"])
    resolved, doubled = column["leaps_resolved"].sum(), column["leaps_doubled"].sum()
    assert resolved / (resolved + doubled) == pytest.approx(table["leaps_resolved"])
    for key in ("notes_in_motif", "notes_not_in_key"):
        assert (column[key] * notes).sum() / notes.sum() == pytest.approx(table[key])
    assert profile.shape == (200, len(PIECE_PROFILE_KEYS)) and np.isfinite(profile).all()
    with pytest.raises(BadParameterError, match="pieces"):
        piece_profiles(np.zeros(5, dtype=np.int64))


def test_leap_counts_give_the_stepped_back_and_the_resolved_share_as_parts_of_wholes():
    f4, d5 = 65 - 46, 74 - 46
    doubled = [C4, G4, f4, d5, C5, 1, 1, 1]  # two leaps up, each stepped back from; the second doubles the first
    resolved = [C4, G4, f4, E4, D4, C4, 1, 1]  # one leap, stepped back from and walked back down to C4
    parts, wholes = leap_counts(piece_profiles(np.array([doubled, resolved])))
    assert parts.tolist() == [[2, 0], [1, 1]] and wholes.tolist() == [[2, 1], [1, 1]]


def test_a_piece_matches_its_own_profile_but_not_one_with_another_start_or_more_unresolved_leaps():
    piece = np.array([C4, 1, E4, 1, G4, 1, E4, 1, D4, 1, C4, 1, 1, 1, 0, 1] * 2)
    other_start = np.concatenate([[D4], piece[1:]])
    leaps = piece.copy()
    leaps[[4, 20]] = C5  # E4 → C5 → E4 twice: 4 leaps of a sixth, none resolved
    profiles = piece_profiles(np.stack([piece, other_start, leaps]))
    match = theory_matches(profiles[None], profiles[:1], leap_rates=(0.5, 0.5))[0]
    assert match.tolist() == [True, False, False]
    assert theory_matches(profiles[None], profiles[:1], leap_rates=(0.5, 0.5), leap_tolerance=100,
                          share_tolerance=1, autocorrelation_tolerance=2)[0].tolist() == [True, False, True]


def test_octave_variants_move_the_register_and_keep_the_theory_but_never_leave_the_range():
    piece = np.array([C4, 1, E4, 1, G4, 1, 0, 1] * 4)
    variants, valid = octave_variants(np.stack([piece, np.full(32, 37)]))
    assert variants.shape == (2, 3, 32) and valid.tolist() == [[True, True, True], [True, True, False]]
    assert np.array_equal(variants[0, 0], np.where(piece >= 2, piece - 12, piece))
    assert np.array_equal(variants[0, 1], piece) and np.array_equal(variants[1, 2], np.full(32, 37))
    profiles = piece_profiles(variants[0])
    assert np.array_equal(profiles[0, :7], profiles[1, :7]) and np.array_equal(profiles[2, :7], profiles[1, :7])


def test_with_the_theory_match_the_next_piece_keeps_the_unpersonalised_pieces_profile(q_net, scale):
    config = PersonaliserConfig(**{**TINY, "candidates": 16})
    personaliser = Personaliser(q_net, config, scale=scale)
    reference = compose(q_net, 8, 32, c=personaliser.c, epsilon=config.epsilon, seed=11, temperature=0).numpy()
    assert np.array_equal(personaliser.compose_pieces(8, seed=11), reference)  # no feedback: the usual pieces
    personaliser.observe(np.array([C5, 1, 1, 1] * 8), 20, 1.0)  # likes high, held notes
    personaliser.observe(np.array([C4, D4, C4, D4] * 8), 20, -1.0)
    chosen = personaliser.compose_pieces(8, seed=11)
    assert theory_matches(piece_profiles(chosen)[:, None], piece_profiles(reference), personaliser.leap_rates).all()
    assert (personaliser.piece_scores(chosen) >= personaliser.piece_scores(reference)).all()
    assert not np.array_equal(chosen, reference)  # the listener's taste did choose something
    assert np.array_equal(chosen, personaliser.compose_pieces(8, seed=11))  # same seed, same pieces


def test_feedback_on_a_piece_that_does_not_exist_is_an_error(store):
    profile = store.sign_up("ada", "pw")
    with pytest.raises(UnknownPieceError, match="piece 99"):
        record_feedback(store, profile, 99, 1.0, 1.0, tempo_bpm=72.0)


def test_feedback_is_stored_at_the_step_it_refers_to(store):
    profile = store.sign_up("ada", "pw")
    piece_id = store.add_piece(profile, np.array([C4, 1, E4, 1] * 8))
    event = record_feedback(store, profile, piece_id, 2.5, -1.0, tempo_bpm=60.0, length=32)
    assert (event.unit, event.position, event.value) == ("step", 10.0, -1.0)
    assert store.feedback(profile, piece_id)[0].position == 10.0


def test_the_model_state_is_saved_per_profile_and_restored(q_net, scale, store):
    ada, bob = store.sign_up("ada", "pw"), store.sign_up("bob", "pw")
    personaliser = Personaliser(q_net, PersonaliserConfig(**TINY), scale=scale)
    with torch.no_grad():
        personaliser.q_net.body.head.bias.add_(0.25)
    personaliser.observe(np.array([C5, 1, 1, 1] * 8), 12, 1.0)
    assert personaliser.save(store, ada) == 1
    again = Personaliser(q_net, PersonaliserConfig(**TINY), scale=scale)
    assert again.restore(store, ada)
    assert torch.equal(again.q_net.body.head.bias, personaliser.q_net.body.head.bias)
    assert np.allclose(again.preference.weights, personaliser.preference.weights) and again.preference.count == 1
    fresh = Personaliser(q_net, PersonaliserConfig(**TINY), scale=scale)
    assert not fresh.restore(store, bob)
    assert torch.equal(fresh.q_net.body.head.bias, q_net.body.head.bias)
    with pytest.raises(BadParameterError, match="lacks"):
        fresh.load_state_dict({"q_net.c_encoder.0.bias": torch.zeros(16)})


def test_the_preference_model_can_be_rebuilt_from_stored_feedback(q_net, scale, store):
    profile = store.sign_up("ada", "pw")
    piece = np.array([C5, 1, 1, 1, C4, 1, 1, 1] * 4)
    piece_id = store.add_piece(profile, piece)
    live = Personaliser(q_net, PersonaliserConfig(**TINY), scale=scale)
    for seconds, value in ((0.5, 1.0), (1.3, -1.0), (2.4, 1.0)):
        event = record_feedback(store, profile, piece_id, seconds, value, tempo_bpm=72.0, length=32)
        live.observe(piece, int(event.position), value)
    rebuilt = Personaliser(q_net, PersonaliserConfig(**TINY), scale=scale)
    assert rebuilt.learn_from_store(store, profile) == 3
    assert np.allclose(rebuilt.preference.weights, live.preference.weights)


@pytest.mark.slow
def test_a_simulated_session_stores_every_piece_and_reaction_and_repeats_with_its_seed(q_net, scale, store):
    profile = store.sign_up("ada", "pw")
    listener = SimulatedListener.random(scale, seed=3)
    runs = []
    for with_store in (True, False):
        personaliser = Personaliser(q_net, PersonaliserConfig(**TINY), scale=scale)
        runs.append(simulate_session(personaliser, listener, pieces=2, reactions=3, seed=4, quiet=True,
                                     store=store if with_store else None, profile=profile if with_store else None))
    stored, plain = runs
    assert len(store.pieces(profile)) == 2 and len(store.feedback(profile)) == 6
    assert all(np.array_equal(a, b) for a, b in zip(stored.pieces, plain.pieces))
    assert np.array_equal(stored.feedback_values(), plain.feedback_values())
    assert len(stored.rounds) == 1 and 0.0 <= stored.positive_share(0, 6) <= 1.0


def test_bad_settings_are_refused_with_their_name():
    with pytest.raises(BadParameterError, match="candidates"):
        PersonaliserConfig(candidates=0)
    with pytest.raises(BadParameterError, match="leap_tolerance"):
        PersonaliserConfig(leap_tolerance=-1.0)
    with pytest.raises(BadParameterError, match="preset"):
        personaliser_preset("loud")
    with pytest.raises(BadParameterError, match="QNetwork"):
        Personaliser("not a network")
