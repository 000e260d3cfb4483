"""Training the shipped MusicVAE, the interpolation-quality measures and the VAE figures (notebook 04)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from musiclab import plots
from musiclab.checkpoints import SHIPPED, load_checkpoint, load_model, shipped_path
from musiclab.errors import BadParameterError, UnknownNameError
from musiclab.models.music_vae import MusicVAE
from musiclab.models.vae_config import preset
from musiclab.cli import main
from musiclab.eval.vae import in_key_share, latent_coordinates, note_space_blend, step_change
from musiclab.models.vae_training import WINDOW, command_line, train_music_vae

C4, CS4 = 60 - 46, 61 - 46  # onset events of C4 (in C major) and C#4 (not)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 4-step training run on 128 Essen windows, saved as a checkpoint."""
    path = tmp_path_factory.mktemp("vae") / "tiny.pt"
    torch.manual_seed(0)
    model, figures = train_music_vae("cpu", steps=4, seed=0, out_path=path, quiet=True,
                                     max_train_windows=128, eval_windows=32, eval_every=2)
    return path, model, figures


@pytest.mark.slow
def test_a_tiny_run_writes_a_loadable_checkpoint_with_its_command(tiny_run):
    path, model, figures = tiny_run
    loaded = load_model(path, device="cpu")
    assert isinstance(loaded, MusicVAE) and loaded.config == preset("cpu")
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name]), name
    extra = load_checkpoint(path)["extra"]
    assert extra["command"] == command_line("cpu", 4, 0, path, batch_size=128, lr=5e-3, eval_every=2)
    assert extra["command"].startswith("musiclab train music-vae --preset cpu --steps 4 "
                                       "--seed 0 --eval-every 2 --out")
    assert extra["steps"] == 4 and extra["train_windows"] == 128 and extra["eval_windows"] == 32
    assert len(extra["train_loss"]) == 4 and extra["valid_steps"] == [2, 4]


@pytest.mark.slow
def test_a_tiny_run_reports_held_out_figures_in_their_units(tiny_run):
    _, _, figures = tiny_run
    assert 0.0 <= figures["test_reconstruction_accuracy"] <= 1.0
    assert 0.0 <= figures["test_teacher_forced_accuracy"] <= 1.0
    assert figures["test_kl_bits"] >= 0.0
    assert figures["test_recon_nats"] > 0.0
    assert figures["train_seconds"] > 0.0
    assert figures["train_loss"][-1] < figures["train_loss"][0]  # 4 Adam steps already lower the loss


@pytest.mark.slow
def test_the_same_seed_trains_the_same_weights():
    runs = [train_music_vae("cpu", steps=2, seed=5, quiet=True, max_train_windows=64, eval_windows=16)
            for _ in range(2)]
    (first, figures), (second, again) = runs
    for name, tensor in first.state_dict().items():
        assert torch.equal(tensor, second.state_dict()[name]), name
    assert figures["test_kl_bits"] == again["test_kl_bits"] and figures["command"] == ""


def test_training_rejects_a_bad_preset_or_step_count():
    with pytest.raises(UnknownNameError, match="small"):
        train_music_vae("huge", steps=1, quiet=True)
    with pytest.raises(BadParameterError, match="steps"):
        train_music_vae("cpu", steps=0, quiet=True)


def test_the_command_line_requires_an_output_file():
    with pytest.raises(SystemExit):
        main(["train", "music-vae", "--preset", "cpu", "--steps", "1"])


def test_the_reproducing_command_names_only_options_that_differ_from_the_defaults():
    plain = command_line("cpu", 4000, 0, "m.pt", batch_size=128, lr=5e-3, eval_every=250)
    assert plain == "musiclab train music-vae --preset cpu --steps 4000 --seed 0 --out m.pt"
    assert command_line("cpu", 10, 1, "m.pt") == plain.replace("4000", "10").replace("--seed 0", "--seed 1")
    changed = command_line("cpu", 10, 0, "m.pt", batch_size=64, lr=0.001)
    assert "--batch-size 64 --lr 0.001 --out m.pt" in changed


def test_the_command_line_checks_the_preset_and_refuses_options_a_vae_does_not_take(tmp_path, capsys):
    assert main(["train", "music-vae", "--preset", "fast", "--out", str(tmp_path / "x.pt")]) == 2
    assert "cpu" in capsys.readouterr().err  # the valid presets are listed
    assert main(["train", "music-vae", "--hidden", "64", "--out", str(tmp_path / "x.pt")]) == 2
    assert "does not take --hidden" in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists()


@pytest.mark.slow
def test_the_command_line_trains_and_saves_a_checkpoint_with_its_command(tmp_path, capsys):
    out = tmp_path / "cli.pt"
    assert main(["train", "music-vae", "--steps", "2", "--eval-every", "1", "--batch-size", "8",
                 "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "test_reconstruction_accuracy:" in printed and f"wrote {out}" in printed
    extra = load_checkpoint(out)["extra"]
    assert extra["steps"] == 2 and extra["batch_size"] == 8 and extra["valid_steps"] == [1, 2]
    assert extra["command"] == (f"musiclab train music-vae --preset cpu --steps 2 --seed 0 "
                                f"--batch-size 8 --eval-every 1 --out {out}")


def test_the_shipped_checkpoint_is_registered_with_its_reproducing_command():
    entry = SHIPPED["music_vae_cpu"]
    assert entry.file == "music_vae_cpu.pt"
    assert entry.command.startswith("musiclab train music-vae --preset cpu --steps 4000 --seed 0")
    assert "--out data/checkpoints/music_vae_cpu.pt" in entry.command


def test_the_shipped_attribute_model_is_registered_with_its_reproducing_command():
    entry = SHIPPED["music_vae_cpu_swap_wide"]
    assert entry.command == ("musiclab train music-vae --preset cpu_swap_wide --steps 6000 --seed 0 "
                             f"--out data/checkpoints/{entry.file}")
    assert load_checkpoint(shipped_path("music_vae_cpu_swap_wide"))["extra"]["command"] == entry.command


def test_in_key_share_counts_onsets_in_c_major_only():
    melody = np.array([C4, 1, 1, CS4, 0, C4 + 2, 1, 0])  # C4, C#4, D4; holds and rests ignored
    assert in_key_share(melody) == pytest.approx(2 / 3)
    assert np.isnan(in_key_share(np.array([0, 1, 1, 0])))
    with pytest.raises(BadParameterError, match="0..37"):
        in_key_share(np.array([40]))


def test_step_change_is_the_mean_share_of_differing_steps_between_neighbours():
    path = np.array([[2, 1, 1, 1], [2, 1, 1, 3], [5, 1, 1, 3]])
    assert step_change(path) == pytest.approx((1 / 4 + 1 / 4) / 2)
    with pytest.raises(BadParameterError, match="at least 2"):
        step_change(path[:1])


@pytest.mark.parametrize("mode", ["random", "splice"])
def test_note_space_blend_goes_from_a_to_b_and_repeats_with_its_seed(mode):
    a, b = np.full(WINDOW, C4), np.full(WINDOW, C4 + 4)
    path = note_space_blend(a, b, 5, mode=mode, seed=3)
    assert path.shape == (5, WINDOW) and path.dtype == np.int64
    assert np.array_equal(path[0], a) and np.array_equal(path[-1], b)
    from_b = (path == b).mean(axis=1)
    assert np.all(np.diff(from_b) >= 0) if mode == "splice" else 0.0 < from_b[2] < 1.0
    assert np.array_equal(path, note_space_blend(a, b, 5, mode=mode, seed=3))


def test_note_space_blend_rejects_unequal_melodies_and_unknown_modes():
    with pytest.raises(BadParameterError, match="equal length"):
        note_space_blend(np.ones(32), np.ones(16), 3)
    with pytest.raises(UnknownNameError, match="splice"):
        note_space_blend(np.ones(32), np.ones(32), 3, mode="fade")


def test_interpolation_grid_draws_one_roll_per_path_step_on_a_shared_range():
    held = np.ones(WINDOW, dtype=np.int64)  # one whole-window note per melody
    path = np.stack([np.r_[pitch, held[1:]] for pitch in (C4, C4 + 12, C4 + 7)])
    axes = plots.interpolation_grid(path, ncols=2, title="path")
    assert len(axes) == 3
    assert [ax.get_title(loc="left") for ax in axes] == ["0: A", "1: 0.50", "2: B"]
    assert len({ax.get_ylim() for ax in axes}) == 1
    assert all(len([p for p in ax.patches if p.get_gid() == "note"]) == 1 for ax in axes)
    plt.close("all")
    with pytest.raises(BadParameterError, match="3 Axes"):
        plots.interpolation_grid(path, axes=[plt.subplots()[1]])
    plt.close("all")


def test_latent_coordinates_project_every_long_enough_tune_and_flag_the_chosen_ones():
    model = MusicVAE(preset("cpu")).eval()
    rng = np.random.default_rng(0)
    tunes = [rng.integers(0, 38, size=40) for _ in range(30)] + [np.ones(10, dtype=np.int64)]
    calm = [rng.integers(0, 38, size=32) for _ in range(5)]
    coords = latent_coordinates(model, tunes, highlight=calm)
    assert coords.points.shape == (35, 2)  # the 10-step tune is left out
    assert coords.highlight.tolist() == [False] * 30 + [True] * 5
    assert coords.variance_share.shape == (2,) and 0 < coords.variance_share.sum() <= 1
    with pytest.raises(BadParameterError, match="at least 32"):
        latent_coordinates(model, [np.ones(8, dtype=np.int64)])


def test_latent_map_draws_the_points_and_highlights_the_flagged_ones():
    rng = np.random.default_rng(0)
    points, flags = rng.normal(size=(35, 2)), np.arange(35) >= 30
    ax = plots.latent_map(points, highlight=flags, labels=("Essen", "calming"), variance_share=[0.4, 0.2])
    corpus, = [c for c in ax.collections if c.get_gid() == "corpus"]
    marked, = [c for c in ax.collections if c.get_gid() == "highlight"]
    assert len(corpus.get_offsets()) == 30 and len(marked.get_offsets()) == 5
    assert ax.get_xlabel() == "PC 1 (40% of variance)"
    plt.close("all")
    ax = plots.latent_map(points)
    assert ax.get_xlabel() == "PC 1" and not [c for c in ax.collections if c.get_gid() == "highlight"]
    plt.close("all")
    with pytest.raises(BadParameterError, match="one flag per point"):
        plots.latent_map(points, highlight=flags[:3])
