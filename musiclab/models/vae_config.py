"""Sizes, loss settings and named presets of a MusicVAE (Roberts et al., ICML 2018; notebook 04).

:class:`MusicVAEConfig` is what :class:`~musiclab.models.music_vae.MusicVAE` is built from and what
its checkpoints store; :func:`preset` gives the released settings (small, big, hierarchical) and
the one that trains on a CPU (cpu), that one with attribute-regularised dimensions (cpu_ar), and
that one with the interval-swap loss as well (cpu_swap), and that one with both swaps and wider
factors (cpu_swap_wide).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from musiclab.data.melody import NUM_CLASSES
from musiclab.errors import BadParameterError, check_choice, check_fields, check_range
from musiclab.models.attribute_regularisation import WINDOW_ATTRIBUTES

#: Scheduled-sampling schedules: "none" (pure teacher forcing) or "inverse_sigmoid" (Bengio et al. 2015).
SAMPLING_SCHEDULES = ("none", "inverse_sigmoid")
#: How scheduled sampling picks the decoder's own events: "stepwise" (unroll step by step, each
#: step fed what the decoder chose after its mixed inputs) or "parallel" (Duckworth et al. 2019:
#: one teacher-forced pass without gradients proposes every step's event, then one teacher-forced
#: pass over the mixed inputs; on one CPU thread a training step of the ``cpu`` preset costs about
#: two thirds of a "stepwise" one).
SAMPLING_METHODS = ("stepwise", "parallel")
#: What the encoder hands to its mu / sigma layers: "final" (the last forward and backward states,
#: as in MusicVAE) or "all" (the bi-LSTM outputs of every step, concatenated).
ENCODER_SUMMARIES = ("final", "all")


def _attribute_names(field: str, names) -> tuple[str, ...]:
    """``names`` as a tuple of distinct :data:`WINDOW_ATTRIBUTES`; a bare string, an unknown name or a
    name given twice is refused, the error naming ``field``."""
    if isinstance(names, str):
        raise BadParameterError(f"{field} must be a list of attribute names, got the string {names!r}")
    names = tuple(names)
    for name in names:
        check_choice(field.replace("_", " ").removesuffix("s"), name, WINDOW_ATTRIBUTES)
    if len(set(names)) < len(names):
        raise BadParameterError(f"{field} names an attribute twice: {names}")
    return names


@dataclass
class MusicVAEConfig:
    """Sizes and loss settings of a :class:`~musiclab.models.music_vae.MusicVAE`; :func:`preset`
    gives named settings."""

    seq_len: int = 32
    """Steps in the model's window (16th notes): 32 = 2 bars of 4/4."""
    bar_steps: int = 16
    """Steps per bar; the hierarchical decoder writes ``seq_len // bar_steps`` bars."""
    hierarchical: bool = False
    """Use the conductor + bar decoder (True) or one flat decoder (False)."""
    embed_size: int = 38
    """Size of the learned input embedding of an event (38 = as wide as a one-hot vector)."""
    enc_size: int = 512
    """Units per direction of each bidirectional encoder LSTM layer."""
    enc_layers: int = 1
    """Encoder layers."""
    encoder_summary: str = "final"
    """What mu and sigma are computed from: "final" (the final forward and backward states, as in
    MusicVAE) or "all" (the outputs of every step concatenated, [2 * enc_size * seq_len]: a direct
    path from each step to z, which a small model learns much faster)."""
    z_size: int = 256
    """Latent dimensions."""
    dec_size: int = 256
    """Units per decoder LSTM layer (the bar-level decoder when hierarchical)."""
    dec_layers: int = 2
    """Decoder LSTM layers."""
    conductor_size: int = 1024
    """Units per conductor LSTM layer (hierarchical only)."""
    conductor_layers: int = 2
    """Conductor LSTM layers (hierarchical only)."""
    conductor_out: int = 512
    """Size of the per-bar embedding the conductor hands to the bar decoder (hierarchical only)."""
    beta: float = 0.2
    """Final weight of the KL term (beta-VAE)."""
    beta_rate: float = 0.99999
    """Annealing: beta_t = beta * (1 - beta_rate**step); 0 gives a constant beta from step 1."""
    free_bits: float = 0.0
    """KL (bits, whole latent, per melody) that costs nothing: the penalty is max(KL - free, 0)."""
    sampling_schedule: str = "none"
    """Scheduled sampling: "none" or "inverse_sigmoid"."""
    sampling_rate: float = 1000.0
    """k of the inverse-sigmoid schedule: P(feed own sample) = 1 - k / (k + exp(step / k))."""
    sampling_method: str = "stepwise"
    """How the decoder's own samples are drawn: "stepwise" or "parallel" (:data:`SAMPLING_METHODS`)."""
    num_classes: int = NUM_CLASSES
    """Event classes (the shared melody encoding has 38)."""
    regularised_attributes: tuple[str, ...] = ()
    """Attributes (:data:`~musiclab.models.attribute_regularisation.WINDOW_ATTRIBUTES`) that latent
    dimensions 0, 1, ... are trained to order (AR-VAE, Pati & Lerch 2021); empty: none."""
    ar_weight: float = 10.0
    """gamma: weight of each regularised dimension's AR-VAE loss (0 .. 2 per melody batch)."""
    ar_delta: float = 10.0
    """delta: how sharply the AR-VAE loss reads a difference of codes, tanh(delta * (z_i - z_j))."""
    swap_weight: float = 0.0
    """Weight of the swap loss (a copy of each melody with ``swap_attributes`` changed, written from
    the melody's code with those attributes' dimensions taken from the copy's code); 0: off."""
    swap_factors: tuple[float, float] = (0.4, 2.5)
    """Range of the factors (log-uniform) by which the swap loss stretches a melody's moves."""
    swap_attributes: tuple[str, ...] = ("interval_size",)
    """Attributes the swap loss changes in each copy, and whose dimensions it takes from the copy's
    code: "interval_size" (moves stretched, :mod:`~musiclab.models.interval_swap`) and / or
    "note_density" (notes split or merged, :mod:`~musiclab.models.density_swap`); each must be
    among ``regularised_attributes``."""

    def __post_init__(self):
        for name in ("seq_len", "bar_steps", "embed_size", "enc_size", "enc_layers", "z_size",
                     "dec_size", "dec_layers", "conductor_size", "conductor_layers",
                     "conductor_out", "num_classes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise BadParameterError(f"{name} must be an int, got {value!r}")
            check_range(name, value, 1)
        check_range("beta", self.beta, 0)
        check_range("beta_rate", self.beta_rate, 0, 1, high_open=True)
        check_range("free_bits", self.free_bits, 0)
        check_choice("sampling_schedule", self.sampling_schedule, SAMPLING_SCHEDULES)
        check_choice("sampling_method", self.sampling_method, SAMPLING_METHODS)
        check_choice("encoder_summary", self.encoder_summary, ENCODER_SUMMARIES)
        check_range("sampling_rate", self.sampling_rate, 0, low_open=True)
        self.regularised_attributes = _attribute_names("regularised_attributes", self.regularised_attributes)
        if len(self.regularised_attributes) > self.z_size:
            raise BadParameterError(f"regularised_attributes needs a latent dimension each: "
                                    f"{len(self.regularised_attributes)} > z_size={self.z_size}")
        check_range("ar_weight", self.ar_weight, 0)
        check_range("ar_delta", self.ar_delta, 0, low_open=True)
        check_range("swap_weight", self.swap_weight, 0)
        self.swap_attributes = _attribute_names("swap_attributes", self.swap_attributes)
        if not self.swap_attributes:
            raise BadParameterError("swap_attributes must name at least one attribute, got ()")
        for name in self.swap_attributes:
            if self.swap_weight > 0 and name not in self.regularised_attributes:
                raise BadParameterError(f"swap_weight > 0 needs each swap attribute among regularised_attributes: "
                                        f"{name!r} is not in {self.regularised_attributes}")
        self.swap_factors = tuple(float(x) for x in self.swap_factors)
        if len(self.swap_factors) != 2 or not 0 < self.swap_factors[0] <= self.swap_factors[1] < math.inf:
            raise BadParameterError(f"swap_factors must be (low, high) with 0 < low <= high, got {self.swap_factors}")
        if self.hierarchical and self.seq_len % self.bar_steps:
            raise BadParameterError(
                f"seq_len={self.seq_len} must be a multiple of bar_steps={self.bar_steps} "
                "for the hierarchical decoder")


def small() -> MusicVAEConfig:
    """2-bar melody model, small: the released ``cat-mel_2bar_small`` setting of MusicVAE.

    Roberts, Engel, Raffel, Hawthorne & Eck, "A Hierarchical Latent Vector Model for Learning
    Long-Term Structure in Music", ICML 2018; sizes as in the configuration released with the
    paper's code (Magenta ``music_vae/configs.py``): 1-layer bidirectional LSTM encoder of 512
    units, latent 256, 2-layer 256-unit decoder, beta 0.2 annealed with rate 0.99999, free bits 0,
    inverse-sigmoid scheduled sampling with k = 1000; trained with batch 512, Adam, learning rate
    1e-3 decaying by 0.9999 per step to 1e-5, gradients clipped to global norm 1.
    """
    return MusicVAEConfig(enc_size=512, enc_layers=1, z_size=256, dec_size=256, dec_layers=2,
                          beta=0.2, beta_rate=0.99999, free_bits=0.0,
                          sampling_schedule="inverse_sigmoid", sampling_rate=1000.0)


def big() -> MusicVAEConfig:
    """2-bar melody model, big: the released ``cat-mel_2bar_big`` setting of MusicVAE.

    Roberts et al., ICML 2018. As reported in the paper, its 2-bar models use a two-layer
    bidirectional LSTM encoder of 2048 units, a 512-dimensional latent and a flat 3-layer LSTM
    decoder of 2048 units. The released configuration, used here, has one bi-LSTM encoder layer
    of 2048 units, latent 512, the 3-layer 2048-unit decoder, beta 0.5 annealed with rate
    0.99999, free bits 0 and inverse-sigmoid scheduled sampling with k = 1000 (the released 2-bar
    drum models use 48 free bits and beta 0.2). Training as in :func:`small`. About 133 M
    parameters: a GPU model.
    """
    return MusicVAEConfig(enc_size=2048, enc_layers=1, z_size=512, dec_size=2048, dec_layers=3,
                          beta=0.5, beta_rate=0.99999, free_bits=0.0,
                          sampling_schedule="inverse_sigmoid", sampling_rate=1000.0)


def hierarchical() -> MusicVAEConfig:
    """16-bar melody model with the conductor: the released ``hierdec-mel_16bar`` setting.

    Roberts et al., ICML 2018, Section 3.2 and the released configuration: 2-layer bidirectional
    encoder of 2048 units, latent 512, a 2-layer 1024-unit conductor emitting one 512-d embedding
    per bar for 16 bars of 16 steps (256 steps), a 2-layer 1024-unit bar decoder, beta 0.2 (not
    annealed), 256 free bits, teacher forcing. A GPU model.
    """
    return MusicVAEConfig(seq_len=256, bar_steps=16, hierarchical=True, enc_size=2048,
                          enc_layers=2, z_size=512, dec_size=1024, dec_layers=2,
                          conductor_size=1024, conductor_layers=2, conductor_out=512,
                          beta=0.2, beta_rate=0.0, free_bits=256.0, sampling_schedule="none")


def cpu() -> MusicVAEConfig:
    """2-bar melody model that trains on one CPU thread (notebook 04, tests); not a published setting.

    A scaled-down flat 2-bar MusicVAE (Roberts et al., ICML 2018): 1-layer bi-LSTM encoder of
    128 units, latent 32, one 256-unit decoder layer (about 1.1 M parameters). One deliberate
    departure from the paper: mu and sigma are read from the encoder's outputs at all 32 steps
    (``encoder_summary="all"``), not only from its final states: every step gets a short path into
    z. In 750-step trials on Essen (teacher forcing only) this raised held-out teacher-forced
    accuracy from 0.82 to 0.90 for the cost of one wider dense layer; twice the steps, a higher
    learning rate (1e-2) or a wider latent (64, 128) or encoder (256) helped far less. A small beta
    (0.05, annealed fast, rate 0.999) and 128 free bits favour faithful reconstruction (the latent
    keeps what it needs) over prior samples that look exactly like the data. Scheduled sampling
    on an inverse-sigmoid schedule (k = 300: half the inputs are the decoder's own samples by
    step ~1,700) closes most of the gap between teacher-forced and free-running accuracy, at
    about 1.5x the cost of a teacher-forced step on a CPU; the decoder's own samples are drawn in
    parallel (Duckworth et al. 2019), which costs two thirds of drawing them step by step. Trained
    4,000 steps (batch 128, Adam, lr 5e-3 cosine; about 12 minutes on one thread), with 128 free
    bits, it reconstructs 0.952 of the steps of test windows that never occur in the training
    windows (median of 3 seeds; 96 free bits, batch 64, lr 3e-3 and step-by-step sampling gave
    0.937 in the same time; ``bench/music_vae.py``).
    """
    return MusicVAEConfig(enc_size=128, enc_layers=1, encoder_summary="all", z_size=32,
                          dec_size=256, dec_layers=1, beta=0.05, beta_rate=0.999, free_bits=128.0,
                          sampling_schedule="inverse_sigmoid", sampling_rate=300.0,
                          sampling_method="parallel")


def cpu_ar() -> MusicVAEConfig:
    """The ``cpu`` preset with attribute-regularised dimensions: z_0 ordered by interval size, z_1 by
    note density (AR-VAE: Pati & Lerch, "Attribute-based regularization of latent spaces for
    variational auto-encoders", Neural Computing and Applications 2021; gamma 10, delta 10).

    An attempt at an interval-size vector that works (notebook 04's global one barely moves the
    leaps: the ``cpu`` model's code predicts only 4 % of interval size linearly). Measured with
    ``bench/music_vae.py --checkpoint`` on three seeds trained like the shipped model (4,000 steps):
    the encoder learns the order (the code then predicts 0.92 of interval size linearly, median),
    but the decoder does not follow it: along the interval vector the decoded leaps barely change
    (median Spearman 0.00), and de-duplicated reconstruction falls from 0.952 to 0.942. Kept as a
    lesson and a starting point (README, MusicVAE benchmark), not shipped.
    """
    return replace(cpu(), regularised_attributes=("interval_size", "note_density"), ar_weight=10.0, ar_delta=10.0)


def cpu_swap() -> MusicVAEConfig:
    """The ``cpu_ar`` preset plus the interval-swap loss (:mod:`~musiclab.models.interval_swap`, weight
    1, factors 0.4-2.5): the decoder must write a melody's stretched copy from the melody's code with
    only dimension 0 (interval size) taken from the copy's code. A departure of this kit, not a
    published setting; trained 4,000 steps like ``cpu`` (each step also encodes and decodes the
    copies). Measured with ``bench/music_vae.py --checkpoint`` on three seeds: the decoder follows
    the global interval vector (median Spearman over the 20 tunes 0.897, 0.900, 0.894; every moved
    melody in C major) but de-duplicated reconstruction falls to 0.949 (median), just under the 0.95
    target, so ``cpu`` stays shipped (README, MusicVAE benchmark).
    """
    return replace(cpu_ar(), swap_weight=1.0, swap_factors=(0.4, 2.5))


def cpu_swap_wide() -> MusicVAEConfig:
    """The ``cpu_swap`` preset with both swaps (interval size, then note density:
    :mod:`~musiclab.models.density_swap`), wider factors 0.4-4.0 and swap weight 1.5, meant to train
    the decoder on melodies 3-4 corpus std out along both vectors. A departure of this kit, not a
    published setting; trained 5,000 steps (``musiclab train music-vae --preset cpu_swap_wide --steps
    5000``): 4,400-4,600 s each with three seeds side by side on 2 cores, against ``cpu``'s 657 s.
    On three seeds (README, MusicVAE benchmark): in key along every attribute vector, but one seed's
    interval vector does not widen leaps step by step and de-duplicated accuracy stays under 0.95
    (median 0.949). Trained 6,000 steps, every target is met on the median of three seeds and by
    seed 0 alone, shipped as ``music_vae_cpu_swap_wide`` (notebook 04's attribute model); seed 1's
    interval vector still fails.
    """
    return replace(cpu_swap(), swap_attributes=("interval_size", "note_density"), swap_factors=(0.4, 4.0),
                   swap_weight=1.5)


PRESETS = {"small": small, "big": big, "hierarchical": hierarchical, "cpu": cpu, "cpu_ar": cpu_ar,
           "cpu_swap": cpu_swap, "cpu_swap_wide": cpu_swap_wide}


def preset(name: str, **overrides) -> MusicVAEConfig:
    """The named :class:`MusicVAEConfig` (small, big, hierarchical, cpu, cpu_ar, cpu_swap,
    cpu_swap_wide) with fields overridden."""
    config = PRESETS[check_choice("MusicVAE preset", name, PRESETS)]()
    check_fields(MusicVAEConfig, overrides)
    return replace(config, **overrides)

