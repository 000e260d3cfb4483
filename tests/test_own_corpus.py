"""Training on your own folder: MIDI and ABC files found recursively, the melody taken from the highest
non-drum part and transposed like the built-in corpora, bad files skipped and counted by reason, the
cache keyed by the folder's content, and `musiclab train --corpus FOLDER` for all three models."""
from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

from musiclab import cli
from musiclab.checkpoints import load_checkpoint
from musiclab.data.folder_corpus import estimate_key, load_folder_melodies
from musiclab.data.melody import Note, encode_notes, event_to_pitch
from musiclab.data.midi_files import NoMidiFilesError
from musiclab.errors import BadFileError
from musiclab.models.melody_data import load_windows

pytestmark = pytest.mark.usefixtures("isolated_cache")

#: A G major tune (G A B C D C B A G ...) as MIDI pitches, one per 8th note.
G_TUNE = [67, 69, 71, 72, 74, 72, 71, 69] * 2 + [67, 71, 74, 79, 74, 71, 67, 67]


def tune_midi(path, pitches=G_TUNE, key_number=None, bass=False, drums=False, tempo=120.0):
    """Write ``pitches`` (8th notes) as MIDI; optionally a key signature, a bass part two octaves
    lower listed before the melody, and a drum track."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    step = 60.0 / tempo / 2
    melody = pretty_midi.Instrument(program=73, name="melody")
    low = pretty_midi.Instrument(program=33, name="bass")
    kit = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
    for i, pitch in enumerate(pitches):
        melody.notes.append(pretty_midi.Note(90, pitch, i * step, (i + 1) * step))
        low.notes.append(pretty_midi.Note(90, pitch - 24, i * step, (i + 1) * step))
        kit.notes.append(pretty_midi.Note(90, 36 if i % 2 == 0 else 42, i * step, i * step + 0.05))
    pm.instruments = ([low] if bass else []) + [melody] + ([kit] if drums else [])
    if key_number is not None:
        pm.key_signature_changes = [pretty_midi.KeySignature(key_number, 0.0)]
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))
    return path


@pytest.fixture
def folder(tmp_path, bad_midi_files):
    """good: a.mid (key signature G major, with bass and drums), deep/b.mid (no key signature),
    c.abc (two tunes); bad: empty, truncated, text, drums only, no notes, and an ABC file without tunes."""
    root = tmp_path / "my music"
    tune_midi(root / "a.mid", key_number=7, bass=True, drums=True)
    tune_midi(root / "deep" / "er" / "b.MID")
    (root / "c.abc").write_text("X:1\nT:one\nK:G\nGABc dcBA|GABc d4|\n\nX:2\nT:two\nK:D\nDEFG ABAF|D8|\n")
    for name in ("empty", "truncated", "text", "drums_only", "no_notes"):
        (root / "bad" / f"{name}.mid").parent.mkdir(parents=True, exist_ok=True)
        (root / "bad" / f"{name}.mid").write_bytes(bad_midi_files[name].read_bytes())
    (root / "bad" / "notes.abc").write_text("just some words, no tune here\n")
    (root / "readme.txt").write_text("not music: ignored")
    return root


def test_a_folder_is_searched_recursively_and_every_bad_file_is_counted_by_reason(folder, needs_abc2midi):
    with pytest.warns(UserWarning, match=r"skipped 6 files or tunes in .*bad/drums_only\.mid \(no melody\)"):
        melodies = load_folder_melodies(folder, quiet=True)
    assert sorted(t.tune_id for t in melodies.tunes) == ["a.mid", "c.abc/1", "c.abc/2", "deep/er/b.MID"]
    assert melodies.skipped == {"not a readable MIDI file": 3, "no melody": 1, "no notes": 1, "no ABC tune": 1}
    assert melodies.skipped_ids["bad/truncated.mid"] == "not a readable MIDI file"
    assert melodies.files == 9  # readme.txt is not read
    assert "4 tunes" in melodies.summary() and "from 9 files read" in melodies.summary()


def test_the_melody_is_the_highest_part_transposed_to_c_like_the_corpora(folder, needs_abc2midi):
    with pytest.warns(UserWarning):
        tunes = {t.tune_id: t for t in load_folder_melodies(folder, quiet=True).tunes}
    in_c = encode_notes([Note(p - 7, 2 * i, 2) for i, p in enumerate(G_TUNE)])  # G major -> C major (fits 48..83)
    np.testing.assert_array_equal(tunes["a.mid"].events, in_c)  # not the bass, not the drums
    assert tunes["a.mid"].key == "G major (key signature)"
    np.testing.assert_array_equal(tunes["deep/er/b.MID"].events, in_c)
    assert tunes["deep/er/b.MID"].key == "G major (estimated)"
    assert event_to_pitch(tunes["c.abc/1"].events[0]) % 12 == 0  # the ABC tune in G starts on G -> C


def test_the_key_estimate_reads_major_and_minor_tunes():
    def notes(pitches):
        return [Note(p, 2 * i, 2) for i, p in enumerate(pitches)]

    assert estimate_key(notes(G_TUNE)) == (7, "major")
    assert estimate_key(notes([57, 59, 60, 62, 64, 60, 57, 64, 65, 64, 62, 60, 59, 57, 56, 57, 57])) == (9, "minor")


def test_the_cache_is_keyed_by_content_and_editing_a_file_rebuilds_it(folder, needs_abc2midi, capsys):
    with pytest.warns(UserWarning):
        first = load_folder_melodies(folder)
    assert "building folder_melodies" in capsys.readouterr().out
    with pytest.warns(UserWarning):
        again = load_folder_melodies(folder)
    assert "building" not in capsys.readouterr().out and len(again) == len(first)
    tune_midi(folder / "deep" / "er" / "b.MID", pitches=G_TUNE[:8])  # same name, new content
    with pytest.warns(UserWarning):
        edited = load_folder_melodies(folder)
    assert "building folder_melodies" in capsys.readouterr().out
    assert {t.tune_id: t.steps for t in edited.tunes}["deep/er/b.MID"] == 16


def test_a_folder_without_music_or_without_a_usable_tune_is_a_named_error(tmp_path, bad_midi_files):
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoMidiFilesError, match="no .mid, .midi or .abc files"):
        load_folder_melodies(tmp_path / "empty")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.mid").write_bytes(bad_midi_files["text"].read_bytes())
    with pytest.raises(BadFileError, match=r"junk: no usable melody in 1 files \(1 not a readable MIDI file\)"):
        load_folder_melodies(tmp_path / "junk", quiet=True)
    with pytest.raises(BadFileError, match="does not exist"):
        load_folder_melodies(tmp_path / "nowhere")


def many_tunes(root, count=40):
    """``count`` distinct 4-bar tunes in random keys (with key signatures), and two broken files."""
    rng = np.random.default_rng(0)
    for i in range(count):
        shift = int(rng.integers(-5, 7))
        pitches = [60 + shift + int(s) for s in rng.choice([0, 2, 4, 5, 7, 9, 11, 12], 32)]
        tune_midi(root / f"set{i % 3}" / f"tune{i:02d}.mid", pitches, key_number=shift % 12, bass=i % 2 == 0)
    (root / "broken.mid").write_bytes(b"MThd garbage")
    (root / "set0" / "cut.mid").write_bytes((root / "set0" / "tune00.mid").read_bytes()[:25])
    return root


def test_train_note_rnn_on_a_folder_prints_the_summary_and_stores_the_command(tmp_path, capsys):
    root = many_tunes(tmp_path / "tunes")
    out = tmp_path / "rnn.pt"
    with pytest.warns(UserWarning, match="skipped 2 files"):
        status = cli.main(["train", "note-rnn", "--corpus", str(root), "--steps", "3", "--window", "16",
                           "--batch-size", "8", "--eval-every", "3", "--hidden", "16", "--quiet",
                           "--out", str(out)])
    assert status == 0
    printed = capsys.readouterr().out
    with pytest.warns(UserWarning, match="skipped 2 files"):
        data = load_windows(str(root), window=16, quiet=True)
    assert f"data: files read 42 (40 pieces); skipped 2 (2 not a readable MIDI file); windows: train " \
           f"{data.train.shape[0]}" in printed
    extra = load_checkpoint(out)["extra"]
    assert extra["command"].startswith("musiclab train note-rnn --corpus") and extra["data"]["corpus"] == str(root)


def drum_folder(root, count=30):
    """``count`` random 2-bar drum files in a Groove-MIDI-Dataset-like layout, plus one melody file."""
    rng = np.random.default_rng(1)
    for i in range(count):
        pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
        kit = pretty_midi.Instrument(program=0, is_drum=True)
        for step in range(32):
            for pitch in (36, 38, 42):
                if rng.random() < 0.3:
                    kit.notes.append(pretty_midi.Note(90, pitch, step * 0.125, step * 0.125 + 0.05))
        pm.instruments.append(kit)
        path = root / f"drummer{i % 2}" / f"session{i % 3}" / f"{i}_beat_4-4.mid"
        path.parent.mkdir(parents=True, exist_ok=True)
        pm.write(str(path))
    tune_midi(root / "drummer0" / "melody.mid")
    return root


def test_train_note_cnn_and_music_vae_on_folders(tmp_path, capsys):
    drums = drum_folder(tmp_path / "groove")
    with pytest.warns(UserWarning, match="skipped 1 unusable MIDI files"):
        assert cli.main(["train", "note-cnn", "--corpus", str(drums), "--steps", "2", "--eval-every", "2",
                         "--quiet", "--out", str(tmp_path / "cnn.pt")]) == 0
    printed = capsys.readouterr().out
    assert "data: files read 31; skipped 1 (1 no drum track); 2-bar grids: train" in printed
    assert load_checkpoint(tmp_path / "cnn.pt")["extra"]["command"].endswith(f"--corpus {drums} --out {tmp_path / 'cnn.pt'}")
    tunes = many_tunes(tmp_path / "tunes")
    with pytest.warns(UserWarning, match="skipped 2 files"):
        assert cli.main(["train", "music-vae", "--preset", "cpu", "--corpus", str(tunes), "--steps", "2",
                         "--eval-every", "2", "--quiet", "--out", str(tmp_path / "vae.pt")]) == 0
    assert "--corpus" in load_checkpoint(tmp_path / "vae.pt")["extra"]["command"]
