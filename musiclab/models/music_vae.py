"""MusicVAE: a recurrent variational autoencoder for melodies (Roberts et al., ICML 2018).

A bidirectional LSTM encodes a melody (shared RL-Tuner encoding, 38 event classes, one event per
16th note) into a Gaussian posterior q(z|x) = N(mu, sigma^2), read from its final states (as in
the paper) or, in the ``cpu`` preset, from its outputs at every step; a decoder turns a latent
vector z back into events. Two decoders:

* flat: one autoregressive LSTM over the whole window (2-bar, 32-step melodies). z sets its
  initial state (dense + tanh) and is appended to its input at every step.
* hierarchical: a "conductor" LSTM turns z into one embedding per bar; each embedding sets the
  initial state of a bar-level autoregressive LSTM (and is appended to its inputs), which writes
  that bar on its own. Long melodies (16 bars) keep using z this way.

Loss per melody: reconstruction (cross-entropy summed over steps, nats) plus
beta_t * max(KL - free_bits * ln 2, 0), with beta_t = beta * (1 - beta_rate**step); teacher forcing,
optionally with scheduled sampling on an inverse-sigmoid schedule. Notebook 04 samples from the
prior with a temperature and interpolates (slerp, lerp) between two calming pieces.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from musiclab.data.melody import NUM_CLASSES
from musiclab.errors import BadParameterError, check_choice, check_fields, check_range
from musiclab.models.sequence import as_token_batch, resolve_generator

#: Scheduled-sampling schedules: "none" (pure teacher forcing) or "inverse_sigmoid" (Bengio et al. 2015).
SAMPLING_SCHEDULES = ("none", "inverse_sigmoid")
#: Interpolation methods of :func:`interpolate`.
INTERPOLATION_METHODS = ("slerp", "lerp")
#: What the encoder hands to its mu / sigma layers: "final" (the last forward and backward states,
#: as in MusicVAE) or "all" (the bi-LSTM outputs of every step, concatenated).
ENCODER_SUMMARIES = ("final", "all")
_LN2 = math.log(2.0)


@dataclass
class MusicVAEConfig:
    """Sizes and loss settings of a :class:`MusicVAE`. Use :func:`preset` for named settings."""

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
    num_classes: int = NUM_CLASSES
    """Event classes (the shared melody encoding has 38)."""

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
        check_choice("encoder_summary", self.encoder_summary, ENCODER_SUMMARIES)
        check_range("sampling_rate", self.sampling_rate, 0, low_open=True)
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
    (0.05, annealed fast, rate 0.999) and 96 free bits favour faithful reconstruction (the latent
    keeps what it needs) over prior samples that look exactly like the data. Scheduled sampling
    on an inverse-sigmoid schedule (k = 300: half the inputs are the decoder's own samples by
    step ~1,700) closes most of the gap between teacher-forced and free-running accuracy, at
    about 1.5x the cost of a teacher-forced step on a CPU. Trained 4,000 steps (batch 64, Adam,
    lr 3e-3 cosine; about 12 minutes on one thread) it reconstructs 0.95 of held-out steps.
    """
    return MusicVAEConfig(enc_size=128, enc_layers=1, encoder_summary="all", z_size=32,
                          dec_size=256, dec_layers=1, beta=0.05, beta_rate=0.999, free_bits=96.0,
                          sampling_schedule="inverse_sigmoid", sampling_rate=300.0)


PRESETS = {"small": small, "big": big, "hierarchical": hierarchical, "cpu": cpu}


def preset(name: str, **overrides) -> MusicVAEConfig:
    """The named :class:`MusicVAEConfig` (small, big, hierarchical, cpu) with fields overridden."""
    config = PRESETS[check_choice("MusicVAE preset", name, PRESETS)]()
    check_fields(MusicVAEConfig, overrides)
    return replace(config, **overrides)


def kl_divergence(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) in nats, summed over the latent: [B, Z] -> [B]."""
    return 0.5 * (mu.pow(2) + sigma.pow(2) - 1.0 - 2.0 * torch.log(sigma)).sum(dim=-1)


def _choose(logits: torch.Tensor, temperature: float | None,
            generator: torch.Generator | None) -> torch.Tensor:
    """Argmax events (temperature None) or samples from softmax(logits / temperature): [B, C] -> [B]."""
    if temperature is None:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.detach().float() / temperature, dim=-1)
    where = generator.device if generator is not None else probs.device
    return torch.multinomial(probs.to(where), 1, generator=generator).squeeze(1).to(logits.device)


def _state_from(linear: nn.Linear, cond: torch.Tensor, layers: int, hidden: int):
    """LSTM (h, c), each [layers, B, hidden], from a conditioning vector via dense + tanh."""
    hc = torch.tanh(linear(cond)).view(cond.shape[0], 2, layers, hidden)
    return hc[:, 0].transpose(0, 1).contiguous(), hc[:, 1].transpose(0, 1).contiguous()


class _Encoder(nn.Module):
    """Bidirectional LSTM over events [B, T] -> posterior mean and std, each [B, z_size]."""

    def __init__(self, config: MusicVAEConfig):
        super().__init__()
        self.all_steps = config.encoder_summary == "all"
        self.embed = nn.Embedding(config.num_classes, config.embed_size)
        self.lstm = nn.LSTM(config.embed_size, config.enc_size, config.enc_layers,
                            batch_first=True, bidirectional=True)
        width = 2 * config.enc_size * (config.seq_len if self.all_steps else 1)
        self.mu = nn.Linear(width, config.z_size)
        self.sigma = nn.Linear(width, config.z_size)
        for layer in (self.mu, self.sigma):  # start near q = N(0, softplus(0)^2), a small KL
            nn.init.normal_(layer.weight, std=0.001)
            nn.init.zeros_(layer.bias)

    def forward(self, events: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out, (h, _) = self.lstm(self.embed(events))
        if self.all_steps:  # every step's forward and backward outputs: [B, T * 2 * enc_size]
            summary = out.reshape(out.shape[0], -1)
        else:  # last layer: final forward and backward states
            summary = torch.cat([h[-2], h[-1]], dim=-1)
        return self.mu(summary), F.softplus(self.sigma(summary))


class _SequenceDecoder(nn.Module):
    """Autoregressive LSTM over events, conditioned on a vector [B, cond]: the flat decoder
    (conditioned on z) and the hierarchical decoder's bar decoder (on a conductor embedding)."""

    def __init__(self, config: MusicVAEConfig, cond_size: int):
        super().__init__()
        self.num_classes, self.layers, self.hidden = config.num_classes, config.dec_layers, config.dec_size
        self.embed = nn.Embedding(config.num_classes + 1, config.embed_size)  # last index: begin
        self.init = nn.Linear(cond_size, 2 * config.dec_layers * config.dec_size)
        self.lstm = nn.LSTM(config.embed_size + cond_size, config.dec_size, config.dec_layers,
                            batch_first=True)
        self.out = nn.Linear(config.dec_size, config.num_classes)

    def teacher_forced(self, cond: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Logits [B, T, C] for targets [B, T], each step fed the true previous event."""
        begin = torch.full_like(targets[:, :1], self.num_classes)
        previous = torch.cat([begin, targets[:, :-1]], dim=1)
        inputs = torch.cat([self.embed(previous),
                            cond.unsqueeze(1).expand(-1, targets.shape[1], -1)], dim=-1)
        out, _ = self.lstm(inputs, _state_from(self.init, cond, self.layers, self.hidden))
        return self.out(out)

    def unroll(self, cond: torch.Tensor, length: int, *, targets: torch.Tensor | None = None,
               sample_prob: float = 0.0, temperature: float | None = None,
               generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Step by step: logits [B, length, C] and the decoder's own events [B, length].

        Without ``targets`` each step is fed the previous chosen event (argmax when
        ``temperature`` is None, else sampled). With ``targets`` (scheduled sampling) each step is
        fed the true event, except with probability ``sample_prob`` its own chosen one.
        """
        state = _state_from(self.init, cond, self.layers, self.hidden)
        previous = torch.full((cond.shape[0],), self.num_classes, dtype=torch.long, device=cond.device)
        all_logits, chosen = [], []
        for t in range(length):
            inputs = torch.cat([self.embed(previous), cond], dim=-1).unsqueeze(1)
            out, state = self.lstm(inputs, state)
            logits = self.out(out[:, 0])
            own = _choose(logits, temperature, generator)
            all_logits.append(logits)
            chosen.append(own)
            if targets is None:
                previous = own
            else:
                coin = torch.rand(own.shape[0], generator=generator,
                                  device=generator.device if generator is not None else own.device)
                previous = torch.where(coin.to(own.device) < sample_prob, own, targets[:, t])
        return torch.stack(all_logits, dim=1), torch.stack(chosen, dim=1)


class _HierarchicalDecoder(nn.Module):
    """Conductor LSTM (z -> one embedding per bar) over a bar decoder that writes each bar alone."""

    def __init__(self, config: MusicVAEConfig):
        super().__init__()
        self.bar_steps = config.bar_steps
        self.layers, self.hidden = config.conductor_layers, config.conductor_size
        self.init = nn.Linear(config.z_size, 2 * config.conductor_layers * config.conductor_size)
        self.conductor = nn.LSTM(config.z_size, config.conductor_size, config.conductor_layers,
                                 batch_first=True)
        self.project = nn.Linear(config.conductor_size, config.conductor_out)
        self.bars = _SequenceDecoder(config, config.conductor_out)

    def bar_embeddings(self, z: torch.Tensor, num_bars: int) -> torch.Tensor:
        """The conductor's embeddings [B, num_bars, conductor_out]; z is its input at every bar."""
        inputs = z.unsqueeze(1).expand(-1, num_bars, -1)
        out, _ = self.conductor(inputs, _state_from(self.init, z, self.layers, self.hidden))
        return torch.tanh(self.project(out))

    def _per_bar(self, z: torch.Tensor, length: int) -> torch.Tensor:
        """Bar embeddings flattened to [B * num_bars, conductor_out]."""
        embeddings = self.bar_embeddings(z, length // self.bar_steps)
        return embeddings.reshape(-1, embeddings.shape[-1])

    def teacher_forced(self, z: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Logits [B, T, C] under teacher forcing; every bar starts from the begin input."""
        batch, length = targets.shape
        bars = targets.reshape(-1, self.bar_steps)
        return self.bars.teacher_forced(self._per_bar(z, length), bars).reshape(batch, length, -1)

    def unroll(self, z: torch.Tensor, length: int, *, targets: torch.Tensor | None = None,
               **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits [B, length, C] and events [B, length]; all bars are written in parallel."""
        batch = z.shape[0]
        bar_targets = None if targets is None else targets.reshape(-1, self.bar_steps)
        logits, events = self.bars.unroll(self._per_bar(z, length), self.bar_steps,
                                          targets=bar_targets, **kwargs)
        return logits.reshape(batch, length, -1), events.reshape(batch, length)


class MusicVAE(nn.Module):
    """Recurrent VAE over melodies of ``config.seq_len`` steps (Roberts et al. 2018; notebook 04).

    ``loss(batch)`` is what ``musiclab.models.train.train`` calls; ``encode``, ``decode``,
    ``sample`` and ``reconstruct`` are the musical interface. The buffer ``step`` counts training
    steps (every ``loss`` call in training mode with gradients on is one); it drives beta
    annealing and scheduled sampling and is saved with the weights, so a resumed run goes on
    where it stopped.
    """

    kind = "music_vae"
    config_class = MusicVAEConfig

    def __init__(self, config: MusicVAEConfig | None = None):
        super().__init__()
        self.config = config if config is not None else cpu()
        self.num_classes = self.config.num_classes
        self.encoder = _Encoder(self.config)
        self.decoder = (_HierarchicalDecoder(self.config) if self.config.hierarchical
                        else _SequenceDecoder(self.config, self.config.z_size))
        self.register_buffer("step", torch.zeros((), dtype=torch.long))

    @property
    def device(self) -> torch.device:
        """Where the parameters live."""
        return next(self.parameters()).device

    def beta_at(self, step: int) -> float:
        """KL weight at a training step: beta * (1 - beta_rate**step)."""
        return self.config.beta * (1.0 - self.config.beta_rate ** step)

    def sampling_probability(self, step: int) -> float:
        """P(the decoder is fed its own sample instead of the truth) at a training step.

        Inverse-sigmoid schedule (Bengio et al. 2015): 1 - k / (k + exp(step / k)); 0 for "none".
        """
        if self.config.sampling_schedule == "none":
            return 0.0
        k = self.config.sampling_rate
        x = step / k - math.log(k)  # 1 - k/(k + e^(s/k)) = sigmoid(s/k - ln k), computed stably
        return 0.5 * (1.0 + math.tanh(0.5 * x))

    def _window(self, parameter: str, events) -> torch.Tensor:
        """Validated events [B, seq_len] on the model's device."""
        tensor = as_token_batch(events, parameter, self.num_classes)
        if tensor.shape[1] != self.config.seq_len:
            raise BadParameterError(
                f"{parameter} has {tensor.shape[1]} steps; this model's window is "
                f"{self.config.seq_len} steps")
        if tensor.shape[0] == 0:
            raise BadParameterError(f"{parameter} is an empty batch")
        return tensor.to(self.device)

    def encode(self, events) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and std of z, each [B, z_size], for events [B, seq_len] (or [seq_len])."""
        return self.encoder(self._window("events", events))

    def _check_z(self, z) -> torch.Tensor:
        """z as a float tensor [B, z_size] on the model's device."""
        z = torch.as_tensor(z, dtype=torch.float32)
        if z.dim() == 1:
            z = z.unsqueeze(0)
        if z.dim() != 2 or z.shape[1] != self.config.z_size or z.shape[0] == 0:
            raise BadParameterError(
                f"z must have shape [batch, {self.config.z_size}], got {tuple(z.shape)}")
        return z.to(self.device)

    def _check_length(self, length: int | None) -> int:
        """The decode length: seq_len by default; a whole number of bars when hierarchical."""
        if length is None:
            return self.config.seq_len
        length = int(check_range("length", length, 1))
        if self.config.hierarchical and length % self.config.bar_steps:
            raise BadParameterError(
                f"length={length} must be a multiple of bar_steps={self.config.bar_steps} "
                "for the hierarchical decoder")
        return length

    @torch.no_grad()
    def decode(self, z, length: int | None = None, temperature: float | None = None,
               generator: torch.Generator | None = None, seed: int | None = None) -> torch.Tensor:
        """Events [B, length] (CPU LongTensor) written by the decoder from z [B, z_size].

        ``temperature`` None picks the most likely event at each step; a value > 0 samples from
        softmax(logits / temperature) with ``generator`` (or a fresh one seeded with ``seed``).
        ``length`` defaults to the window (``seq_len``).
        """
        if temperature is not None:
            check_range("temperature", temperature, 0, low_open=True)
        generator = resolve_generator(seed, generator)
        z = self._check_z(z)
        _, events = self.decoder.unroll(z, self._check_length(length), temperature=temperature,
                                        generator=generator)
        return events.cpu()

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0, length: int | None = None,
               generator: torch.Generator | None = None, seed: int | None = None) -> torch.Tensor:
        """``n`` melodies [n, length] decoded from z ~ N(0, I), sampled at ``temperature`` (> 0).

        Same seed (or generator state), same melodies. Used in notebook 04.
        """
        n = int(check_range("n", n, 1))
        check_range("temperature", temperature, 0, low_open=True)
        generator = resolve_generator(seed, generator)
        z = torch.randn(n, self.config.z_size, generator=generator)
        return self.decode(z, length=length, temperature=temperature, generator=generator)

    @torch.no_grad()
    def reconstruct(self, events, temperature: float | None = None,
                    generator: torch.Generator | None = None) -> torch.Tensor:
        """Encode events [B, seq_len], decode from the posterior mean: [B, seq_len] (argmax by default)."""
        mu, _ = self.encode(events)
        return self.decode(mu, temperature=temperature, generator=generator)

    def loss(self, batch, step: int | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        """Training loss of a batch of melodies [B, seq_len] and its metrics.

        loss = mean over the batch of [sum_t CE(x_t) + beta_t * max(KL - free_bits * ln 2, 0)].
        ``step`` (default: the model's step counter, which this call then advances when training
        with gradients on) sets beta_t and, in training mode, the scheduled-sampling probability
        (eval mode always uses teacher forcing). Metrics: loss, recon_nats (per
        melody), kl_bits (per melody), beta, sampling_prob, accuracy (per-step argmax accuracy of
        the decoder as run: teacher-forced or scheduled-sampled).
        """
        events = self._window("batch", batch)
        if step is None:
            step = int(self.step)
            if self.training and torch.is_grad_enabled():
                self.step += 1
        step = int(check_range("step", step, 0))
        mu, sigma = self.encoder(events)
        z = mu + sigma * torch.randn_like(mu)
        kl = kl_divergence(mu, sigma)
        kl_cost = torch.clamp(kl - self.config.free_bits * _LN2, min=0.0)
        beta = self.beta_at(step)
        sample_prob = self.sampling_probability(step) if self.training else 0.0
        if sample_prob > 0.0:
            logits, _ = self.decoder.unroll(z, events.shape[1], targets=events,
                                            sample_prob=sample_prob, temperature=1.0)
        else:
            logits = self.decoder.teacher_forced(z, events)
        recon = F.cross_entropy(logits.reshape(-1, self.num_classes), events.reshape(-1),
                                reduction="none").view(events.shape).sum(dim=1)
        loss = recon.mean() + beta * kl_cost.mean()
        accuracy = (logits.argmax(dim=-1) == events).float().mean()
        metrics = {"loss": loss.item(), "recon_nats": recon.mean().item(),
                   "kl_bits": (kl.mean() / _LN2).item(), "beta": beta,
                   "sampling_prob": sample_prob, "accuracy": accuracy.item()}
        return loss, metrics


@torch.no_grad()
def reconstruction_accuracy(model: MusicVAE, windows, batch_size: int = 512) -> float:
    """Per-step accuracy of ``model.reconstruct`` (posterior mean, argmax, no teacher forcing).

    ``windows``: melodies [N, seq_len]. The figure notebook 04 and the README quote.
    """
    batch_size = int(check_range("batch_size", batch_size, 1))
    events = as_token_batch(windows, "windows", model.num_classes)
    if events.shape[0] == 0:
        raise BadParameterError("windows is empty: no melodies to reconstruct")
    was_training = model.training
    model.eval()
    try:
        correct = 0
        for start in range(0, events.shape[0], batch_size):
            chunk = events[start:start + batch_size]
            correct += int((model.reconstruct(chunk) == chunk).sum())
    finally:
        model.train(was_training)
    return correct / events.numel()


def _check_pair(z0, z1) -> tuple[torch.Tensor, torch.Tensor]:
    """Two latent vectors as float tensors [D] of the same size."""
    a = torch.as_tensor(z0, dtype=torch.float32)
    b = torch.as_tensor(z1, dtype=torch.float32).to(a.device)
    if a.dim() != 1 or b.dim() != 1 or a.shape != b.shape or a.numel() == 0:
        raise BadParameterError(
            f"z0 and z1 must be 1-D vectors of the same size, got {tuple(a.shape)} and {tuple(b.shape)}")
    return a, b


def _check_steps(n_steps: int) -> torch.Tensor:
    """Interpolation fractions 0 .. 1 for ``n_steps`` (>= 2) points."""
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)):
        raise BadParameterError(f"n_steps must be an int >= 2, got {n_steps!r}")
    check_range("n_steps", n_steps, 2)
    return torch.linspace(0.0, 1.0, int(n_steps))


def lerp(z0, z1, n_steps: int) -> torch.Tensor:
    """Straight-line interpolation: [n_steps, D] from z0 to z1 (both [D]), endpoints included."""
    a, b = _check_pair(z0, z1)
    t = _check_steps(n_steps).to(a.device).unsqueeze(1)
    return (1.0 - t) * a + t * b


def slerp(z0, z1, n_steps: int) -> torch.Tensor:
    """Spherical interpolation: [n_steps, D] along the great circle from z0 to z1, endpoints included.

    Norms go smoothly from |z0| to |z1| (they stay equal when |z0| = |z1|), so every point keeps
    the typical radius of a Gaussian latent, unlike lerp whose midpoint shrinks towards 0.
    Parallel (or zero) vectors fall back to lerp. Notebook 04 compares the two.
    """
    a, b = _check_pair(z0, z1)
    t = _check_steps(n_steps).to(a.device).unsqueeze(1)
    norm_a, norm_b = a.norm(), b.norm()
    if norm_a == 0 or norm_b == 0:
        return (1.0 - t) * a + t * b
    cos = torch.clamp(torch.dot(a / norm_a, b / norm_b), -1.0, 1.0)
    omega = torch.arccos(cos)
    if torch.sin(omega) < 1e-6:
        return (1.0 - t) * a + t * b
    return (torch.sin((1.0 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def interpolate(model: MusicVAE, melody_a, melody_b, n_steps: int, method: str = "slerp",
                temperature: float | None = None, generator: torch.Generator | None = None,
                seed: int | None = None) -> torch.Tensor:
    """Melodies [n_steps, seq_len] morphing from melody_a to melody_b through the latent space.

    Each melody (1-D events, at least ``seq_len`` steps; longer ones use their first window) is
    encoded to its posterior mean; the path (``method`` "slerp" or "lerp") is decoded (argmax, or
    sampled at ``temperature`` > 0). Notebook 04 interpolates between two calming pieces.
    """
    check_choice("method", method, INTERPOLATION_METHODS)
    _check_steps(n_steps)
    window = model.config.seq_len
    ends = []
    for name, melody in (("melody_a", melody_a), ("melody_b", melody_b)):
        events = as_token_batch(melody, name, model.num_classes)
        if events.shape[0] != 1:
            raise BadParameterError(f"{name} must be one melody (1-D events), got shape {tuple(events.shape)}")
        if events.shape[1] == 0:
            raise BadParameterError(f"{name} is empty (0 steps); the model needs {window} steps")
        if events.shape[1] < window:
            raise BadParameterError(
                f"{name} has {events.shape[1]} steps, shorter than the model's window of {window} steps")
        ends.append(events[:, :window])
    mu, _ = model.encode(torch.cat(ends, dim=0))
    path = (slerp if method == "slerp" else lerp)(mu[0], mu[1], n_steps)
    return model.decode(path, temperature=temperature, generator=generator, seed=seed)
