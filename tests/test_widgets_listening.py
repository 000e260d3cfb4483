"""The A/B listening panel: it shows pairs, records answers through ABTest and updates the tally."""
from __future__ import annotations

import json

import matplotlib
import pytest

matplotlib.use("Agg")

from musiclab.errors import BadParameterError, UnknownNameError  # noqa: E402
from musiclab.eval.listening import ABTest, make_pairs  # noqa: E402
from musiclab.plots import preference_bars  # noqa: E402
from musiclab.widgets.listening import ABPanel  # noqa: E402


def panel(tmp_path=None, n=4, listener="ana"):
    pairs = make_pairs(n, ("cnn", "tuned"), seed=0)
    test = ABTest(None if tmp_path is None else tmp_path / "answers.json", pairs)
    clips = {p.pair_id: (f"{p.a}-clip", f"{p.b}-clip") for p in pairs}
    return ABPanel(test, clips, show=lambda clip: clip, listener=listener)


def test_the_panel_starts_at_the_first_pair_with_both_clips_shown():
    ab = panel()
    assert ab.current == ab.order[0] and len(ab.remaining()) == 4
    pair = ab.test.pairs[ab.current]
    shown = [ab._players[side].outputs[0]["data"]["text/plain"] for side in ("A", "B")]
    assert shown == [repr(f"{pair.a}-clip"), repr(f"{pair.b}-clip")]
    assert "pair 1 of 4" in ab._status.value and "cnn 0, tuned 0" in ab._status.value


def test_choosing_records_the_answer_moves_on_and_updates_counts(tmp_path):
    ab = panel(tmp_path)
    first = ab.current
    entry = ab.choose("A")
    assert entry.pair_id == first and entry.chosen == ab.test.pairs[first].a and entry.listener == "ana"
    assert ab.current == ab.order[1]
    counts = ab.test.counts()
    assert sum(counts.values()) == 1 and counts[ab.test.pairs[first].a] == 1
    stored = json.loads((tmp_path / "answers.json").read_text())
    assert [a["pair_id"] for a in stored["answers"]] == [first]
    assert "χ²" in ab._status.value and "pair 2 of 4" in ab._status.value


def test_the_buttons_record_like_choose_and_are_disabled_at_the_end():
    ab = panel(n=2)
    ab._buttons["B"].click()
    ab._buttons["A"].click()
    assert ab.current is None and len(ab.test.answers) == 2
    assert all(button.disabled for button in ab._buttons.values())
    assert "all 2 pairs answered" in ab.status_text()
    with pytest.raises(BadParameterError, match="every pair"):
        ab.choose("A")


def test_a_listener_who_comes_back_continues_where_they_stopped(tmp_path):
    ab = panel(tmp_path)
    ab.choose("B")
    again = panel(tmp_path)
    assert again.current == again.order[1] and len(again.test.answers) == 1
    other = panel(tmp_path, listener="ben")
    assert other.current == other.order[0]


def test_counts_and_chi_square_follow_the_answers():
    ab = panel(n=6)
    for _ in range(6):
        pair = ab.test.pairs[ab.current]
        ab.choose("A" if pair.a == "tuned" else "B")  # always prefer the tuned grid
    assert ab.test.counts() == {"cnn": 0, "tuned": 6} or ab.test.counts() == {"tuned": 6, "cnn": 0}
    result = ab.test.chi_square()
    assert result.statistic == pytest.approx(6.0) and result.p_value < 0.05
    assert ab._chart.outputs  # the bar chart was drawn


def test_bad_answers_and_bad_set_ups_raise_musiclab_errors():
    ab = panel()
    with pytest.raises(BadParameterError, match="'A' or 'B'"):
        ab.choose("C")
    test = ABTest(None, make_pairs(2, ("x", "y"), seed=0))
    with pytest.raises(UnknownNameError, match="unregistered"):
        ABPanel(test, {"nope": (1, 2)}, show=str)
    with pytest.raises(BadParameterError, match="no pair has clips"):
        ABPanel(test, {}, show=str)
    with pytest.raises(BadParameterError, match="clip A, clip B"):
        ABPanel(test, {"pair000": (1,)}, show=str)


def test_preference_bars_draw_one_bar_per_system_and_the_expected_line():
    test = ABTest(None, make_pairs(4, ("cnn", "tuned"), seed=0))
    for pair_id in test.pairs:
        test.record(pair_id, "A")
    ax = preference_bars(test.counts(), test.chi_square())
    bars = [p for p in ax.patches if p.get_gid() == "preference"]
    assert [b.get_height() for b in bars] == list(map(float, test.counts().values()))
    assert any(line.get_gid() == "expected" for line in ax.lines) and "χ²" in ax.get_title(loc="left") + ax.get_title()
    with pytest.raises(BadParameterError):
        preference_bars({})
