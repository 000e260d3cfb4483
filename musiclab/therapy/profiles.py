"""Listener profiles in SQLite: sign up, sign in, preferences, pieces, feedback, model state.

One SQLite file (default ``platformdirs.user_data_dir('musiclab')/profiles.sqlite3``; the
``path`` argument or the ``MUSICLAB_PROFILES`` environment variable move it) holds, per
listener: a salted scrypt hash of the password (algorithm, parameters, salt and hash are stored
so the parameters can be raised later: a sign-in re-hashes weaker ones with the store's), the
:class:`~musiclab.therapy.records.Preferences` (JSON), the pieces played to them (encoded events or
a reference, and the settings that generated them), every feedback event, and the personalised
model's ``state_dict`` with a version counter. Notebook 07 (therapy session) and
``musiclab.therapy.feedback`` build on this module.

:class:`ProfileStore` says what the tables mean; its neighbours do one job each:
:mod:`~musiclab.therapy.records` (the records it returns and the feedback kinds),
:mod:`~musiclab.therapy.passwords` (scrypt hashing), :mod:`~musiclab.therapy.store` (the file,
schema, migrations and transactions), :mod:`~musiclab.therapy.encoding` (values as column bytes).

Safety: every query is parameterised; the file is opened in WAL mode with a busy timeout and
retries, so several processes can write at once without losing rows; a corrupt or foreign
file is refused (never overwritten); the schema version lives in ``PRAGMA user_version`` and
each applied migration is logged in the ``schema_history`` table. The password keeps
listeners who share a machine apart; it does not encrypt anything: whoever can read the file
can read the preferences and feedback.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import sqlite3
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from musiclab.errors import (BadFileError, BadParameterError, MusiclabError, UnknownNameError,
                             check_choice, check_range)
from musiclab.therapy.encoding import events_blob, events_from_blob, settings_json, state_blob, state_from_blob
from musiclab.therapy.passwords import (DEFAULT_HASHING, ScryptParams, check_password, dummy_check,
                                        matches_in_time_of, new_hash, scrypt_params, stored_params, strongest_params)
from musiclab.therapy.records import FEEDBACK_KINDS, POSITION_UNITS, FeedbackEvent, Piece, Preferences, Profile
from musiclab.therapy.store import Database, now, utc

#: Longest accepted listener name (characters, after stripping surrounding space).
MAX_NAME_LENGTH = 64

_SIGN_IN_MESSAGE = "unknown name or wrong password"


class SignInError(MusiclabError):
    """Sign-in failed: the same error (and message) for an unknown name and a wrong password."""


class NameTakenError(BadParameterError):
    """Sign-up with a name that another profile already has (names ignore case)."""


class UnknownProfileError(UnknownNameError):
    """A profile that this store does not hold (deleted, or from another database)."""


class UnknownPieceError(UnknownNameError):
    """A piece id that this profile does not own."""


# --------------------------------------------------------------------------- checks and rows


def _timestamp(value: datetime | float | None) -> float:
    """Unix seconds from None (now), a number, or a timezone-aware datetime."""
    if value is None:
        return now()
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


def _check_feedback(kind: str, unit: str, position: float, value: float) -> None:
    """BadParameterError unless ``value`` at ``position`` (in ``unit``s) is a valid ``kind`` reaction."""
    check_choice("feedback kind", kind, FEEDBACK_KINDS)
    check_choice("unit", unit, POSITION_UNITS)
    for label, number in (("position", position), ("value", value)):
        if isinstance(number, bool) or not isinstance(number, (int, float, np.integer, np.floating)):
            raise BadParameterError(f"{label} must be a number, got {number!r}")
    low, high = FEEDBACK_KINDS[kind]
    check_range(f"value of {kind!r} feedback", float(value), low, high)
    check_range("position", float(position), 0.0, math.inf, high_open=True)


def _profile_from_row(row, path: Path) -> Profile:
    profile_id, name, created, preferences = row
    try:
        prefs = Preferences.from_dict(json.loads(preferences))
    except (ValueError, TypeError, MusiclabError) as error:
        raise BadFileError(f"{path}: the stored preferences of profile {name!r} are "
                           f"unreadable ({error})") from None
    return Profile(id=profile_id, name=name, created=utc(created), preferences=prefs)


def _piece_from_row(row, path: Path) -> Piece:
    piece_id, profile_id, created, blob, _, reference, settings = row
    try:
        events = None if blob is None else events_from_blob(blob)
        settings = json.loads(settings)
    except (ValueError, OSError) as error:
        raise BadFileError(f"{path}: piece {piece_id} is unreadable ({error})") from None
    return Piece(id=piece_id, profile_id=profile_id, created=utc(created), events=events,
                 reference=reference, settings=settings)


def _feedback_from_row(row) -> FeedbackEvent:
    return FeedbackEvent(id=row[0], profile_id=row[1], piece_id=row[2], time=utc(row[3]), position=row[4],
                         unit=row[5], value=row[6], kind=row[7])


# --------------------------------------------------------------------------- the store


class ProfileStore(Database):
    """Listener profiles in one SQLite file; use as a context manager or call ``close()``.

    ``path``: the database file (default ``default_profiles_path()``); its folder is created.
    ``hashing``: scrypt parameters for new hashes (a ``HASH_PRESETS`` name or ``ScryptParams``).
    ``timeout``: seconds to wait for another writer before ``StoreBusyError``.
    Safe to share between threads; each process opens its own store. Used by notebook 07.

    One class on purpose (about 250 lines): it is the one object a session passes around, and each
    method is one transaction checked against the same signed-in profile; the file plumbing lives
    in :class:`~musiclab.therapy.store.Database`, hashing in :mod:`musiclab.therapy.passwords`.
    """

    def __init__(self, path: str | os.PathLike | None = None, *,
                 hashing: ScryptParams | str = DEFAULT_HASHING, timeout: float = 10.0):
        self.hashing = scrypt_params(hashing)
        super().__init__(path, timeout=timeout)

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

    # ----------------------------------------------------------------- sign up / sign in

    def sign_up(self, name: str, password: str, preferences: Preferences | Mapping | None = None) -> Profile:
        """Make a new profile; raises NameTakenError when the name (ignoring case) exists."""
        clean, key = _clean_name(name)
        check_password(password)
        prefs = preferences if isinstance(preferences, Preferences) else Preferences.from_dict(preferences or {})
        salt, digest = new_hash(self.hashing, password)  # before the transaction: hashing is slow
        created = now()

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
        return Profile(id=profile_id, name=clean, created=utc(created), preferences=prefs)

    def sign_in(self, name: str, password: str) -> Profile:
        """The profile of ``name`` if ``password`` matches, else SignInError (same for both causes).

        A hash made with weaker parameters than the store's is replaced by a new one; a stronger
        one is kept. An unknown name costs one hash at the strongest parameters in use (the
        store's or a stored hash's), and so does a wrong password (a weaker hash's check waits out
        the difference), so timing does not tell names apart.
        """
        try:
            _, key = _clean_name(name)
            check_password(password)
        except BadParameterError:
            raise SignInError(_SIGN_IN_MESSAGE) from None

        def find(conn):
            return conn.execute(
                "SELECT p.id, p.name, p.created, p.preferences, c.algorithm, c.params, c.salt, c.hash "
                "FROM profiles p JOIN credentials c ON c.profile_id = p.id WHERE p.name_key = ?",
                (key,)).fetchone()

        row = self._run(find, write=False)
        if row is None:
            dummy_check(self._strongest_params(), password)
            raise SignInError(_SIGN_IN_MESSAGE)
        params = self._row_params(row)
        if not matches_in_time_of(self._strongest_params(), params, password, row[6], row[7]):
            raise SignInError(_SIGN_IN_MESSAGE)
        if params.weaker_than(self.hashing):
            self._rehash(row[0], password)
        return _profile_from_row(row[:4], self.path)

    def _row_params(self, row) -> ScryptParams:
        """The parameters of a sign-in row's hash; BadFileError naming the profile when unreadable."""
        try:
            return stored_params(*row[4:6], row[7])
        except (ValueError, TypeError, KeyError, MusiclabError) as error:
            raise BadFileError(f"{self.path}: the stored password hash of {row[1]!r} is unreadable "
                               f"({error})") from None

    def _strongest_params(self) -> ScryptParams:
        """The costliest of the store's parameters and those of its stored hashes."""
        records = self._run(lambda conn: conn.execute(
            "SELECT DISTINCT algorithm, params, length(hash) FROM credentials").fetchall(), write=False)
        return strongest_params(self.hashing, records)

    def _rehash(self, profile_id: int, password: str) -> None:
        salt, digest = new_hash(self.hashing, password)
        self._run(lambda conn: conn.execute(
            "UPDATE credentials SET algorithm = 'scrypt', params = ?, salt = ?, hash = ?, updated = ? "
            "WHERE profile_id = ?", (self.hashing.stored(), salt, digest, now(), profile_id)), write=True)

    # ----------------------------------------------------------------- preferences

    def update_preferences(self, profile: Profile, **changes) -> Profile:
        """Change some preferences (e.g. ``tempo=60``); returns the updated Profile."""
        def update(conn):
            self._profile_id(conn, profile)
            row = conn.execute("SELECT id, name, created, preferences FROM profiles WHERE id = ?",
                               (profile.id,)).fetchone()
            current = _profile_from_row(row, self.path)
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
        blob, steps = events_blob(events) if events is not None else (None, None)
        text = settings_json(settings)

        def insert(conn):
            self._profile_id(conn, profile)
            return conn.execute(
                "INSERT INTO pieces (profile_id, created, events, steps, reference, settings) "
                "VALUES (?, ?, ?, ?, ?, ?)", (profile.id, now(), blob, steps, reference, text)).lastrowid

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

    def piece(self, profile: Profile, piece_id: int) -> Piece:
        """The stored piece ``piece_id`` of ``profile`` (UnknownPieceError if it has none such)."""
        def read(conn):
            self._profile_id(conn, profile)
            return self._piece_row(conn, profile, piece_id)

        return _piece_from_row(self._run(read, write=False), self.path)

    def pieces(self, profile: Profile) -> list[Piece]:
        """Every piece stored for ``profile``, oldest first."""
        def read(conn):
            self._profile_id(conn, profile)
            return conn.execute("SELECT id, profile_id, created, events, steps, reference, settings "
                                "FROM pieces WHERE profile_id = ? ORDER BY id", (profile.id,)).fetchall()

        return [_piece_from_row(row, self.path) for row in self._run(read, write=False)]

    # ----------------------------------------------------------------- feedback

    def add_feedback(self, profile: Profile, piece_id: int, position: float, value: float,
                     kind: str = "more_less", *, unit: str = "step",
                     at: datetime | float | None = None) -> FeedbackEvent:
        """Record one reaction to ``piece_id`` at ``position`` (in ``unit``s: 'step' or 'seconds').

        ``value`` must lie in ``FEEDBACK_KINDS[kind]``; ``at`` (when the listener reacted: an
        aware datetime or Unix seconds) defaults to now. A step position
        must fall inside the stored events. Returns the stored event.
        """
        _check_feedback(kind, unit, position, value)
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
        return FeedbackEvent(id=event_id, profile_id=profile.id, piece_id=int(piece_id), time=utc(stamp),
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

        return [_feedback_from_row(row) for row in self._run(read, write=False)]

    # ----------------------------------------------------------------- model state

    def save_model_state(self, profile: Profile, state_dict: Mapping[str, Any]) -> int:
        """Store ``profile``'s personalised model weights (replacing older ones); returns the new
        version number (1 for the first save, then 2, 3, ...)."""
        blob = state_blob(state_dict)

        def upsert(conn):
            self._profile_id(conn, profile)
            row = conn.execute("SELECT version FROM model_states WHERE profile_id = ?", (profile.id,)).fetchone()
            version = 1 if row is None else row[0] + 1
            conn.execute("INSERT OR REPLACE INTO model_states (profile_id, version, saved, state) "
                         "VALUES (?, ?, ?, ?)", (profile.id, version, now(), blob))
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
            return state_from_blob(row[0])
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
