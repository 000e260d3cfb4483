"""Checkpoints: atomic save, weights_only load, clear errors, the shipped registry, load_model."""
from __future__ import annotations

import dataclasses
import fractions
import importlib

import pytest
import torch

from musiclab import checkpoints
from musiclab.checkpoints import (SHIPPED, CheckpointMismatchError, ShippedCheckpoint, load_checkpoint,
                                  load_model, restore_weights, save_checkpoint, shipped_path)
from musiclab.errors import BadFileError, BadParameterError, UnknownNameError
from musiclab.models.note_rnn import NoteRNN, NoteRNNConfig


def tiny(seed: int = 0, **overrides) -> NoteRNN:
    torch.manual_seed(seed)
    return NoteRNN(NoteRNNConfig(**{"hidden_size": 12, **overrides}))


def test_round_trip_restores_weights_config_and_behaviour(tmp_path):
    model = tiny(num_layers=2, embedding_dim=5)
    path = save_checkpoint(tmp_path / "m.pt", model, extra={"valid_nll": 1.25, "notes": ["a", 3]})
    raw = torch.load(path, weights_only=True)  # plain data only: safe to load
    assert set(raw) == {"format", "kind", "config", "state_dict", "extra"}
    assert raw["kind"] == "note_rnn" and raw["config"] == dataclasses.asdict(model.config)
    assert raw["extra"] == {"valid_nll": 1.25, "notes": ["a", 3]}

    loaded = load_model(path, device="cpu")
    assert isinstance(loaded, NoteRNN) and loaded.config == model.config and not loaded.training
    events = torch.randint(0, 38, (2, 10))
    assert torch.equal(loaded.log_prob(events), model.eval().log_prob(events))

    other = tiny(seed=1, num_layers=2, embedding_dim=5)
    assert restore_weights(other, path)["extra"]["valid_nll"] == 1.25
    assert torch.equal(other.eval().log_prob(events), model.log_prob(events))


def test_save_is_atomic_and_a_failed_save_keeps_the_old_file(tmp_path):
    path = tmp_path / "m.pt"
    save_checkpoint(path, tiny())
    before = path.read_bytes()
    with pytest.raises(BadParameterError, match=r"extra\['callback'\]"):
        save_checkpoint(path, tiny(seed=3), extra={"callback": print})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temp files left behind


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(BadFileError, match="nowhere.pt"):
        load_checkpoint(tmp_path / "nowhere.pt")


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04garbage"],
                         ids=["empty", "text", "broken-zip"])
def test_corrupt_file_names_the_file(tmp_path, content):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(BadFileError, match="bad.pt"):
        load_checkpoint(path)


def test_truncated_file_names_the_file(tmp_path):
    path = save_checkpoint(tmp_path / "cut.pt", tiny())
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(BadFileError, match="cut.pt"):
        load_checkpoint(path)


def test_a_torch_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(tiny().state_dict(), path)
    with pytest.raises(BadFileError, match="weights.pt.*missing format, kind, config"):
        load_checkpoint(path)


def test_a_pickled_object_is_refused_by_weights_only_loading(tmp_path):
    path = tmp_path / "pickled.pt"
    torch.save({"format": 1, "kind": "note_rnn", "config": {}, "state_dict": {},
                "extra": {"obj": fractions.Fraction(1, 3)}}, path)
    with pytest.raises(BadFileError, match="pickled.pt"):
        load_checkpoint(path)


def test_a_newer_format_is_refused(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", tiny())
    payload = torch.load(path, weights_only=True)
    torch.save({**payload, "format": checkpoints.FORMAT + 1}, path)
    with pytest.raises(BadFileError, match="format"):
        load_checkpoint(path)


def test_wrong_model_kind_names_file_and_kinds(tmp_path):
    path = save_checkpoint(tmp_path / "cnn.pt", tiny(), kind="note_cnn")
    with pytest.raises(CheckpointMismatchError, match=r"cnn.pt.*'note_cnn'.*expected 'note_rnn'"):
        restore_weights(tiny(), path)
    with pytest.raises(CheckpointMismatchError, match="cnn.pt.*unknown to NoteCNNConfig"):
        load_model(path)  # a NoteCNN is rebuilt, and the Note-RNN config does not fit it
    unknown = save_checkpoint(tmp_path / "gan.pt", tiny(), kind="drum_gan")
    with pytest.raises(CheckpointMismatchError, match="gan.pt.*'drum_gan'.*knows: 'note_rnn'"):
        load_model(unknown)


def test_config_mismatch_names_file_and_field(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", tiny())
    with pytest.raises(CheckpointMismatchError, match=r"m.pt.*'hidden_size' is 12 .* 20"):
        restore_weights(tiny(hidden_size=20), path)
    with pytest.raises(CheckpointMismatchError, match="embedding_dim"):
        restore_weights(tiny(embedding_dim=4), path)


def test_unknown_stored_config_field_is_named(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", tiny(), config={**dataclasses.asdict(tiny().config),
                                                               "attention": 8})
    with pytest.raises(CheckpointMismatchError, match="'attention'"):
        load_model(path)


def test_weights_that_do_not_fit_the_config_are_reported(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", tiny(), config=NoteRNNConfig(hidden_size=30))
    with pytest.raises(CheckpointMismatchError, match="m.pt.*size mismatch"):
        load_model(path)


def test_shipped_registry_starts_as_a_dict_and_unknown_names_are_listed(monkeypatch):
    assert isinstance(SHIPPED, dict)
    with pytest.raises(UnknownNameError, match="unknown shipped checkpoint 'essen_fast'"):
        shipped_path("essen_fast")
    with pytest.raises(UnknownNameError, match="neither a shipped checkpoint"):
        load_model("essen_fast")
    monkeypatch.setitem(SHIPPED, "demo", ShippedCheckpoint("demo.pt", "musiclab train --preset fast"))
    with pytest.raises(UnknownNameError, match="'demo'"):
        shipped_path("other")


def test_a_registered_but_missing_shipped_file_says_how_to_rebuild_it(monkeypatch, tmp_path):
    monkeypatch.setattr(checkpoints, "CHECKPOINT_DIR", tmp_path)
    monkeypatch.setitem(SHIPPED, "demo", ShippedCheckpoint("demo.pt", "musiclab train --preset fast"))
    with pytest.raises(BadFileError, match="demo.pt.*musiclab train --preset fast"):
        shipped_path("demo")
    save_checkpoint(tmp_path / "demo.pt", tiny())
    assert shipped_path("demo") == tmp_path / "demo.pt"
    assert isinstance(load_model("demo", device="cpu"), NoteRNN)


@pytest.mark.parametrize("kind", sorted(checkpoints.KINDS))
def test_every_registered_kind_is_rebuilt_by_load_model(tmp_path, kind):
    module, _, name = checkpoints.KINDS[kind].partition(":")
    cls = getattr(importlib.import_module(module), name)
    torch.manual_seed(0)
    model = cls()
    assert model.kind == kind
    loaded = load_model(save_checkpoint(tmp_path / f"{kind}.pt", model), device="cpu")
    assert type(loaded) is cls and loaded.config == model.config
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values()))


def test_a_str_subclass_in_extra_is_refused_before_it_can_spoil_the_file(tmp_path):
    class Version(str):
        pass

    with pytest.raises(BadParameterError, match="Version"):
        save_checkpoint(tmp_path / "m.pt", tiny(), extra={"torch": Version("2.13.0")})
    assert not (tmp_path / "m.pt").exists()
