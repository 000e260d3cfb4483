"""MusicVAE (models.music_vae, vae_config, vae_parts, latent): shapes, loss terms, sampling, interpolation, training."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from musiclab.checkpoints import (config_from_checkpoint, load_checkpoint, load_model, load_weights,
                                  save_checkpoint)
from musiclab.data.melody import NO_EVENT, NOTE_OFF, NUM_CLASSES
from musiclab.errors import BadParameterError, UnknownNameError
from musiclab.models.latent import interpolate, lerp, slerp
from musiclab.models.music_vae import MusicVAE, kl_divergence, reconstruction_accuracy
from musiclab.models.train import train
from musiclab.models.train_config import TrainConfig
from musiclab.models.vae_config import MusicVAEConfig, preset


def tiny(**overrides) -> MusicVAEConfig:
    """A flat model small enough to train in a few seconds."""
    values = dict(embed_size=16, enc_size=32, z_size=8, dec_size=64, dec_layers=1,
                  beta=0.05, beta_rate=0.99, free_bits=0.0, sampling_schedule="none")
    return MusicVAEConfig(**{**values, **overrides})


def tiny_hierarchical(**overrides) -> MusicVAEConfig:
    """A 4-bar hierarchical model (16 steps per bar)."""
    values = dict(seq_len=64, bar_steps=16, hierarchical=True, embed_size=16, enc_size=32, z_size=8,
                  dec_size=32, dec_layers=1, conductor_size=32, conductor_layers=1, conductor_out=16)
    return tiny(**{**values, **overrides})


def melodies(count: int, length: int = 32, seed: int = 0) -> np.ndarray:
    """``count`` distinct melodies [count, length] in the shared encoding: onsets held for 1-4 steps."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(count):
        row = []
        while len(row) < length:
            row += [int(rng.integers(2, NUM_CLASSES))] + [NO_EVENT] * int(rng.integers(0, 4))
            if rng.random() < 0.1:
                row += [NOTE_OFF]
        rows.append(row[:length])
    return np.array(rows, dtype=np.int64)


# ---- presets -----------------------------------------------------------------------------------

def test_small_and_big_presets_have_the_released_2bar_sizes():
    small, big = preset("small"), preset("big")
    assert (small.seq_len, small.enc_size, small.z_size, small.dec_size, small.dec_layers) == (32, 512, 256, 256, 2)
    assert (big.seq_len, big.enc_size, big.z_size, big.dec_size, big.dec_layers) == (32, 2048, 512, 2048, 3)
    assert (small.beta, big.beta, small.free_bits) == (0.2, 0.5, 0.0)
    assert small.sampling_schedule == big.sampling_schedule == "inverse_sigmoid"
    assert not small.hierarchical and not big.hierarchical


def test_hierarchical_preset_has_a_conductor_over_16_bars():
    config = preset("hierarchical")
    assert config.hierarchical and config.seq_len // config.bar_steps == 16
    assert (config.conductor_size, config.conductor_out, config.dec_size) == (1024, 512, 1024)
    assert (config.free_bits, config.beta) == (256.0, 0.2)


def test_cpu_preset_is_a_small_flat_2bar_model_reading_every_encoder_step():
    model = MusicVAE(preset("cpu"))
    assert model.config.seq_len == 32 and not model.config.hierarchical
    assert model.config.encoder_summary == "all"
    assert model.encoder.mu.in_features == 2 * model.config.enc_size * 32
    assert sum(p.numel() for p in model.parameters()) < 1_500_000


def test_the_published_presets_read_the_encoders_final_states():
    for name in ("small", "big", "hierarchical"):
        assert preset(name).encoder_summary == "final"
    assert MusicVAE(tiny()).encoder.mu.in_features == 2 * 32


def test_unknown_preset_lists_the_valid_names():
    with pytest.raises(UnknownNameError, match="cpu.*|.*hierarchical"):
        preset("huge")


def test_preset_overrides_fields_and_rejects_unknown_ones():
    assert preset("cpu", z_size=16).z_size == 16
    with pytest.raises(BadParameterError, match="zsize"):
        preset("cpu", zsize=16)


def test_config_rejects_bad_values():
    with pytest.raises(BadParameterError, match="bar_steps"):
        MusicVAEConfig(seq_len=40, bar_steps=16, hierarchical=True)
    with pytest.raises(BadParameterError, match="beta_rate"):
        MusicVAEConfig(beta_rate=1.0)
    with pytest.raises(BadParameterError, match="z_size"):
        MusicVAEConfig(z_size=0)
    with pytest.raises(UnknownNameError, match="inverse_sigmoid"):
        MusicVAEConfig(sampling_schedule="linear")
    with pytest.raises(UnknownNameError, match="final"):
        MusicVAEConfig(encoder_summary="mean")


# ---- shapes ------------------------------------------------------------------------------------

def test_flat_model_shapes():
    torch.manual_seed(0)
    model = MusicVAE(tiny())
    batch = torch.from_numpy(melodies(5))
    mu, sigma = model.encode(batch)
    assert mu.shape == sigma.shape == (5, 8) and bool((sigma > 0).all())
    assert model.decoder.teacher_forced(mu, batch).shape == (5, 32, NUM_CLASSES)
    events = model.decode(mu)
    assert events.shape == (5, 32) and events.dtype == torch.long
    assert int(events.min()) >= 0 and int(events.max()) < NUM_CLASSES
    assert model.decode(mu[0], length=48).shape == (1, 48)
    loss, metrics = model.loss(batch)
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert {"loss", "recon_nats", "kl_bits", "beta", "sampling_prob", "accuracy"} <= set(metrics)


def test_an_all_steps_encoder_sees_a_change_at_any_single_step():
    torch.manual_seed(0)
    model = MusicVAE(tiny(encoder_summary="all")).eval()
    batch = torch.from_numpy(melodies(4))
    mu, sigma = model.encode(batch)
    assert mu.shape == sigma.shape == (4, 8) and bool((sigma > 0).all())
    for step in (0, 15, 31):
        changed = batch.clone()
        changed[0, step] = (changed[0, step] + 5) % NUM_CLASSES
        moved, _ = model.encode(changed)
        assert not torch.allclose(moved[0], mu[0]) and torch.equal(moved[1:], mu[1:])
    with pytest.raises(BadParameterError, match="window is 32 steps"):
        model.encode(batch[:, :16])


def test_a_checkpoint_saved_before_encoder_summary_existed_loads_as_final(tmp_path):
    torch.manual_seed(0)
    model = MusicVAE(tiny())
    path = save_checkpoint(tmp_path / "old.pt", model)
    stored = torch.load(path, weights_only=True)
    del stored["config"]["encoder_summary"]
    torch.save(stored, path)
    loaded = load_model(path, device="cpu")
    assert loaded.config.encoder_summary == "final" and loaded.config == model.config


def test_hierarchical_model_shapes():
    torch.manual_seed(0)
    model = MusicVAE(tiny_hierarchical())
    batch = torch.from_numpy(melodies(3, length=64))
    mu, _ = model.encode(batch)
    assert model.decoder.bar_embeddings(mu, 4).shape == (3, 4, 16)
    assert model.decoder.teacher_forced(mu, batch).shape == (3, 64, NUM_CLASSES)
    assert model.decode(mu).shape == (3, 64)
    assert model.sample(2, seed=1, length=32).shape == (2, 32)
    loss, _ = model.loss(batch)
    loss.backward()
    assert model.decoder.conductor.weight_hh_l0.grad is not None


def test_hierarchical_bars_are_written_independently_given_the_conductor():
    torch.manual_seed(0)
    model = MusicVAE(tiny_hierarchical())
    batch = torch.from_numpy(melodies(1, length=64))
    z = torch.randn(1, 8)
    changed = batch.clone()
    changed[0, :16] = torch.from_numpy(melodies(1, length=16, seed=9)[0])
    before = model.decoder.teacher_forced(z, batch)
    after = model.decoder.teacher_forced(z, changed)
    assert not torch.allclose(before[:, :16], after[:, :16])
    assert torch.allclose(before[:, 16:], after[:, 16:])  # bar 2..4 do not see bar 1's notes


def test_hierarchical_decode_length_must_be_whole_bars():
    model = MusicVAE(tiny_hierarchical())
    with pytest.raises(BadParameterError, match="multiple of bar_steps=16"):
        model.decode(torch.zeros(8), length=40)


# ---- loss terms --------------------------------------------------------------------------------

def test_kl_matches_the_closed_form():
    mu = torch.tensor([[1.0, 0.0], [0.5, -2.0]])
    sigma = torch.tensor([[1.0, 0.5], [2.0, 0.1]])
    by_hand = 0.5 * (mu ** 2 + sigma ** 2 - 1 - torch.log(sigma ** 2)).sum(dim=1)
    assert torch.allclose(kl_divergence(mu, sigma), by_hand)
    assert math.isclose(kl_divergence(mu, sigma)[0].item(), 0.5 + 0.5 * (0.25 - 1 + 2 * math.log(2)), rel_tol=1e-6)
    reference = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu, sigma), torch.distributions.Normal(0.0, 1.0)).sum(dim=1)
    assert torch.allclose(kl_divergence(mu, sigma), reference, atol=1e-6)
    assert kl_divergence(torch.zeros(1, 4), torch.ones(1, 4)).item() == 0.0


def _loss_and_grads(config: MusicVAEConfig, state: dict, batch: torch.Tensor):
    model = MusicVAE(config)
    model.load_state_dict(state)
    torch.manual_seed(123)  # the same reparameterisation noise for every call
    loss, metrics = model.loss(batch, step=10_000)
    loss.backward()
    return metrics, [p.grad.clone() for p in model.encoder.parameters()]


def test_kl_below_the_free_bits_adds_nothing_to_loss_or_gradient():
    torch.manual_seed(0)
    state = MusicVAE(tiny(beta=1.0, beta_rate=0.0)).state_dict()
    batch = torch.from_numpy(melodies(4))
    free, free_grads = _loss_and_grads(tiny(beta=1.0, beta_rate=0.0, free_bits=1000.0), state, batch)
    plain, plain_grads = _loss_and_grads(tiny(beta=0.0, beta_rate=0.0), state, batch)
    full, full_grads = _loss_and_grads(tiny(beta=1.0, beta_rate=0.0), state, batch)
    assert free["kl_bits"] > 0
    assert math.isclose(free["loss"], free["recon_nats"], rel_tol=1e-6)
    assert all(torch.allclose(a, b) for a, b in zip(free_grads, plain_grads))
    # without free bits the KL is paid in full (nats = bits * ln 2) and moves the encoder
    assert math.isclose(full["loss"], full["recon_nats"] + full["kl_bits"] * math.log(2), rel_tol=1e-5)
    assert not all(torch.allclose(a, b) for a, b in zip(full_grads, plain_grads))


def test_beta_is_annealed_from_zero_to_its_final_value():
    model = MusicVAE(tiny(beta=0.2, beta_rate=0.99))
    betas = [model.beta_at(step) for step in (0, 10, 100, 1000, 10_000)]
    assert betas[0] == 0.0 and betas == sorted(betas)
    assert math.isclose(model.beta_at(10), 0.2 * (1 - 0.99 ** 10))
    assert math.isclose(betas[-1], 0.2, rel_tol=1e-6)


def test_inverse_sigmoid_schedule_feeds_more_own_samples_over_time():
    model = MusicVAE(tiny(sampling_schedule="inverse_sigmoid", sampling_rate=100.0))
    probs = [model.sampling_probability(step) for step in (0, 200, 460, 800, 10**7)]
    assert math.isclose(probs[0], 1 - 100 / 101, rel_tol=1e-9)
    assert math.isclose(probs[1], 1 - 100 / (100 + math.exp(2)), rel_tol=1e-9)
    assert probs == sorted(probs) and 0.4 < probs[2] < 0.6 and probs[-1] == 1.0
    assert MusicVAE(tiny()).sampling_probability(10**6) == 0.0


def test_scheduled_sampling_runs_only_in_training_mode():
    model = MusicVAE(tiny(sampling_schedule="inverse_sigmoid", sampling_rate=10.0))
    batch = torch.from_numpy(melodies(4))
    _, metrics = model.loss(batch, step=1000)
    assert metrics["sampling_prob"] == 1.0
    model.eval()
    _, metrics = model.loss(batch, step=1000)
    assert metrics["sampling_prob"] == 0.0


def test_parallel_scheduled_sampling_feeds_a_mix_of_true_events_and_the_decoders_samples():
    torch.manual_seed(0)
    model = MusicVAE(tiny(sampling_schedule="inverse_sigmoid", sampling_method="parallel"))
    batch = torch.from_numpy(melodies(16))
    z = torch.randn(16, 8)
    assert torch.equal(model._parallel_inputs(z, batch, 0.0), batch)
    mixed = model._parallel_inputs(z, batch, 0.5)
    assert mixed.shape == batch.shape and not mixed.requires_grad
    assert 0.2 < (mixed != batch).float().mean() < 0.6  # an untrained decoder's samples rarely agree
    fed = model.decoder.teacher_forced(z, batch, mixed)
    assert torch.allclose(fed[:, 0], model.decoder.teacher_forced(z, batch)[:, 0])  # step 0 sees 'begin'
    assert not torch.allclose(fed, model.decoder.teacher_forced(z, batch))
    loss, metrics = model.loss(batch, step=10**6)
    assert metrics["sampling_prob"] == 1.0 and torch.isfinite(loss)
    loss.backward()
    assert model.encoder.mu.weight.grad is not None
    with pytest.raises(UnknownNameError, match="sampling_method"):
        MusicVAEConfig(sampling_method="beam")


def test_step_counter_advances_only_on_training_calls_and_is_saved():
    model = MusicVAE(tiny())
    batch = torch.from_numpy(melodies(2))
    model.loss(batch)
    model.loss(batch)
    with torch.no_grad():
        model.loss(batch)
    model.eval()
    model.loss(batch)
    assert int(model.step) == 2
    assert int(model.state_dict()["step"]) == 2


# ---- sampling and decoding ---------------------------------------------------------------------

def test_decoding_is_deterministic_under_a_seed():
    torch.manual_seed(0)
    model = MusicVAE(tiny())
    z = torch.randn(4, 8)
    first = model.decode(z, temperature=1.5, seed=7)
    assert torch.equal(first, model.decode(z, temperature=1.5, seed=7))
    assert torch.equal(first, model.decode(z, temperature=1.5, generator=torch.Generator().manual_seed(7)))
    assert not torch.equal(first, model.decode(z, temperature=1.5, seed=8))
    assert torch.equal(model.decode(z), model.decode(z))  # argmax needs no randomness
    assert torch.equal(model.sample(3, seed=5), model.sample(3, seed=5))


def test_temperature_must_be_positive():
    model = MusicVAE(tiny())
    for bad in (0.0, -1.0):
        with pytest.raises(BadParameterError, match="temperature"):
            model.sample(2, temperature=bad)
        with pytest.raises(BadParameterError, match="temperature"):
            model.decode(torch.zeros(8), temperature=bad)


def test_bad_inputs_name_the_parameter_and_what_is_valid():
    model = MusicVAE(tiny())
    with pytest.raises(BadParameterError, match="16 steps.*window is 32"):
        model.encode(melodies(1, length=16))
    with pytest.raises(BadParameterError, match="0..37"):
        model.encode(np.full(32, 38))
    with pytest.raises(BadParameterError, match="integer"):
        model.encode(np.zeros(32, dtype=np.float32))
    with pytest.raises(BadParameterError, match=r"z must have shape \[batch, 8\]"):
        model.decode(torch.zeros(3, 5))
    with pytest.raises(BadParameterError, match="window is 32"):
        model.loss(torch.from_numpy(melodies(2, length=33)))
    with pytest.raises(BadParameterError, match="windows is empty"):
        reconstruction_accuracy(model, np.zeros((0, 32), dtype=np.int64))


# ---- interpolation -----------------------------------------------------------------------------

def test_slerp_and_lerp_start_and_end_at_the_inputs():
    z0, z1 = torch.tensor([3.0, 0.0, 1.0]), torch.tensor([0.0, -2.0, 2.0])
    for path in (slerp(z0, z1, 5), lerp(z0, z1, 5)):
        assert path.shape == (5, 3)
        assert torch.allclose(path[0], z0, atol=1e-6) and torch.allclose(path[-1], z1, atol=1e-6)


def test_slerp_of_equal_norm_vectors_keeps_the_norm_and_lerp_shrinks_it():
    generator = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(64, generator=generator), torch.randn(64, generator=generator)
    z1 = z1 * z0.norm() / z1.norm()
    spherical, straight = slerp(z0, z1, 7), lerp(z0, z1, 7)
    assert torch.allclose(spherical.norm(dim=1), z0.norm().expand(7), rtol=1e-5)
    assert straight[3].norm() < 0.9 * z0.norm()
    assert not torch.allclose(spherical[1:-1], straight[1:-1])


def test_slerp_norms_move_monotonically_between_unequal_norms():
    norms = slerp(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 3.0]), 9).norm(dim=1)
    assert math.isclose(norms[0].item(), 1.0, rel_tol=1e-6) and math.isclose(norms[-1].item(), 3.0, rel_tol=1e-6)
    assert bool((norms[1:] >= norms[:-1] - 1e-6).all())


def test_slerp_of_parallel_vectors_is_the_straight_line():
    z0 = torch.tensor([1.0, 2.0])
    assert torch.allclose(slerp(z0, 2 * z0, 3), lerp(z0, 2 * z0, 3))


def test_interpolation_needs_two_steps_and_matching_vectors():
    with pytest.raises(BadParameterError, match="n_steps"):
        slerp(torch.zeros(3), torch.ones(3), 1)
    with pytest.raises(BadParameterError, match="same size"):
        lerp(torch.zeros(3), torch.ones(4), 3)


def test_interpolate_checks_the_melodies_and_the_method():
    model = MusicVAE(tiny())
    a, b = melodies(2)
    assert interpolate(model, a, b, 4).shape == (4, 32)
    assert interpolate(model, np.concatenate([a, b]), b, 3, method="lerp").shape == (3, 32)
    with pytest.raises(BadParameterError, match="melody_b has 20 steps, shorter than the model's window of 32"):
        interpolate(model, a, b[:20], 4)
    with pytest.raises(BadParameterError, match="melody_a is empty"):
        interpolate(model, np.zeros(0, dtype=np.int64), b, 4)
    with pytest.raises(BadParameterError, match="n_steps"):
        interpolate(model, a, b, 1)
    with pytest.raises(UnknownNameError, match="slerp"):
        interpolate(model, a, b, 4, method="cubic")


# ---- training and checkpoints ------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained():
    """A tiny model trained 150 steps on 6 repeated melodies, with its accuracy before training."""
    torch.manual_seed(0)
    data = melodies(6, seed=3)
    model = MusicVAE(tiny())
    before = reconstruction_accuracy(model, data)
    history = train(model, np.repeat(data, 8, axis=0), config=TrainConfig(
        steps=150, batch_size=16, window=32, lr=1e-2, clip_norm=1.0, seed=0), device="cpu", quiet=True)
    return model, data, before, history


def test_training_on_repeated_melodies_drives_reconstruction_accuracy_up(trained):
    model, data, before, history = trained
    after = reconstruction_accuracy(model, data)
    assert before < 0.5 and after > 0.95
    assert int(model.step) == history.steps_done == 150
    assert np.mean(history.train_loss[-20:]) < 0.2 * np.mean(history.train_loss[:20])


def test_interpolation_endpoints_reconstruct_the_two_melodies(trained):
    model, data, _, _ = trained
    path = interpolate(model, data[0], data[1], 5)
    assert torch.equal(path[0], model.reconstruct(data[0])[0])
    assert torch.equal(path[-1], model.reconstruct(data[1])[0])
    assert (path[0] == torch.from_numpy(data[0])).float().mean() > 0.9


def test_checkpoint_round_trip_restores_weights_config_and_step(trained, tmp_path):
    model, data, _, _ = trained
    path = save_checkpoint(tmp_path / "vae.pt", model)
    assert torch.load(path, weights_only=True)["kind"] == "music_vae"
    checkpoint = load_checkpoint(path, expected_kind=MusicVAE.kind)
    restored = MusicVAE(config_from_checkpoint(checkpoint, MusicVAE.config_class, path))
    load_weights(restored, checkpoint, path)
    assert restored.config == model.config and int(restored.step) == int(model.step)
    z = torch.randn(3, model.config.z_size)
    assert torch.equal(restored.decode(z, temperature=1.0, seed=1), model.decode(z, temperature=1.0, seed=1))
    assert torch.equal(restored.reconstruct(data), model.reconstruct(data))
    loaded = load_model(path, device="cpu")
    assert isinstance(loaded, MusicVAE) and not loaded.training
    assert torch.equal(loaded.reconstruct(data), model.reconstruct(data))
