"""The on-disk cache: keyed by name + settings + format version, atomic, self-healing."""
from __future__ import annotations

import os
import sys
import types

import pytest

from musiclab.data import cache
from musiclab.data.cache import atomic_write_bytes, cache_path, cached, clear_cache
from musiclab.errors import BadParameterError


class Counter:
    """A build function that counts its calls and returns a fresh value each time."""

    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return {"built": self.calls, "values": list(range(5))}


def test_entries_live_under_musiclab_cache(isolated_cache):
    path = cache_path("melodies-essen", {"subset": "default"})
    assert path.parent == isolated_cache
    assert path.name.startswith("melodies-essen-") and path.suffix == ".pkl"


def test_second_call_reads_the_cache_instead_of_building(isolated_cache):
    build = Counter()
    first = cached("thing", {"a": 1}, build, quiet=True)
    second = cached("thing", {"a": 1}, build, quiet=True)
    assert build.calls == 1
    assert first == second == {"built": 1, "values": [0, 1, 2, 3, 4]}


def test_different_settings_build_separate_entries(isolated_cache):
    build = Counter()
    cached("thing", {"a": 1}, build, quiet=True)
    cached("thing", {"a": 2}, build, quiet=True)
    assert build.calls == 2
    assert cache_path("thing", {"a": 1}) != cache_path("thing", {"a": 2})
    assert len(list(isolated_cache.glob("thing-*.pkl"))) == 2


def test_settings_order_does_not_change_the_key(isolated_cache):
    assert cache_path("thing", {"a": 1, "b": 2}) == cache_path("thing", {"b": 2, "a": 1})


def test_format_version_is_part_of_the_key(isolated_cache, monkeypatch):
    before = cache_path("thing", {"a": 1})
    monkeypatch.setattr(cache, "FORMAT_VERSION", cache.FORMAT_VERSION + 1)
    assert cache_path("thing", {"a": 1}) != before


def test_refresh_rebuilds(isolated_cache):
    build = Counter()
    cached("thing", {}, build, quiet=True)
    assert cached("thing", {}, build, refresh=True, quiet=True)["built"] == 2
    assert cached("thing", {}, build, quiet=True)["built"] == 2


@pytest.mark.parametrize("damage", ["truncate", "flip_byte", "garbage", "empty"])
def test_corrupt_cache_file_is_rebuilt_with_a_warning(isolated_cache, damage):
    build = Counter()
    cached("thing", {}, build, quiet=True)
    path = cache_path("thing", {})
    data = path.read_bytes()
    damaged = {
        "truncate": data[: len(data) // 2],
        "flip_byte": data[:-3] + bytes([data[-3] ^ 0xFF]) + data[-2:],
        "garbage": b"this is not a cache file at all",
        "empty": b"",
    }[damage]
    path.write_bytes(damaged)
    with pytest.warns(UserWarning, match="rebuilding"):
        value = cached("thing", {}, build, quiet=True)
    assert value["built"] == 2 and build.calls == 2
    assert cached("thing", {}, build, quiet=True)["built"] == 2  # the rebuilt file is good


def test_entry_whose_class_no_longer_exists_is_rebuilt(isolated_cache, monkeypatch):
    gone = types.ModuleType("musiclab_gone_module")

    class Old:
        pass

    Old.__module__, Old.__qualname__ = gone.__name__, "Old"
    gone.Old = Old
    monkeypatch.setitem(sys.modules, gone.__name__, gone)
    cache.save_entry(cache_path("thing", {}), Old())
    monkeypatch.delitem(sys.modules, gone.__name__)  # the class disappears (code changed)
    with pytest.warns(UserWarning, match="cannot unpickle"):
        assert cached("thing", {}, Counter(), quiet=True)["built"] == 1


def test_failed_build_leaves_no_file(isolated_cache):
    def broken():
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        cached("thing", {}, broken, quiet=True)
    assert not cache_path("thing", {}).exists()
    assert list(isolated_cache.iterdir()) == []


def test_interrupted_write_keeps_the_old_file_and_no_temp_files(isolated_cache, monkeypatch):
    path = isolated_cache / "result.json"
    atomic_write_bytes(path, b"old")

    def crash(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(path, b"new and longer")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in isolated_cache.iterdir()) == ["result.json"]


def test_build_notice_is_printed_unless_quiet(isolated_cache, capsys):
    cached("thing", {"a": 1}, Counter(), quiet=True)
    assert capsys.readouterr().out == ""
    cached("thing", {"a": 2}, Counter())
    assert "building thing" in capsys.readouterr().out


def test_settings_must_be_json(isolated_cache):
    with pytest.raises(BadParameterError, match="JSON"):
        cached("thing", {"when": object()}, Counter(), quiet=True)


@pytest.mark.parametrize("name", ["", "../escape", "a b", "x/y"])
def test_cache_name_must_be_a_plain_word(isolated_cache, name):
    with pytest.raises(BadParameterError, match="cache name"):
        cache_path(name, {})


def test_clear_cache_removes_only_the_named_entries(isolated_cache):
    cached("alpha", {"a": 1}, Counter(), quiet=True)
    cached("alpha", {"a": 2}, Counter(), quiet=True)
    cached("alpha-beta", {}, Counter(), quiet=True)
    assert clear_cache("alpha") == 2
    assert [p.name.rsplit("-", 1)[0] for p in isolated_cache.glob("*.pkl")] == ["alpha-beta"]
    assert clear_cache() == 1
