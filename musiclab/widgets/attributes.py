"""The attribute slider of notebook 04: move a melody's MusicVAE code along "more notes", "bigger
leaps" or "calm" and hear where it lands.

:class:`AttributeSlider` holds the logic in :meth:`~AttributeSlider.update` (decode the code moved
``step`` vector lengths along the chosen attribute, measure it, draw it, render it), so it works and
is tested without a browser; ``widget`` shows a menu of attributes, a step slider (updating on
release), a "local vector" check box, a readout, the piano roll and a player that plays only when
clicked.
"""
from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from musiclab.audio import check_sample_rate, play_melody
from musiclab.errors import check_choice, check_range
from musiclab.eval.vae import in_key_share
from musiclab.eval.vae_attributes import (ATTRIBUTES, FITTED, AttributeVectors, attribute_path,
                                          local_attribute_path)
from musiclab.models.music_vae import MusicVAE
from musiclab.theory import FIRST_PITCH_EVENT
from musiclab.widgets.playground import piano_roll_svg

#: What the menu shows for each attribute.
ATTRIBUTE_NAMES = {"note_density": "more notes", "interval_size": "bigger leaps", "calm": "calm"}


class AttributeSlider:
    """Move ``melody`` (1-D events, its first window used) along an attribute vector (notebook 04).

    ``vectors``: from :func:`musiclab.eval.vae_attributes.attribute_vectors` for the same ``model``.
    Steps run from ``-max_step`` (less of the attribute) to ``max_step``; step 0 is the model's
    reconstruction of the melody. ``local``: move along the melody's local vector
    (:meth:`~musiclab.eval.vae_attributes.AttributeVectors.local_vector`) where the attribute has
    one (note density, interval size); calm always uses its global vector. Each update decodes the
    moved code (argmax), measures the attribute, redraws the roll and renders audio at
    ``sample_rate`` Hz and ``tempo_bpm``.
    """

    def __init__(self, model: MusicVAE, vectors: AttributeVectors, melody, *, attribute: str = "calm",
                 step: int = 0, max_step: int = 4, local: bool = False, tempo_bpm: float = 100.0,
                 sample_rate: int = 16000):
        self.model, self.vectors = model, vectors
        self.source = np.asarray(melody, dtype=np.int64)
        self.max_step = int(check_range("max_step", max_step, 1, 20))
        self.tempo_bpm = float(check_range("tempo_bpm", tempo_bpm, 0.0, 400.0, low_open=True))
        self.sample_rate = check_sample_rate(sample_rate)
        self.melody = np.zeros(0, dtype=np.int64)  #: the current decoded melody, int64 [seq_len]
        self.value = float("nan")  #: the current melody's attribute
        self.wav = b""  #: the current melody as WAV bytes (what the player plays)
        self._syncing = False
        self._build()
        self.update(attribute, step, local)

    def update(self, attribute: str | None = None, step: int | None = None, local: bool | None = None) -> np.ndarray:
        """Decode the melody moved ``step`` lengths along ``attribute``, on its local vector or not
        (None keeps the current choice); refresh the readout, the roll and the player; return the
        melody, int64 [seq_len]."""
        attribute = check_choice("attribute", self.menu.value if attribute is None else attribute, ATTRIBUTES)
        step = int(check_range("step", self.slider.value if step is None else step, -self.max_step, self.max_step))
        local = bool(self.local.value if local is None else local)
        self._syncing = True
        try:
            self.menu.value, self.slider.value, self.local.value = attribute, step, local
        finally:
            self._syncing = False
        local = local and attribute in FITTED
        scales = [0.0, float(step)]
        path = (local_attribute_path(self.model, self.vectors, attribute, self.source, scales) if local
                else attribute_path(self.model, self.source, self.vectors.vectors[attribute], scales))
        self.melody = path[1]
        start, self.value = self.vectors.measure(attribute, path)
        notes = int(np.count_nonzero(self.melody >= FIRST_PITCH_EVENT))
        key = in_key_share(self.melody)
        self.readout.value = (
            f'<div style="font-family:monospace;font-size:12px">{html.escape(ATTRIBUTE_NAMES[attribute])}: '
            f"step {step:+d} → {html.escape(attribute)} = {self.value:.2f} (step 0: {start:.2f}); "
            f"{notes} notes, {'no notes' if np.isnan(key) else f'{100 * key:.0f} % in key'}; "
            f"{'local' if local else 'global'} vector</div>")
        self.roll.value = piano_roll_svg(self.melody, title=f"{ATTRIBUTE_NAMES[attribute]}, step {step:+d}")
        self.wav = play_melody(self.melody, tempo_bpm=self.tempo_bpm, sample_rate=self.sample_rate).data
        self.audio.value = self.wav
        return self.melody

    def _build(self) -> None:
        style = {"description_width": "initial"}
        self.menu = widgets.Dropdown(options=[(ATTRIBUTE_NAMES[name], name) for name in ATTRIBUTES],
                                     description="attribute", style=style, layout=widgets.Layout(width="260px"))
        self.slider = widgets.IntSlider(value=0, min=-self.max_step, max=self.max_step, step=1,
                                        description="step along the vector", continuous_update=False,
                                        style=style, layout=widgets.Layout(width="420px"))
        self.local = widgets.Checkbox(value=False, description="local vector (more notes, bigger leaps)",
                                      style=style, indent=False)
        self.readout = widgets.HTML()
        self.roll = widgets.HTML()
        self.audio = widgets.Audio(format="wav", autoplay=False, controls=True, loop=False)
        for control in (self.menu, self.slider, self.local):
            control.observe(self._on_change, names="value")
        self.widget = widgets.VBox([widgets.HBox([self.menu, self.slider, self.local]), self.readout, self.roll, self.audio])
        self.widget.add_class("musiclab-attributes")

    def _on_change(self, _change) -> None:
        if not self._syncing:
            self.update()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
