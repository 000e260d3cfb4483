"""How the profile store writes values into its SQLite columns, and reads them back.

Pieces' events are ``.npy`` bytes (``np.save``, no pickles), their settings JSON text, a
personalised model's ``state_dict`` ``torch.save`` bytes that must load with ``weights_only=True``.
Writers raise BadParameterError naming what is wrong with the value; readers raise whatever NumPy
or torch raise on damaged bytes (the store turns that into a BadFileError naming the file).
"""
from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from musiclab.errors import BadParameterError


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON data")


def settings_json(settings: Any) -> str:
    """JSON text of a settings dict (or dataclass config); BadParameterError when not plain data."""
    if settings is None:
        settings = {}
    elif dataclasses.is_dataclass(settings) and not isinstance(settings, type):
        settings = dataclasses.asdict(settings)
    if not isinstance(settings, Mapping):
        raise BadParameterError(f"settings must be a dict or a dataclass, got {type(settings).__name__}")
    try:
        return json.dumps(dict(settings), default=_json_default, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise BadParameterError(f"settings must hold only JSON data (str, numbers, bool, None, "
                                f"lists, dicts with str keys): {error}") from None


def events_blob(events: Any) -> tuple[bytes, int]:
    """``.npy`` bytes of an events array and its number of steps (last axis)."""
    if isinstance(events, torch.Tensor):
        events = events.detach().cpu().numpy()
    array = np.asarray(events)
    if array.dtype.kind not in "biuf":
        raise BadParameterError(f"events must be a numeric array (melody events, a drum grid, a "
                                f"piano roll), got dtype {array.dtype}")
    if array.ndim == 0 or array.size == 0:
        raise BadParameterError(f"events must have at least one step, got shape {array.shape}")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise BadParameterError("events must be finite")
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue(), int(array.shape[-1])


def state_blob(state_dict: Any) -> bytes:
    """``torch.save`` bytes of a state_dict, checked to load back with ``weights_only=True``."""
    if not isinstance(state_dict, Mapping) or not all(isinstance(k, str) for k in state_dict):
        raise BadParameterError("state_dict must be a mapping of str → tensor (model.state_dict())")
    plain = {k: v.detach().cpu() if isinstance(v, torch.Tensor) else v for k, v in state_dict.items()}
    buffer = io.BytesIO()
    try:
        torch.save(plain, buffer)
        blob = buffer.getvalue()
        torch.load(io.BytesIO(blob), weights_only=True, map_location="cpu")
    except Exception as error:  # pickling or weights_only refusal: not plain tensor data
        raise BadParameterError(f"state_dict must hold only tensors and plain data that "
                                f"torch.load(weights_only=True) accepts: {error}") from None
    return blob



def events_from_blob(blob: bytes) -> np.ndarray:
    """The events array of :func:`events_blob` bytes."""
    return np.load(io.BytesIO(blob), allow_pickle=False)


def state_from_blob(blob: bytes) -> dict:
    """The state_dict of :func:`state_blob` bytes (CPU tensors)."""
    return torch.load(io.BytesIO(blob), weights_only=True, map_location="cpu")
