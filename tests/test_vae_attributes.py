"""MusicVAE attribute vectors (note density, interval size, calm), the de-duplicated test set, the
attribute plot and the attribute slider of notebook 04."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from musiclab import plots
from musiclab.checkpoints import load_model
from musiclab.errors import BadParameterError, UnknownNameError
from musiclab.eval.vae import unseen_windows
from musiclab.eval.vae_attributes import (ATTRIBUTES, CALM_FEATURES, FITTED, Sweep, attribute_path,
                                          attribute_sweep, attribute_vectors, latent_codes, local_vector_for,
                                          note_statistics, rank_correlation)
from musiclab.widgets.attributes import AttributeSlider

C4 = 60 - 46  # onset event of C4
C_MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11, 12)  # semitones above C4 of the scale notes used below


def _melody(rng, density: float, leap: int) -> np.ndarray:
    """32 steps of C-major notes: an onset with probability ``density`` at each step (else a hold),
    moving up to ``leap`` scale degrees between notes."""
    events, degree = np.ones(32, dtype=np.int64), 3
    for step in range(32):
        if step == 0 or rng.random() < density:
            degree = int(np.clip(degree + rng.integers(-leap, leap + 1), 0, len(C_MAJOR_STEPS) - 1))
            events[step] = C4 + C_MAJOR_STEPS[degree]
    return events


@pytest.fixture(scope="module")
def vae():
    return load_model("music_vae_cpu", device="cpu")


@pytest.fixture(scope="module")
def corpus():
    """400 synthetic windows of every density and leap size, and 60 'calm' ones: sparse and stepwise."""
    rng = np.random.default_rng(0)
    windows = np.stack([_melody(rng, rng.uniform(0.1, 0.9), int(rng.integers(1, 5))) for _ in range(400)])
    calm = np.stack([_melody(rng, rng.uniform(0.1, 0.25), 1) for _ in range(60)])
    return windows, calm


@pytest.fixture(scope="module")
def vectors(vae, corpus):
    return attribute_vectors(vae, *corpus)


def test_note_statistics_count_onsets_intervals_range_and_pitch():
    melody = np.array([C4, 1, C4 + 4, 1, 0, 1, C4 + 2, 1])  # C4, E4, D4 over 8 steps
    density, interval, span, pitch = note_statistics(melody)[0]
    assert density == pytest.approx(3 / 8)
    assert interval == pytest.approx((4 + 2) / 2)
    assert span == 4 and pitch == pytest.approx(C4 + 2)
    one_note, silent = note_statistics(np.array([[C4, 1, 1, 1], [0, 1, 1, 1]]))
    assert one_note[0] == 0.25 and np.isnan(one_note[1]) and one_note[2] == 0
    assert silent[0] == 0 and np.isnan(silent[1:]).all()
    assert len(CALM_FEATURES) == 4


def test_rank_correlation_is_one_when_rising_minus_one_when_falling_and_zero_without_change():
    assert rank_correlation([0.1, 0.2, 0.5, 0.6, 0.9]) == pytest.approx(1.0)
    assert rank_correlation([3, 2, 1, 0, -1]) == pytest.approx(-1.0)
    assert rank_correlation([1, 1, 1, 1, 1]) == 0.0
    assert rank_correlation([1, np.nan, 2, 3, 4]) == 0.0
    assert 0.8 < rank_correlation([0, 0, 1, 2, 3]) < 1.0  # a tie at the start: rising, not strictly
    with pytest.raises(BadParameterError, match="at least 2"):
        rank_correlation([1.0])


def test_each_attribute_has_one_latent_direction_one_corpus_spread_long(vae, corpus, vectors):
    codes = latent_codes(vae, corpus[0])
    assert codes.shape == (400, vae.config.z_size)
    assert set(vectors.vectors) == set(ATTRIBUTES)
    for name, vector in vectors.vectors.items():
        assert vector.shape == (vae.config.z_size,), name
        unit = vector / vector.norm()
        assert float(vector.norm()) == pytest.approx(float((codes @ unit).std()), rel=1e-4), name


def test_a_vectors_share_on_a_dimension_is_its_squared_component_over_its_squared_length(vectors):
    for name, vector in vectors.vectors.items():
        shares = [vectors.share_on_dimension(name, d) for d in range(len(vector))]
        assert sum(shares) == pytest.approx(1.0, rel=1e-5), name
        top = int(vector.abs().argmax())
        assert shares[top] == pytest.approx(float(vector[top] ** 2 / vector.norm() ** 2), rel=1e-5)
    with pytest.raises(BadParameterError, match="dimension"):
        vectors.share_on_dimension("interval_size", len(vectors.vectors["interval_size"]))


def test_moving_along_one_dimension_replaces_only_that_attributes_vector_by_one_corpus_spread_on_it(vectors):
    along = vectors.along_dimension("interval_size", 3)
    axis = along.vectors["interval_size"]
    assert along.share_on_dimension("interval_size", 3) == 1.0
    assert float(axis[3]) == pytest.approx(float(vectors.corpus_codes[:, 3].std()))
    assert along.vectors["note_density"] is vectors.vectors["note_density"]
    assert not torch.equal(vectors.vectors["interval_size"], axis)  # the original is left as it was
    with pytest.raises(UnknownNameError, match="attribute 'calm'"):
        vectors.along_dimension("calm", 0)  # calm has no regularised dimension
    with pytest.raises(BadParameterError, match="dimension"):
        vectors.along_dimension("note_density", len(axis))


def test_density_and_interval_vectors_each_move_their_own_prediction_and_not_the_other(vae, corpus, vectors):
    windows = corpus[0]
    codes = latent_codes(vae, windows).double().numpy()
    stats = note_statistics(windows)[:, [CALM_FEATURES.index(name) for name in FITTED]]
    keep = ~np.isnan(stats).any(axis=1)
    targets = (stats[keep] - stats[keep].mean(0)) / stats[keep].std(0)
    design = np.c_[np.ones(keep.sum()), codes[keep]]
    weights = np.linalg.lstsq(design, targets, rcond=None)[0][1:]  # [z_size, 2]: linear fit, no ridge
    for j, name in enumerate(FITTED):
        moved = vectors.vectors[name].double().numpy() @ weights  # change of both predictions per step
        assert moved[j] > 0.2, name
        assert abs(moved[1 - j]) < 0.1 * moved[j], name
    assert set(vectors.fit_r2) == set(FITTED)
    assert 0.5 < vectors.fit_r2["note_density"] <= 1.0 and 0.0 <= vectors.fit_r2["interval_size"] <= 1.0
    with pytest.raises(BadParameterError, match="corpus_windows needs more than 32"):
        attribute_vectors(vae, windows[:20], corpus[1])


def test_a_local_vector_moves_its_own_prediction_among_the_tunes_neighbours_and_not_the_other(vae, corpus, vectors):
    tune = corpus[0][5]
    code = latent_codes(vae, tune[None])[0]
    near = np.argsort(np.linalg.norm(vectors.corpus_codes.numpy() - code.numpy(), axis=1))[:256]
    codes, stats = vectors.corpus_codes[near].double().numpy(), vectors.corpus_attributes[near]
    targets = (stats - stats.mean(0)) / stats.std(0)
    weights = np.linalg.lstsq(np.c_[np.ones(256), codes], targets, rcond=None)[0][1:]  # the neighbours' linear fit
    for j, name in enumerate(FITTED):
        vector = local_vector_for(vae, vectors, name, tune)
        unit = vector / vector.norm()
        assert float(vector.norm()) == pytest.approx(float((vectors.corpus_codes @ unit).std()), rel=1e-4)
        moved = vector.double().numpy() @ weights
        assert moved[j] > 0.2 and abs(moved[1 - j]) < 0.25 * moved[j], name
    with pytest.raises(UnknownNameError, match="local attribute 'calm'"):
        vectors.local_vector("calm", code)
    with pytest.raises(BadParameterError, match="neighbours"):
        vectors.local_vector("interval_size", code, neighbours=10_000)
    with pytest.raises(BadParameterError, match="32 dimensions"):
        vectors.local_vector("interval_size", code[:5])


def test_a_local_sweep_moves_each_tune_along_its_own_vector(vae, corpus, vectors):
    tunes = corpus[0][[0, 1, 2]]
    sweep = attribute_sweep(vae, vectors, "interval_size", tunes, scales=[0, 2], local=True)
    for tune, melodies in zip(tunes, sweep.melodies):
        expected = attribute_path(vae, tune, local_vector_for(vae, vectors, "interval_size", tune), [0, 2])
        assert np.array_equal(melodies, expected)
    with pytest.raises(UnknownNameError, match="local attribute 'calm'"):
        attribute_sweep(vae, vectors, "calm", tunes, local=True)


def test_the_calm_score_is_zero_for_the_corpus_mean_and_positive_for_the_calm_set(corpus, vectors):
    windows, calm = corpus
    assert vectors.calm_shift[0] < 0  # the synthetic calm set is sparser than the corpus
    assert np.nanmean(vectors.measure("calm", windows)) == pytest.approx(0.0, abs=0.05)
    assert np.nanmean(vectors.measure("calm", calm)) > 0.5
    assert np.array_equal(vectors.measure("note_density", calm), note_statistics(calm)[:, 0])
    with pytest.raises(UnknownNameError, match="attribute 'loudness'"):
        vectors.measure("loudness", calm)


def test_step_zero_is_the_reconstruction_and_every_step_a_window(vae, corpus, vectors):
    tune = corpus[0][0]
    path = attribute_path(vae, tune, vectors.vectors["calm"], scales=[0, 1, 2])
    assert path.shape == (3, vae.config.seq_len) and path.dtype == np.int64
    assert np.array_equal(path[0], vae.reconstruct(tune)[0].numpy())
    with pytest.raises(BadParameterError, match="at least 32 steps"):
        attribute_path(vae, tune[:10], vectors.vectors["calm"])
    with pytest.raises(BadParameterError, match="scales"):
        attribute_path(vae, tune, vectors.vectors["calm"], scales=[])


def test_moving_along_note_density_adds_notes_step_by_step_in_key(vae, corpus, vectors):
    tunes = corpus[0][[0, 1, 2, 3]]
    sweep = attribute_sweep(vae, vectors, "note_density", tunes)
    assert sweep.values.shape == (4, 5) and sweep.melodies.shape == (4, 5, vae.config.seq_len)
    assert np.median(sweep.spearman) >= 0.9
    assert (sweep.values[:, -1] > sweep.values[:, 0]).all()
    assert sweep.in_key >= 0.95


def test_a_sweep_counts_tunes_whose_first_step_decodes_their_own_melody_and_tunes_whose_attribute_falls():
    melodies = np.zeros((3, 3, 4), dtype=np.int64)
    melodies[0, 1:] = 5       # moves at the first step
    melodies[1, 2] = 5        # decodes its own melody again at the first step
    melodies[2, 1, 0] = 7     # moves, one note differs
    values = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 0.5], [2.0, np.nan, 1.0]])
    sweep = Sweep(values, np.zeros(3), 1.0, melodies)
    assert sweep.unmoved_first_step.tolist() == [False, True, False]
    assert sweep.falls.tolist() == [False, True, False]  # a NaN step is no fall


def test_unseen_windows_keeps_distinct_test_windows_that_never_occur_in_training():
    train = np.array([[1, 2, 3], [4, 5, 6]])
    test = np.array([[4, 5, 6], [7, 8, 9], [1, 2, 4], [7, 8, 9], [1, 2, 3]])
    kept = unseen_windows(test, train)
    assert kept.tolist() == [[7, 8, 9], [1, 2, 4]]
    seen = {tuple(row) for row in train}
    assert not any(tuple(row) in seen for row in kept)
    assert unseen_windows(train, train).shape == (0, 3)
    with pytest.raises(BadParameterError, match="same length"):
        unseen_windows(test, train[:, :2])


def test_the_attribute_plot_draws_each_tune_their_median_and_the_marked_step():
    values = np.array([[0.1, 0.2, 0.3], [0.2, 0.2, 0.4], [0.0, np.nan, 0.5]])
    ax = plots.attribute_steps(values, scales=[0, 1, 2], name="note_density", marked=1)
    gids = [line.get_gid() for line in ax.lines]
    assert gids.count("tune") == 3 and gids.count("median") == 1 and gids.count("marked") == 1
    median = next(line for line in ax.lines if line.get_gid() == "median")
    assert median.get_ydata().tolist() == pytest.approx([0.1, 0.2, 0.4])
    assert "onsets" in ax.get_ylabel()
    with pytest.raises(BadParameterError, match="one value per step"):
        plots.attribute_steps(values, scales=[0, 1])
    with pytest.raises(BadParameterError, match="marked"):
        plots.attribute_steps(values[0], marked=5)
    plt.close("all")


def test_the_slider_moves_the_tune_measures_it_and_never_autoplays(vae, corpus, vectors):
    panel = AttributeSlider(vae, vectors, corpus[0][0], attribute="note_density")
    start = panel.melody.copy()
    assert np.array_equal(start, vae.reconstruct(corpus[0][0])[0].numpy())
    moved = panel.update(step=4)
    assert panel.slider.value == 4 and not np.array_equal(moved, start)
    assert panel.value == pytest.approx(note_statistics(moved)[0, 0])
    assert "step +4" in panel.readout.value and "<svg" in panel.roll.value
    assert panel.wav[:4] == b"RIFF" and panel.audio.autoplay is False
    panel.menu.value = "calm"  # the widget callbacks update the panel
    assert "calm" in panel.readout.value and "global vector" in panel.readout.value
    panel.menu.value, panel.local.value = "interval_size", True
    expected = attribute_path(vae, corpus[0][0], local_vector_for(vae, vectors, "interval_size", corpus[0][0]), [0, 4])
    assert np.array_equal(panel.melody, expected[1]) and "local vector" in panel.readout.value
    panel.menu.value = "calm"  # calm has no local vector: its global one is used
    assert "global vector" in panel.readout.value
    assert panel.slider.style.description_width == "initial"  # the label shows in full
    with pytest.raises(BadParameterError, match="step"):
        panel.update(step=9)
