"""The "Your tune" panel of notebooks 01-05: bring your own melody (or drum beat) to the kit.

Upload a MIDI or ABC file (a drum MIDI file in notebook 05) or type notes (``C4 D4 E4 - - G4 . C5``:
one 16th step each, ``-`` holds, ``.`` rests; typed drums are class names such as ``kick . snare .``).
The panel reads it as a primer (:mod:`musiclab.data.primer`), hands it to the notebook's ``make``
(continue it with the Note-RNN, compose from it with a tuned network, morph it with the MusicVAE)
and shows what changed to fit the kit, the result's score (melodies; a drum grid for drums) and a player. A bad file shows the
loaders' named error as a message, not a traceback. :meth:`YourTune.run` does it all, so the panel
works without a browser: the notebook calls it once for the typed default, the button calls it again.
"""
from __future__ import annotations

import html
import tempfile
from pathlib import Path
from typing import Callable

import ipywidgets as widgets
import numpy as np

from musiclab.audio import play_drums, play_melody
from musiclab.data.drums import DRUM_CLASSES
from musiclab.data.primer import Primer, parse_drums, read_drum_primer, read_primer
from musiclab.errors import MusiclabError, check_choice
from musiclab.notation import show_score
from musiclab.plots.drums import drum_grid

#: What the panel reads: 'melody' (MIDI, ABC or typed notes) or 'drums' (drum MIDI or typed drums).
KINDS = ("melody", "drums")


class YourTune:
    """Upload or type a tune; ``make(primer)`` turns it into the result shown (notebooks 01-05).

    ``make`` takes a :class:`~musiclab.data.primer.Primer` (``kind='melody'``) or a drum grid opening
    int64 [P] (``kind='drums'``) and returns events [T] or [N, T] (rows played one after another) or a
    drum grid [32]. ``default`` is the typed tune shown first; ``button`` labels the button; the player
    keeps the first ``max_seconds`` of the result.
    After :meth:`run`: ``primer``, ``result`` (int64 array) and ``error`` (the message, or '').
    """

    def __init__(self, make: Callable, default: str, kind: str = "melody", button: str = "Continue my tune",
                 tempo_bpm: float | None = None, sample_rate: int = 16000, max_seconds: float = 15.0):
        self.make, self.kind = make, check_choice("kind", kind, KINDS)
        self.tempo_bpm = tempo_bpm or (120.0 if kind == "melody" else 100.0)
        self.sample_rate, self.max_seconds = sample_rate, max_seconds
        self.upload = widgets.FileUpload(accept=".mid,.midi,.abc" if kind == "melody" else ".mid,.midi",
                                         multiple=False, description="MIDI/ABC file" if kind == "melody" else
                                         "drum MIDI file")
        self.text = widgets.Text(value=default, description="or type:", layout=widgets.Layout(width="60%"))
        self.button = widgets.Button(description=button, button_style="primary")
        self.button.on_click(lambda _button: self._clicked())
        self.output = widgets.Output()
        self.widget = widgets.VBox([widgets.HBox([self.upload, self.button]), self.text, self.output])
        self._folder = Path(tempfile.mkdtemp(prefix="musiclab-your-tune-"))
        self.primer, self.result, self.error = None, None, ""

    def read(self) -> Primer | np.ndarray:
        """The primer: the uploaded file when there is one (the last uploaded), else the typed text."""
        files = self.upload.value
        if files:
            item = files[-1]
            path = self._folder / Path(item["name"]).name
            path.write_bytes(bytes(item["content"]))
            return read_primer(path) if self.kind == "melody" else read_drum_primer(path)
        return read_primer(self.text.value) if self.kind == "melody" else parse_drums(self.text.value)

    def run(self) -> None:
        """Read the primer, make the result and show it (where the call is made: a notebook cell, or the
        panel's output area when the button is pressed). A MusiclabError is shown as its message and
        kept in ``error`` ('' when it worked)."""
        from IPython.display import HTML, display

        try:
            self.primer = self.read()
            self.result = np.asarray(self.make(self.primer))
        except MusiclabError as error:
            self.error = str(error).replace(f"{self._folder}/", "")
            display(HTML(f'<p style="color:#b00020"><b>Cannot use this tune:</b> {html.escape(self.error)}</p>'))
            return
        self.error = ""
        print(self.describe())
        if self.kind == "melody":
            show_score(self.result.ravel())
            display(play_melody(self.result.ravel(), tempo_bpm=self.tempo_bpm, sample_rate=self.sample_rate,
                                max_seconds=self.max_seconds))
        else:
            import matplotlib.pyplot as plt

            drum_grid(self.result, title="your opening, then the network")
            plt.show()
            display(play_drums(self.result, tempo_bpm=self.tempo_bpm, sample_rate=self.sample_rate,
                               max_seconds=self.max_seconds))

    def describe(self) -> str:
        """One line on the primer used (and every change made to fit it to the kit)."""
        if self.kind == "melody":
            return self.primer.describe()
        return f"drum primer, {len(self.primer)} steps: " + " ".join(
            "." if c == len(DRUM_CLASSES) - 1 else DRUM_CLASSES[c] for c in self.primer)

    def _clicked(self) -> None:
        with self.output:
            self.output.clear_output()
            self.run()
