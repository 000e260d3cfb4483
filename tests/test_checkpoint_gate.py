"""The checkpoint gate: hostile, corrupt, non-finite and wrong-kind files are refused with a musiclab
error naming the file, by the library and by the command (exit 2), and no output is lost or half-written."""
from __future__ import annotations

import contextlib
import os
import shutil
import zipfile
from pathlib import Path

import pretty_midi
import pytest
import torch

from musiclab import cli
from musiclab.checkpoints import (CheckpointMismatchError, load_checkpoint, load_model, save_checkpoint,
                                  shipped_path)
from musiclab.errors import BadFileError, BadParameterError
from musiclab.models.melody_data import load_trained
from musiclab.models.note_cnn import NoteCNN
from musiclab.models.note_rnn import NoteRNN, NoteRNNConfig
from musiclab.models.train import train
from musiclab.models.train_config import TrainConfig
from musiclab.rl.drum_tuning import tune_drums_from_checkpoint
from musiclab.rl.tuner import tune_from_checkpoint


def tiny() -> NoteRNN:
    torch.manual_seed(0)
    return NoteRNN(NoteRNNConfig(hidden_size=12))


def exits_2(args: list[str], capsys, *fragments: str) -> str:
    """Run the command, assert it exits 2 with a musiclab error holding every fragment; return it."""
    assert cli.main(args) == 2
    message = capsys.readouterr().err
    assert message.startswith("musiclab: error: ")
    assert all(fragment in message for fragment in fragments), message
    return message


def bit_flipped_copy(name: str, folder) -> os.PathLike:
    """A copy of a shipped checkpoint with 64 bytes in its middle inverted."""
    path = shutil.copy(shipped_path(name), folder / f"{name}-flipped.pt")
    data = bytearray(open(path, "rb").read())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(byte ^ 0xFF for byte in data[middle:middle + 64])
    open(path, "wb").write(bytes(data))
    return path


class RunsCode:
    """Pickles as a call to exec: a file holding it would run code on an unsafe load."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').close()",)


# --- 1. files that are no checkpoint at all ---------------------------------------------------------

HOSTILE = ("text", "random", "truncated", "empty_pickle", "runs_code")


def hostile_files(folder) -> dict[str, os.PathLike]:
    """Text renamed .pt, random bytes, a truncated zip, a whole zip whose pickle is empty (torch's
    unpickler fails on it with IndexError) and a code-running pickle, made in ``folder``."""
    files = {name: folder / f"{name}.pt" for name in HOSTILE}
    files["text"].write_text("not a checkpoint\n")
    files["random"].write_bytes(bytes(torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(0),
                                                    dtype=torch.uint8).tolist()))
    whole = save_checkpoint(folder / "whole.pt", tiny()).read_bytes()
    files["truncated"].write_bytes(whole[: len(whole) * 2 // 3])
    with zipfile.ZipFile(folder / "whole.pt") as source, zipfile.ZipFile(files["empty_pickle"], "w") as target:
        for name in source.namelist():
            target.writestr(name, b"." if name.endswith("data.pkl") else source.read(name))
    torch.save({"format": 1, "kind": "note_rnn", "config": {}, "state_dict": {},
                "extra": {"payload": RunsCode(folder / "ran.txt")}}, files["runs_code"])
    return files


@pytest.mark.parametrize("name", HOSTILE)
def test_1_a_file_that_is_no_checkpoint_is_a_bad_file_never_an_index_error(tmp_path, capsys, name):
    path = hostile_files(tmp_path)[name]
    for load in (load_checkpoint, load_model, load_trained, lambda p: tune_from_checkpoint(p, episodes=8),
                 lambda p: tune_drums_from_checkpoint(p, episodes=8)):
        with pytest.raises(BadFileError, match=f"{name}.pt"):
            load(path)
    exits_2(["sample", str(path), str(tmp_path / "o.mid")], capsys, f"{name}.pt")
    exits_2(["tune", "--model", "drums", "--base", str(path), "--out", str(tmp_path / "q.pt")], capsys, f"{name}.pt")
    assert not (tmp_path / "ran.txt").exists() and not (tmp_path / "o.mid").exists()
    assert not (tmp_path / "q.pt").exists()


def test_1_a_code_running_pickle_is_refused_unrun_and_the_message_names_what_it_holds(tmp_path):
    path = hostile_files(tmp_path)["runs_code"]
    with pytest.raises(BadFileError, match=r"runs_code.pt is refused unloaded.*could run code.*exec"):
        load_checkpoint(path)
    assert not (tmp_path / "ran.txt").exists()


def test_1_training_resume_refuses_a_text_file(tmp_path):
    path = hostile_files(tmp_path)["text"]
    with pytest.raises(BadFileError, match="text.pt is not a musiclab checkpoint"):
        train(tiny(), torch.randint(0, 38, (8, 16)), config=TrainConfig(steps=2, batch_size=4, window=16),
              checkpoint_path=path, resume=True, device="cpu", quiet=True)
    assert path.read_text() == "not a checkpoint\n"


# --- 2. the wrong kind of model ---------------------------------------------------------------------

def test_2_each_loader_names_the_kind_it_holds_and_the_kind_it_needs(tmp_path):
    with pytest.raises(CheckpointMismatchError, match=r"drum_cnn_fast.pt holds a 'note_cnn'.*expected 'note_rnn'"):
        load_trained("drum_cnn_fast", expected_kind=NoteRNN.kind)
    with pytest.raises(CheckpointMismatchError, match=r"note_rnn_fast.pt holds a 'note_rnn'.*expected 'note_cnn'"):
        load_model("note_rnn_fast", expected_kind=NoteCNN.kind)
    for base in ("note_rnn_fast", "note_rnn_classic_small"):
        with pytest.raises(CheckpointMismatchError, match=f"{base}.pt holds a 'note_rnn'.*drum model"):
            tune_drums_from_checkpoint(base, episodes=8, out_path=tmp_path / "q.pt")
    with pytest.raises(CheckpointMismatchError, match=r"drum_cnn_fast.pt holds a 'note_cnn'.*melody"):
        tune_from_checkpoint("drum_cnn_fast", episodes=8, out_path=tmp_path / "q.pt")
    assert not (tmp_path / "q.pt").exists()


@pytest.mark.parametrize("args, held, wanted", [
    (["compose", "note_rnn_fast", "{tmp}/o.mid"], "'note_rnn'", "expected 'q_network'"),
    (["vae", "encode", "note_rnn_fast", "--primer", "C4 D4", "--out", "{tmp}/o.mid"], "'note_rnn'",
     "expected 'music_vae'"),
    (["sample", "music_vae_cpu", "{tmp}/o.mid"], "'music_vae'", "expected 'note_rnn'"),
    (["sample", "rl_tuner_dqn", "{tmp}/o.mid"], "'q_network'", "expected 'note_rnn'"),
    (["tune", "--model", "drums", "--base", "note_rnn_fast", "--out", "{tmp}/q.pt"], "'note_rnn'",
     "expected 'note_cnn'"),
    (["tune", "--model", "drums", "--base", "note_rnn_classic_small", "--out", "{tmp}/q.pt"], "'note_rnn'",
     "expected 'note_cnn'"),
    (["tune", "--model", "melody", "--base", "drum_cnn_fast", "--out", "{tmp}/q.pt"], "'note_cnn'",
     "expected 'note_rnn'"),
], ids=["compose-note-rnn", "vae-note-rnn", "sample-vae", "sample-q", "drums-from-melody", "drums-from-chords", "melody-from-drums"])
def test_2_the_command_refuses_the_wrong_kind_before_any_work(tmp_path, capsys, args, held, wanted):
    model = args[args.index("--base") + 1] if "--base" in args else args[2] if args[0] == "vae" else args[1]
    exits_2([arg.format(tmp=tmp_path) for arg in args + ["--episodes", "8"] * (args[0] == "tune")], capsys,
            f"{model}.pt holds a {held}", wanted)
    assert list(tmp_path.iterdir()) == []


# --- 3. corrupt and non-finite weights --------------------------------------------------------------

def test_3_a_bit_flipped_shipped_checkpoint_fails_its_crc(tmp_path, capsys):
    path = bit_flipped_copy("note_rnn_fast", tmp_path)
    with pytest.raises(BadFileError, match="note_rnn_fast-flipped.pt is a corrupt checkpoint.*CRC"):
        load_model(path)
    exits_2(["sample", str(path), str(tmp_path / "o.mid")], capsys, "note_rnn_fast-flipped.pt", "CRC")
    drums = bit_flipped_copy("drum_cnn_fast", tmp_path)
    exits_2(["tune", "--model", "drums", "--base", str(drums), "--out", str(tmp_path / "q.pt")], capsys,
            "drum_cnn_fast-flipped.pt", "CRC")
    assert not (tmp_path / "o.mid").exists() and not (tmp_path / "q.pt").exists()


def test_3_the_shipped_checkpoints_pass_the_crc_check():
    assert zipfile.ZipFile(shipped_path("note_rnn_fast")).testzip() is None
    assert load_checkpoint(shipped_path("note_rnn_fast"), NoteRNN.kind)["kind"] == "note_rnn"


def test_3_nan_weights_are_refused_naming_the_weight(tmp_path, capsys):
    model = tiny()
    broken = {name: value.clone() for name, value in model.state_dict().items()}
    first = next(name for name, value in broken.items() if value.is_floating_point())
    broken[first].view(-1)[:3] = float("nan")
    model.load_state_dict(broken)
    path = save_checkpoint(tmp_path / "nan.pt", model)
    with pytest.raises(BadFileError, match=f"nan.pt holds a 'note_rnn'.*weight '{first}' has 3 NaN or infinite"):
        load_model(path)
    exits_2(["sample", str(path), str(tmp_path / "o.mid")], capsys, "nan.pt", "NaN")

    torch.manual_seed(0)
    cnn = NoteCNN()
    with torch.no_grad():
        next(cnn.parameters()).view(-1)[0] = float("inf")
    drums = save_checkpoint(tmp_path / "inf_cnn.pt", cnn)
    exits_2(["tune", "--model", "drums", "--base", str(drums), "--episodes", "8", "--out", str(tmp_path / "q.pt")],
            capsys, "inf_cnn.pt", "'note_cnn'", "NaN or infinite")
    assert not (tmp_path / "o.mid").exists() and not (tmp_path / "q.pt").exists()


# --- 4. outputs: checked first, written whole -------------------------------------------------------

def test_4_training_into_a_folder_is_refused_before_any_step(tmp_path):
    model = tiny()
    before = {name: value.clone() for name, value in model.state_dict().items()}
    with pytest.raises(BadParameterError, match="checkpoint path .* is a folder"):
        train(model, torch.randint(0, 38, (8, 16)), config=TrainConfig(steps=2, batch_size=4, window=16),
              checkpoint_path=tmp_path, device="cpu", quiet=True)
    assert all(torch.equal(before[name], value) for name, value in model.state_dict().items())
    blocked = tmp_path / "file.txt"
    blocked.write_text("keep me")
    with pytest.raises(BadParameterError, match="file.txt is a file, not a folder"):
        train(model, torch.randint(0, 38, (8, 16)), checkpoint_path=blocked / "m.pt", device="cpu", quiet=True)
    assert blocked.read_text() == "keep me"


def test_4_the_commands_check_their_output_path_before_any_work(tmp_path, capsys):
    exits_2(["train", "note-rnn", "--steps", "1", "--out", str(tmp_path)], capsys, "is a folder")
    exits_2(["tune", "--model", "drums", "--episodes", "8", "--out", str(tmp_path)], capsys, "is a folder")
    exits_2(["sample", "note_rnn_fast", str(tmp_path)], capsys, "is a folder")
    exits_2(["sample", "note_rnn_fast", str(tmp_path / "o.wav")], capsys, "o.wav must end in .mid, .midi, .musicxml")
    assert list(tmp_path.iterdir()) == []


def test_4_sample_writes_whole_midi_files_atomically(tmp_path, monkeypatch):
    out = tmp_path / "o.mid"
    out.write_bytes(b"an earlier take")

    def half_written(self, file):  # the MIDI writer dies halfway: the earlier file must survive whole
        with open(file, "wb") if isinstance(file, (str, Path)) else contextlib.nullcontext(file) as handle:
            handle.write(b"MThd\x00")
        raise OSError("disk full")

    monkeypatch.setattr(pretty_midi.PrettyMIDI, "write", half_written)
    with pytest.raises(OSError, match="disk full"):
        cli.main(["sample", "note_rnn_fast", str(out), "--length", "16"])
    assert out.read_bytes() == b"an earlier take"
    assert [p.name for p in tmp_path.iterdir()] == ["o.mid"]
    monkeypatch.undo()
    assert cli.main(["sample", "note_rnn_fast", str(tmp_path / "n.MIDI"), "--length", "16"]) == 0
    assert (tmp_path / "n.MIDI").read_bytes().startswith(b"MThd")
