"""The "Your tune" panel: the typed default runs and shows score and player; an upload wins over the
text; a bad file or bad notes show the loaders' named error as a message, never a traceback."""
from __future__ import annotations

import datetime

import numpy as np
import pytest

from musiclab.data.drums import SILENCE
from musiclab.data.primer import parse_notes
from musiclab.errors import BadParameterError
from musiclab.widgets.your_tune import YourTune

TUNE = "C4 D4 E4 - - G4 . C5"


def _continue(primer):
    """A stand-in model: the primer, then a rising C major scale."""
    return np.concatenate([primer.events, [16, 18, 19, 21]])


@pytest.fixture
def shown(monkeypatch):
    """What the panel displays and prints, in order."""
    items = []
    monkeypatch.setattr("IPython.display.display", lambda *objs: items.extend(objs))
    monkeypatch.setattr("builtins.print", lambda *args, **kw: items.append(" ".join(map(str, args))))
    return items


def _upload(panel, name, content):
    panel.upload.value = ({"name": name, "type": "", "size": len(content), "content": memoryview(content),
                           "last_modified": datetime.datetime(2026, 1, 1)},)


def test_the_typed_default_runs_and_shows_its_line_score_and_player(shown):
    panel = YourTune(_continue, TUNE)
    panel.run()
    assert panel.error == ""
    assert panel.result[:8].tolist() == parse_notes(TUNE).events.tolist()
    assert shown[0] == "primer from typed notes: 8 steps (5 notes)"
    assert "notehead" in shown[1].data and type(shown[2]).__name__ == "Audio"
    assert 'autoplay="autoplay"' not in shown[2]._repr_html_()


def test_an_uploaded_midi_file_wins_over_the_text(shown, make_midi):
    panel = YourTune(_continue, TUNE)
    _upload(panel, "mine.mid", make_midi("mine.mid", pitches=(67, 65, 64)).read_bytes())
    panel.run()
    assert panel.primer.source == "MIDI file mine.mid" and len(panel.primer) == 6


@pytest.mark.parametrize("kind", ["truncated", "text", "drums_only"])
def test_a_bad_upload_shows_the_named_error_with_the_files_own_name(shown, bad_midi_files, kind):
    panel = YourTune(_continue, TUNE)
    _upload(panel, f"broken-{kind}.mid", bad_midi_files[kind].read_bytes())
    panel.run()
    assert panel.error.startswith(f"MIDI file broken-{kind}.mid ") and "musiclab-your-tune" not in panel.error
    assert "Cannot use this tune" in shown[0].data and f"broken-{kind}.mid" in shown[0].data


def test_bad_notes_and_model_errors_are_shown_too(shown):
    panel = YourTune(_continue, "C4 X9")
    panel.run()
    assert "'X9'" in panel.error and panel.result is None

    def too_short(primer):
        raise BadParameterError("primer has 8 events, longer than length=4")
    panel = YourTune(too_short, TUNE)
    panel.run()
    assert panel.error == "primer has 8 events, longer than length=4"


def test_the_drum_panel_reads_typed_drums_and_plays_a_grid(shown):
    def fill(opening):
        return np.concatenate([opening, np.full(32 - len(opening), SILENCE)])
    panel = YourTune(fill, "kick . closed_hihat . snare . closed_hihat .", kind="drums")
    panel.run()
    assert panel.error == "" and panel.result.shape == (32,)
    assert shown[0] == "drum primer, 8 steps: kick . closed_hihat . snare . closed_hihat ."
    assert type(shown[1]).__name__ == "Audio"
