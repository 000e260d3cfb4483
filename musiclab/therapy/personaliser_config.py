"""How a listener's generator is personalised: :class:`PersonaliserConfig` and its published presets
(``fast``, ``gentle``), used by :class:`musiclab.therapy.feedback.Personaliser` (notebook 07,
``bench/personalisation.py``)."""
from __future__ import annotations

from dataclasses import dataclass

from musiclab.errors import BadParameterError, check_choice, check_range
from musiclab.rl.tuner_config import PRESETS as TUNER_PRESETS
from musiclab.therapy.preference import WINDOW_STEPS


@dataclass
class PersonaliserConfig:
    """How a listener's generator is personalised. Presets: ``PRESETS`` (``personaliser_preset``)."""

    weight: float = 10.0
    """Weight of r_pref in r = log p + r_MT / c + weight · r_pref."""
    window: int = WINDOW_STEPS
    """Steps of music (ending at the reaction) that a feedback event refers to."""
    episodes: int = 128
    """Compositions played per personalisation round."""
    batch_size: int = 64
    """Compositions played in parallel while tuning."""
    train_every: int = 2
    """One update (a minibatch of 32 compositions) per this many compositions played."""
    lr: float = 3e-4
    """Adam learning rate of the re-tuning (small: each round nudges the network)."""
    temperature: float = 0.7
    """Boltzmann exploration temperature while re-tuning (fixed)."""
    tuner_preset: str = "egreedy"
    """The TunerConfig preset (``musiclab.rl.tuner_config.PRESETS``) that tuned the starting network: the
    re-tuning keeps its rule set and rule weights (``rl_tuner_therapy`` was tuned with 'egreedy')."""
    compose_temperature: float = 0.0
    """Sampling temperature of the policy when composing pieces and candidates (0: the greedy
    event, varied by ε; 1: samples of the policy, as ``musiclab.rl.compose.compose`` composes)."""
    candidates: int = 4096
    """Pieces composed per "next piece" (about half a second on one CPU core); the one the preference
    model likes best (among those matching the theory profile, ``match_theory``) is played. The
    main lever of quick personalisation: the theory match lets about 1 in 100 through, so 128
    candidates leave a handful to choose from, 4,096 a few dozen (``bench/personalisation.py``)."""
    match_theory: bool = True
    """Choose only among candidates whose music-theory profile matches the piece the unpersonalised
    generator would play with the same seed (``musiclab.therapy.theory_match.theory_matches``; that
    piece itself is always a choice), so that pleasing the listener keeps the RL Tuner's metric
    table. False: any candidate."""
    leap_tolerance: float = 0.25
    """Leap balances (part − usual share · whole, ``theory_match.leap_counts``) a match may differ by
    (``theory_matches``): 0.25 (less than one leap) all but asks for the reference's leap counts;
    1.0 let the stepped-back share drift by 0.1-0.35 (``bench/personalisation.py``)."""
    share_tolerance: float = 0.25
    """Share of notes in a motif / out of key a match may differ by."""
    autocorrelation_tolerance: float = 0.3
    """Autocorrelation (lags 1-3) a match may differ by."""
    octaves: bool = True
    """Offer each candidate (and the reference) also an octave lower and higher
    (``theory_match.octave_variants``), the register preference of a listener's profile."""
    epsilon: float = 0.3
    """ε when composing (a random step is a sample of the Note-RNN): the variety among candidates
    that the choice needs (a tuned DQN's greedy piece is one fixed tune). 0.3 as in the music-therapy
    system's tuner (``musiclab.rl.tuner_config.therapy``)."""
    length: int = 32
    """Steps (16ths) per piece."""
    c: float | None = None
    """c of r_MT / c (None: the Q-network's own default c)."""
    l2: float = 1.0
    """L2 prior of the preference model."""
    scale_pieces: int = 256
    """Pieces of the starting network that standardise the features."""
    seed: int = 0
    """Seeds the re-tuning (exploration, replay) and the feature scale's pieces."""
    num_threads: int | None = 1
    """torch CPU threads while re-tuning (1 is fastest on a small shared CPU)."""

    def __post_init__(self) -> None:
        check_range("weight", self.weight, 0.0)
        for name in ("window", "episodes", "batch_size", "train_every", "candidates", "length", "scale_pieces"):
            check_range(name, getattr(self, name), 1)
        check_range("lr", self.lr, 0.0, low_open=True)
        check_range("temperature", self.temperature, 0.0, low_open=True)
        check_range("compose_temperature", self.compose_temperature, 0.0)
        check_choice("tuner_preset", self.tuner_preset, TUNER_PRESETS)
        check_range("epsilon", self.epsilon, 0.0, 1.0)
        if self.c is not None:
            check_range("c", self.c, 0.0, low_open=True)
        check_range("l2", self.l2, 0.0, low_open=True)
        for name in ("leap_tolerance", "share_tolerance", "autocorrelation_tolerance"):
            check_range(name, getattr(self, name), 0.0)


def fast(**overrides) -> PersonaliserConfig:
    """Quick rounds for notebooks, tests and the benchmark: 128 compositions and 64 updates per
    round (about 1 s, up to 2.5 s on a loaded 2-core CPU), r_pref at weight 10, best of 4,096
    candidates composed at ε = 0.3 (the music-therapy system's ε) and their octave transpositions,
    among those matching the unpersonalised piece's theory profile (about half a second per piece).
    Not from a paper: chosen with ``bench/personalisation.py`` (README figures), where the choice
    among candidates (octaves included) does most of the quick gain, the theory match keeps the
    metric table, and the re-tuning moves the generator itself and supplies candidates; 4,096 is the
    smallest of 128 / 1,024 / 4,096 whose listeners' expected share of liking reaches 80 %."""
    return PersonaliserConfig(**overrides)


def gentle(**overrides) -> PersonaliserConfig:
    """Smaller steps: r_pref at weight 3, no choice among candidates (nor octaves, nor theory match),
    so the music changes only through re-tuning (the RL Tuner's reward of Jaques et al. 2017 plus
    r_pref, c as tuned). Not from a paper."""
    plain = {"weight": 3.0, "candidates": 1, "match_theory": False, "octaves": False}
    return PersonaliserConfig(**{**plain, **overrides})


#: Named personaliser presets.
PRESETS = {"fast": fast, "gentle": gentle}


def personaliser_preset(name: str, **overrides) -> PersonaliserConfig:
    """The PersonaliserConfig preset ``name`` (see ``PRESETS``) with fields overridden."""
    if name not in PRESETS:
        raise BadParameterError(f"personaliser preset must be one of {', '.join(PRESETS)}, got {name!r}")
    return PRESETS[name](**overrides)
