"""Figures of models: training curves of a TrainHistory, note-probability heatmaps of any sequence model."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from musiclab import plots  # noqa: E402
from musiclab.data.melody import NUM_CLASSES, event_names  # noqa: E402
from musiclab.errors import BadParameterError  # noqa: E402
from musiclab.models.baselines import NGramModel  # noqa: E402
from musiclab.models.note_rnn import NoteRNN, NoteRNNConfig  # noqa: E402
from musiclab.models.train_state import TrainHistory  # noqa: E402

# C4 E4 G4 quarter notes, a rest, then E4 held a half note
MELODY = np.array([14, 1, 1, 1, 18, 1, 1, 1, 21, 1, 1, 0, 1, 1, 1, 1, 18, 1, 1, 1, 1, 1, 1, 1])


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def line(ax, gid: str):
    lines = [artist for artist in ax.lines if artist.get_gid() == gid]
    assert len(lines) == 1, f"expected one line with gid {gid!r}, found {len(lines)}"
    return lines[0]


def history() -> TrainHistory:
    losses = [3.0 * 0.99 ** i + 0.5 for i in range(200)]
    return TrainHistory(train_loss=losses, lr=[1e-3] * 200, eval_steps=[50, 100, 150, 200],
                        valid={"loss": [1.4, 1.1, 1.0, 1.05], "nll": [1.4, 1.1, 1.0, 1.05],
                               "accuracy": [0.5, 0.6, 0.62, 0.61]},
                        best_step=150, best_valid_loss=1.0, stop_reason="finished", seconds=4.0)


def test_training_curves_draw_every_training_step_and_every_validation():
    ax = plots.training_curves(history(), title="run")
    train = line(ax, "train")
    assert list(train.get_xdata()) == list(range(1, 201))
    assert np.allclose(train.get_ydata(), history().train_loss)
    valid = line(ax, "valid")
    assert list(valid.get_xdata()) == [50, 100, 150, 200] and list(valid.get_ydata()) == [1.4, 1.1, 1.0, 1.05]
    assert isinstance(ax, matplotlib.axes.Axes) and ax.get_title(loc="left") == "run"
    assert ax.get_xlabel() == "training step" and ax.get_ylabel() == "nats per step"


def test_training_curves_star_the_best_validation_and_smooth_the_noisy_loss():
    ax = plots.training_curves(history())
    best = line(ax, "best")
    assert list(best.get_xdata()) == [150] and list(best.get_ydata()) == [1.0]
    smooth = line(ax, "train_smooth").get_ydata()
    raw = np.asarray(history().train_loss)
    assert smooth[0] == raw[0] and np.all(np.diff(smooth) <= 0) and smooth[-1] > raw[-1]
    assert "best: 1.000 at step 150" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_training_curves_take_a_checkpoints_stored_history_and_reference_lines():
    from dataclasses import asdict

    ax = plots.training_curves(asdict(history()), reference={"n-gram": 0.97, "top-10": 1.49})
    references = [a for a in ax.lines if a.get_gid() == "reference"]
    assert sorted(float(a.get_ydata()[0]) for a in references) == [0.97, 1.49]
    low, high = ax.get_ylim()
    assert low <= 0.97 and high >= 1.49


def test_training_curves_refuse_an_empty_history():
    with pytest.raises(BadParameterError, match="no training steps"):
        plots.training_curves(TrainHistory())
    with pytest.raises(BadParameterError, match="TrainHistory"):
        plots.training_curves([1.0, 0.9])


def tiny_note_rnn() -> NoteRNN:
    torch.manual_seed(0)
    return NoteRNN(NoteRNNConfig(hidden_size=12, embedding_dim=6)).eval()


def row_labels(ax) -> dict[float, str]:
    return {float(tick): label.get_text() for tick, label in zip(ax.get_yticks(), ax.get_yticklabels())}


def test_note_probabilities_colour_is_the_models_probability_of_each_event():
    model = tiny_note_rnn()
    ax = plots.note_probabilities(model, MELODY, min_prob=0.5)
    image = next(im for im in ax.images if im.get_gid() == "probabilities")
    shown = np.asarray(image.get_array())
    expected = model.next_log_probs(torch.from_numpy(MELODY)[None]).exp()[0].T.detach().numpy()
    labels = row_labels(ax)
    rows = [labels[r] for r in range(shown.shape[0])]
    names = ["hold" if name == "-" else name for name in event_names(np.arange(NUM_CLASSES))]
    assert rows[:2] == ["off", "hold"] and rows[2:] == names[names.index(rows[2]):names.index(rows[-1]) + 1]
    for r, label in enumerate(rows):
        assert np.allclose(shown[r], expected[names.index(label)], atol=1e-6)
    assert shown.shape[1] == len(MELODY) and np.all(shown.sum(axis=0) <= 1 + 1e-6)


def test_note_probabilities_outline_the_event_that_came_at_every_step():
    ax = plots.note_probabilities(tiny_note_rnn(), torch.from_numpy(MELODY), title="what it expected",
                                  min_prob=0.5)
    chosen = sorted((p.get_x() + p.get_width() / 2, p.get_y() + p.get_height() / 2)
                    for p in ax.patches if p.get_gid() == "chosen")
    assert [round(x) for x, _ in chosen] == list(range(len(MELODY)))
    labels = row_labels(ax)
    came = ["hold" if name == "-" else name for name in event_names(MELODY)]
    assert [labels[round(y)] for _, y in chosen] == came
    assert ax.get_title(loc="left") == "what it expected" and ax.get_xlabel() == "step"


def test_note_probabilities_work_for_any_sequence_model_and_named_tokens():
    tokens = ["C4", "E4", "G4", "0.4.7", "2.7.11", "5.9.0"]
    ngram = NGramModel(2, 0.1, num_classes=len(tokens)).fit([np.array([0, 1, 2, 3, 0, 1, 2, 3, 4])])
    events = np.array([0, 1, 2, 3, 0])
    ax = plots.note_probabilities(ngram, events, labels=tokens, min_prob=0.5)
    labels = list(row_labels(ax).values())
    assert {"C4", "E4", "G4", "0.4.7"} <= set(labels) and "5.9.0" not in labels
    assert ax.get_ylabel() == "token"


def test_note_probabilities_reject_empty_melodies_and_wrong_labels():
    with pytest.raises(BadParameterError, match="empty"):
        plots.note_probabilities(tiny_note_rnn(), [])
    with pytest.raises(BadParameterError, match="all 38 classes"):
        plots.note_probabilities(tiny_note_rnn(), MELODY, labels=["a", "b"])
    with pytest.raises(BadParameterError, match="1 dimension"):
        plots.note_probabilities(tiny_note_rnn(), MELODY.reshape(2, -1))
