"""Sound: render MIDI, melodies, drum grids and tokens to audio; inline players; MIDI and WAV files.

Rendering goes through libfluidsynth (via pyfluidsynth) and a General MIDI SoundFont
(``soundfonts``); without libfluidsynth a simple additive synth (``simple_synth``) stands in,
with a warning that says how to install it (``synth``). ``render`` turns encoded sequences into
audio, ``players`` embeds clips in notebooks, ``export`` writes MIDI and WAV files. Notebooks
use the names below as ``audio.<name>`` (``from musiclab import audio``), first in
``00_data_and_sound``.
"""
from musiclab.audio.export import export_midi, render_midi_file, write_wav
from musiclab.audio.players import (DEFAULT_MAX_SECONDS, SILENCE_RATIO, play_drums, play_melody, play_tokens,
                                    player, prepare_clip)
from musiclab.audio.render import drums_audio, melody_audio, tokens_audio
from musiclab.audio.soundfonts import SOUNDFONT_DIRS, available_soundfonts, default_soundfont, resolve_soundfont
from musiclab.audio.synth import (DEFAULT_SAMPLE_RATE, ENGINES, INSTALL_HINT, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE,
                                  PEAK_LEVEL, RELEASE_SECONDS, SILENCE_FLOOR, check_sample_rate, load_midi,
                                  synthesize)

__all__ = [
    "DEFAULT_MAX_SECONDS", "DEFAULT_SAMPLE_RATE", "ENGINES", "INSTALL_HINT", "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE", "PEAK_LEVEL", "RELEASE_SECONDS", "SILENCE_FLOOR", "SILENCE_RATIO",
    "SOUNDFONT_DIRS", "available_soundfonts", "check_sample_rate", "default_soundfont", "drums_audio",
    "export_midi", "load_midi", "melody_audio", "play_drums", "play_melody", "play_tokens", "player",
    "prepare_clip", "render_midi_file", "resolve_soundfont", "synthesize", "tokens_audio", "write_wav",
]
