"""Listener profiles: sign up/in, password storage, preferences, pieces, feedback, model state,
bad input, corrupt and locked files, concurrent writers, schema migrations."""
from __future__ import annotations

import hashlib
import multiprocessing
import sqlite3
import statistics
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
import torch

from musiclab.errors import BadFileError, BadParameterError, MusiclabError, UnknownNameError
from musiclab.therapy import passwords
from musiclab.therapy import store as database
from musiclab.therapy.passwords import HASH_PRESETS, ScryptParams
from musiclab.therapy.profiles import (NameTakenError, ProfileStore, SignInError, UnknownPieceError,
                                       UnknownProfileError)
from musiclab.therapy.records import FEEDBACK_KINDS, Preferences, Profile
from musiclab.therapy.store import PROFILES_ENV, StoreBusyError, default_profiles_path, schema_version

#: Cheap scrypt parameters so tests do not spend a second per hash (never use these for real).
FAST = ScryptParams(n=2**8)
MELODY = np.array([14, 1, 1, 0, 16, 1, 18, 1, 1, 1, 0, 1, 21, 1, 1, 0], dtype=np.int64)  # 16 steps


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "profiles.sqlite3"


@pytest.fixture
def store(db):
    with ProfileStore(db, hashing=FAST) as opened:
        yield opened


@pytest.fixture
def ada(store) -> Profile:
    return store.sign_up("Ada", "s3cret-tune")


def all_bytes(db: Path) -> bytes:
    """The database file and its WAL/shared-memory companions, concatenated."""
    return b"".join(p.read_bytes() for p in sorted(db.parent.glob(db.name + "*")))


# ------------------------------------------------------------------ where the file lives


def test_the_path_argument_beats_the_environment_which_beats_the_user_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv(PROFILES_ENV, raising=False)
    from platformdirs import user_data_dir

    assert default_profiles_path() == Path(user_data_dir("musiclab")) / "profiles.sqlite3"
    monkeypatch.setenv(PROFILES_ENV, str(tmp_path / "env" / "listeners.db"))
    assert default_profiles_path() == tmp_path / "env" / "listeners.db"
    with ProfileStore(hashing=FAST) as from_env:
        from_env.sign_up("Ada", "pw")
    assert (tmp_path / "env" / "listeners.db").is_file()  # folder created on the way
    with ProfileStore(tmp_path / "arg.db", hashing=FAST) as from_arg:
        assert from_arg.path == tmp_path / "arg.db"
        with pytest.raises(SignInError):
            from_arg.sign_in("Ada", "pw")


def test_a_folder_as_path_is_refused_with_its_name(tmp_path):
    with pytest.raises(BadFileError, match=str(tmp_path)):
        ProfileStore(tmp_path, hashing=FAST)


# ------------------------------------------------------------------ sign up and sign in


def test_sign_in_after_reopening_returns_the_profile_and_its_preferences(db):
    with ProfileStore(db, hashing=FAST) as store:
        made = store.sign_up("  Ada  ", "s3cret-tune", {"tempo": 60, "register": "low"})
    assert made.name == "Ada" and made.preferences == Preferences(tempo=60.0, register="low")
    with ProfileStore(db, hashing=FAST) as store:
        again = store.sign_in("ada", "s3cret-tune")  # names ignore case and surrounding space
    assert again == made
    assert again.created.tzinfo is timezone.utc
    assert abs(again.created - datetime.now(timezone.utc)) < timedelta(minutes=1)


def test_unknown_name_and_wrong_password_raise_the_same_sign_in_error(store, ada):
    with pytest.raises(SignInError) as wrong_password:
        store.sign_in("Ada", "s3cret-tunE")
    with pytest.raises(SignInError) as unknown_name:
        store.sign_in("Grace", "s3cret-tune")
    with pytest.raises(SignInError) as empty_password:
        store.sign_in("Ada", "")
    assert str(wrong_password.value) == str(unknown_name.value) == str(empty_password.value) \
        == "unknown name or wrong password"


def test_a_taken_name_is_refused_whatever_its_case(store, ada):
    with pytest.raises(NameTakenError, match="'ADA' is taken"):
        store.sign_up("ADA", "other")
    assert store.sign_in("Ada", "s3cret-tune") == ada  # the first owner keeps it


@pytest.mark.parametrize("name, complaint", [
    ("", "empty"), ("   \t ", "empty"), ("x" * 65, "at most 64"), ("Ada\nLovelace", "printable"),
    ("Ada\x00", "printable"), ("\x1b[31mred", "printable"), (42, "string"), (None, "string"),
])
def test_bad_names_are_refused_naming_the_rule(store, name, complaint):
    with pytest.raises(BadParameterError, match=f"name.*{complaint}|{complaint}.*name"):
        store.sign_up(name, "pw")


def test_names_of_64_characters_and_any_script_are_accepted(store):
    for name in ("y" * 64, "Dvořák", "坂本 龍一", "O'Neill"):
        assert store.sign_up(name, "pw").name == name
        assert store.sign_in(name, "pw").name == name


@pytest.mark.parametrize("password, complaint", [("", "empty"), (None, "string"), (b"bytes", "string"),
                                                 ("p" * 1025, "at most 1024")])
def test_bad_passwords_are_refused_at_sign_up(store, password, complaint):
    with pytest.raises(BadParameterError, match=f"password.*{complaint}"):
        store.sign_up("Ada", password)
    with pytest.raises(SignInError):
        store.sign_in("Ada", "anything")  # nothing was stored


def test_a_name_with_sql_metacharacters_is_stored_literally(store, db):
    bobby = "Robert'); DROP TABLE profiles;--"
    profile = store.sign_up(bobby, "pw")
    assert profile.name == bobby and store.sign_in(bobby, "pw") == profile
    assert store.sign_up("Alice", "pw").id != profile.id  # the profiles table is still there
    tables = {r[0] for r in sqlite3.connect(db).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"profiles", "credentials", "feedback"} <= tables


# ------------------------------------------------------------------ password storage


def test_the_database_never_holds_the_plain_password(db):
    password = "Moonlight-Sonata-op27"
    with ProfileStore(db, hashing=FAST) as store:
        profile = store.sign_up("Listener Zed", password)
        store.sign_in("Listener Zed", password)
        store.update_preferences(profile, tempo=66)
        data_while_open = all_bytes(db)
    data_after = all_bytes(db)
    for data in (data_while_open, data_after):
        assert b"Listener Zed" in data  # the search does find what is stored ...
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            assert password.encode(encoding) not in data  # ... and the password is not
        assert password.lower().encode() not in data.lower()


def test_each_hash_records_algorithm_parameters_and_its_own_salt(store, db):
    store.sign_up("Ada", "same password")
    store.sign_up("Grace", "same password")
    rows = sqlite3.connect(db).execute("SELECT algorithm, params, salt, hash FROM credentials").fetchall()
    assert [(r[0], r[1]) for r in rows] == [("scrypt", '{"n": 256, "p": 1, "r": 8}')] * 2
    (_, _, salt_a, hash_a), (_, _, salt_b, hash_b) = rows
    assert len(salt_a) == 16 and salt_a != salt_b and hash_a != hash_b and len(hash_a) == 32
    assert hash_a == FAST.derive("same password", salt_a)  # scrypt over the stored salt


def test_sign_in_upgrades_a_hash_made_with_weaker_parameters(db):
    with ProfileStore(db, hashing=FAST) as weak:
        weak.sign_up("Ada", "pw")
    stronger = ScryptParams(n=2**10, r=8, p=2)
    with ProfileStore(db, hashing=stronger) as store:
        store.sign_in("Ada", "pw")
        params, salt, digest = sqlite3.connect(db).execute(
            "SELECT params, salt, hash FROM credentials").fetchone()
        assert params == '{"n": 1024, "p": 2, "r": 8}' and digest == stronger.derive("pw", salt)
        assert store.sign_in("Ada", "pw").name == "Ada"
        with pytest.raises(SignInError):
            store.sign_in("Ada", "PW")


def test_sign_in_never_rehashes_down_to_weaker_parameters(db):
    stronger = ScryptParams(n=2**10)
    with ProfileStore(db, hashing=stronger) as strong:
        strong.sign_up("Ada", "pw")
    before = sqlite3.connect(db).execute("SELECT params, salt, hash FROM credentials").fetchone()
    with ProfileStore(db, hashing=FAST) as weak:
        assert weak.sign_in("Ada", "pw").name == "Ada"
    assert sqlite3.connect(db).execute("SELECT params, salt, hash FROM credentials").fetchone() == before


def test_sign_in_keeps_a_hash_whose_parameters_are_mixed_against_the_stores(db):
    """Neither weaker nor stronger (more memory, less parallelism): re-hashing would lower n, so keep it."""
    with ProfileStore(db, hashing=ScryptParams(n=2**10, p=1)) as store:
        store.sign_up("Ada", "pw")
    before = sqlite3.connect(db).execute("SELECT params, salt, hash FROM credentials").fetchone()
    with ProfileStore(db, hashing=ScryptParams(n=2**8, p=2)) as store:
        assert store.sign_in("Ada", "pw").name == "Ada"
    assert sqlite3.connect(db).execute("SELECT params, salt, hash FROM credentials").fetchone() == before


def _scrypt_calls(monkeypatch) -> list:
    """Record the (n, r, p, dklen) of every scrypt hash the passwords module computes."""
    calls, scrypt = [], hashlib.scrypt

    def counting(secret, **kwargs):
        calls.append((kwargs["n"], kwargs["r"], kwargs["p"], kwargs["dklen"]))
        return scrypt(secret, **kwargs)
    monkeypatch.setattr(passwords.hashlib, "scrypt", counting)
    return calls


def test_an_unknown_name_costs_the_same_hash_as_a_wrong_password(db, monkeypatch):
    stronger = ScryptParams(n=2**10)
    with ProfileStore(db, hashing=stronger) as strong:
        strong.sign_up("Ada", "pw")
    calls = _scrypt_calls(monkeypatch)
    with ProfileStore(db, hashing=FAST) as weak:  # opened with weaker hashing than Ada's hash
        with pytest.raises(SignInError) as wrong:
            weak.sign_in("Ada", "wrong")
        with pytest.raises(SignInError) as unknown:
            weak.sign_in("Nobody", "wrong")
    assert calls == [(2**10, 8, 1, 32)] * 2
    assert str(wrong.value) == str(unknown.value)


def test_a_wrong_password_for_a_weaker_hash_waits_out_the_strongest_hash(monkeypatch):
    """Unit: a mismatch at cheaper parameters sleeps until the strongest hash's time; a match never."""
    strong, slept = ScryptParams(n=2**12), []
    monkeypatch.setitem(passwords.HASH_SECONDS, strong, 0.8)
    monkeypatch.setattr(passwords.time, "sleep", slept.append)
    salt, digest = passwords.new_hash(FAST, "pw")
    assert not passwords.matches_in_time_of(strong, FAST, "wrong", salt, digest)
    assert len(slept) == 1 and 0.8 - passwords.HASH_SECONDS[FAST] - 0.05 < slept[0] < 0.8
    assert passwords.matches_in_time_of(strong, FAST, "pw", salt, digest) and len(slept) == 1


def test_with_mixed_parameters_a_wrong_password_takes_as_long_as_an_unknown_name(db):
    """Issue 14, failure 4: Ada's hash is 64x costlier than Bob's and the store's; a wrong password
    for Bob, for Ada and an unknown name must all take about one hash at Ada's parameters."""
    strong = ScryptParams(n=2**14)
    with ProfileStore(db, hashing=strong) as store:
        store.sign_up("Ada", "pw")
    with ProfileStore(db, hashing=FAST) as store:
        store.sign_up("Bob", "pw")

        def median_seconds(name: str) -> float:
            times = []
            for _ in range(5):
                start = time.perf_counter()
                with pytest.raises(SignInError):
                    store.sign_in(name, "wrong")
                times.append(time.perf_counter() - start)
            return statistics.median(times)

        unknown, bob, ada = median_seconds("Nobody"), median_seconds("Bob"), median_seconds("Ada")
    assert 0.5 < bob / unknown < 2 and 0.5 < ada / unknown < 2, (unknown, bob, ada)


def test_a_tampered_hash_record_is_a_bad_file_not_a_crash(store, ada, db):
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE credentials SET params = ?", ('{"n": 1000, "r": 8, "p": 1}',))  # not 2^k
    with pytest.raises(BadFileError, match="password hash of 'Ada'"):
        store.sign_in("Ada", "s3cret-tune")


def test_the_default_hashing_is_the_owasp_scrypt_minimum():
    assert ProfileStore.__init__.__kwdefaults__["hashing"] == "owasp"
    assert HASH_PRESETS["owasp"] == ScryptParams(n=2**17, r=8, p=1)
    assert HASH_PRESETS["interactive"] == ScryptParams(n=2**14, r=8, p=1)
    with pytest.raises(UnknownNameError, match="owasp"):
        ProfileStore(hashing="md5")
    with pytest.raises(BadParameterError, match="power of two"):
        ScryptParams(n=1000)


# ------------------------------------------------------------------ preferences


def test_preferences_update_validates_and_persists(store, ada):
    updated = store.update_preferences(ada, tempo=60, instrument=np.int64(73), register="high")
    assert updated.preferences == Preferences(instrument=73, tempo=60.0, register="high")
    assert updated.preferences.transpose == 12
    assert store.sign_in("Ada", "s3cret-tune").preferences == updated.preferences
    with pytest.raises(UnknownNameError, match="preference 'volume'.*'tempo'"):
        store.update_preferences(ada, volume=3)
    with pytest.raises(BadParameterError, match=r"tempo must be in \[30.0, 200.0\]"):
        store.update_preferences(ada, tempo=500)
    with pytest.raises(BadParameterError, match="c must be in"):
        store.update_preferences(ada, c=0)
    with pytest.raises(UnknownNameError, match="register"):
        store.update_preferences(ada, register="falsetto")
    with pytest.raises(BadParameterError, match="instrument"):
        store.update_preferences(ada, instrument=1.5)
    assert store.sign_in("Ada", "s3cret-tune").preferences == updated.preferences  # nothing half-written


# ------------------------------------------------------------------ pieces and feedback


def test_pieces_round_trip_events_reference_and_settings(store, ada):
    grid = np.array([0, 9, 6, 9] * 8, dtype=np.int64)
    bars = np.zeros((24, 64), dtype=np.bool_)
    bars[3, ::8] = True
    settings = {"model": "note_rnn", "c": 0.5, "seed": np.int64(7), "rules": ["key", "leaps"]}
    melody_id = store.add_piece(ada, torch.from_numpy(MELODY)[None], settings)
    grid_id = store.add_piece(ada, grid, reference="mma:Rock1")
    bars_id = store.add_piece(ada, bars)
    ref_id = store.add_piece(ada, reference="essenFolksong/kinder0.abc#12", settings={"c": 1.0})
    melody = store.piece(ada, melody_id)
    assert melody.events.shape == (1, 16) and np.array_equal(melody.events[0], MELODY)
    assert melody.settings == {"model": "note_rnn", "c": 0.5, "seed": 7, "rules": ["key", "leaps"]}
    assert store.piece(ada, grid_id).reference == "mma:Rock1"
    assert store.piece(ada, bars_id).events.dtype == np.bool_
    assert np.array_equal(store.piece(ada, bars_id).events, bars)
    only_ref = store.piece(ada, ref_id)
    assert only_ref.events is None and only_ref.settings == {"c": 1.0}
    assert [p.id for p in store.pieces(ada)] == [melody_id, grid_id, bars_id, ref_id]


@pytest.mark.parametrize("events, settings, reference, complaint", [
    (None, None, None, "events or a reference"),
    (np.array([], dtype=np.int64), None, None, "at least one step"),
    (np.array(["C4", "D4"]), None, None, "numeric"),
    (np.array([0.5, np.nan]), None, None, "finite"),
    (MELODY, {"callback": print}, None, "JSON"),
    (MELODY, {"c": float("inf")}, None, "JSON"),
    (MELODY, ["not", "a", "dict"], None, "dict"),
    (None, None, "   ", "reference"),
])
def test_bad_pieces_are_refused(store, ada, events, settings, reference, complaint):
    with pytest.raises(BadParameterError, match=complaint):
        store.add_piece(ada, events, settings, reference=reference)
    assert store.pieces(ada) == []


def test_feedback_round_trips_in_recording_order_and_filters_by_piece(store, ada):
    first = store.add_piece(ada, MELODY, {"seed": 1})
    second = store.add_piece(ada, MELODY, {"seed": 2})
    when = datetime(2026, 11, 22, 9, 30, tzinfo=timezone.utc)
    made = [store.add_feedback(ada, first, 3, +1),
            store.add_feedback(ada, second, 2.5, 0.8, "calm", unit="seconds", at=when),
            store.add_feedback(ada, first, 15, -1, at=when.timestamp() + 60)]
    assert store.feedback(ada) == made
    assert store.feedback(ada, first) == [made[0], made[2]]
    calm = store.feedback(ada, second)[0]
    assert (calm.kind, calm.value, calm.position, calm.unit, calm.time) == ("calm", 0.8, 2.5, "seconds", when)
    assert made[2].time == when + timedelta(seconds=60)
    assert abs(made[0].time - datetime.now(timezone.utc)) < timedelta(minutes=1)


def test_feedback_on_a_piece_that_does_not_exist_is_rejected(store, ada):
    grace = store.sign_up("Grace", "pw")
    graces_piece = store.add_piece(grace, MELODY)
    with pytest.raises(UnknownPieceError, match="piece 99 does not exist"):
        store.add_feedback(ada, 99, 0, 1)
    with pytest.raises(UnknownPieceError):  # another listener's piece is not yours to rate
        store.add_feedback(ada, graces_piece, 0, 1)
    with pytest.raises(UnknownPieceError):
        store.feedback(ada, piece_id=99)
    assert store.feedback(ada) == [] and store.feedback(grace) == []


@pytest.mark.parametrize("kwargs, error, complaint", [
    (dict(position=0, value=2.0), BadParameterError, r"more_less.*\[-1.0, 1.0\]"),
    (dict(position=0, value=-0.1, kind="calm"), BadParameterError, r"calm.*\[0.0, 1.0\]"),
    (dict(position=0, value=float("nan")), BadParameterError, "value"),
    (dict(position=0, value=1, kind="thumbs"), UnknownNameError, "'more_less', 'calm'"),
    (dict(position=-1, value=1), BadParameterError, "position"),
    (dict(position=16, value=1), BadParameterError, r"past the end of piece \d+ \(16 steps\)"),
    (dict(position=0, value=1, unit="bars"), UnknownNameError, "'step', 'seconds'"),
    (dict(position=0, value="+1"), BadParameterError, "value must be a number"),
    (dict(position=0, value=1, at=datetime(2026, 1, 1)), BadParameterError, "timezone"),
])
def test_bad_feedback_is_refused_and_not_stored(store, ada, kwargs, error, complaint):
    piece = store.add_piece(ada, MELODY)
    with pytest.raises(error, match=complaint):
        store.add_feedback(ada, piece, **kwargs)
    assert store.feedback(ada) == []
    assert set(FEEDBACK_KINDS) == {"more_less", "calm"}


def test_a_profile_this_store_does_not_hold_is_rejected(store, ada, tmp_path):
    with ProfileStore(tmp_path / "other.db", hashing=FAST) as other:
        stranger = other.sign_up("Grace", "pw")  # id 1 there, like Ada's id here
    assert stranger.id == ada.id
    made_up = Profile(id=42, name="Nobody", created=ada.created, preferences=Preferences())
    for profile in (stranger, made_up):
        with pytest.raises(UnknownProfileError, match="is not in"):
            store.add_piece(profile, MELODY)
        with pytest.raises(UnknownProfileError):
            store.feedback(profile)
        with pytest.raises(UnknownProfileError):
            store.update_preferences(profile, tempo=60)
        with pytest.raises(UnknownProfileError):
            store.save_model_state(profile, {"w": torch.zeros(1)})
    with pytest.raises(BadParameterError, match="Profile"):
        store.feedback("Ada")


# ------------------------------------------------------------------ personalised model state


def test_model_state_is_restored_after_signing_in_again_and_versions_count_up(db):
    torch.manual_seed(0)
    model = torch.nn.LSTM(4, 8)
    with ProfileStore(db, hashing=FAST) as store:
        ada = store.sign_up("Ada", "pw")
        assert store.load_model_state(ada) is None and store.model_version(ada) == 0
        assert store.save_model_state(ada, {k: v * 0 for k, v in model.state_dict().items()}) == 1
        assert store.save_model_state(ada, model.state_dict()) == 2
    with ProfileStore(db, hashing=FAST) as store:
        ada = store.sign_in("Ada", "pw")
        restored = store.load_model_state(ada)
        assert store.model_version(ada) == 2
    fresh = torch.nn.LSTM(4, 8)
    fresh.load_state_dict(restored)
    x = torch.randn(5, 1, 4)
    assert torch.equal(fresh(x)[0], model(x)[0])


def test_model_state_must_be_plain_tensors(store, ada):
    with pytest.raises(BadParameterError, match="mapping of str"):
        store.save_model_state(ada, [torch.zeros(2)])
    with pytest.raises(BadParameterError, match="weights_only"):
        store.save_model_state(ada, {"w": torch.zeros(2), "hook": threading.Lock()})
    assert store.model_version(ada) == 0


def test_a_damaged_model_state_is_a_bad_file_naming_the_database(store, ada, db):
    store.save_model_state(ada, {"w": torch.ones(3)})
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE model_states SET state = ?", (b"PK\x03\x04 not a torch file",))
    with pytest.raises(BadFileError, match=f"{db}.*model state of 'Ada'"):
        store.load_model_state(ada)


# ------------------------------------------------------------------ the file: WAL, schema, corruption


def test_the_file_is_in_wal_mode_with_the_current_schema_version(store, ada, db):
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("PRAGMA user_version").fetchone()[0] == schema_version() == len(database.MIGRATIONS)
    assert [r[0] for r in raw.execute("SELECT version FROM schema_history")] == [1]
    raw.close()
    ProfileStore(db, hashing=FAST).close()  # reopening applies nothing twice
    assert [r[0] for r in sqlite3.connect(db).execute("SELECT version FROM schema_history")] == [1]


def test_opening_an_older_file_applies_the_new_migrations_and_keeps_the_data(db, monkeypatch):
    with ProfileStore(db, hashing=FAST) as store:
        ada = store.sign_up("Ada", "pw")
        piece = store.add_piece(ada, MELODY)
        store.add_feedback(ada, piece, 1, 1)
    version_2 = ("ALTER TABLE feedback ADD COLUMN note TEXT NOT NULL DEFAULT ''",)
    monkeypatch.setattr(database, "MIGRATIONS", database.MIGRATIONS + (version_2,))
    with ProfileStore(db, hashing=FAST) as store:
        ada = store.sign_in("Ada", "pw")
        assert [(f.position, f.value) for f in store.feedback(ada)] == [(1.0, 1.0)]
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 2
    assert [r[0] for r in raw.execute("SELECT version FROM schema_history ORDER BY version")] == [1, 2]
    assert raw.execute("SELECT note FROM feedback").fetchall() == [("",)]


def test_a_file_from_a_newer_musiclab_is_refused_untouched(db):
    ProfileStore(db, hashing=FAST).close()
    with sqlite3.connect(db) as raw:
        raw.execute("PRAGMA user_version = 99")
    before = db.read_bytes()
    with pytest.raises(BadFileError, match="schema version 99, newer"):
        ProfileStore(db, hashing=FAST)
    assert db.read_bytes() == before


@pytest.mark.parametrize("garbage", [bytes(range(256)) * 16, b"hello", b"SQLite format 3\x00" + b"\xff" * 300])
def test_a_corrupt_file_is_a_bad_file_error_naming_it_and_left_untouched(db, garbage):
    db.write_bytes(garbage)
    with pytest.raises(BadFileError, match=f"{db}.*not a usable musiclab profiles database"):
        ProfileStore(db, hashing=FAST)
    assert db.read_bytes() == garbage
    assert sorted(p.name for p in db.parent.iterdir()) == [db.name]


@pytest.mark.parametrize("their_version", [0, 1])
def test_another_programs_sqlite_file_is_refused_untouched(db, their_version):
    with sqlite3.connect(db) as raw:
        raw.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        raw.execute(f"PRAGMA user_version = {their_version}")
    before = db.read_bytes()
    with pytest.raises(BadFileError, match="something else.*invoices"):
        ProfileStore(db, hashing=FAST)
    assert db.read_bytes() == before


def test_a_closed_store_refuses_work_and_the_context_manager_closes(db):
    with ProfileStore(db, hashing=FAST) as store:
        store.sign_up("Ada", "pw")
    assert "closed" in repr(store)
    with pytest.raises(MusiclabError, match="closed"):
        store.sign_in("Ada", "pw")
    store.close()  # closing twice is fine


# ------------------------------------------------------------------ locks and concurrent writers


def test_a_lock_held_past_the_timeout_raises_store_busy_error(store, ada, db):
    piece = store.add_piece(ada, MELODY)
    busy = ProfileStore(db, hashing=FAST, timeout=0.3)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a long write
    try:
        started = time.monotonic()
        with pytest.raises(StoreBusyError, match=f"{db} stayed locked .* more than 0.3 s"):
            busy.add_feedback(ada, piece, 0, 1)
        assert 0.25 < time.monotonic() - started < 5
        assert busy.feedback(ada) == []  # readers are not blocked in WAL mode
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    busy.add_feedback(ada, piece, 0, 1)  # the store still works once the lock is gone
    assert len(store.feedback(ada)) == 1
    busy.close()


def test_a_writer_waits_for_a_short_lock_instead_of_failing(store, ada, db):
    piece = store.add_piece(ada, MELODY)
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        event = store.add_feedback(ada, piece, 4, -1)
    finally:
        release.join()
        holder.close()
    assert store.feedback(ada) == [event]


def test_threads_sharing_one_store_lose_nothing(store, ada):
    piece = store.add_piece(ada, MELODY)
    threads = [threading.Thread(target=lambda v=v: [store.add_feedback(ada, piece, i, v) for i in range(16)])
               for v in (0.5, -0.5, 1.0)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted((f.value, f.position) for f in store.feedback(ada)) == sorted(
        (v, float(i)) for v in (0.5, -0.5, 1.0) for i in range(16))


def _write_feedback(db: str, tag: float, count: int, barrier) -> None:
    """Child process: sign in as Ada and add ``count`` feedback events of value ``tag``."""
    with ProfileStore(db, hashing=FAST, timeout=20) as store:
        ada = store.sign_in("Ada", "pw")
        piece = store.pieces(ada)[0].id
        barrier.wait()
        for i in range(count):
            store.add_feedback(ada, piece, i, tag)
            time.sleep(0.001)  # clicks arrive over time: give the other writer a chance to interleave


def test_two_processes_writing_feedback_at_once_lose_nothing(db):
    count = 150
    with ProfileStore(db, hashing=FAST) as store:
        ada = store.sign_up("Ada", "pw")
        store.add_piece(ada, np.ones(count, dtype=np.int64))
    # fork starts in milliseconds; spawn (elsewhere) re-imports torch in each child
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    barrier = context.Barrier(2)
    workers = [context.Process(target=_write_feedback, args=(str(db), tag, count, barrier))
               for tag in (1.0, -1.0)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [w.exitcode for w in workers] == [0, 0]
    with ProfileStore(db, hashing=FAST) as store:
        rows = store.feedback(store.sign_in("Ada", "pw"))
    assert len(rows) == 2 * count
    assert {(r.position, r.value) for r in rows} == {(float(i), tag) for i in range(count) for tag in (1.0, -1.0)}
    order = [r.value for r in rows]
    switches = sum(a != b for a, b in zip(order, order[1:]))
    assert switches >= 10  # the two writers really did interleave (about 280 switches measured)
