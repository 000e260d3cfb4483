"""The profiles database file: where it lives, its schema and migrations, and safe transactions.

:class:`Database` opens one SQLite file (default ``platformdirs.user_data_dir('musiclab')/profiles.sqlite3``;
the ``path`` argument or the ``MUSICLAB_PROFILES`` environment variable move it), refuses a corrupt
or foreign file (never overwriting it), switches it to WAL mode and applies pending
:data:`MIGRATIONS`; the schema version lives in ``PRAGMA user_version`` and each applied migration
is logged in the ``schema_history`` table. Every call then runs in one transaction with a busy
timeout and retries, so several processes can write at once without losing rows.
:class:`~musiclab.therapy.profiles.ProfileStore` builds on it with what the tables mean.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, TypeVar

from musiclab.errors import BadFileError, MusiclabError, check_range

#: Environment variable that moves the profiles database (a file path).
PROFILES_ENV = "MUSICLAB_PROFILES"
#: File name of the database inside the user data dir.
DEFAULT_FILE_NAME = "profiles.sqlite3"


class StoreBusyError(MusiclabError):
    """The database stayed locked by another connection for longer than the store's timeout."""


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


def now() -> float:
    """The current time in Unix seconds (what the tables store)."""
    return time.time()


def utc(seconds: float) -> datetime:
    """Unix seconds as a timezone-aware UTC datetime."""
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def _is_busy(error: sqlite3.OperationalError) -> bool:
    name = getattr(error, "sqlite_errorname", "")
    text = str(error).lower()
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text or "busy" in text


_Self = TypeVar("_Self", bound="Database")


class Database:
    """One profiles database file, open until ``close()`` (or the end of a ``with`` block).

    ``path``: the database file (default ``default_profiles_path()``); its folder is created.
    ``timeout``: seconds to wait for another writer before ``StoreBusyError``. Subclasses run their
    queries with :meth:`_run`; :class:`~musiclab.therapy.profiles.ProfileStore` is the one in use.
    """

    def __init__(self, path: str | os.PathLike | None = None, *, timeout: float = 10.0):
        self.path = Path(path).expanduser() if path is not None else default_profiles_path()
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

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"{type(self).__name__}({str(self.path)!r}, {state})"

    def __enter__(self: _Self) -> _Self:
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
            conn.execute("INSERT INTO schema_history (version, applied) VALUES (?, ?)", (version + 1, now()))
            conn.execute(f"PRAGMA user_version = {version + 1:d}")

