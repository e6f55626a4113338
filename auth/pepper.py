"""The server-side pepper: the HMAC key that turns an API key into its stored hash.

Why a pepper and not a salt: an API key carries 256 random bits, so no speed of hashing makes it
guessable and a per-key salt adds nothing; what a plain SHA-256 would still allow is checking a
key found elsewhere against a stolen database. Keying the hash with a secret that lives only in
the configuration (never in the database) makes a stolen database useless on its own.

Rotation: configure the new pepper as current and keep the old ones as previous. Every stored
hash names the pepper that made it by a short fingerprint (never the pepper itself), so a lookup
picks the right one directly, and a key verified under a previous pepper is re-hashed under the
current one. Once no hash names an old pepper, drop it from the configuration.

Where the pepper comes from (first that applies):

1. ``AUTH_PEPPER``: the value itself (at least 32 characters);
2. ``AUTH_PEPPER_FILE``: a file holding it, created with 64 random hex characters, mode 0600,
   if it does not exist yet;
3. the SQLite default: ``<database file>.pepper`` beside the database, created the same way on
   first use, so ``python -m pusherd`` and ``python -m auth keys create`` work out of the box
   and agree with each other. (A copy of the database alone is then still useless; a copy of the
   whole directory is not, which is why production should set one of the two above.)

Any other database without a configured pepper is a configuration error. The pepper is held as a
:class:`~pusherd.protocol.secret.Secret` and is never logged, printed or stored beside hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import random
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from pusherd.protocol.secret import Secret

__all__ = ["MIN_PEPPER_CHARS", "Pepper", "Peppers", "pepper_file_for", "read_or_create_pepper"]

MIN_PEPPER_CHARS = 32
_PEPPER_BYTES = 32
_FINGERPRINT_LABEL = b"pusherd-auth pepper fingerprint"


@dataclass(frozen=True, slots=True)
class Pepper:
    """One pepper and its public fingerprint (8 hex characters of an HMAC under it)."""

    key: Secret
    fingerprint: str

    @classmethod
    def from_text(cls, text: str) -> Pepper:
        """Raises ValueError for a pepper too short to be a secret (the value is not shown)."""
        value = text.strip()
        if len(value) < MIN_PEPPER_CHARS:
            raise ValueError(f"a pepper must have at least {MIN_PEPPER_CHARS} characters")
        digest = hmac.new(value.encode(), _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()
        return cls(key=Secret(value), fingerprint=digest[:8])

    def mac(self, message: bytes) -> bytes:
        return hmac.new(self.key.reveal().encode(), message, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class Peppers:
    """The current pepper (hashes new keys) and the previous ones (still verify old hashes)."""

    current: Pepper
    previous: tuple[Pepper, ...] = ()

    @classmethod
    def from_texts(cls, current: str, previous: tuple[str, ...] = ()) -> Peppers:
        return cls(
            current=Pepper.from_text(current),
            previous=tuple(Pepper.from_text(text) for text in previous),
        )

    def by_fingerprint(self, fingerprint: str) -> Pepper | None:
        for pepper in (self.current, *self.previous):
            if hmac.compare_digest(pepper.fingerprint, fingerprint):
                return pepper
        return None


def pepper_file_for(database_url: str) -> Path | None:
    """``<database file>.pepper`` for a SQLite file database; ``None`` for anything else."""
    url = sa.make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database + ".pepper")


def read_or_create_pepper(path: Path, *, rng: random.Random) -> str:
    """The pepper in ``path``; created (0600, exclusively, so two starters agree) if missing.

    Args:
        rng: ``random.SystemRandom()`` outside tests.
    """
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    # Written whole to a private temporary file, then linked into place: link() fails if the
    # file appeared meanwhile, so a concurrent starter never reads a half-written pepper.
    temporary = path.with_name(f".{path.name}.{rng.randbytes(8).hex()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(rng.randbytes(_PEPPER_BYTES).hex() + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)
    return path.read_text(encoding="ascii").strip()
