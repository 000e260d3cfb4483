"""Drum grids: the GM drum map, the priority order of a step, MIDI in and out, bad files, folder and mma sources."""
from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from musiclab.data import drums
from musiclab.data import grooves as groove_loader
from musiclab.data.drum_midi import grid_from_midi
from musiclab.data.drums import (
    CLASS_PITCHES, DRUM_CLASSES, DRUM_MAP, GRID_STEPS, NUM_DRUM_CLASSES, SILENCE, DrumSet,
    check_grid, grid_from_hits, grid_to_onehot, grid_to_pretty_midi,
)
from musiclab.data.grooves import load_grooves
from musiclab.errors import BadFileError, BadParameterError, MusiclabError

KICK, SNARE, HIGH_TOM, LOW_MID_TOM, FLOOR_TOM, OPEN_HAT, CLOSED_HAT, CRASH, RIDE = range(9)
needs_mma = pytest.mark.skipif(shutil.which("mma") is None,
                               reason="Debian's mma is not installed (apt-get install mma)")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICLAB_CACHE", str(tmp_path / "cache"))


def drum_midi(hits, tempo=120.0, meter=(4, 4), piano=False) -> pretty_midi.PrettyMIDI:
    """A PrettyMIDI with one drum instrument; ``hits`` are (position in 16ths, pitch, velocity)."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    if meter is not None:
        pm.time_signature_changes.append(pretty_midi.TimeSignature(*meter, 0.0))
    sixteenth = 60.0 / tempo / 4
    kit = pretty_midi.Instrument(program=0, is_drum=True)
    for position, pitch, velocity in hits:
        kit.notes.append(pretty_midi.Note(velocity, pitch, position * sixteenth, (position + 1) * sixteenth))
    pm.instruments.append(kit)
    if piano:
        keys = pretty_midi.Instrument(program=0)
        keys.notes.append(pretty_midi.Note(80, 60, 0.0, 1.0))
        pm.instruments.append(keys)
    return pm


def rock_beat(bars=2):
    """Kick on 1 and 3, snare on 2 and 4, closed hat on every 8th, for ``bars`` bars."""
    hits = []
    for bar in range(bars):
        for step in range(0, 16, 2):
            hits.append((bar * 16 + step, 42, 70))
        hits += [(bar * 16, 36, 110), (bar * 16 + 8, 36, 110), (bar * 16 + 4, 38, 100), (bar * 16 + 12, 38, 100)]
    return hits


# ------------------------------------------------------------ the drum map

@pytest.mark.parametrize("pitches, cls", [
    ((35, 36), KICK), ((37, 38, 39, 40), SNARE), ((48, 50), HIGH_TOM), ((45, 47), LOW_MID_TOM),
    ((41, 43, 58), FLOOR_TOM), ((26, 46), OPEN_HAT), ((22, 42, 44), CLOSED_HAT),
    ((49, 52, 55, 57), CRASH), ((51, 53, 59), RIDE),
])
def test_each_gm_drum_pitch_maps_to_its_documented_class(pitches, cls):
    for pitch in pitches:
        assert DRUM_MAP[pitch] == cls, f"GM pitch {pitch}"


def test_the_map_covers_exactly_the_documented_pitches_and_nothing_maps_to_silence():
    assert len(DRUM_MAP) == 25
    assert SILENCE not in DRUM_MAP.values()
    for percussion in (54, 56, 60, 61, 62, 63, 64, 69, 70, 75, 82):  # tambourine, cowbell, congas, ...
        assert percussion not in DRUM_MAP


def test_class_names_and_playback_pitches_line_up():
    assert len(DRUM_CLASSES) == NUM_DRUM_CLASSES and DRUM_CLASSES[SILENCE] == "silence"
    assert [DRUM_MAP[p] for p in CLASS_PITCHES] == list(range(9))


# ------------------------------------------------------------ one drum per step: the priority order

def test_the_priority_order_puts_kick_and_snare_before_toms_crash_hats_and_ride():
    assert drums.STEP_PRIORITY == (KICK, SNARE, HIGH_TOM, LOW_MID_TOM, FLOOR_TOM, CRASH,
                                   OPEN_HAT, CLOSED_HAT, RIDE)


def test_the_drum_first_in_priority_wins_a_step_whatever_the_order_of_the_hits():
    assert grid_from_hits([3, 3, 3], [42, 38, 36])[3] == KICK
    assert grid_from_hits([3, 3], [36, 42])[3] == KICK
    assert grid_from_hits([0, 0], [42, 38])[0] == SNARE
    assert grid_from_hits([0, 0, 0], [51, 46, 49])[0] == CRASH
    assert grid_from_hits([0, 0], [51, 44])[0] == CLOSED_HAT  # the pedal hi-hat breaks a ride line


@pytest.mark.parametrize("first, second", list(zip(range(9), range(1, 9))))
def test_each_class_beats_every_class_after_it_in_the_priority_order(first, second):
    a, b = drums.STEP_PRIORITY[first], drums.STEP_PRIORITY[second]
    assert grid_from_hits([7, 7], [CLASS_PITCHES[b], CLASS_PITCHES[a]])[7] == a


def test_a_loud_hi_hat_no_longer_hides_the_kick_and_snare_of_a_midi_file():
    hits = [(step, 42, 127) for step in range(0, 32, 2)]
    hits += [(0, 36, 40), (8, 36, 40), (16, 36, 40), (24, 36, 40), (4, 38, 40), (12, 38, 40),
             (20, 38, 40), (28, 38, 40)]
    grid = grid_from_midi(drum_midi(hits))
    assert grid[[0, 8, 16, 24]].tolist() == [KICK] * 4 and grid[[4, 12, 20, 28]].tolist() == [SNARE] * 4
    assert grid[[2, 6, 10, 14]].tolist() == [CLOSED_HAT] * 4


def test_unmapped_pitches_are_ignored_and_empty_steps_are_silence():
    grid = grid_from_hits([0, 0, 5], [54, 42, 69])
    assert grid[0] == CLOSED_HAT  # the tambourine does not count
    assert grid[5] == SILENCE
    assert (np.delete(grid, 0) == SILENCE).all()


def test_hits_outside_the_grid_or_of_unequal_lengths_are_rejected():
    with pytest.raises(BadParameterError, match="0..31"):
        grid_from_hits([32], [36])
    with pytest.raises(BadParameterError, match="one entry per hit"):
        grid_from_hits([0, 1], [36])


# ------------------------------------------------------------ grids from MIDI

def test_grid_from_a_hand_made_pretty_midi():
    grid = grid_from_midi(drum_midi(rock_beat()))
    expected = np.full(GRID_STEPS, SILENCE)
    expected[0::2] = CLOSED_HAT
    expected[[0, 8, 16, 24]] = KICK
    expected[[4, 12, 20, 28]] = SNARE
    assert grid.dtype == np.int64 and grid.shape == (GRID_STEPS,)
    np.testing.assert_array_equal(grid, expected)


def test_onsets_are_quantised_to_the_nearest_sixteenth_at_any_tempo():
    grid = grid_from_midi(drum_midi([(0.2, 36, 100), (4.8, 38, 100), (9.45, 49, 90)], tempo=87.0))
    assert grid[0] == KICK and grid[5] == SNARE and grid[9] == CRASH
    assert (grid == SILENCE).sum() == GRID_STEPS - 3


def test_bar_picks_the_two_bars_starting_there_and_pads_with_silence():
    hits = [(0, 36, 100), (16, 38, 100), (32, 49, 100), (48, 51, 100)]
    pm = drum_midi(hits)
    assert list(grid_from_midi(pm, bar=1)[[0, 16]]) == [SNARE, CRASH]
    last = grid_from_midi(pm, bar=3)
    assert last[0] == RIDE and (last[1:] == SILENCE).all()
    with pytest.raises(BadParameterError, match=r"bar must be an integer in \[0, 3\]"):
        grid_from_midi(pm, bar=4)


def test_pitched_instruments_are_ignored():
    pm = drum_midi([(0, 36, 100)], piano=True)
    grid = grid_from_midi(pm)
    assert grid[0] == KICK and (grid[1:] == SILENCE).all()


def test_a_grid_survives_a_round_trip_through_a_midi_file(tmp_path):
    rng = np.random.default_rng(0)
    grid = rng.integers(0, NUM_DRUM_CLASSES, GRID_STEPS)
    path = tmp_path / "beat.mid"
    grid_to_pretty_midi(grid, tempo_bpm=93.0).write(str(path))
    np.testing.assert_array_equal(grid_from_midi(path), grid)
    np.testing.assert_array_equal(grid_from_midi(str(path)), grid)


def test_grid_to_pretty_midi_plays_one_drum_note_per_hit_at_the_tempo():
    grid = np.full(GRID_STEPS, SILENCE)
    grid[[0, 4, 31]] = [KICK, SNARE, RIDE]
    pm = grid_to_pretty_midi(grid, tempo_bpm=120.0)
    (kit,) = pm.instruments
    assert kit.is_drum
    assert [(n.pitch, round(n.start, 4)) for n in kit.notes] == [(36, 0.0), (38, 0.5), (51, 3.875)]


# ------------------------------------------------------------ grid checks

@pytest.mark.parametrize("bad, message", [
    (np.zeros(31, dtype=np.int64), "shape"),
    (np.zeros((2, 32), dtype=np.int64), "shape"),
    (np.full(32, 10), "0..9"),
    (np.full(32, -1), "0..9"),
    (np.zeros(32, dtype=np.float32), "integer"),
])
def test_check_grid_rejects_bad_grids(bad, message):
    with pytest.raises(BadParameterError, match=message):
        check_grid(bad)


def test_onehot_has_one_one_per_step_at_the_class():
    grid = np.arange(GRID_STEPS) % NUM_DRUM_CLASSES
    onehot = grid_to_onehot(grid)
    assert onehot.shape == (GRID_STEPS, NUM_DRUM_CLASSES) and onehot.dtype == np.float32
    np.testing.assert_array_equal(onehot.argmax(axis=1), grid)
    np.testing.assert_array_equal(onehot.sum(axis=1), np.ones(GRID_STEPS))


def test_bad_tempo_is_rejected():
    with pytest.raises(BadParameterError, match="tempo_bpm"):
        grid_to_pretty_midi(np.full(GRID_STEPS, SILENCE), tempo_bpm=0)


# ------------------------------------------------------------ bad files

def write_bad_files(folder: Path) -> dict[str, str]:
    """Write one file per kind of bad MIDI into ``folder``; return name → expected reason."""
    folder.mkdir(parents=True, exist_ok=True)
    good = folder / "good.tmp"
    drum_midi(rock_beat()).write(str(good))
    data = good.read_bytes()
    good.unlink()
    (folder / "empty.mid").write_bytes(b"")
    (folder / "truncated.mid").write_bytes(data[: len(data) // 2])
    (folder / "corrupt.mid").write_bytes(bytes(np.random.default_rng(1).integers(0, 256, 300, dtype=np.uint8)))
    (folder / "notes.mid").write_text("this is a text file, not MIDI\n")
    piano = pretty_midi.PrettyMIDI()
    piano.instruments.append(pretty_midi.Instrument(program=0))
    piano.instruments[0].notes.append(pretty_midi.Note(80, 60, 0.0, 1.0))
    piano.write(str(folder / "piano.mid"))
    drum_midi([]).write(str(folder / "silent_kit.mid"))
    drum_midi(rock_beat(), meter=(3, 4)).write(str(folder / "waltz.mid"))
    return {"empty.mid": "empty file", "truncated.mid": "not a readable MIDI file",
            "corrupt.mid": "not a readable MIDI file", "notes.mid": "not a readable MIDI file",
            "piano.mid": "no drum track", "silent_kit.mid": "no notes", "waltz.mid": "not 4/4"}


@pytest.mark.parametrize("name", ["empty.mid", "truncated.mid", "corrupt.mid", "notes.mid",
                                  "piano.mid", "silent_kit.mid", "waltz.mid"])
def test_a_bad_file_raises_bad_file_error_naming_the_file_and_the_problem(tmp_path, name):
    reasons = write_bad_files(tmp_path)
    with pytest.raises(BadFileError) as caught:
        grid_from_midi(tmp_path / name)
    assert name in str(caught.value) and reasons[name] in str(caught.value)


def test_a_missing_file_raises_bad_file_error(tmp_path):
    with pytest.raises(BadFileError, match="nowhere.mid"):
        grid_from_midi(tmp_path / "nowhere.mid")


def test_a_pretty_midi_without_notes_or_without_drums_raises_bad_file_error():
    with pytest.raises(BadFileError, match="no notes"):
        grid_from_midi(drum_midi([]))
    with pytest.raises(BadFileError, match="no drum track"):
        grid_from_midi(drum_midi([], piano=True))


# ------------------------------------------------------------ folder sources

def gmd_like_folder(root: Path) -> Path:
    """Nested folders as in the Groove MIDI Dataset, with good, duplicate and bad files."""
    session = root / "drummer1" / "session1"
    session.mkdir(parents=True)
    drum_midi(rock_beat(bars=4) + [(34, 49, 120)]).write(str(session / "1_rock_120_beat_4-4.mid"))
    fill = [(step, 50 if step < 8 else 43, 90) for step in range(0, 16, 2)]
    drum_midi(fill, tempo=100.0).write(str(session / "2_rock_100_fill_4-4.MIDI"))
    eval_session = root / "drummer2" / "eval_session"
    eval_session.mkdir(parents=True)
    drum_midi(rock_beat(bars=2)).write(str(eval_session / "3_rock_120_beat_4-4.mid"))  # same as bars 0-1
    (root / "drummer2" / "README.txt").write_text("not MIDI, not looked at")
    write_bad_files(root / "drummer3")
    return root


def test_a_folder_source_yields_distinct_grids_and_counts_what_it_skips(tmp_path):
    root = gmd_like_folder(tmp_path / "groove")
    with pytest.warns(UserWarning, match="skipped 7 unusable MIDI files") as caught:
        grooves = load_grooves(root, quiet=True)
    assert isinstance(grooves, DrumSet)
    assert grooves.grids.shape == (3, GRID_STEPS) and grooves.grids.dtype == np.int64
    assert grooves.names == ["drummer1/session1/1_rock_120_beat_4-4.mid@0",
                             "drummer1/session1/1_rock_120_beat_4-4.mid@2",
                             "drummer1/session1/2_rock_100_fill_4-4.MIDI@0"]
    assert grooves.skipped == {"duplicate grid": 1, "empty file": 1, "no notes": 1,
                               "no drum track": 1, "not 4/4": 1, "not a readable MIDI file": 3}
    assert sorted(f for f, _ in grooves.bad_files) == sorted(
        f"drummer3/{name}" for name in write_bad_files(tmp_path / "again"))
    message = str(caught[0].message)
    assert "drummer3/corrupt.mid" in message and "drummer3/waltz.mid (not 4/4" in message
    assert grooves.summary() == ("drums: 3 distinct 2-bar grids; skipped 8 (1 duplicate grid, 1 empty file, "
                                 "1 no drum track, 1 no notes, 1 not 4/4, 3 not a readable MIDI file)")


def test_a_folder_grid_name_says_how_to_get_the_grid_back(tmp_path):
    root = gmd_like_folder(tmp_path / "groove")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grooves = load_grooves(str(root), quiet=True)
    for name, grid in zip(grooves.names, grooves.grids):
        path, bar = name.rsplit("@", 1)
        np.testing.assert_array_equal(grid_from_midi(root / path, bar=int(bar)), grid)


def test_a_folder_load_is_cached_and_refresh_rebuilds(tmp_path, monkeypatch):
    root = tmp_path / "beats"
    root.mkdir()
    drum_midi(rock_beat()).write(str(root / "a.mid"))
    first = load_grooves(root, quiet=True)
    monkeypatch.setattr(groove_loader, "folder_grids", lambda folder, quiet: pytest.fail("rebuilt"))
    again = load_grooves(root, quiet=True)
    np.testing.assert_array_equal(first.grids, again.grids)
    with pytest.raises(pytest.fail.Exception, match="rebuilt"):
        load_grooves(root, refresh=True, quiet=True)


def test_a_folder_without_usable_files_raises_a_clear_error(tmp_path):
    write_bad_files(tmp_path / "junk")
    with pytest.raises(BadFileError, match=r"no usable drum grids in 7 MIDI files \(1 empty file"):
        load_grooves(tmp_path / "junk", quiet=True)
    (tmp_path / "text_only").mkdir()
    (tmp_path / "text_only" / "a.txt").write_text("x")
    with pytest.raises(BadFileError, match="no .mid or .midi files"):
        load_grooves(tmp_path / "text_only", quiet=True)


def test_a_source_that_is_neither_mma_nor_a_folder_is_rejected(tmp_path):
    with pytest.raises(BadFileError, match="neither 'mma' nor an existing folder"):
        load_grooves(tmp_path / "missing", quiet=True)


def test_without_mma_the_error_says_how_to_install_it_and_folders_still_work(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(MusiclabError, match="apt-get install mma"):
        load_grooves("mma", quiet=True)
    root = tmp_path / "beats"
    root.mkdir()
    drum_midi(rock_beat()).write(str(root / "a.mid"))
    assert len(load_grooves(root, quiet=True)) == 1


# ------------------------------------------------------------ mma (real renders)

A_FEW_GROOVE_FILES = ["stdlib/rhumba.mma", "stdlib/waltz.mma", "stdlib/60srock.mma", "casio/60srock.mma"]


@pytest.mark.slow
@needs_mma
def test_real_mma_grooves_render_to_grids_deterministically():
    library = groove_loader.mma_library()
    assert len(library) > 200 and sum(map(len, library.values())) > 1500
    first = groove_loader.render_mma_grooves(A_FEW_GROOVE_FILES, quiet=True)
    second = groove_loader.render_mma_grooves(A_FEW_GROOVE_FILES, quiet=True)
    np.testing.assert_array_equal(first.grids, second.grids)
    assert first.names == second.names
    assert len(first) >= 6 and len(set(first.names)) == len(first)
    assert {name.split("/")[0] for name in first.names} == {"stdlib", "casio"}
    assert not any(name.startswith("stdlib/WALTZ") for name in first.names)
    assert first.skipped["not 4/4 (3/4)"] == len(library["stdlib/waltz.mma"])
    assert len({g.tobytes() for g in first.grids}) == len(first)
    # a rock groove: hits on most 8th notes, drawn from kick, snare and hats
    rock = first.grids[first.names.index("casio/60SROCK")]
    assert (rock[0::2] != SILENCE).mean() >= 0.75
    assert set(rock[rock != SILENCE]) <= {KICK, SNARE, OPEN_HAT, CLOSED_HAT}
    # the casio groove of the same name is a different pattern from stdlib's
    assert not np.array_equal(rock, first.grids[first.names.index("stdlib/60SROCK")])


@pytest.mark.slow
@needs_mma
def test_load_grooves_mma_caches_the_rendered_library(monkeypatch):
    library = {f: grooves for f, grooves in groove_loader.mma_library().items() if f in A_FEW_GROOVE_FILES}
    monkeypatch.setattr(groove_loader, "mma_library", lambda: library)
    grooves = load_grooves("mma", quiet=True)
    assert grooves.grids.shape[1] == GRID_STEPS and len(grooves) == len(grooves.names) >= 6
    assert "no drums" in grooves.skipped or "not 4/4 (3/4)" in grooves.skipped
    monkeypatch.setattr(groove_loader, "render_mma_grooves", lambda **kw: pytest.fail("rebuilt"))
    np.testing.assert_array_equal(load_grooves("mma", quiet=True).grids, grooves.grids)


@pytest.mark.slow
@needs_mma
def test_without_a_groove_database_a_private_one_is_built_in_the_cache(tmp_path, monkeypatch):
    system = next(Path(h) for h in groove_loader._MMA_HOMES if (Path(h) / "lib").is_dir())
    fresh = tmp_path / "mma-without-db"
    shutil.copytree(system / "lib", fresh / "lib", ignore=shutil.ignore_patterns(".mmaDB"))
    for part in ("MMA", "includes"):
        (fresh / part).symlink_to(system / part)
    monkeypatch.setenv("MMA_HOME", str(fresh))
    home = groove_loader._mma_home()
    assert home == Path(os.environ["MUSICLAB_CACHE"]) / "mma-home"
    assert not list((fresh / "lib").rglob(".mmaDB"))  # the source library is left alone
    grooves = groove_loader.render_mma_grooves(["stdlib/rhumba.mma"], quiet=True)
    assert len(grooves) >= 3
