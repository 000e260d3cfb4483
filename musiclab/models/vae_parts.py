"""The networks inside a MusicVAE: the bidirectional LSTM encoder and the two decoders (notebook 04).

:class:`Encoder` reads events [B, T] into the posterior mean and std of z. :class:`SequenceDecoder`
is one autoregressive LSTM conditioned on a vector (the flat decoder, conditioned on z);
:class:`HierarchicalDecoder` puts a conductor LSTM (z -> one embedding per bar) over a
:class:`SequenceDecoder` that writes each bar on its own.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from musiclab.models.vae_config import MusicVAEConfig


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


class Encoder(nn.Module):
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


class SequenceDecoder(nn.Module):
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

    def teacher_forced(self, cond: torch.Tensor, targets: torch.Tensor,
                       inputs: torch.Tensor | None = None) -> torch.Tensor:
        """Logits [B, T, C] for targets [B, T], each step fed the previous event of ``inputs``
        [B, T] (default: the targets themselves, i.e. teacher forcing)."""
        fed = targets if inputs is None else inputs
        begin = torch.full_like(fed[:, :1], self.num_classes)
        previous = torch.cat([begin, fed[:, :-1]], dim=1)
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


class HierarchicalDecoder(nn.Module):
    """Conductor LSTM (z -> one embedding per bar) over a bar decoder that writes each bar alone."""

    def __init__(self, config: MusicVAEConfig):
        super().__init__()
        self.bar_steps = config.bar_steps
        self.layers, self.hidden = config.conductor_layers, config.conductor_size
        self.init = nn.Linear(config.z_size, 2 * config.conductor_layers * config.conductor_size)
        self.conductor = nn.LSTM(config.z_size, config.conductor_size, config.conductor_layers,
                                 batch_first=True)
        self.project = nn.Linear(config.conductor_size, config.conductor_out)
        self.bars = SequenceDecoder(config, config.conductor_out)

    def bar_embeddings(self, z: torch.Tensor, num_bars: int) -> torch.Tensor:
        """The conductor's embeddings [B, num_bars, conductor_out]; z is its input at every bar."""
        inputs = z.unsqueeze(1).expand(-1, num_bars, -1)
        out, _ = self.conductor(inputs, _state_from(self.init, z, self.layers, self.hidden))
        return torch.tanh(self.project(out))

    def _per_bar(self, z: torch.Tensor, length: int) -> torch.Tensor:
        """Bar embeddings flattened to [B * num_bars, conductor_out]."""
        embeddings = self.bar_embeddings(z, length // self.bar_steps)
        return embeddings.reshape(-1, embeddings.shape[-1])

    def teacher_forced(self, z: torch.Tensor, targets: torch.Tensor,
                       inputs: torch.Tensor | None = None) -> torch.Tensor:
        """Logits [B, T, C] under teacher forcing (fed ``inputs`` [B, T] when given); every bar
        starts from the begin input."""
        batch, length = targets.shape
        bars = targets.reshape(-1, self.bar_steps)
        fed = None if inputs is None else inputs.reshape(-1, self.bar_steps)
        return self.bars.teacher_forced(self._per_bar(z, length), bars, fed).reshape(batch, length, -1)

    def unroll(self, z: torch.Tensor, length: int, *, targets: torch.Tensor | None = None,
               **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits [B, length, C] and events [B, length]; all bars are written in parallel."""
        batch = z.shape[0]
        bar_targets = None if targets is None else targets.reshape(-1, self.bar_steps)
        logits, events = self.bars.unroll(self._per_bar(z, length), self.bar_steps,
                                          targets=bar_targets, **kwargs)
        return logits.reshape(batch, length, -1), events.reshape(batch, length)

