"""Small helpers for checks that compare a student's numbers or arrays with the expected ones.

A student's answer may come back as anything (a list, a tensor, ``None``, a string); these
helpers turn it into a float array or say, in words, why it cannot be one, so a check can give
feedback instead of raising (notebooks 04–07's exercises use them).
"""
from __future__ import annotations

import numpy as np


def as_floats(value) -> np.ndarray | None:
    """``value`` (a number, list, numpy array or torch tensor) as a float64 array; None if it is none of them."""
    if value is None or isinstance(value, (str, bytes, dict)):
        return None
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def short(value, digits: int = 3) -> str:
    """A short, deterministic text of a number or an array (rounded, at most 8 values shown)."""
    array = as_floats(value)
    if array is None:
        text = repr(value)
        return f"{type(value).__name__} {text[:60]}" if len(text) <= 60 else f"{type(value).__name__} {text[:57]}..."
    if array.ndim == 0:
        return f"{float(array):.0f}" if float(array).is_integer() else f"{float(array):.{digits}f}"
    flat = np.round(array.reshape(-1), digits)
    shown = ", ".join(f"{v:.{digits}f}" if not float(v).is_integer() else f"{v:.0f}" for v in flat[:8])
    more = ", ..." if flat.size > 8 else ""
    return f"[{shown}{more}]" if array.ndim == 1 else f"shape {tuple(array.shape)}: [{shown}{more}]"


def mismatch(got, expected, atol: float = 1e-4) -> str | None:
    """None if ``got`` matches ``expected`` (same shape, values within ``atol``); else what differs, in words."""
    array, want = as_floats(got), np.asarray(expected, dtype=np.float64)
    if array is None:
        return f"a {type(got).__name__}, not numbers"
    if array.shape != want.shape:
        return f"shape {tuple(array.shape)} instead of {tuple(want.shape)}"
    if np.isnan(array).any() and not np.isnan(want).any():
        return f"NaN values: {short(array)}"
    if not np.allclose(array, want, atol=atol, rtol=0.0, equal_nan=True):
        worst = int(np.nanargmax(np.abs(array - want).reshape(-1)))
        return (f"{short(array)} (at index {worst}: {array.reshape(-1)[worst]:.4g} where "
                f"{want.reshape(-1)[worst]:.4g} was expected)")
    return None
