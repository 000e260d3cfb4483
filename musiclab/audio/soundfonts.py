"""Find General MIDI SoundFonts (.sf2) and check the one asked for (notebook 00 lists them).

The default is the small TimGM6mb.sf2 inside the pretty_midi wheel; Debian's
``fluid-soundfont-gm`` (FluidR3_GM.sf2) sounds better when installed.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from musiclab.errors import BadFileError

#: Folders searched for ``*.sf2`` SoundFonts besides the one inside pretty_midi: Debian's,
#: other distributions', this Python environment's (conda) and the user's.
SOUNDFONT_DIRS = (
    Path("/usr/share/sounds/sf2"),
    Path("/usr/share/soundfonts"),
    Path("/usr/local/share/soundfonts"),
    Path(sys.prefix) / "share" / "soundfonts",
    Path.home() / ".local" / "share" / "soundfonts",
)


def default_soundfont() -> Path:
    """Path of the TimGM6mb.sf2 General MIDI SoundFont that ships inside the pretty_midi wheel."""
    from importlib.resources import files

    return Path(str(files("pretty_midi") / "TimGM6mb.sf2"))


def available_soundfonts() -> list[Path]:
    """All General MIDI SoundFonts found on this machine, the default first.

    Looks inside pretty_midi and in :data:`SOUNDFONT_DIRS`; a file name already listed (a
    symlink or another copy, e.g. Debian's TimGM6mb.sf2) is listed once. Pass one, or its
    name (e.g. ``"FluidR3_GM"``), as ``soundfont=`` to any render function. Notebook
    ``00_data_and_sound`` lists them.
    """
    found: list[Path] = []
    seen: set[str] = set()
    candidates = [default_soundfont()]
    for folder in SOUNDFONT_DIRS:
        if folder.is_dir():
            candidates.extend(sorted(folder.glob("*.sf2")))
    for path in candidates:
        if not path.is_file():
            continue
        key = path.resolve().name.lower()
        if key not in seen:
            seen.add(key)
            found.append(path)
    return found


def resolve_soundfont(soundfont: str | os.PathLike | None) -> Path:
    """Turn ``soundfont`` (None, a path, or a name such as ``"FluidR3_GM"``) into a checked .sf2 path.

    Raises :class:`BadFileError` naming the SoundFont when it is missing or not a SoundFont.
    """
    if soundfont is None:
        path = default_soundfont()
    else:
        path = Path(soundfont).expanduser()
        if not path.exists() and path.parent == Path("."):
            wanted = path.name.lower().removesuffix(".sf2")
            matches = [p for p in available_soundfonts() if p.stem.lower() == wanted]
            if matches:
                path = matches[0]
    if not path.is_file():
        names = ", ".join(p.stem for p in available_soundfonts()) or "none"
        raise BadFileError(
            f"SoundFont {str(soundfont)!r} not found; give a path to an .sf2 file or one of: {names}"
        )
    with open(path, "rb") as handle:
        header = handle.read(12)
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"sfbk":
        raise BadFileError(f"SoundFont {str(path)!r} is not a SoundFont 2 (.sf2) file")
    return path
