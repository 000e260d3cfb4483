"""Exercises of notebook 04 (MusicVAE and calming music): the lerp midpoint, slerp, temperature.

In the notebook: ``from musiclab.exercises import nb04; nb04.check("04.2", slerp)``. The
reference solutions are in :mod:`musiclab.exercises.solutions.n04`.
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from musiclab.checkpoints import load_model
from musiclab.errors import check_choice
from musiclab.eval.vae import in_key_share
from musiclab.exercises.feedback import Feedback, attempt, failed, passed
from musiclab.exercises.numeric import mismatch, short
from musiclab.exercises.registry import EXERCISES, Exercise, register
from musiclab.exercises.solutions import n04
from musiclab.models import latent

IDS = ("04.1", "04.2", "04.3")


def check(exercise_id: str, answer) -> Feedback:
    """Feedback on ``answer`` for one of notebook 04's exercises (``"04.1"`` … ``"04.3"``)."""
    return EXERCISES[check_choice("exercise id", exercise_id, IDS)].check(answer)


def _pair(norm: float, cos_angle: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two 32-d codes of norm ``norm`` whose angle has cosine ``cos_angle`` (random directions)."""
    basis, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(32, 2)))
    e0, e1 = basis[:, 0], basis[:, 1]
    z1 = cos_angle * e0 + np.sqrt(1.0 - cos_angle ** 2) * e1
    return torch.tensor(norm * e0, dtype=torch.float32), torch.tensor(norm * z1, dtype=torch.float32)


# ----- 04.1 the lerp midpoint -----------------------------------------------------------------
MIDPOINT_CASES = ((1.0, 0.0), (2.0, 0.5), (3.0, -0.5), (1.5, 0.9))


def check_lerp_midpoint_norm(answer) -> Feedback:
    expected = "the norm of latent.lerp's midpoint, for 4 pairs of codes (norm r, cos Ω)"
    hint = "Expand |z0 + z1|² = |z0|² + |z1|² + 2 z0·z1 = 2r²(1 + cos Ω); the midpoint is half of z0 + z1."
    for i, (norm, cos) in enumerate(MIDPOINT_CASES):
        z0, z1 = _pair(norm, cos, seed=i)
        want = float(latent.lerp(z0, z1, 3)[1].norm())
        got, feedback = attempt("04.1", expected, hint, lambda: answer(norm, cos))
        if feedback:
            return feedback
        problem = mismatch(got, want, atol=1e-3)
        if problem:
            return failed("04.1", expected, f"for r = {norm}, cos Ω = {cos}: {problem}", hint)
    return passed("04.1", expected, f"all 4 agree: orthogonal codes of norm 1 meet at norm "
                                    f"{n04.lerp_midpoint_norm(1.0, 0.0):.3f}, not 1")


def _wrong_midpoint(norm, cos_angle):
    return norm * (1.0 + cos_angle) / 2.0  # averaged the norms along the angle: forgot the square root


# ----- 04.2 slerp -------------------------------------------------------------------------------
def _slerp_cases():
    """(z0, z1, n_steps): equal and unequal norms, wide and narrow angles."""
    rng = np.random.default_rng(4)
    codes = torch.tensor(rng.normal(size=(6, 32)), dtype=torch.float32)
    return [(codes[0], codes[1], 5), (codes[2], 2.0 * codes[3], 9), (codes[4], codes[4] + 0.3 * codes[5], 2),
            (*_pair(1.0, -0.8, seed=7), 7)]


def check_slerp(answer) -> Feedback:
    expected = "slerp(z0, z1, n_steps) equal to the kit's latent.slerp on 4 pairs of codes (within 1e-4)"
    hint = ("cos Ω = ẑ0·ẑ1 (unit vectors); with t = torch.linspace(0, 1, n_steps) as a column, "
            "z(t) = sin((1−t)Ω)/sin Ω · z0 + sin(tΩ)/sin Ω · z1.")
    for i, (z0, z1, steps) in enumerate(_slerp_cases()):
        got, feedback = attempt("04.2", expected, hint, lambda: answer(z0.clone(), z1.clone(), steps))
        if feedback:
            return feedback
        problem = mismatch(got, latent.slerp(z0, z1, steps), atol=1e-4)
        if problem:
            if mismatch(got, latent.lerp(z0, z1, steps), atol=1e-4) is None:
                problem = "the straight line (lerp): its midpoint is shorter than both ends"
            return failed("04.2", expected, f"pair {i + 1} with {steps} steps: {problem}", hint)
    z0, z1, _ = _slerp_cases()[0]
    keep = float(latent.slerp(z0, z1, 5)[2].norm() / z0.norm())
    dip = float(latent.lerp(z0, z1, 5)[2].norm() / z0.norm())
    return passed("04.2", expected, f"all 4 pairs agree; midpoint norm / |z0|: slerp {keep:.2f}, lerp {dip:.2f}")


# ----- 04.3 temperature ---------------------------------------------------------------------------
TEMPERATURES = (0.3, 1.5)


@functools.lru_cache(maxsize=1)
def _shipped_vae():
    return load_model("music_vae_cpu", device="cpu")


def check_in_key_by_temperature(answer) -> Feedback:
    expected = (f"in_key_by_temperature(vae, {list(TEMPERATURES)}, n=6, seed=3): the in-key share of "
                "vae.sample(6, temperature=T, seed=3) for each T")
    hint = "Pass the temperature on: vae.sample(n, temperature=T, seed=seed), then vae_eval.in_key_share."
    vae = _shipped_vae()
    want = [in_key_share(vae.sample(6, temperature=t, seed=3)) for t in TEMPERATURES]
    got, feedback = attempt("04.3", expected, hint, lambda: answer(vae, list(TEMPERATURES), n=6, seed=3))
    if feedback:
        return feedback
    problem = mismatch(got, want, atol=1e-6)
    if problem:
        return failed("04.3", expected, problem, hint)
    return passed("04.3", expected, f"in-key shares {short(want, 2)}")


def _wrong_temperature(vae, temperatures, n=16, seed=0):
    return [in_key_share(vae.sample(n, seed=seed)) for _ in temperatures]  # the temperature never used


register(Exercise(
    "04.1", "Predict the norm of the lerp midpoint", "warm-up", 10,
    'def lerp_midpoint_norm(norm, cos_angle):\n'
    '    """|(z0 + z1) / 2| when |z0| = |z1| = norm and cos of the angle between them = cos_angle."""\n'
    '    raise NotImplementedError("expand |z0 + z1|² and take the square root")\n',
    check_lerp_midpoint_norm, lambda: n04.lerp_midpoint_norm, lambda: _wrong_midpoint))
register(Exercise(
    "04.2", "Implement slerp", "core", 15,
    'def slerp(z0, z1, n_steps):\n'
    '    """[n_steps, D] points along the great circle from z0 to z1 (torch tensors [D]), ends included."""\n'
    '    raise NotImplementedError("compute the angle Ω, then the two sine weights for each t")\n',
    check_slerp, lambda: n04.slerp, lambda: latent.lerp))
register(Exercise(
    "04.3", "Temperature against staying in key", "open-ended", 20,
    'def in_key_by_temperature(vae, temperatures, n=16, seed=0):\n'
    '    """For each temperature: the share of notes in C major of n prior samples (seed: seed)."""\n'
    '    raise NotImplementedError("sample with vae.sample, measure with vae_eval.in_key_share")\n',
    check_in_key_by_temperature, lambda: n04.in_key_by_temperature, lambda: _wrong_temperature))
