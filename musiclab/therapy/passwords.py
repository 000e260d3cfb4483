"""Password hashing of listener profiles: salted scrypt with stored, raisable parameters.

Each profile's credentials are the algorithm ('scrypt'), its parameters (:class:`ScryptParams`,
stored as JSON next to the hash), a random salt and the hash. Keeping the parameters lets a store
raise them later: a sign-in checks with the parameters the hash was made with and then re-hashes
a weaker hash (never a stronger one) with the store's current ones
(:meth:`musiclab.therapy.profiles.ProfileStore.sign_in`). The password keeps listeners who share a
machine apart; it encrypts nothing.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

from musiclab.errors import BadParameterError, MusiclabError, check_choice, check_range

#: Longest accepted password (characters).
MAX_PASSWORD_LENGTH = 1024


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

    def weaker_than(self, other: "ScryptParams") -> bool:
        """Whether these parameters differ from ``other`` and none of n, r, p, dklen exceeds it."""
        mine, theirs = (self.n, self.r, self.p, self.dklen), (other.n, other.r, other.p, other.dklen)
        return mine != theirs and all(a <= b for a, b in zip(mine, theirs))

    def cost(self) -> int:
        """Relative time of one hash: ``n * r * p`` (scrypt block mixes)."""
        return self.n * self.r * self.p

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


def scrypt_params(hashing: ScryptParams | str) -> ScryptParams:
    """``hashing`` itself when it is ScryptParams, else the ``HASH_PRESETS`` entry it names."""
    if isinstance(hashing, ScryptParams):
        return hashing
    return HASH_PRESETS[check_choice("hashing", hashing, HASH_PRESETS)]


def check_password(password: Any) -> str:
    """``password`` itself when it is a non-empty string of at most ``MAX_PASSWORD_LENGTH``
    characters, else BadParameterError."""
    if not isinstance(password, str):
        raise BadParameterError(f"password must be a string, got {type(password).__name__}")
    if not password:
        raise BadParameterError("password must not be empty")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadParameterError(f"password must have at most {MAX_PASSWORD_LENGTH} characters")
    return password


def new_hash(params: ScryptParams, password: str) -> tuple[bytes, bytes]:
    """A fresh random salt and the hash of ``password`` with it: (salt, hash)."""
    salt = secrets.token_bytes(params.salt_bytes)
    return salt, params.derive(password, salt)


#: Seconds the latest hash at each parameters took in this process (see :func:`matches_in_time_of`).
HASH_SECONDS: dict[ScryptParams, float] = {}


def matches(params: ScryptParams, password: str, salt: bytes, stored: bytes) -> bool:
    """Whether ``password`` hashes to ``stored`` (compared in constant time)."""
    start = time.perf_counter()
    derived = params.derive(password, salt)
    HASH_SECONDS[params] = time.perf_counter() - start
    return hmac.compare_digest(derived, stored)


def matches_in_time_of(strongest: ScryptParams, params: ScryptParams, password: str, salt: bytes,
                       stored: bytes) -> bool:
    """:func:`matches` at ``params``; a mismatch at other ``params`` than ``strongest`` then waits out
    the rest of the time the latest hash at ``strongest`` took (or, before any, computes one), so
    a wrong password for a name with a weaker hash lasts as long as an unknown name's
    :func:`dummy_check` at ``strongest``: timing tells no name apart, whatever the mix of parameters."""
    start = time.perf_counter()
    if matches(params, password, salt, stored):
        return True
    if params != strongest:
        if strongest in HASH_SECONDS:
            time.sleep(max(0.0, HASH_SECONDS[strongest] - (time.perf_counter() - start)))
        else:
            dummy_check(strongest, password)
    return False


def dummy_check(params: ScryptParams, password: str) -> bool:
    """Spend the time of :func:`matches` at ``params`` for a name that has no hash (always False)."""
    matches(params, password, bytes(params.salt_bytes), bytes(params.dklen))
    return False


def stored_params(algorithm: str, params_text: str, stored: bytes) -> ScryptParams:
    """The parameters a stored hash was made with (ValueError, TypeError, KeyError or a
    MusiclabError when they are unreadable)."""
    if algorithm != "scrypt":
        raise ValueError(f"unknown algorithm {algorithm!r}")
    values = json.loads(params_text)
    return ScryptParams(n=values["n"], r=values["r"], p=values["p"], dklen=len(stored))


def strongest_params(current: ScryptParams, records) -> ScryptParams:
    """The costliest of ``current`` and the readable ``(algorithm, params text, dklen)`` records."""
    found = [current]
    for algorithm, params_text, dklen in records:
        try:
            found.append(stored_params(algorithm, params_text, bytes(dklen)))
        except (ValueError, TypeError, KeyError, MusiclabError):
            continue  # a damaged record: its owner gets BadFileError at their own sign-in
    return max(found, key=ScryptParams.cost)
