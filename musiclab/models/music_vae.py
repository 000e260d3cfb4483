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
optionally with scheduled sampling on an inverse-sigmoid schedule (step by step, or in parallel:
two teacher-forced passes, the second fed a mix of true events and samples of the first); optionally
plus the AR-VAE loss of latent dimensions trained to order the melodies by an attribute
(:mod:`~musiclab.models.attribute_regularisation`, the ``cpu_ar`` preset), and optionally plus the
swap loss that teaches the decoder to heed the interval-size dimension
(:mod:`~musiclab.models.interval_swap`, the ``cpu_swap`` preset) and the note-density one
(:mod:`~musiclab.models.density_swap`).
Notebook 04 samples from the prior with a temperature and interpolates (slerp, lerp) between two
calming pieces.

Sizes and presets: :mod:`~musiclab.models.vae_config`; the encoder and decoders:
:mod:`~musiclab.models.vae_parts`; paths between melodies: :mod:`~musiclab.models.latent`;
training the shipped model: :mod:`~musiclab.models.vae_training`.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from musiclab.errors import BadParameterError, check_range
from musiclab.limits import check_limit
from musiclab.models.attribute_regularisation import (WINDOW_ATTRIBUTES, attribute_regularisation,
                                                      window_attributes)
from musiclab.models.attribute_swap import swap_copies
from musiclab.models.sequence import as_token_batch, resolve_generator
from musiclab.models.vae_config import MusicVAEConfig, cpu
from musiclab.models.vae_parts import Encoder, HierarchicalDecoder, SequenceDecoder

_LN2 = math.log(2.0)


def kl_divergence(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) in nats, summed over the latent: [B, Z] -> [B]."""
    return 0.5 * (mu.pow(2) + sigma.pow(2) - 1.0 - 2.0 * torch.log(sigma)).sum(dim=-1)


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
        self.encoder = Encoder(self.config)
        self.decoder = (HierarchicalDecoder(self.config) if self.config.hierarchical
                        else SequenceDecoder(self.config, self.config.z_size))
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
        n = int(check_limit("max_pieces", "n", check_range("n", n, 1)))
        if length is not None:
            check_limit("max_steps", "length", check_range("length", length, 1))
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

    @torch.no_grad()
    def _parallel_inputs(self, z: torch.Tensor, events: torch.Tensor, sample_prob: float) -> torch.Tensor:
        """Parallel scheduled sampling (Duckworth et al. 2019): events [B, T] with each step replaced,
        with probability ``sample_prob``, by a sample (temperature 1) of the teacher-forced decoder."""
        logits = self.decoder.teacher_forced(z, events)
        own = torch.multinomial(torch.softmax(logits.reshape(-1, self.num_classes), dim=-1), 1)
        coin = torch.rand(events.shape, device=events.device)
        return torch.where(coin < sample_prob, own.view(events.shape), events)

    def loss(self, batch, step: int | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        """Training loss of a batch of melodies [B, seq_len] and its metrics.

        loss = mean over the batch of [sum_t CE(x_t) + beta_t * max(KL - free_bits * ln 2, 0)],
        plus ar_weight * the AR-VAE loss of each regularised dimension (metric ``ar``, their sum),
        plus, in training with ``swap_weight`` > 0, swap_weight * the swap loss (metric ``swap``,
        :meth:`_attribute_swap`) + ar_weight * the AR-VAE loss of the batch and its copies together.
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
        if sample_prob > 0.0 and self.config.sampling_method == "parallel":
            logits = self.decoder.teacher_forced(z, events, self._parallel_inputs(z, events, sample_prob))
        elif sample_prob > 0.0:
            logits, _ = self.decoder.unroll(z, events.shape[1], targets=events,
                                            sample_prob=sample_prob, temperature=1.0)
        else:
            logits = self.decoder.teacher_forced(z, events)
        recon = F.cross_entropy(logits.reshape(-1, self.num_classes), events.reshape(-1),
                                reduction="none").view(events.shape).sum(dim=1)
        loss = recon.mean() + beta * kl_cost.mean()
        accuracy = (logits.argmax(dim=-1) == events).float().mean()
        metrics = {"recon_nats": recon.mean().item(),
                   "kl_bits": (kl.mean() / _LN2).item(), "beta": beta,
                   "sampling_prob": sample_prob, "accuracy": accuracy.item()}
        if self.config.regularised_attributes:
            regularisation = self._attribute_regularisation(z, events)
            loss = loss + self.config.ar_weight * regularisation
            metrics["ar"] = regularisation.item()
        if self.config.swap_weight > 0 and self.training and torch.is_grad_enabled():
            swap, joint_order = self._attribute_swap(z, events)
            loss = loss + self.config.swap_weight * swap + self.config.ar_weight * joint_order
            metrics["swap"] = swap.item()
        return loss, {"loss": loss.item(), **metrics}

    def _attribute_swap(self, z: torch.Tensor, events: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Swap loss of a batch [B, T], codes z [B, z_size]: (cross-entropy per melody of copies with
        moves stretched and / or notes split or merged (:func:`.attribute_swap.swap_copies`),
        written from z with the ``swap_attributes``' dimensions from the copies' codes; AR-VAE loss
        of batch and copies together)."""
        swapped = self.config.swap_attributes
        copies = swap_copies(events, swapped, self.config.swap_factors)
        copy_mu, copy_sigma = self.encoder(copies)
        copy_z = copy_mu + copy_sigma * torch.randn_like(copy_mu)
        dims = torch.tensor([self.config.regularised_attributes.index(name) for name in swapped], device=z.device)
        logits = self.decoder.teacher_forced(z.index_copy(1, dims, copy_z[:, dims]), copies)
        swap = F.cross_entropy(logits.reshape(-1, self.num_classes), copies.reshape(-1),
                               reduction="none").view(copies.shape).sum(dim=1).mean()
        return swap, self._attribute_regularisation(torch.cat([z, copy_z]), torch.cat([events, copies]))

    def _attribute_regularisation(self, z: torch.Tensor, events: torch.Tensor) -> torch.Tensor:
        """Sum over the regularised dimensions of their AR-VAE losses (:mod:`.attribute_regularisation`)."""
        attributes = window_attributes(events)
        return sum(attribute_regularisation(z[:, dim], attributes[:, WINDOW_ATTRIBUTES.index(name)],
                                            self.config.ar_delta)
                   for dim, name in enumerate(self.config.regularised_attributes))


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
