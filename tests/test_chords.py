"""Notes-and-chords tokens: tokenising, the vocabulary, windows, playback, loaders."""
from __future__ import annotations

import pickle
import re

import numpy as np
import pretty_midi
import pytest

from musiclab.data.chords import (
    TokenConfig, TokenSet, Vocabulary, chorale_tokens, load_midi_folder_tokens, token_pitches,
    token_windows, tokens_from_midi, tokens_from_onsets, tokens_from_pretty_midi, tokens_to_pretty_midi,
)
from musiclab.errors import BadFileError, BadParameterError, UnknownNameError

PITCHES = TokenConfig(chord_style="pitches", transpose=False)


def test_each_onset_becomes_a_note_or_a_chord_token():
    onsets = [(0.0, 60), (0.0, 64), (0.0, 67), (1.0, 62), (2.0, 55), (2.0, 71), (2.02, 74)]
    assert tokens_from_onsets(onsets, PITCHES) == ["C4.E4.G4", "D4", "G3.B4.D5"]
    assert tokens_from_onsets(onsets, TokenConfig(transpose=False)) == ["0.4.7", "D4", "2.7.11"]


def test_tokens_are_in_time_order_and_shifted():
    assert tokens_from_onsets([(1.0, 62), (0.0, 60)], PITCHES, shift=2) == ["D4", "E4"]


@pytest.mark.parametrize("token, pitches", [
    ("C4", [60]), ("C#4", [61]), ("B-1", [11]), ("C4.E4.G4", [60, 64, 67]), ("0.4.7", [60, 64, 67]),
    ("11", [71]),
])
def test_token_pitches(token, pitches):
    assert token_pitches(token) == pitches


@pytest.mark.parametrize("token", ["", "H4", "C4..E4", "Cb4", "12", "C4.x"])
def test_bad_tokens_are_rejected(token):
    with pytest.raises(BadParameterError, match="token"):
        token_pitches(token)


def test_vocabulary_is_built_from_the_data_in_a_fixed_order():
    sequences = [["E4", "C4.E4.G4", "C4"], ["0.4.7", "C4", "D4"]]
    vocab = Vocabulary.from_sequences(sequences)
    assert vocab.tokens == ("C4", "D4", "E4", "0.4.7", "C4.E4.G4")
    assert vocab == Vocabulary.from_sequences(list(reversed(sequences)))
    assert Vocabulary.from_sequences(sequences, min_count=2).tokens == ("C4",)


def test_vocabulary_round_trip_and_unknown_tokens():
    vocab = Vocabulary(("C4", "D4", "0.4.7"))
    indices = vocab.encode(["D4", "0.4.7", "C4"])
    assert indices.dtype == np.int64 and indices.tolist() == [1, 2, 0]
    assert vocab.decode(indices) == ["D4", "0.4.7", "C4"]
    assert "D4" in vocab and "E4" not in vocab and len(vocab) == 3
    with pytest.raises(UnknownNameError, match="'E4' is not in the vocabulary"):
        vocab.encode(["E4"])
    with pytest.raises(BadParameterError, match="token index"):
        vocab.decode([3])
    with pytest.raises(BadParameterError, match="unique"):
        Vocabulary(("C4", "C4"))


def test_vocabulary_survives_dict_and_pickle():
    vocab = Vocabulary(("C4", "0.4.7"))
    assert Vocabulary.from_dict(vocab.to_dict()) == vocab
    assert pickle.loads(pickle.dumps(vocab)).index("0.4.7") == 1
    with pytest.raises(BadParameterError, match="tokens"):
        Vocabulary.from_dict({"words": []})


def test_windows_pair_each_window_with_the_next_token():
    inputs, targets = token_windows([np.arange(6), np.arange(2)], length=3)
    assert inputs.tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4]]
    assert targets.tolist() == [3, 4, 5]
    inputs, targets = token_windows([np.arange(6)], length=3, hop=2)
    assert inputs.shape == (2, 3) and targets.tolist() == [3, 5]
    assert token_windows([np.arange(3)], length=3)[0].shape == (0, 3)


def test_playback_spaces_tokens_evenly():
    pm = tokens_to_pretty_midi(["C4", "0.4.7"], step_quarters=0.5, tempo_bpm=120.0)
    notes = sorted((n.start, n.pitch, n.end) for n in pm.instruments[0].notes)
    assert notes == [(0.0, 60, 0.25), (0.25, 60, 0.5), (0.25, 64, 0.5), (0.25, 67, 0.5)]


def test_tokens_survive_a_trip_through_midi():
    tokens = ["C4.E4.G4", "D4", "G3.B4.D5", "A4"]
    pm = tokens_to_pretty_midi(tokens, step_quarters=0.5, tempo_bpm=90.0)
    assert tokens_from_pretty_midi(pm, PITCHES) == tokens


def test_transpose_uses_the_midi_key_signature():
    pm = tokens_to_pretty_midi(["G4", "B4.D5"])
    pm.key_signature_changes.append(pretty_midi.KeySignature(pretty_midi.key_name_to_key_number("G major"), 0.0))
    assert tokens_from_pretty_midi(pm, TokenConfig(chord_style="pitches")) == ["C5", "E5.G5"]


def test_config_presets_and_checks():
    assert TokenConfig.classic().window == 40 and TokenConfig.classic().chord_style == "pitch_classes"
    assert TokenConfig.skuli2017().window == 100 and not TokenConfig.skuli2017().transpose
    with pytest.raises(UnknownNameError, match="chord_style"):
        TokenConfig(chord_style="roman")
    with pytest.raises(BadParameterError, match="window"):
        TokenConfig(window=0)


@pytest.mark.parametrize("kind", ["missing", "empty", "truncated", "text", "drums_only", "no_notes"])
def test_tokens_from_a_bad_midi_file_name_the_file(bad_midi_files, kind):
    path = bad_midi_files[kind]
    with pytest.raises(BadFileError, match=re.escape(path.name)):
        tokens_from_midi(path)


def test_midi_folder_tokens_skip_and_count_bad_files(tmp_path, make_midi, bad_midi_files):
    make_midi("set/a.mid", pitches=(60, 64, 67, 72))
    make_midi("set/b.mid", pitches=(62, 65))
    (tmp_path / "set" / "broken.mid").write_bytes(bad_midi_files["truncated"].read_bytes())
    with pytest.warns(UserWarning, match=r"skipped 1 of 3.*broken\.mid"):
        tokens = load_midi_folder_tokens(tmp_path / "set", PITCHES, quiet=True)
    assert tokens.names == ["a.mid", "b.mid"]
    assert tokens.sequences == [["C4", "E4", "G4", "C5"], ["D4", "F4"]]
    assert tokens.skipped == {"not a readable MIDI file": 1}
    assert len(tokens.vocab) == 6


def test_midi_folder_without_usable_files_is_an_error(tmp_path, bad_midi_files):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.mid").write_bytes(b"")
    with pytest.raises(BadFileError, match="no usable MIDI file"):
        load_midi_folder_tokens(tmp_path / "junk", quiet=True)


def test_token_set_windows_use_the_config_window():
    sequences = [["C4", "D4", "E4"] * 20]
    tokens = TokenSet("x", ["x"], sequences, Vocabulary.from_sequences(sequences), TokenConfig(window=40))
    inputs, targets = tokens.windows()
    assert inputs.shape == (20, 40) and targets.shape == (20,)


@pytest.mark.slow
def test_chorale_tokens_sample_is_cached_with_its_vocabulary(isolated_cache):
    tokens = chorale_tokens(subset="sample", quiet=True)
    assert len(tokens) == 20 and tokens.names[0] == "bach/bwv269"
    assert all(t in tokens.vocab for seq in tokens.sequences for t in seq)
    assert sum(len(s) for s in tokens.sequences) > 1000
    assert sum("." in t for t in tokens.vocab.tokens) > 50  # real chords, not just notes
    again = chorale_tokens(subset="sample", quiet=True)  # from the cache
    assert again.vocab == tokens.vocab and again.sequences == tokens.sequences
    inputs, targets = again.windows()
    assert inputs.shape[1] == 40 and inputs.max() < len(tokens.vocab)
