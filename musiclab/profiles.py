"""Listener profiles in SQLite: sign up, sign in, preferences, pieces, feedback, model state.

One SQLite file (default ``platformdirs.user_data_dir('musiclab')/profiles.sqlite3``; the
``path`` argument or the ``MUSICLAB_PROFILES`` environment variable move it) holds, per
listener: a salted scrypt hash of the password (algorithm, parameters, salt and hash are stored
so the parameters can be raised later: a sign-in re-hashes with the store's current ones), the
:class:`Preferences` (JSON), the pieces played to them (encoded events or a reference, and the
settings that generated them), every feedback event, and the personalised model's
``state_dict`` with a version counter. Notebook 07 (therapy session) and ``rl/feedback.py``
build on this module.

Safety: every query is parameterised; the file is opened in WAL mode with a busy timeout and
retries, so several processes can write at once without losing rows; a corrupt or foreign
file is refused (never overwritten); the schema version lives in ``PRAGMA user_version`` and
each applied migration is logged in the ``schema_history`` table. The password keeps
listeners who share a machine apart; it does not encrypt anything: whoever can read the file
can read the preferences and feedback.
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import io
import json
import math
import os
import secrets
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from musiclab.errors import (BadFileError, BadParameterError, MusiclabError, UnknownNameError,
                             check_choice, check_range)

#: Environment variable that moves the profiles database (a file path).
PROFILES_ENV = "MUSICLAB_PROFILES"
#: File name of the database inside the user data dir.
DEFAULT_FILE_NAME = "profiles.sqlite3"
#: Longest accepted listener name (characters, after stripping surrounding space).
MAX_NAME_LENGTH = 64
#: Longest accepted password (characters).
MAX_PASSWORD_LENGTH = 1024
#: Feedback kinds and the closed interval each one's value must lie in: ``more_less`` is
#: +1 "more like this" / −1 "less like this" (a slider may give values between); ``calm`` is
#: a calm-o-meter reading, 0 = agitated, 1 = calm.
FEEDBACK_KINDS: dict[str, tuple[float, float]] = {"more_less": (-1.0, 1.0), "calm": (0.0, 1.0)}
#: Units of a feedback position in a piece: 16th-note steps or seconds from the start.
POSITION_UNITS = ("step", "seconds")
#: Register names and the transposition (semitones) each one applies to generated melodies.
REGISTERS: dict[str, int] = {"low": -12, "middle": 0, "high": 12}

_SIGN_IN_MESSAGE = "unknown name or wrong password"


class SignInError(MusiclabError):
    """Sign-in failed: the same error (and message) for an unknown name and a wrong password."""


class NameTakenError(BadParameterError):
    """Sign-up with a name that another profile already has (names ignore case)."""


class UnknownProfileError(UnknownNameError):
    """A profile that this store does not hold (deleted, or from another database)."""


class UnknownPieceError(UnknownNameError):
    """A piece id that this profile does not own."""


class StoreBusyError(MusiclabError):
    """The database stayed locked by another connection for longer than the store's timeout."""


# --------------------------------------------------------------------------- password hashing


@dataclass(frozen=True)
class ScryptParams:
    """Cost parameters of ``hashlib.scrypt``. Presets: ``HASH_PRESETS``.

    Memory per hash is about ``128 * n * r`` bytes; time grows with ``n * r * p``.
    """

    n: int
    """CPU/memory cost N, a power of two."""
    r: int = 8
    """Block size r."""
    p: int = 1
    """Parallelisation p."""
    dklen: int = 32
    """Length of the stored hash in bytes."""
    salt_bytes: int = 16
    """Length of the random salt drawn for each new hash."""

    def __post_init__(self):
        if not (isinstance(self.n, int) and self.n >= 2 and self.n & (self.n - 1) == 0):
            raise BadParameterError(f"scrypt n must be a power of two >= 2, got {self.n!r}")
        check_range("scrypt r", self.r, 1, 32)
        check_range("scrypt p", self.p, 1, 16)
        check_range("scrypt dklen", self.dklen, 16, 64)
        check_range("scrypt salt_bytes", self.salt_bytes, 16, 64)
        if 128 * self.n * self.r > 2**30:
            raise BadParameterError(f"scrypt n * r = {self.n * self.r} needs more than 1 GiB; "
                                    "use 128 * n * r <= 2**30")

    def derive(self, password: str, salt: bytes) -> bytes:
        """The ``dklen``-byte scrypt hash of ``password`` (UTF-8 of its NFC form) with ``salt``."""
        secret = unicodedata.normalize("NFC", password).encode("utf-8")
        return hashlib.scrypt(secret, salt=salt, n=self.n, r=self.r, p=self.p, dklen=self.dklen,
                              maxmem=128 * self.r * (self.n + self.p + 2) + 2**20)

    def stored(self) -> str:
        """The parameters as the JSON text kept next to each hash."""
        return json.dumps({"n": self.n, "r": self.r, "p": self.p}, sort_keys=True)


HASH_PRESETS: dict[str, ScryptParams] = {
    "owasp": ScryptParams(n=2**17, r=8, p=1),
    "interactive": ScryptParams(n=2**14, r=8, p=1),
}
"""Named scrypt settings. ``owasp`` (the default; 128 MiB, about a second per hash on a slow
laptop core): the minimum of the OWASP Password Storage Cheat Sheet (N=2^17, r=8, p=1).
``interactive`` (16 MiB, about 0.1 s): Percival, "Stronger key derivation via sequential
memory-hard functions" (BSDCan 2009), parameters for interactive logins (N=2^14, r=8, p=1)."""
DEFAULT_HASHING = "owasp"


def _hashing(hashing: ScryptParams | str) -> ScryptParams:
    if isinstance(hashing, ScryptParams):
        return hashing
    return HASH_PRESETS[check_choice("hashing", hashing, HASH_PRESETS)]


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Preferences:
    """What a listener likes; stored as JSON with the profile. Notebook 07 turns these knobs."""

    instrument: int = 0
    """General MIDI program, 0..127 (0 = acoustic grand piano), as in ``audio.play_melody``."""
    tempo: float = 72.0
    """Playback tempo in quarter notes per minute, 30..200."""
    register: str = "middle"
    """'low', 'middle' or 'high': transposes generated melodies by ``REGISTERS[register]`` semitones."""
    c: float = 0.5
    """RL Tuner weight c > 0 in r = log p(a|s) + r_MT(a, s) / c (smaller c: more music theory)."""
    temperature: float = 1.0
    """Sampling temperature > 0 when generating (below 1: safer, above 1: more adventurous)."""

    def __post_init__(self):
        if isinstance(self.instrument, bool) or not isinstance(self.instrument, (int, np.integer)):
            raise BadParameterError(f"instrument must be a General MIDI program number (int 0..127), "
                                    f"got {self.instrument!r}")
        check_range("instrument", int(self.instrument), 0, 127)
        object.__setattr__(self, "instrument", int(self.instrument))
        check_choice("register", self.register, REGISTERS)
        for name, low, high in (("tempo", 30.0, 200.0), ("c", 0.0, None), ("temperature", 0.0, None)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
                raise BadParameterError(f"{name} must be a number, got {value!r}")
            check_range(name, float(value), low, high, low_open=name != "tempo")
            if not math.isfinite(value):
                raise BadParameterError(f"{name} must be finite, got {value!r}")
            object.__setattr__(self, name, float(value))

    @property
    def transpose(self) -> int:
        """Semitones to add to generated pitches for the chosen register."""
        return REGISTERS[self.register]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preferences:
        """Preferences from a mapping of field → value; missing fields take their defaults."""
        if not isinstance(data, Mapping):
            raise BadParameterError(f"preferences must be a Preferences or a dict, got {type(data).__name__}")
        valid = [f.name for f in dataclasses.fields(cls)]
        for key in data:
            check_choice("preference", key, valid)
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (what is stored as JSON)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Profile:
    """A signed-in listener: what ``sign_up``/``sign_in`` return and every other call takes."""

    id: int
    name: str
    created: datetime
    """When the profile was made (UTC)."""
    preferences: Preferences


@dataclass(frozen=True)
class Piece:
    """A piece played to a listener: its events (or a reference) and the settings that made it."""

    id: int
    profile_id: int
    created: datetime
    """When the piece was added (UTC)."""
    events: np.ndarray | None
    """The encoded events (time on the last axis), e.g. melody events [T]; None if only a reference."""
    reference: str | None
    """Where the piece lives when its events are not stored (a file, a corpus id), else None."""
    settings: dict
    """The settings that generated it (model, c, seed, tempo, ...), as stored JSON."""


@dataclass(frozen=True)
class FeedbackEvent:
    """One reaction of a listener to a moment of a piece."""

    id: int
    profile_id: int
    piece_id: int
    time: datetime
    """When the listener reacted (UTC)."""
    position: float
    """Where in the piece, in ``unit``s from its start."""
    unit: str
    """'step' (16th-note steps) or 'seconds'."""
    value: float
    """The reaction, inside ``FEEDBACK_KINDS[kind]``."""
    kind: str
    """A key of ``FEEDBACK_KINDS``."""


# --------------------------------------------------------------------------- schema

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # version 0 → 1
        """CREATE TABLE schema_history (
               version INTEGER PRIMARY KEY,
               applied REAL NOT NULL)""",
        """CREATE TABLE profiles (
               id INTEGER PRIMARY KEY,
               name TEXT NOT NULL,
               name_key TEXT NOT NULL UNIQUE,
               created REAL NOT NULL,
               preferences TEXT NOT NULL)""",
        """CREATE TABLE credentials (
               profile_id INTEGER PRIMARY KEY REFERENCES profiles(id) ON DELETE CASCADE,
               algorithm TEXT NOT NULL,
               params TEXT NOT NULL,
               salt BLOB NOT NULL,
               hash BLOB NOT NULL,
               updated REAL NOT NULL)""",
        """CREATE TABLE pieces (
               id INTEGER PRIMARY KEY,
               profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
               created REAL NOT NULL,
               events BLOB,
               steps INTEGER,
               reference TEXT,
               settings TEXT NOT NULL,
               CHECK (events IS NOT NULL OR reference IS NOT NULL))""",
        """CREATE TABLE feedback (
               id INTEGER PRIMARY KEY,
               profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
               piece_id INTEGER NOT NULL REFERENCES pieces(id) ON DELETE CASCADE,
               time REAL NOT NULL,
               position REAL NOT NULL,
               unit TEXT NOT NULL,
               value REAL NOT NULL,
               kind TEXT NOT NULL)""",
        "CREATE INDEX feedback_by_piece ON feedback (profile_id, piece_id, id)",
        """CREATE TABLE model_states (
               profile_id INTEGER PRIMARY KEY REFERENCES profiles(id) ON DELETE CASCADE,
               version INTEGER NOT NULL,
               saved REAL NOT NULL,
               state BLOB NOT NULL)""",
    ),
)
"""``MIGRATIONS[i]`` holds the SQL statements that take the schema from version i to i + 1;
append a tuple to change the schema (existing files are upgraded when opened)."""


def schema_version() -> int:
    """The schema version this musiclab writes (``PRAGMA user_version`` of a current file)."""
    return len(MIGRATIONS)


def default_profiles_path() -> Path:
    """``$MUSICLAB_PROFILES`` when set, else ``profiles.sqlite3`` in the user data dir."""
    override = os.environ.get(PROFILES_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("musiclab")) / DEFAULT_FILE_NAME


# --------------------------------------------------------------------------- helpers


def _now() -> float:
    return time.time()


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def _timestamp(value: datetime | float | None) -> float:
    """Unix seconds from None (now), a number, or a timezone-aware datetime."""
    if value is None:
        return _now()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise BadParameterError("at must be timezone-aware (e.g. datetime.now(timezone.utc)) "
                                    "or Unix seconds")
        return value.timestamp()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadParameterError(f"at must be a datetime or Unix seconds, got {value!r}")
    return float(value)


def _clean_name(name: Any) -> tuple[str, str]:
    """The stripped NFC name and its case-free key; BadParameterError when invalid."""
    if not isinstance(name, str):
        raise BadParameterError(f"name must be a string, got {type(name).__name__}")
    clean = unicodedata.normalize("NFC", name).strip()
    if not clean:
        raise BadParameterError("name must not be empty (or only spaces)")
    if len(clean) > MAX_NAME_LENGTH:
        raise BadParameterError(f"name must have at most {MAX_NAME_LENGTH} characters, got {len(clean)}")
    if not clean.isprintable():
        raise BadParameterError(f"name must be printable (no control characters or line breaks), "
                                f"got {clean!r}")
    return clean, clean.casefold()


def _check_password(password: Any) -> str:
    if not isinstance(password, str):
        raise BadParameterError(f"password must be a string, got {type(password).__name__}")
    if not password:
        raise BadParameterError("password must not be empty")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadParameterError(f"password must have at most {MAX_PASSWORD_LENGTH} characters")
    return password


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON data")


def _settings_json(settings: Any) -> str:
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


def _events_blob(events: Any) -> tuple[bytes, int]:
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


def _state_blob(state_dict: Any) -> bytes:
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


def _is_busy(error: sqlite3.OperationalError) -> bool:
    name = getattr(error, "sqlite_errorname", "")
    text = str(error).lower()
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text or "busy" in text


# --------------------------------------------------------------------------- the store


class ProfileStore:
    """Listener profiles in one SQLite file; use as a context manager or call ``close()``.

    ``path``: the database file (default ``default_profiles_path()``); its folder is created.
    ``hashing``: scrypt parameters for new hashes (a ``HASH_PRESETS`` name or ``ScryptParams``).
    ``timeout``: seconds to wait for another writer before ``StoreBusyError``.
    Safe to share between threads; each process opens its own store. Used by notebook 07.
    """

    def __init__(self, path: str | os.PathLike | None = None, *,
                 hashing: ScryptParams | str = DEFAULT_HASHING, timeout: float = 10.0):
        self.path = Path(path).expanduser() if path is not None else default_profiles_path()
        self.hashing = _hashing(hashing)
        self.timeout = check_range("timeout", timeout, 0.0, low_open=True)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        if self.path.is_dir():
            raise BadFileError(f"{self.path} is a folder; give the profiles database a file name "
                               f"(e.g. {self.path / DEFAULT_FILE_NAME})")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), timeout=self.timeout, isolation_level=None,
                                         check_same_thread=False)
        except (OSError, sqlite3.Error) as error:
            raise BadFileError(f"cannot open the profiles database {self.path}: {error}") from None
        try:
            self._prepare()
        except BaseException:
            self._conn.close()
            self._conn = None
            raise

    # ----------------------------------------------------------------- plumbing

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"ProfileStore({str(self.path)!r}, {state})"

    def __enter__(self) -> ProfileStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the database (idempotent); later calls raise MusiclabError."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _run(self, work: Callable[[sqlite3.Connection], Any], *, write: bool) -> Any:
        """Run ``work(connection)`` in one transaction, retrying while the file is locked."""
        with self._lock:
            if self._conn is None:
                raise MusiclabError(f"{self!r}: the store is closed; open a new ProfileStore")
            conn = self._conn
            deadline = time.monotonic() + self.timeout
            delay = 0.005
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                    try:
                        result = work(conn)
                        conn.execute("COMMIT")
                        return result
                    except BaseException:
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
                        raise
                except sqlite3.OperationalError as error:
                    if not _is_busy(error):
                        raise self._file_error(error) from None
                    if time.monotonic() + delay > deadline:
                        raise StoreBusyError(
                            f"the profiles database {self.path} stayed locked by another connection "
                            f"for more than {self.timeout:g} s; close other notebooks or processes "
                            f"that use it, or open the store with a longer timeout") from None
                    time.sleep(delay)
                    delay = min(2 * delay, 0.1)
                except sqlite3.DatabaseError as error:
                    raise self._file_error(error) from None

    def _file_error(self, error: sqlite3.Error) -> BadFileError:
        return BadFileError(f"{self.path} is not a usable musiclab profiles database "
                            f"(SQLite: {error}); it was left untouched: move it away or pass another path")

    def _prepare(self) -> None:
        """Check the file is ours (or empty), switch on WAL, apply pending migrations."""

        def inspect(conn):
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
            return version, tables

        version, tables = self._run(inspect, write=False)
        if version > schema_version():
            raise BadFileError(f"{self.path} has schema version {version}, newer than this musiclab's "
                               f"{schema_version()}; upgrade musiclab to open it")
        if (version == 0 and tables) or (version > 0 and not {"schema_history", "profiles"} <= tables):
            raise BadFileError(f"{self.path} is an SQLite database of something else (tables: "
                               f"{', '.join(sorted(tables))}); it was left untouched: pass another path")
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        if self._run(lambda c: c.execute("PRAGMA journal_mode").fetchone()[0], write=False) != "wal":
            self._pragma_with_retry(lambda: self._conn.execute("PRAGMA journal_mode = WAL").fetchone())
        if version < schema_version():
            self._run(self._migrate, write=True)

    def _pragma_with_retry(self, step: Callable[[], Any]) -> Any:
        """Run one pragma outside a transaction, retrying while the file is locked."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return step()
            except sqlite3.OperationalError as error:
                if not _is_busy(error):
                    raise self._file_error(error) from None
                if time.monotonic() > deadline:
                    raise StoreBusyError(f"cannot switch {self.path} to WAL mode: it stayed locked by "
                                         f"another connection for more than {self.timeout:g} s") from None
                time.sleep(0.05)
            except sqlite3.DatabaseError as error:
                raise self._file_error(error) from None

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        current = conn.execute("PRAGMA user_version").fetchone()[0]  # re-read under the write lock
        for version in range(current, schema_version()):
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_history (version, applied) VALUES (?, ?)", (version + 1, _now()))
            conn.execute(f"PRAGMA user_version = {version + 1:d}")

    def _profile_id(self, conn: sqlite3.Connection, profile: Profile) -> int:
        """The id of ``profile`` after checking this store holds it under the same name."""
        if not isinstance(profile, Profile):
            raise BadParameterError(f"profile must be a Profile (from sign_up or sign_in), "
                                    f"got {type(profile).__name__}")
        row = conn.execute("SELECT name_key FROM profiles WHERE id = ?", (profile.id,)).fetchone()
        if row is None or row[0] != _clean_name(profile.name)[1]:
            raise UnknownProfileError(f"profile {profile.name!r} (id {profile.id}) is not in {self.path}; "
                                      "sign up or sign in with this store")
        return profile.id

    def _profile_from_row(self, row) -> Profile:
        profile_id, name, created, preferences = row
        try:
            prefs = Preferences.from_dict(json.loads(preferences))
        except (ValueError, TypeError, MusiclabError) as error:
            raise BadFileError(f"{self.path}: the stored preferences of profile {name!r} are "
                               f"unreadable ({error})") from None
        return Profile(id=profile_id, name=name, created=_utc(created), preferences=prefs)

    # ----------------------------------------------------------------- sign up / sign in

    def sign_up(self, name: str, password: str, preferences: Preferences | Mapping | None = None) -> Profile:
        """Make a new profile; raises NameTakenError when the name (ignoring case) exists."""
        clean, key = _clean_name(name)
        _check_password(password)
        prefs = preferences if isinstance(preferences, Preferences) else Preferences.from_dict(preferences or {})
        salt = secrets.token_bytes(self.hashing.salt_bytes)
        digest = self.hashing.derive(password, salt)  # before the transaction: hashing is slow
        created = _now()

        def insert(conn):
            try:
                cursor = conn.execute(
                    "INSERT INTO profiles (name, name_key, created, preferences) VALUES (?, ?, ?, ?)",
                    (clean, key, created, json.dumps(prefs.to_dict(), sort_keys=True)))
            except sqlite3.IntegrityError:
                raise NameTakenError(f"name {clean!r} is taken; choose another") from None
            conn.execute("INSERT INTO credentials (profile_id, algorithm, params, salt, hash, updated) "
                         "VALUES (?, 'scrypt', ?, ?, ?, ?)",
                         (cursor.lastrowid, self.hashing.stored(), salt, digest, created))
            return cursor.lastrowid

        profile_id = self._run(insert, write=True)
        return Profile(id=profile_id, name=clean, created=_utc(created), preferences=prefs)

    def sign_in(self, name: str, password: str) -> Profile:
        """The profile of ``name`` if ``password`` matches, else SignInError (same for both causes).

        A hash made with weaker parameters than the store's is replaced by a new one.
        """
        try:
            _, key = _clean_name(name)
            _check_password(password)
        except BadParameterError:
            raise SignInError(_SIGN_IN_MESSAGE) from None

        def find(conn):
            return conn.execute(
                "SELECT p.id, p.name, p.created, p.preferences, c.algorithm, c.params, c.salt, c.hash "
                "FROM profiles p JOIN credentials c ON c.profile_id = p.id WHERE p.name_key = ?",
                (key,)).fetchone()

        row = self._run(find, write=False)
        if row is None:  # spend the same time as a real check, so timing does not tell names apart
            self.hashing.derive(password, secrets.token_bytes(self.hashing.salt_bytes))
            raise SignInError(_SIGN_IN_MESSAGE)
        algorithm, params_text, salt, stored = row[4:]
        params = self._stored_params(row[1], algorithm, params_text, stored)
        if not hmac.compare_digest(params.derive(password, salt), stored):
            raise SignInError(_SIGN_IN_MESSAGE)
        if params.stored() != self.hashing.stored() or len(stored) != self.hashing.dklen:
            self._rehash(row[0], password)
        return self._profile_from_row(row[:4])

    def _stored_params(self, name: str, algorithm: str, params_text: str, stored: bytes) -> ScryptParams:
        try:
            if algorithm != "scrypt":
                raise ValueError(f"unknown algorithm {algorithm!r}")
            values = json.loads(params_text)
            return ScryptParams(n=values["n"], r=values["r"], p=values["p"], dklen=len(stored))
        except (ValueError, TypeError, KeyError, MusiclabError) as error:
            raise BadFileError(f"{self.path}: the stored password hash of {name!r} is unreadable "
                               f"({error})") from None

    def _rehash(self, profile_id: int, password: str) -> None:
        salt = secrets.token_bytes(self.hashing.salt_bytes)
        digest = self.hashing.derive(password, salt)
        self._run(lambda conn: conn.execute(
            "UPDATE credentials SET algorithm = 'scrypt', params = ?, salt = ?, hash = ?, updated = ? "
            "WHERE profile_id = ?", (self.hashing.stored(), salt, digest, _now(), profile_id)), write=True)

    # ----------------------------------------------------------------- preferences

    def update_preferences(self, profile: Profile, **changes) -> Profile:
        """Change some preferences (e.g. ``tempo=60``); returns the updated Profile."""
        def update(conn):
            self._profile_id(conn, profile)
            row = conn.execute("SELECT id, name, created, preferences FROM profiles WHERE id = ?",
                               (profile.id,)).fetchone()
            current = self._profile_from_row(row)
            merged = Preferences.from_dict({**current.preferences.to_dict(), **changes})
            conn.execute("UPDATE profiles SET preferences = ? WHERE id = ?",
                         (json.dumps(merged.to_dict(), sort_keys=True), profile.id))
            return dataclasses.replace(current, preferences=merged)

        return self._run(update, write=True)

    # ----------------------------------------------------------------- pieces

    def add_piece(self, profile: Profile, events: Any = None, settings: Any = None, *,
                  reference: str | None = None) -> int:
        """Store a piece played to ``profile``; returns its id (for ``add_feedback``).

        ``events``: the encoded piece (array or tensor, time on the last axis, e.g. melody
        events [T] or a drum grid [32]); ``reference``: where it lives instead (or as well);
        ``settings``: dict or dataclass config of what generated it (JSON data).
        """
        if events is None and reference is None:
            raise BadParameterError("a piece needs events or a reference (or both)")
        if reference is not None and (not isinstance(reference, str) or not reference.strip()):
            raise BadParameterError(f"reference must be a non-empty string, got {reference!r}")
        blob, steps = _events_blob(events) if events is not None else (None, None)
        text = _settings_json(settings)

        def insert(conn):
            self._profile_id(conn, profile)
            return conn.execute(
                "INSERT INTO pieces (profile_id, created, events, steps, reference, settings) "
                "VALUES (?, ?, ?, ?, ?, ?)", (profile.id, _now(), blob, steps, reference, text)).lastrowid

        return self._run(insert, write=True)

    def _piece_row(self, conn: sqlite3.Connection, profile: Profile, piece_id: int):
        if isinstance(piece_id, bool) or not isinstance(piece_id, (int, np.integer)):
            raise BadParameterError(f"piece_id must be an int from add_piece, got {piece_id!r}")
        row = conn.execute("SELECT id, profile_id, created, events, steps, reference, settings FROM pieces "
                           "WHERE id = ? AND profile_id = ?", (int(piece_id), profile.id)).fetchone()
        if row is None:
            raise UnknownPieceError(f"piece {piece_id} does not exist for profile {profile.name!r}; "
                                    "add it with add_piece first")
        return row

    def _piece_from_row(self, row) -> Piece:
        piece_id, profile_id, created, blob, _, reference, settings = row
        try:
            events = None if blob is None else np.load(io.BytesIO(blob), allow_pickle=False)
            settings = json.loads(settings)
        except (ValueError, OSError) as error:
            raise BadFileError(f"{self.path}: piece {piece_id} is unreadable ({error})") from None
        return Piece(id=piece_id, profile_id=profile_id, created=_utc(created), events=events,
                     reference=reference, settings=settings)

    def piece(self, profile: Profile, piece_id: int) -> Piece:
        """The stored piece ``piece_id`` of ``profile`` (UnknownPieceError if it has none such)."""
        def read(conn):
            self._profile_id(conn, profile)
            return self._piece_row(conn, profile, piece_id)

        return self._piece_from_row(self._run(read, write=False))

    def pieces(self, profile: Profile) -> list[Piece]:
        """Every piece stored for ``profile``, oldest first."""
        def read(conn):
            self._profile_id(conn, profile)
            return conn.execute("SELECT id, profile_id, created, events, steps, reference, settings "
                                "FROM pieces WHERE profile_id = ? ORDER BY id", (profile.id,)).fetchall()

        return [self._piece_from_row(row) for row in self._run(read, write=False)]

    # ----------------------------------------------------------------- feedback

    def add_feedback(self, profile: Profile, piece_id: int, position: float, value: float,
                     kind: str = "more_less", *, unit: str = "step",
                     at: datetime | float | None = None) -> FeedbackEvent:
        """Record one reaction to ``piece_id`` at ``position`` (in ``unit``s: 'step' or 'seconds').

        ``value`` must lie in ``FEEDBACK_KINDS[kind]``; ``at`` (when the listener reacted: an
        aware datetime or Unix seconds) defaults to now. A step position
        must fall inside the stored events. Returns the stored event.
        """
        check_choice("feedback kind", kind, FEEDBACK_KINDS)
        check_choice("unit", unit, POSITION_UNITS)
        for label, number in (("position", position), ("value", value)):
            if isinstance(number, bool) or not isinstance(number, (int, float, np.integer, np.floating)):
                raise BadParameterError(f"{label} must be a number, got {number!r}")
        low, high = FEEDBACK_KINDS[kind]
        check_range(f"value of {kind!r} feedback", float(value), low, high)
        check_range("position", float(position), 0.0, math.inf, high_open=True)
        stamp = _timestamp(at)

        def insert(conn):
            self._profile_id(conn, profile)
            steps = self._piece_row(conn, profile, piece_id)[4]
            if unit == "step" and steps is not None and position >= steps:
                raise BadParameterError(f"position {position} is past the end of piece {piece_id} "
                                        f"({steps} steps); valid: 0 <= position < {steps}")
            return conn.execute(
                "INSERT INTO feedback (profile_id, piece_id, time, position, unit, value, kind) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (profile.id, int(piece_id), stamp, float(position), unit, float(value), kind)).lastrowid

        event_id = self._run(insert, write=True)
        return FeedbackEvent(id=event_id, profile_id=profile.id, piece_id=int(piece_id), time=_utc(stamp),
                             position=float(position), unit=unit, value=float(value), kind=kind)

    def feedback(self, profile: Profile, piece_id: int | None = None) -> list[FeedbackEvent]:
        """The feedback history of ``profile`` (of one piece when ``piece_id`` is given), in the
        order it was recorded."""
        def read(conn):
            self._profile_id(conn, profile)
            query = ("SELECT id, profile_id, piece_id, time, position, unit, value, kind FROM feedback "
                     "WHERE profile_id = ?")
            args: tuple = (profile.id,)
            if piece_id is not None:
                self._piece_row(conn, profile, piece_id)
                query += " AND piece_id = ?"
                args += (int(piece_id),)
            return conn.execute(query + " ORDER BY id", args).fetchall()

        return [FeedbackEvent(id=r[0], profile_id=r[1], piece_id=r[2], time=_utc(r[3]), position=r[4],
                              unit=r[5], value=r[6], kind=r[7]) for r in self._run(read, write=False)]

    # ----------------------------------------------------------------- model state

    def save_model_state(self, profile: Profile, state_dict: Mapping[str, Any]) -> int:
        """Store ``profile``'s personalised model weights (replacing older ones); returns the new
        version number (1 for the first save, then 2, 3, ...)."""
        blob = _state_blob(state_dict)

        def upsert(conn):
            self._profile_id(conn, profile)
            row = conn.execute("SELECT version FROM model_states WHERE profile_id = ?", (profile.id,)).fetchone()
            version = 1 if row is None else row[0] + 1
            conn.execute("INSERT OR REPLACE INTO model_states (profile_id, version, saved, state) "
                         "VALUES (?, ?, ?, ?)", (profile.id, version, _now(), blob))
            return version

        return self._run(upsert, write=True)

    def load_model_state(self, profile: Profile) -> dict | None:
        """The last saved state_dict of ``profile`` (CPU tensors), or None when none was saved."""
        def read(conn):
            self._profile_id(conn, profile)
            return conn.execute("SELECT state FROM model_states WHERE profile_id = ?", (profile.id,)).fetchone()

        row = self._run(read, write=False)
        if row is None:
            return None
        try:
            return torch.load(io.BytesIO(row[0]), weights_only=True, map_location="cpu")
        except Exception as error:  # torch raises many kinds on damaged bytes
            raise BadFileError(f"{self.path}: the saved model state of {profile.name!r} is unreadable "
                               f"({type(error).__name__}: {error})") from None

    def model_version(self, profile: Profile) -> int:
        """How many times ``profile``'s model state was saved (0: never)."""
        def read(conn):
            self._profile_id(conn, profile)
            return conn.execute("SELECT version FROM model_states WHERE profile_id = ?", (profile.id,)).fetchone()

        row = self._run(read, write=False)
        return 0 if row is None else row[0]
