"""Melody corpora (Essen, O'Neill, chorales), the calming set, MIDI loaders and the split."""
from __future__ import annotations

import pickle
import re
import warnings

import numpy as np
import pytest

from musiclab.data import abc as abc_text
from musiclab.data import corpus
from musiclab.data.abc import AbcTune, parse_abc_key, read_abc
from musiclab.data.calming import calming_kind, calming_tunes, is_calming
from musiclab.data.corpus import (
    CORPORA, MelodySet, Tune, abc_collection_files, convert_abc, load_melodies, split_tunes,
)
from musiclab.data.melody import NOTE_OFF, NUM_CLASSES, decode_events, encode_notes, to_music21
from musiclab.data.midi_melodies import load_midi_folder, load_midi_melody
from musiclab.data.smf import midi_file_notes
from musiclab.data.tune_encoding import notes_from_music21
from musiclab.errors import BadFileError, BadParameterError, UnknownNameError

WHITE_KEYS = {0, 2, 4, 5, 7, 9, 11}


def abc(number: int, body: str, key: str = "C", meter: str = "4/4", rhythm: str = "Lied") -> AbcTune:
    """A hand-written ABC tune (L:1/8)."""
    text = f"X:{number}\nT:Tune {number}\nR:{rhythm}\nM:{meter}\nL:1/8\nK:{key}\n{body}\n"
    return AbcTune(f"test/{number}", {"X": str(number), "T": f"Tune {number}", "R": rhythm,
                                      "M": meter, "K": key}, text)


def onset_pitches(events) -> list[int]:
    return [n.pitch for n in decode_events(events)]


# --- the real corpora -------------------------------------------------------------------------

def test_a_real_essen_tune_is_encoded_transposed_and_timed(essen_sample):
    tune = essen_sample.tunes[0]  # kinder0 X:1, "| A2GG | F2z" in F major, L:1/8
    assert (tune.tune_id, tune.title, tune.key, tune.meter) == (
        "essen/kinder0/1", "SCHLAF KINDLEIN SCHLAF", "F", "2/4")
    assert tune.rhythm == "Kinder -, Wiegen - Lied"
    # F major -> C major is 5 semitones down: A4 G4 G4 F4 becomes E4 D4 D4 C4
    assert tune.events[:14].tolist() == [18, 1, 1, 1, 16, 1, 16, 1, 14, 1, 1, 1, NOTE_OFF, 1]


def test_essen_melodies_are_valid_and_in_c_major_or_a_minor(essen_sample):
    assert len(essen_sample) == 213 and essen_sample.skipped == {}
    pitches = []
    for tune in essen_sample.tunes:
        assert tune.events.dtype == np.int64 and tune.events.ndim == 1
        assert 0 <= tune.events.min() and tune.events.max() < NUM_CLASSES
        assert tune.events[0] >= 2  # starts with an onset
        pitches += onset_pitches(tune.events)
    white = np.mean([p % 12 in WHITE_KEYS for p in pitches])
    assert white > 0.97, f"only {white:.1%} of notes on white keys: transposition is off"


def test_cached_load_does_not_rebuild(isolated_cache, monkeypatch):
    first = load_melodies("essen", subset="erk5", quiet=True)

    def no_build(*args, **kwargs):
        raise AssertionError("rebuilt although cached")

    monkeypatch.setattr(corpus, "convert_abc", no_build)
    second = load_melodies("essen", subset="erk5", quiet=True)
    assert [t.tune_id for t in first.tunes] == [t.tune_id for t in second.tunes]
    assert all(np.array_equal(a, b) for a, b in zip(first.events, second.events))
    assert all(e.dtype == np.int64 for e in second.events)


def test_melody_set_pickles_compactly_and_exactly(essen_sample):
    data = pickle.dumps(essen_sample)
    total_steps = sum(t.steps for t in essen_sample.tunes)
    assert len(data) < 2 * total_steps + 100_000  # one byte per step, not eight
    back = pickle.loads(data)
    assert back.summary() == essen_sample.summary()
    assert all(np.array_equal(a, b) and a.dtype == np.int64 for a, b in zip(back.events, essen_sample.events))


def test_melody_set_helpers(essen_sample):
    windows = essen_sample.windows(32)
    assert windows.shape[1] == 32 and windows.shape[0] == sum(t.steps // 32 for t in essen_sample.tunes)
    assert "essen/kinder0: 213 tunes" in essen_sample.summary()
    assert sum(len(v) for v in essen_sample.split().values()) == 213


def test_oneill_collection_loads_in_c(isolated_cache, needs_abc2midi):
    melodies = load_melodies("oneill", subset="0001-0050", quiet=True)
    assert len(melodies) == 50 and melodies.tunes[2].title == "The Little Heathy Hill"
    white = np.mean([p % 12 in WHITE_KEYS for t in melodies.tunes for p in onset_pitches(t.events)])
    assert white > 0.9


def test_abc2midi_expands_repeats_and_endings(needs_abc2midi):
    tunes = [abc(1, "|:CDEF:|GABc|]"), abc(2, "|:CD|1EF:|2GA|]")]
    melodies = convert_abc(tunes, "test", converter="abc2midi", quiet=True)
    assert onset_pitches(melodies.tunes[0].events) == [60, 62, 64, 65] * 2 + [67, 69, 71, 72]
    assert onset_pitches(melodies.tunes[1].events) == [60, 62, 64, 65, 60, 62, 67, 69]


@pytest.mark.slow
def test_chorale_sopranos_sample(isolated_cache):
    melodies = load_melodies("chorales", subset="sample", quiet=True)
    assert len(melodies) == corpus.CHORALE_SAMPLE
    first = melodies.tunes[0]
    assert first.tune_id == "chorales/bwv269" and first.meter == "3/4"
    assert first.rhythm == "chorale" and "major" in first.key or "minor" in first.key
    assert onset_pitches(first.events)[:3] == [72, 72, 79]  # soprano G G D in G major -> C C G


def test_unknown_corpus_names_the_valid_ones():
    with pytest.raises(UnknownNameError, match="'essen', 'oneill', 'chorales'"):
        load_melodies("nottingham")
    assert CORPORA == ("essen", "oneill", "chorales")


def test_unknown_subset_names_the_valid_ones():
    with pytest.raises(UnknownNameError, match="'default', 'all', 'china'.*'kinder0'"):
        load_melodies("essen", subset="lullabies")


def test_essen_subsets_partition_the_collection():
    default = {p.stem for p in abc_collection_files("essen", "default")}
    china = {p.stem for p in abc_collection_files("essen", "china")}
    everything = {p.stem for p in abc_collection_files("essen", "all")}
    assert china == {"han1", "han2"} and default | china == everything and not default & china
    assert [p.stem for p in abc_collection_files("essen", "erk5")] == ["erk5"]


# --- ABC splitting, keys, conversion ----------------------------------------------------------

def test_read_abc_splits_at_x_lines_and_keeps_raw_fields():
    path = corpus.corpus_root() / "essenFolksong" / "kinder0.abc"
    tunes = read_abc(path, prefix="essen/kinder0")
    assert len(tunes) == 213
    assert tunes[1].tune_id == "essen/kinder0/2"
    assert tunes[1].field("R") == "Kinder -, Wiegen - Lied" and tunes[1].field("N") == "K0008"
    assert tunes[1].text.startswith("X:2\n") and "X:3" not in tunes[1].text


@pytest.mark.parametrize("content", [None, "", "just some text\nwithout tunes\n", "X:1\nT:no key\nCDE|\n"])
def test_read_abc_rejects_files_without_tunes(tmp_path, content):
    path = tmp_path / "bad.abc"
    if content is not None:
        path.write_text(content)
    with pytest.raises(BadFileError, match="bad.abc"):
        read_abc(path)


@pytest.mark.parametrize("field, expected", [
    ("G", (7, "major")), ("Gm", (7, "minor")), ("F#m", (6, "minor")), ("Bb", (10, "major")),
    ("Dmix", (2, "mixolydian")), ("ADor", (9, "dorian")), ("Bphr", (11, "phrygian")),
    ("Es", (3, "major")), ("H", (11, "major")), ("Amin", (9, "minor")), (" C", (0, "major")),
])
def test_parse_abc_key(field, expected):
    assert parse_abc_key(field) == expected


@pytest.mark.parametrize("field", ["Bn", "", "none", "Xm"])
def test_parse_abc_key_rejects_unknown_keys(field):
    with pytest.raises(BadParameterError, match="ABC key"):
        parse_abc_key(field)


@pytest.mark.parametrize("converter", ["abc2midi", "music21"])
def test_bad_tunes_are_skipped_and_counted(converter, needs_abc2midi):
    tunes = [
        abc(1, "CDEF GABc|", key="G"),          # fine: G major (F sharp) -> up 5 semitones
        abc(2, "z8|z8|", key="C"),               # no notes
        abc(3, "C,,,2 c'''2|", key="C"),          # spans 6 octaves: cannot fit 48..83
        abc(4, "CDEF|", key="Bn"),               # unreadable key
        abc(5, "C,,D,,E,,F,,|", key="C"),        # too low, fits after moving up octaves
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        melodies = convert_abc(tunes, "test", converter=converter, quiet=True)
    assert [t.tune_id for t in melodies.tunes] == ["test/1", "test/5"]
    assert melodies.skipped == {"no notes": 1, "pitch range too wide": 1, "unreadable key": 1}
    assert melodies.skipped_ids == {"test/2": "no notes", "test/3": "pitch range too wide",
                                    "test/4": "unreadable key"}
    assert onset_pitches(melodies.tunes[0].events) == [65, 67, 69, 71, 72, 74, 76, 77]
    assert onset_pitches(melodies.tunes[1].events) == [48, 50, 52, 53]
    assert melodies.tunes[0].events.tolist()[:4] == [19, 1, 21, 1]  # 8th notes: 2 steps each


def test_abc2midi_keeps_the_written_length_of_staccato_notes(needs_abc2midi):
    melodies = convert_abc([abc(1, ".C2 .D2 E4|")], "test", converter="abc2midi", quiet=True)
    assert melodies.tunes[0].events.tolist() == [14, 1, 1, 1, 16, 1, 1, 1, 18, 1, 1, 1, 1, 1, 1, 1]


@pytest.mark.slow
def test_abc2midi_and_music21_agree_on_real_tunes(needs_abc2midi):
    tunes = read_abc(corpus.corpus_root() / "essenFolksong" / "kinder0.abc", prefix="k")[:24]
    fast = convert_abc(tunes, "essen", converter="abc2midi", quiet=True)
    slow = convert_abc(tunes, "essen", converter="music21", quiet=True)
    assert len(fast) == len(slow) == 24
    for a, b in zip(fast.tunes, slow.tunes):
        assert np.array_equal(a.events, b.events), a.tune_id


def test_without_abc2midi_the_build_falls_back_to_music21_and_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(abc_text.shutil, "which", lambda name: None)
    assert abc_text.abc_converter() == "music21"
    with pytest.warns(UserWarning, match="apt-get install abcmidi"):
        melodies = convert_abc([abc(1, "C2D2 E2F2|G2A2 B2c2|c8|]")], "test", quiet=True)
    assert onset_pitches(melodies.tunes[0].events) == [60, 62, 64, 65, 67, 69, 71, 72, 72]


def test_music21_reading_matches_the_encoding():
    original = np.array([30, 1, 0, 1, 26, 1, 1, 1, 1, 1, 33, 28, 1, 1], dtype=np.int64)
    notes = notes_from_music21(to_music21(original))
    assert np.array_equal(encode_notes(notes), original)


def test_small_midi_reader_rejects_non_midi_bytes():
    with pytest.raises(ValueError):
        midi_file_notes(b"RIFF....WAVEfmt ")


def test_small_midi_reader_matches_pretty_midi(melody_midi):
    import pretty_midi

    division, notes = midi_file_notes(melody_midi.read_bytes())
    pm = pretty_midi.PrettyMIDI(str(melody_midi))
    assert division == pm.resolution
    assert notes == [(pm.time_to_tick(n.start), pm.time_to_tick(n.end), n.pitch) for n in pm.instruments[0].notes]


# --- MIDI files -------------------------------------------------------------------------------

def test_load_midi_melody_reads_a_good_file(melody_midi):
    # C D E F G as 8th notes (0.25 s at 120 bpm = 2 sixteenth steps)
    assert load_midi_melody(melody_midi).tolist() == [14, 1, 16, 1, 18, 1, 19, 1, 21, 1]


@pytest.mark.parametrize("kind", ["missing", "empty", "truncated", "text", "drums_only", "no_notes"])
def test_load_midi_melody_names_the_bad_file(bad_midi_files, kind):
    path = bad_midi_files[kind]
    with pytest.raises(BadFileError, match=re.escape(path.name)):
        load_midi_melody(path)


def test_midi_folder_skips_counts_and_names_bad_files(tmp_path, make_midi, bad_midi_files):
    make_midi("songs/a.mid", pitches=(60, 64, 67))
    make_midi("songs/deep/b.midi", pitches=(62, 65))
    for kind in ("empty", "truncated", "text", "drums_only"):
        (tmp_path / "songs" / f"{kind}.mid").write_bytes(bad_midi_files[kind].read_bytes())
    with pytest.warns(UserWarning, match=r"skipped 4 of 6 MIDI files.*truncated\.mid"):
        melodies = load_midi_folder(tmp_path / "songs", quiet=True)
    assert [t.tune_id for t in melodies.tunes] == ["a.mid", "deep/b.midi"]
    assert melodies.skipped == {"not a readable MIDI file": 3, "no melody": 1}
    assert melodies.skipped_ids["drums_only.mid"] == "no melody"


def test_midi_folder_must_exist(tmp_path):
    with pytest.raises(BadFileError, match="nowhere"):
        load_midi_folder(tmp_path / "nowhere")


# --- split ------------------------------------------------------------------------------------

def fake_tunes(n: int, offset: int = 0) -> list[Tune]:
    return [Tune(f"fake/{i}", "", "C", "4/4", "", np.array([2], dtype=np.int64))
            for i in range(offset, offset + n)]


def split_ids(split: dict) -> dict:
    return {name: [t.tune_id for t in tunes] for name, tunes in split.items()}


def test_split_is_deterministic_and_close_to_the_fractions():
    tunes = fake_tunes(2000)
    first, second = split_tunes(tunes, seed=0), split_tunes(tunes, seed=0)
    assert split_ids(first) == split_ids(second)
    sizes = {k: len(v) for k, v in first.items()}
    assert sum(sizes.values()) == 2000
    assert 1520 < sizes["train"] < 1680 and 150 < sizes["valid"] < 250 and 150 < sizes["test"] < 250


def test_adding_tunes_does_not_move_the_others():
    before = split_tunes(fake_tunes(500))
    after = split_tunes(fake_tunes(500) + fake_tunes(300, offset=500))
    place = {t.tune_id: name for name, ts in after.items() for t in ts}
    assert all(place[t.tune_id] == name for name, ts in before.items() for t in ts)


def test_a_different_seed_gives_a_different_split():
    tunes = fake_tunes(300)
    test_ids = [[t.tune_id for t in split_tunes(tunes, seed=seed)["test"]] for seed in (0, 1)]
    assert test_ids[0] != test_ids[1]


@pytest.mark.parametrize("fractions", [(0.8, 0.1), (0.8, 0.3, 0.1), (1.2, -0.1, -0.1)])
def test_split_rejects_bad_fractions(fractions):
    with pytest.raises(BadParameterError, match="fractions"):
        split_tunes(fake_tunes(3), fractions)


# --- the calming set --------------------------------------------------------------------------

@pytest.mark.parametrize("rhythm, kind", [
    ("Kinder -, Wiegen - Lied", "lullaby"),
    ("Kinder -, Wiegen -, Schlaf - Lied", "lullaby"),
    ("Schlaflied]", "lullaby"),
    ("Kinderlied/Schlaflied]", "lullaby"),
    ("Tageszeiten - Lied, Abend", "evening"),
    ("geistlich, Dank -, Lob - Lied; Abend - Lied", "evening"),
    ("Ballade, Indiskretion, verweigerter Beischlaf", None),
    ("Liebe, Beischlaf]", None),
    ("Tanz - Lied, Reigen", None),
])
def test_calming_kind_from_the_rhythm_field(rhythm, kind):
    assert calming_kind(rhythm) == kind
    assert is_calming(rhythm) is (kind is not None)


def test_the_raw_essen_fields_give_the_lullabies_and_not_beischlaf():
    fields = [t.field("R") for path in abc_collection_files("essen", "all") for t in read_abc(path)]
    lullabies = [f for f in fields if calming_kind(f) == "lullaby"]
    evening = [f for f in fields if calming_kind(f) == "evening"]
    beischlaf = [f for f in fields if "beischlaf" in f.lower()]
    assert 65 <= len(lullabies) <= 75 and 35 <= len(evening) <= 45
    assert len(beischlaf) > 40 and not any(is_calming(f) for f in beischlaf)
    assert [f for f in fields if re.search("schlaf", f, re.I) and "beischlaf" in f.lower()] == beischlaf


def test_calming_tunes_are_encoded_and_filtered(isolated_cache, needs_abc2midi):
    tunes = calming_tunes(quiet=True)
    lullabies = calming_tunes(kinds=("lullaby",), quiet=True)
    assert 100 <= len(tunes) <= 115 and 65 <= len(lullabies) <= 75
    assert "essen/kinder0/1" in {t.tune_id for t in lullabies}
    assert all(calming_kind(t.rhythm) == "lullaby" for t in lullabies)
    assert all(t.events.dtype == np.int64 and t.events.max() < NUM_CLASSES for t in tunes)


def test_calming_kinds_are_checked():
    with pytest.raises(UnknownNameError, match="lullaby"):
        calming_tunes(kinds=("sleepy",))


def test_melody_set_summary_reports_skips():
    melodies = MelodySet("x", fake_tunes(2), {"no notes": 1}, {"x/9": "no notes"})
    assert melodies.summary() == "x/default: 2 tunes, 2 sixteenth steps; skipped 1 (1 no notes)"
