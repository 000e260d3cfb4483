"""Sheet music: a melody becomes MusicXML and an SVG with one notehead per onset, fast and offline."""
from __future__ import annotations

import time

import pytest
import torch

from musiclab.data.melody import decode_events
from musiclab.data.primer import parse_notes
from musiclab.errors import BadParameterError
from musiclab.notation import count_noteheads, render_svg, show_score, to_score, write_musicxml

#: Two bars of 4/4 (32 sixteenths), no note across the bar line, no rest.
TWO_BARS = "C4 - - - D4 - E4 - F4 - - - - - - - G4 - - - A4 - G4 - E4 - - - C4 - - -"


def test_a_two_bar_melody_engraves_within_a_second_with_one_notehead_per_onset():
    events = parse_notes(TWO_BARS).events
    render_svg(events)  # first call pays the imports of music21's exporter and verovio
    start = time.perf_counter()
    svg = render_svg(events)
    seconds = time.perf_counter() - start
    print(f"2-bar melody engraved in {seconds * 1000:.1f} ms")
    assert seconds <= 1.0
    assert svg.lstrip().startswith("<svg") or "<svg" in svg[:200]
    assert count_noteheads(svg) == len(decode_events(events)) == 9
    assert "Music21" not in svg and "<text" not in svg  # no placeholder title, no metronome mark


def test_a_note_across_a_bar_line_is_two_tied_noteheads():
    events = parse_notes("C4 - - - - - - - - - - - - - - - - - - - D4 - - -").events  # 20 steps, then 4
    svg = render_svg(events)
    assert count_noteheads(svg) == len(decode_events(events)) + svg.count('class="tie"') == 3


def test_the_score_has_measures_rests_and_the_right_pitches():
    score = to_score(parse_notes("C4 - - - . . . . E4 - - - G4 - - -").events, title="triad")
    part = score.parts[0]
    assert len(part.getElementsByClass("Measure")) == 1
    assert [n.pitch.midi for n in part.flatten().notes] == [60, 64, 67]
    assert [r.quarterLength for r in part.flatten().getElementsByClass("Rest")] == [1.0]
    assert score.metadata.title == "triad"


def test_a_low_melody_gets_a_bass_clef():
    score = to_score(parse_notes("C3 - - - D3 - - - E3 - - - C3 - - -").events)
    assert score.parts[0].flatten().getElementsByClass("Clef")[0].sign == "F"


def test_write_musicxml_writes_a_file_music21_reads_back(tmp_path):
    from music21 import converter

    path = write_musicxml(parse_notes(TWO_BARS), tmp_path / "tune.musicxml", title="two bars")
    back = converter.parse(str(path))
    assert [n.pitch.nameWithOctave for n in back.flatten().notes][:3] == ["C4", "D4", "E4"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


@pytest.mark.parametrize("name", ["tune.mid", "tune.svg", "tune"])
def test_write_musicxml_refuses_another_ending(tmp_path, name):
    with pytest.raises(BadParameterError, match=r"\.musicxml or \.xml"):
        write_musicxml(parse_notes(TWO_BARS).events, tmp_path / name)


def test_show_score_displays_one_svg_per_row(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    events = torch.as_tensor(parse_notes(TWO_BARS).events)
    show_score(torch.stack([events, events]), title="two")
    assert len(shown) == 2 and all("notehead" in obj.data for obj in shown)
    with pytest.raises(BadParameterError, match="vocabulary"):
        show_score([0, 1, 99])
