"""The pairwise A/B listening panel of notebook 05: two players, "prefer A" / "prefer B", a tally.

:class:`ABPanel` drives a :class:`musiclab.eval.listening.ABTest`: it shows one pair at a time
(clip A and clip B as audio players, each optionally with its picture), records the listener's
choice with :meth:`~ABPanel.choose` (the buttons call it), moves to the next unanswered pair, and
redraws the preference counts as a bar chart with the χ² test against "no preference". All logic
lives in the methods, so the panel works and is tested without a browser; ``widget`` is the
ipywidgets box to display.
"""
from __future__ import annotations

from typing import Callable, Mapping

import ipywidgets as widgets

from musiclab.errors import BadParameterError, UnknownNameError
from musiclab.eval.listening import ANSWERS, ABTest


class ABPanel:
    """An A/B listening test in a notebook (notebook 05).

    ``test``: the :class:`ABTest` holding the pairs (and, with a path, the answers file).
    ``clips``: pair id → (clip A, clip B), anything ``show(clip)`` can display; ``show`` turns a
    clip into something ``IPython.display`` shows (e.g. ``lambda grid: play_drums(grid,
    sample_rate=16000)``). ``listener`` names who answers. Only the pairs with clips are asked,
    in the test's order; pairs this listener already answered are skipped.
    """

    def __init__(self, test: ABTest, clips: Mapping[str, tuple], show: Callable, listener: str = "anonymous"):
        if not isinstance(test, ABTest):
            raise BadParameterError(f"test must be an ABTest, got {type(test).__name__}")
        if not callable(show):
            raise BadParameterError("show must be a function clip -> displayable (e.g. an audio player)")
        unknown = sorted(set(clips) - set(test.pairs))
        if unknown:
            raise UnknownNameError(f"clips for unregistered pairs {unknown[:5]}; registered: "
                                   f"{list(test.pairs)[:10]}")
        for pair_id, clip in clips.items():
            if not (isinstance(clip, tuple) and len(clip) == 2):
                raise BadParameterError(f"clips[{pair_id!r}] must be a pair (clip A, clip B)")
        self.test, self.clips, self.show, self.listener = test, dict(clips), show, str(listener)
        self.order = [pair_id for pair_id in test.pairs if pair_id in self.clips]
        if not self.order:
            raise BadParameterError("no pair has clips: give clips for at least one registered pair")
        self.current: str | None = None
        self._players = {side: widgets.Output() for side in ANSWERS}
        self._buttons = {side: widgets.Button(description=f"prefer {side}", button_style="info")
                         for side in ANSWERS}
        for side, button in self._buttons.items():
            button.on_click(lambda _button, side=side: self.choose(side))
        self._status = widgets.HTML()
        self._chart = widgets.Output()
        self.widget = widgets.VBox([
            widgets.HBox([widgets.VBox([widgets.HTML(f"<b>{side}</b>"), self._players[side]])
                          for side in ANSWERS]),
            widgets.HBox(list(self._buttons.values())), self._status, self._chart])
        self.advance()

    def answered(self) -> set[str]:
        """The pair ids this listener has answered (from the test, so earlier sessions count)."""
        return {entry.pair_id for entry in self.test.answers if entry.listener == self.listener}

    def remaining(self) -> list[str]:
        """Pair ids still to answer, in order."""
        done = self.answered()
        return [pair_id for pair_id in self.order if pair_id not in done]

    def advance(self) -> str | None:
        """Show the next unanswered pair (None when all are answered) and refresh the tally."""
        left = self.remaining()
        self.current = left[0] if left else None
        for side, index in zip(ANSWERS, (0, 1)):
            self._players[side].outputs = ()
            if self.current is not None:
                self._players[side].append_display_data(self.show(self.clips[self.current][index]))
        for button in self._buttons.values():
            button.disabled = self.current is None
        self.refresh()
        return self.current

    def choose(self, answer: str):
        """Record that the listener prefers side ``answer`` ('A' or 'B') of the current pair, then
        move on. Returns the recorded :class:`~musiclab.eval.listening.Answer`."""
        if self.current is None:
            raise BadParameterError("every pair has been answered; nothing to choose")
        entry = self.test.record(self.current, answer, self.listener)
        self.advance()
        return entry

    def status_text(self) -> str:
        """One line: progress, counts per system and, with answers, the χ² test."""
        total, left = len(self.order), len(self.remaining())
        counts = self.test.counts()
        text = f"pair {total - left + (1 if left else 0)} of {total}" if left else f"all {total} pairs answered"
        text += "; preferred: " + ", ".join(f"{name} {count}" for name, count in counts.items())
        if self.test.answers:
            result = self.test.chi_square()
            text += f"; χ² = {result.statistic:.2f} (dof {result.dof}), p = {result.p_value:.3g}"
        return text

    def refresh(self) -> None:
        """Redraw the status line and the preference bar chart."""
        from musiclab.plots import preference_bars

        self._status.value = self.status_text()
        self._chart.outputs = ()
        if self.test.answers:
            import matplotlib.pyplot as plt

            figure = preference_bars(self.test.counts(), self.test.chi_square()).figure
            self._chart.append_display_data(figure)
            plt.close(figure)
