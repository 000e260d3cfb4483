"""The "calming" set: Essen lullabies and evening songs, chosen by the raw ABC ``R:`` field.

The ``R:`` (rhythm/genre) field of the Essen collection names lullabies ("Kinder -, Wiegen -
Lied", "Schlaflied", "Schlaf -, Wiegen - Lied") and evening songs ("Tageszeiten - Lied, Abend").
A bare ``schlaf`` would also match "Beischlaf" (ballads about lovers), so the pattern asks for
``wiegen``, ``schlaflied`` or ``schlaf -`` (any case), or the word ``Abend``.

Used by notebook 04 (MusicVAE on calming music).
"""
from __future__ import annotations

import re

from musiclab.data.cache import cached
from musiclab.data.abc import abc_converter, read_abc
from musiclab.data.corpus import Tune, abc_collection_files, convert_abc
from musiclab.errors import check_choice

LULLABY_RE = re.compile(r"wiegen|schlaflied|schlaf -", re.IGNORECASE)
EVENING_RE = re.compile(r"\babend", re.IGNORECASE)


def calming_kind(rhythm_field: str) -> str | None:
    """'lullaby', 'evening' or None for an ABC ``R:`` field (lullaby wins when both match)."""
    if LULLABY_RE.search(rhythm_field):
        return "lullaby"
    if EVENING_RE.search(rhythm_field):
        return "evening"
    return None


def is_calming(rhythm_field: str) -> bool:
    """True when an ABC ``R:`` field marks a lullaby or an evening song (not "Beischlaf")."""
    return calming_kind(rhythm_field) is not None


def calming_tunes(kinds: tuple[str, ...] = ("lullaby", "evening"), refresh: bool = False,
                  quiet: bool = False) -> list[Tune]:
    """The encoded Essen lullabies and/or evening songs (all collections, about 110 tunes).

    Only the selected tunes are converted (about a second), then cached. Used by notebook 04.
    """
    import music21

    for kind in kinds:
        check_choice("calming kind", kind, ("lullaby", "evening"))
    converter = abc_converter()

    def build():
        selected = [tune for path in abc_collection_files("essen", "all")
                    for tune in read_abc(path, prefix=f"essen/{path.stem}")
                    if calming_kind(tune.field("R")) is not None]
        return convert_abc(selected, "essen", "calming", converter, quiet).tunes

    settings = {"converter": converter, "music21": music21.__version__}
    tunes = cached("melodies-calming", settings, build, refresh=refresh, quiet=quiet)
    return [tune for tune in tunes if calming_kind(tune.rhythm) in kinds]
