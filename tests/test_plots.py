"""Figures: piano rolls, drum grids and launchpad bars draw what they are given, one patch per note."""
from __future__ import annotations

import importlib

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pretty_midi  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from musiclab import plots  # noqa: E402
from musiclab.plots import core  # noqa: E402
from musiclab.plots import drums as plot_drums  # noqa: E402
from musiclab.data import drums, melody  # noqa: E402
from musiclab.errors import BadParameterError  # noqa: E402
from musiclab.launchpad import bars  # noqa: E402
from musiclab.launchpad.plots import launchpad_bar  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def drawn(ax, gid: str = "note") -> list:
    return [patch for patch in ax.patches if patch.get_gid() == gid]


def line_positions(ax, color: str) -> set[float]:
    return {round(float(line.get_xdata()[0]), 3) for line in ax.lines if line.get_color() == color}


# An 8-bar-long tune would be too much to read; this is 4 bars: C D E F | G (held) | rest | A G
TUNE = [melody.Note(60, 0, 4), melody.Note(62, 4, 4), melody.Note(64, 8, 4), melody.Note(65, 12, 4),
        melody.Note(67, 16, 16), melody.Note(69, 48, 8), melody.Note(67, 56, 8)]


def tune_events() -> np.ndarray:
    return melody.encode_notes(TUNE, length=64)


# ----------------------------------------------------------------------------- piano_roll

def test_piano_roll_draws_one_bar_per_note_where_the_note_sounds():
    ax = plots.piano_roll(tune_events(), title="four bars")
    bars = sorted((p.get_x(), p.get_width(), p.get_y() + p.get_height() / 2) for p in drawn(ax))
    assert bars == [(n.start, n.duration, n.pitch) for n in TUNE]
    assert isinstance(ax, matplotlib.axes.Axes) and ax.get_title(loc="left") == "four bars"


def test_piano_roll_has_bar_lines_every_16_steps_and_beat_lines_every_4():
    ax = plots.piano_roll(tune_events())
    assert line_positions(ax, core.BAR_LINE) == {0, 16, 32, 48, 64}
    assert line_positions(ax, core.BEAT_LINE) == {s for s in range(0, 65, 4) if s % 16}
    assert ax.get_xlim() == (0, 64)


def test_piano_roll_names_the_pitches_on_the_y_axis():
    ax = plots.piano_roll(tune_events())
    labels = {tick.get_text(): tick.get_position()[1] for tick in ax.get_yticklabels()}
    assert labels["C4"] == 60 and labels["A4"] == 69 and labels["F#4"] == 66


def test_piano_roll_of_a_melody_of_rests_draws_no_notes():
    silent = np.array([melody.NOTE_OFF] + [melody.NO_EVENT] * 15)
    assert drawn(plots.piano_roll(silent)) == []


def test_piano_roll_draws_into_a_given_axes_and_takes_torch_tensors():
    fig, (top, bottom) = plt.subplots(2, 1)
    ax = plots.piano_roll(torch.as_tensor(tune_events()), ax=bottom)
    assert ax is bottom and len(drawn(bottom)) == len(TUNE) and drawn(top) == []


@pytest.mark.parametrize("bad", [np.zeros((2, 16), dtype=np.int64), np.array([2, 40, 1]),
                                 np.array([0.5, 1.0])])
def test_piano_roll_refuses_batches_and_invalid_events(bad):
    with pytest.raises(BadParameterError, match="events"):
        plots.piano_roll(bad)


# ----------------------------------------------------------------------------- drum_grid

def rock_grid() -> np.ndarray:
    grid = np.full(drums.GRID_STEPS, drums.SILENCE)
    grid[2::4] = drums.DRUM_CLASSES.index("closed_hihat")
    grid[0::8] = drums.DRUM_CLASSES.index("kick")
    grid[4::8] = drums.DRUM_CLASSES.index("snare")
    return grid


def test_drum_grid_fills_one_cell_per_step_in_the_row_of_its_class():
    grid = rock_grid()
    ax = plots.drum_grid(grid)
    hits = sorted((int(p.get_x()), int(round(p.get_y() + p.get_height() / 2))) for p in drawn(ax, "hit"))
    assert hits == [(s, int(c)) for s, c in enumerate(grid) if c != drums.SILENCE]
    silences = sorted(int(p.get_x()) for p in drawn(ax, "silence"))
    assert silences == [s for s, c in enumerate(grid) if c == drums.SILENCE]


def test_drum_grid_labels_all_ten_classes_and_draws_beat_and_bar_lines():
    ax = plots.drum_grid(rock_grid())
    labels = [tick.get_text() for tick in ax.get_yticklabels()]
    assert len(labels) == drums.NUM_DRUM_CLASSES
    assert labels[0].startswith("kick") and labels[drums.SILENCE].startswith("silence")
    assert line_positions(ax, core.BAR_LINE) == {0, 16, 32}
    assert line_positions(ax, core.BEAT_LINE) == {4, 8, 12, 20, 24, 28}


def test_drum_grid_colours_hits_by_drum():
    ax = plots.drum_grid(rock_grid())
    colours = {matplotlib.colors.to_hex(p.get_facecolor()) for p in drawn(ax, "hit")}
    assert colours == {plot_drums.DRUM_COLORS[name] for name in ("kick", "snare", "closed_hihat")}


@pytest.mark.parametrize("bad", [np.zeros(31, dtype=np.int64), np.full(32, 10),
                                 np.zeros((1, 32), dtype=np.int64)])
def test_drum_grid_refuses_wrong_lengths_and_unknown_classes(bad):
    with pytest.raises(BadParameterError, match="grid"):
        plots.drum_grid(bad)


# ----------------------------------------------------------------------------- pianoroll_pm

def band() -> pretty_midi.PrettyMIDI:
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    lead = pretty_midi.Instrument(program=73, name="flute")
    lead.notes = [pretty_midi.Note(90, 72 + i % 5, 0.5 * i, 0.5 * i + 0.4) for i in range(12)]
    bass = pretty_midi.Instrument(program=32)
    bass.notes = [pretty_midi.Note(90, 36 + i % 3, 1.0 * i, 1.0 * i + 0.9) for i in range(6)]
    kit = pretty_midi.Instrument(program=0, is_drum=True)
    kit.notes = [pretty_midi.Note(90, 36, 0.25 * i, 0.25 * i + 0.1) for i in range(24)]
    pm.instruments += [lead, bass, kit]
    return pm


def test_pianoroll_pm_draws_every_note_of_every_instrument_at_its_time_and_pitch():
    ax = plots.pianoroll_pm(band())
    assert len(drawn(ax)) == 12 + 6 + 24
    flute = sorted((round(p.get_x(), 3), round(p.get_width(), 3)) for p in drawn(ax) if p.get_y() > 70)
    assert flute == [(0.5 * i, 0.4) for i in range(12)]
    assert ax.get_xlabel() == "time (s)"


def test_pianoroll_pm_names_the_instruments_in_a_legend_and_marks_the_bars():
    ax = plots.pianoroll_pm(band())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["flute", "Acoustic Bass", "drums"]
    assert line_positions(ax, core.BAR_LINE) == {0.0, 2.0, 4.0}  # 4/4 at 120 bpm, ends at 5.9 s


def test_pianoroll_pm_max_seconds_shows_only_the_start():
    ax = plots.pianoroll_pm(band(), max_seconds=2.0)
    assert ax.get_xlim() == (0, 2.0)
    assert len(drawn(ax)) == 4 + 2 + 8


def test_pianoroll_pm_refuses_anything_but_a_pretty_midi():
    with pytest.raises(BadParameterError, match="PrettyMIDI"):
        plots.pianoroll_pm(np.zeros(16, dtype=np.int64))


# ------------------------------------------------ launchpad_bar (musiclab.launchpad.plots)

def test_launchpad_bar_lights_one_pad_per_active_cell():
    bar = np.zeros((bars.NUM_PITCHES, bars.BAR_STEPS), dtype=bool)
    bar[[0, 4, 7, 23], [0, 16, 32, 63]] = True
    bar[12, 8:12] = True
    ax = launchpad_bar(bar)
    pads = sorted((int(p.get_x()), int(round(p.get_y() + p.get_height() / 2))) for p in drawn(ax, "cell"))
    assert pads == sorted((s, bars.LOW_PITCH + p) for p, s in zip(*np.nonzero(bar)))
    assert ax.get_ylim() == (bars.LOW_PITCH - 0.5, bars.LOW_PITCH + bars.NUM_PITCHES - 0.5)


def test_launchpad_bar_takes_0_1_integers_and_a_batch_of_one():
    bar = np.zeros((1, bars.NUM_PITCHES, bars.BAR_STEPS), dtype=np.int64)
    bar[0, 5, ::16] = 1
    assert len(drawn(launchpad_bar(bar[0]), "cell")) == 4
    assert len(drawn(launchpad_bar(torch.as_tensor(bar)), "cell")) == 4


def test_launchpad_bar_refuses_the_wrong_shape():
    with pytest.raises(BadParameterError, match=r"24, 64"):
        launchpad_bar(np.zeros((24, 32), dtype=bool))


# ----------------------------------------------------------------------------- style

def test_plots_leave_matplotlibs_global_settings_alone():
    before = dict(matplotlib.rcParams)
    importlib.reload(plots)
    plots.piano_roll(tune_events())
    plots.drum_grid(rock_grid())
    plots.pianoroll_pm(band())
    assert dict(matplotlib.rcParams) == before


def test_a_new_figure_is_sized_to_the_music():
    short = plots.piano_roll(tune_events()[:16]).figure.get_size_inches()[0]
    long = plots.piano_roll(np.tile(tune_events(), 3)).figure.get_size_inches()[0]
    assert short < long


def test_rules_vs_diversity_joins_each_temperature_and_stars_the_shipped_setting():
    from musiclab.plots import rules_vs_diversity

    points = {f"c={c},T={t}": {"notes_in_motif": 0.7 + c / 10, "distinct_4gram_share": t / (1 + c)}
              for c in (0.3, 1.0) for t in (0.5, 1)}
    ax = rules_vs_diversity(points, marked="c=1.0,T=1")
    lines = {line.get_gid(): line for line in ax.lines}
    assert {"T=0.5", "T=1", "marked"} <= set(lines)
    assert list(lines["T=1"].get_ydata()) == [pytest.approx(0.73), pytest.approx(0.8)]
    assert lines["marked"].get_xdata()[0] == pytest.approx(0.5)
    with pytest.raises(BadParameterError, match="lack 'notes_in_motif'"):
        rules_vs_diversity({"c=1,T=1": {"distinct_4gram_share": 0.3}})
    with pytest.raises(BadParameterError, match="marked"):
        rules_vs_diversity(points, marked="nowhere")


def test_the_event_histogram_scales_to_the_pitches_and_cuts_the_hold_bar_with_its_share():
    tune = np.array([14, 1, 1, 1, 1, 1, 1, 1, 16, 1, 1, 1, 1, 1, 1, 0] * 4)  # holds: 13 of every 16 steps
    ax = plots.event_histogram([tune])
    heights = [patch.get_height() for patch in ax.patches]
    top = ax.get_ylim()[1]
    assert top < 0.5  # the y axis is not stretched to the holds
    assert heights[1] == pytest.approx(top)  # the hold bar is cut at the top ...
    assert "0.81" in [text.get_text() for text in ax.texts]  # ... and says how tall it really is
    assert heights[14] == pytest.approx(4 / 64) and heights[14] < 0.9 * top  # C4 keeps its true height
