"""Sound: synthesis through FluidSynth and the fallback synth, players, MIDI and WAV files."""
from __future__ import annotations

import base64
import io
import math
import re
import wave

import numpy as np
import pretty_midi
import pytest

from musiclab import audio
from musiclab.audio import synth
from musiclab.errors import BadFileError, BadParameterError, MusiclabError, UnknownNameError

SR = 16000
SCALE = [60, 62, 64, 65, 67, 69, 71, 72]


def scale_midi(program: int = 0) -> pretty_midi.PrettyMIDI:
    """A C major scale of quarter notes at 120 bpm: 8 notes, 2.0 s."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    inst = pretty_midi.Instrument(program=program, name="scale")
    inst.notes = [pretty_midi.Note(100, p, 0.25 * i, 0.25 * (i + 1)) for i, p in enumerate(SCALE)]
    pm.instruments.append(inst)
    return pm


def one_note(pitch: int, is_drum: bool = False, seconds: float = 1.0) -> pretty_midi.PrettyMIDI:
    """A PrettyMIDI holding a single note (a drum hit when ``is_drum``)."""
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0, is_drum=is_drum)
    inst.notes.append(pretty_midi.Note(100, pitch, 0.0, seconds))
    pm.instruments.append(inst)
    return pm


def band_and_drums() -> pretty_midi.PrettyMIDI:
    """A piano line and a drum part together: two instruments, 2.0 s."""
    pm = scale_midi()
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
    drums.notes = [pretty_midi.Note(100, (36, 42, 38, 42)[i % 4], 0.125 * i, 0.125 * i + 0.1)
                   for i in range(16)]
    pm.instruments.append(drums)
    return pm


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, dtype=np.float64) ** 2)))


def dominant_frequency(x: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / sample_rate)[spectrum.argmax()])


def spectral_centroid(x: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x))
    freqs = np.fft.rfftfreq(x.size, 1 / sample_rate)
    return float((spectrum * freqs).sum() / spectrum.sum())


def embedded_wav(player) -> wave.Wave_read:
    """The WAV inside an IPython Audio player's HTML."""
    match = re.search(r"data:audio/wav;base64,([A-Za-z0-9+/=]+)", player._repr_html_())
    assert match, "the player's HTML holds no embedded WAV"
    return wave.open(io.BytesIO(base64.b64decode(match.group(1))))


@pytest.fixture(params=["fluidsynth", "simple"])
def engine(request):
    return request.param


# ----------------------------------------------------------------------------- synthesize

def test_synthesize_gives_mono_float32_in_unit_range_as_long_as_the_midi_plus_release(engine):
    audio_ = audio.synthesize(scale_midi(), SR, engine=engine)
    assert audio_.dtype == np.float32 and audio_.ndim == 1
    expected = (2.0 + audio.RELEASE_SECONDS) * SR
    assert abs(audio_.size - expected) <= 0.01 * SR
    assert np.abs(audio_).max() <= 1.0
    assert np.abs(audio_).max() == pytest.approx(audio.PEAK_LEVEL, abs=1e-6)


def test_synthesized_audio_is_loud_while_notes_play_and_dies_away_after(engine):
    audio_ = audio.synthesize(scale_midi(), SR, engine=engine)
    playing, end = rms(audio_[: 2 * SR]), rms(audio_[-int(0.2 * SR):])
    assert playing > 0.05
    assert end < playing / 10


def test_rendering_is_deterministic(engine):
    first = audio.synthesize(band_and_drums(), SR, engine=engine)
    second = audio.synthesize(band_and_drums(), SR, engine=engine)
    assert np.array_equal(first, second)


def test_a_rendered_a4_sounds_at_440_hz(engine):
    audio_ = audio.synthesize(one_note(69), 22050, engine=engine)[:22050]
    assert dominant_frequency(audio_, 22050) == pytest.approx(440.0, abs=4.0)


def test_length_follows_the_sample_rate(engine):
    short = audio.synthesize(scale_midi(), 8000, engine=engine)
    long = audio.synthesize(scale_midi(), 24000, engine=engine)
    assert long.size == pytest.approx(3 * short.size, abs=3)


def test_max_seconds_cuts_the_rendering(engine):
    audio_ = audio.synthesize(scale_midi(), SR, engine=engine, max_seconds=1.0)
    assert audio_.size == SR


def test_every_instrument_of_a_multi_instrument_midi_is_heard():
    band = audio.synthesize(band_and_drums(), SR, normalize=False)
    piano = audio.synthesize(scale_midi(), SR, normalize=False)
    assert rms(band - piano) > 0.1 * rms(piano)


def test_rendering_with_fluidsynth_installed_raises_no_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        audio.synthesize(band_and_drums(), SR)


def test_a_midi_without_notes_renders_as_silence():
    audio_ = audio.synthesize(pretty_midi.PrettyMIDI(), SR)
    assert audio_.size == SR * audio.RELEASE_SECONDS and not audio_.any()


def test_a_better_soundfont_can_be_chosen_by_name_and_sounds_different():
    names = [path.stem for path in audio.available_soundfonts()]
    if "FluidR3_GM" not in names:
        pytest.skip("Debian's fluid-soundfont-gm is not installed")
    default = audio.synthesize(scale_midi(), SR)
    better = audio.synthesize(scale_midi(), SR, soundfont="FluidR3_GM")
    assert default.size == better.size and not np.allclose(default, better, atol=1e-3)


def test_synthesize_accepts_a_midi_file_path(tmp_path):
    path = audio.export_midi(scale_midi(), tmp_path / "scale.mid")
    assert np.array_equal(audio.synthesize(path, SR), audio.synthesize(scale_midi(), SR))


# ----------------------------------------------------------------------------- the fallback synth

def missing_library(*_):
    raise ImportError("Couldn't find the FluidSynth library.")


def test_without_libfluidsynth_the_simple_synth_plays_and_a_warning_says_how_to_install(monkeypatch):
    monkeypatch.setattr(synth, "_import_fluidsynth", missing_library)
    hint = r"apt-get install libfluidsynth3.*conda-forge fluidsynth"
    with pytest.warns(RuntimeWarning, match=hint) as caught:
        fallback = audio.synthesize(scale_midi(), SR)
    assert np.array_equal(fallback, audio.synthesize(scale_midi(), SR, engine="simple"))
    assert caught[0].filename == __file__  # the warning points at the caller's line, not into musiclab


def test_players_still_work_without_libfluidsynth(monkeypatch):
    monkeypatch.setattr(synth, "_import_fluidsynth", missing_library)
    with pytest.warns(RuntimeWarning, match="libfluidsynth3") as caught:
        wav = embedded_wav(audio.player(band_and_drums(), sample_rate=SR))
    assert caught[0].filename == __file__
    assert wav.getframerate() == SR and wav.getnframes() > SR


def test_asking_for_fluidsynth_without_the_library_is_an_error_with_the_install_hint(monkeypatch):
    monkeypatch.setattr(synth, "_import_fluidsynth", missing_library)
    with pytest.raises(MusiclabError, match="apt-get install libfluidsynth3"):
        audio.synthesize(scale_midi(), SR, engine="fluidsynth")


def test_simple_synth_hi_hats_are_brighter_than_kicks_and_every_drum_is_audible():
    kick = audio.synthesize(one_note(36, is_drum=True, seconds=0.1), SR, engine="simple", normalize=False)
    hat = audio.synthesize(one_note(42, is_drum=True, seconds=0.1), SR, engine="simple", normalize=False)
    assert spectral_centroid(hat, SR) > 5 * spectral_centroid(kick, SR)
    for key in (35, 36, 38, 41, 42, 46, 49, 51, 56):
        hit = audio.synthesize(one_note(key, is_drum=True, seconds=0.1), SR, engine="simple", normalize=False)
        assert np.abs(hit).max() > 0.05, f"GM drum key {key} is silent"


def test_simple_synth_works_at_the_lowest_sample_rate():
    audio_ = audio.synthesize(band_and_drums(), audio.MIN_SAMPLE_RATE, engine="simple")
    assert np.all(np.isfinite(audio_)) and rms(audio_) > 0.01


# ----------------------------------------------------------------------------- bad input

def test_a_missing_soundfont_raises_bad_file_error_naming_it_and_the_available_ones(tmp_path):
    missing = tmp_path / "nowhere.sf2"
    with pytest.raises(BadFileError, match=re.escape(str(missing)) + ".*TimGM6mb"):
        audio.synthesize(scale_midi(), SR, soundfont=missing)


def test_a_file_that_is_not_a_soundfont_raises_bad_file_error_naming_it(tmp_path):
    fake = tmp_path / "fake.sf2"
    fake.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(100))
    with pytest.raises(BadFileError, match=re.escape(str(fake))):
        audio.synthesize(scale_midi(), SR, soundfont=fake)


@pytest.mark.parametrize("content", [None, b"", b"MThd\x00\x00\x00\x06\x00", b"not a midi file at all"])
def test_a_missing_empty_truncated_or_corrupt_midi_raises_bad_file_error_naming_it(tmp_path, content):
    path = tmp_path / "song.mid"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(BadFileError, match=re.escape(str(path))):
        audio.load_midi(path)
    with pytest.raises(BadFileError, match=re.escape(str(path))):
        audio.synthesize(path, SR)


@pytest.mark.parametrize("rate", [1000, 7999, 96001, 22050.5, True, "22050"])
def test_a_sample_rate_outside_8_to_96_khz_or_not_whole_raises_bad_parameter_error(rate):
    with pytest.raises(BadParameterError, match="sample_rate"):
        audio.synthesize(scale_midi(), rate)


def test_an_unknown_engine_raises_unknown_name_error_listing_the_engines():
    with pytest.raises(UnknownNameError, match="'simple'"):
        audio.synthesize(scale_midi(), SR, engine="sine")


def test_synthesize_refuses_encoded_sequences_and_points_to_the_right_function():
    with pytest.raises(BadParameterError, match="melody_audio"):
        audio.synthesize(np.array([20, 1, 1, 0]), SR)


# ----------------------------------------------------------------------------- SoundFonts

def test_available_soundfonts_lists_the_default_first_without_duplicates():
    fonts = audio.available_soundfonts()
    assert fonts[0] == audio.default_soundfont() and fonts[0].is_file()
    names = [path.name.lower() for path in fonts]
    assert len(names) == len(set(names))


def test_a_soundfont_can_be_named_without_its_folder():
    path = audio.resolve_soundfont("TimGM6mb")
    assert path == audio.default_soundfont()


# ----------------------------------------------------------------------------- players

def test_player_embeds_a_mono_16_bit_wav_at_the_requested_rate():
    wav = embedded_wav(audio.player(scale_midi(), sample_rate=SR))
    assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (SR, 1, 2)
    assert 2.0 * SR < wav.getnframes() <= 3.0 * SR


def test_player_default_rate_is_22050_hz():
    assert embedded_wav(audio.player(scale_midi())).getframerate() == 22050


def test_player_trims_trailing_silence_and_normalises_the_peak():
    t = np.arange(SR) / SR
    tone = np.concatenate([0.2 * np.sin(2 * np.pi * 440 * t), np.zeros(3 * SR)])
    clip = audio.prepare_clip(tone, SR)
    assert SR <= clip.size <= 1.1 * SR
    assert np.abs(clip).max() == pytest.approx(audio.PEAK_LEVEL, abs=1e-3)


def test_player_caps_long_audio_at_max_seconds_with_a_fade_out():
    t = np.arange(30 * SR) / SR
    clip = audio.prepare_clip(0.5 * np.sin(2 * np.pi * 440 * t), SR, max_seconds=5.0)
    assert clip.size == 5 * SR
    assert abs(clip[-1]) < 0.01
    wav = embedded_wav(audio.player(np.sin(2 * np.pi * 440 * t), sample_rate=SR, max_seconds=2.0))
    assert wav.getnframes() == 2 * SR


def test_player_of_silence_stays_silent():
    assert not audio.prepare_clip(np.zeros(SR), SR).any()


def test_player_refuses_integer_arrays_and_points_to_play_melody():
    import torch

    for encoded in (np.array([20, 1, 1, 0]), torch.tensor([20, 1, 1, 0])):
        with pytest.raises(BadParameterError, match="play_melody"):
            audio.player(encoded)


def test_player_takes_a_torch_tensor_of_samples():
    import torch

    samples = torch.sin(torch.linspace(0, 2000, SR))
    assert embedded_wav(audio.player(samples, sample_rate=SR)).getnframes() == SR


# ----------------------------------------------------------------------------- files

def notes_of(pm: pretty_midi.PrettyMIDI) -> list[tuple[int, float, float]]:
    return [(n.pitch, round(n.start, 3), round(n.end, 3)) for inst in pm.instruments for n in inst.notes]


def test_export_midi_round_trips_the_notes(tmp_path):
    path = audio.export_midi(band_and_drums(), tmp_path / "out" / "band.mid")
    back = pretty_midi.PrettyMIDI(str(path))
    assert notes_of(back) == notes_of(band_and_drums())
    assert [inst.is_drum for inst in back.instruments] == [False, True]


def test_export_midi_replaces_atomically_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    path = audio.export_midi(scale_midi(), tmp_path / "song.mid")
    before = path.read_bytes()

    def broken_write(self, filename):
        with open(filename, "wb") as handle:
            handle.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pretty_midi.PrettyMIDI, "write", broken_write)
    with pytest.raises(OSError, match="disk full"):
        audio.export_midi(band_and_drums(), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["song.mid"]


def test_export_midi_wants_a_mid_suffix(tmp_path):
    with pytest.raises(BadParameterError, match=r"\.mid"):
        audio.export_midi(scale_midi(), tmp_path / "song.wav")


def test_write_wav_writes_16_bit_mono_that_reads_back(tmp_path):
    samples = np.sin(np.linspace(0, 100, 4000)) * 0.5
    path = audio.write_wav(samples, tmp_path / "tone.wav", SR)
    with wave.open(str(path)) as wav:
        header = (wav.getframerate(), wav.getnchannels(), wav.getsampwidth(), wav.getnframes())
        assert header == (SR, 1, 2, 4000)
        back = np.frombuffer(wav.readframes(4000), dtype="<i2") / 32767
    assert np.abs(back - samples).max() <= 1 / 32767


@pytest.mark.parametrize("bad", [np.zeros((2, 100)), np.array([0.0, np.nan]), np.arange(10)])
def test_write_wav_refuses_non_mono_non_finite_or_integer_audio(tmp_path, bad):
    with pytest.raises(BadParameterError, match="audio"):
        audio.write_wav(bad, tmp_path / "x.wav", SR)


def test_render_midi_file_turns_a_midi_into_a_wav_of_its_length(tmp_path):
    midi = audio.export_midi(scale_midi(), tmp_path / "scale.mid")
    wav_path = audio.render_midi_file(midi, tmp_path / "scale.wav", sample_rate=SR)
    with wave.open(str(wav_path)) as wav:
        assert wav.getframerate() == SR
        assert wav.getnframes() == math.ceil((2.0 + audio.RELEASE_SECONDS) * SR)


# ----------------------------------------------------------------------------- encoded sequences

def test_melody_audio_lasts_one_16th_per_step_at_the_tempo(engine):
    from musiclab.data.melody import NOTE_OFF, NO_EVENT, pitch_to_event

    events = np.array([pitch_to_event(69), NO_EVENT, NO_EVENT, NO_EVENT, pitch_to_event(76)] + [NO_EVENT] * 3)
    audio_ = audio.melody_audio(events, SR, tempo_bpm=120.0, engine=engine)  # 8 steps × 0.125 s
    assert audio_.size == math.ceil((1.0 + audio.RELEASE_SECONDS) * SR)
    slower = audio.melody_audio(np.append(events, NOTE_OFF), SR, tempo_bpm=60.0, engine=engine)
    assert slower.size == math.ceil((2.0 + audio.RELEASE_SECONDS) * SR)
    assert dominant_frequency(audio_[: SR // 2], SR) == pytest.approx(440.0, abs=3.0)  # A4 first


def test_melody_audio_takes_torch_tensors_and_refuses_batches():
    import torch

    from musiclab.data.melody import pitch_to_event

    row = torch.tensor([pitch_to_event(69), 1, 1, 1], dtype=torch.long)
    assert np.array_equal(audio.melody_audio(row, SR), audio.melody_audio(row.numpy(), SR))
    with pytest.raises(BadParameterError, match=r"batch\[0\]"):
        audio.melody_audio(row[None, :], SR)


def test_play_melody_gives_a_player_at_the_requested_rate():
    from musiclab.data.melody import pitch_to_event

    events = np.array([pitch_to_event(p) for p in (60, 64, 67, 72)])
    wav = embedded_wav(audio.play_melody(events, sample_rate=SR))
    assert wav.getframerate() == SR and wav.getnframes() > 0.5 * SR


def test_drums_audio_lasts_two_bars_at_the_tempo_and_is_deterministic(engine):
    from musiclab.data.drums import DRUM_CLASSES, GRID_STEPS, SILENCE

    grid = np.full(GRID_STEPS, SILENCE)
    grid[0::4] = DRUM_CLASSES.index("kick")
    grid[2::4] = DRUM_CLASSES.index("closed_hihat")
    grid[31] = DRUM_CLASSES.index("snare")
    first = audio.drums_audio(grid, SR, tempo_bpm=100.0, engine=engine)
    assert first.size == math.ceil((32 * 0.15 + audio.RELEASE_SECONDS) * SR)  # a 16th is 0.15 s at 100 bpm
    assert rms(first) > 0.02
    assert np.array_equal(first, audio.drums_audio(grid, SR, tempo_bpm=100.0, engine=engine))


def test_play_drums_gives_a_player_of_the_groove():
    from musiclab.data.drums import GRID_STEPS

    wav = embedded_wav(audio.play_drums(np.zeros(GRID_STEPS, dtype=np.int64), sample_rate=SR))
    assert wav.getframerate() == SR and 4.5 * SR < wav.getnframes() <= 5.8 * SR


def test_export_midi_of_melody_events_reads_back_as_the_same_melody(tmp_path):
    from musiclab.data.melody import from_pretty_midi, pitch_to_event

    events = np.array([pitch_to_event(60), 1, 0, 1, pitch_to_event(62), 1, 1, 1, pitch_to_event(64), 1, 1, 0])
    path = audio.export_midi(events, tmp_path / "tune.mid", tempo_bpm=90.0)
    back = from_pretty_midi(pretty_midi.PrettyMIDI(str(path)))
    assert np.array_equal(back[: events.size], events[: back.size]) and back.size >= events.size - 1


def test_tokens_audio_plays_each_token_for_step_quarters_whether_given_as_strings_or_indices():
    from musiclab.data.chords import Vocabulary

    tokens = ["C4", "C4.E4.G4", "A4", "F4.A4"]
    as_strings = audio.tokens_audio(tokens, sample_rate=SR, tempo_bpm=120.0, step_quarters=0.5)
    assert as_strings.size == math.ceil((4 * 0.25 + audio.RELEASE_SECONDS) * SR)  # 4 tokens × 0.25 s
    vocab = Vocabulary.from_sequences([tokens])
    assert np.array_equal(audio.tokens_audio(vocab.encode(tokens), vocab, SR), as_strings)


def test_tokens_audio_wants_a_vocab_for_indices():
    with pytest.raises(BadParameterError, match="vocab"):
        audio.tokens_audio(np.array([0, 1, 2]), sample_rate=SR)


def test_play_tokens_gives_a_player_at_the_requested_rate():
    wav = embedded_wav(audio.play_tokens(["E4", "G4", "C5.E5"], sample_rate=SR))
    assert wav.getframerate() == SR and wav.getnframes() > 0.5 * SR
