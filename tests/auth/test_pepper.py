"""The pepper: fingerprints, rotation lookup, and the file made once beside a SQLite database."""

from __future__ import annotations

import random
import stat
from pathlib import Path

import pytest

from auth.config import load_peppers, load_settings
from auth.pepper import Pepper, Peppers, pepper_file_for, read_or_create_pepper


def test_a_short_pepper_is_refused_without_showing_it() -> None:
    with pytest.raises(ValueError) as info:
        Pepper.from_text("short-secret-value")
    assert "short-secret-value" not in str(info.value)


def test_the_fingerprint_names_a_pepper_without_revealing_it() -> None:
    pepper = Pepper.from_text("a" * 40)
    assert len(pepper.fingerprint) == 8 and pepper.fingerprint not in "a" * 40
    assert "a" * 40 not in repr(pepper)
    peppers = Peppers(current=Pepper.from_text("b" * 40), previous=(pepper,))
    assert peppers.by_fingerprint(pepper.fingerprint) is pepper
    assert peppers.by_fingerprint("00000000") is None


def test_the_pepper_file_sits_beside_a_sqlite_file_only() -> None:
    assert pepper_file_for("sqlite:////data/auth.sqlite3") == Path("/data/auth.sqlite3.pepper")
    assert pepper_file_for("sqlite://") is None
    assert pepper_file_for("postgresql://u@127.0.0.1/db") is None


def test_the_pepper_file_is_created_once_private_and_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "auth.sqlite3.pepper"
    first = read_or_create_pepper(path, rng=random.Random(1))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_or_create_pepper(path, rng=random.Random(2)) == first
    assert len(first) == 64
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_configured_peppers_win_and_previous_ones_are_kept(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'auth.sqlite3'}"
    environ = {
        "DATABASE_URL": url,
        "AUTH_PEPPER": "c" * 40,
        "AUTH_PREVIOUS_PEPPERS": f"{'p' * 40}, {'q' * 40}",
    }
    peppers = load_peppers(load_settings(environ), rng=random.Random(1))
    assert peppers.current == Pepper.from_text("c" * 40)
    assert peppers.previous == (Pepper.from_text("p" * 40), Pepper.from_text("q" * 40))
    assert not (tmp_path / "auth.sqlite3.pepper").exists()
    from_file = {"DATABASE_URL": url, "AUTH_PEPPER_FILE": str(tmp_path / "pepper")}
    assert load_peppers(load_settings(from_file), rng=random.Random(1)).current.fingerprint


def test_settings_never_show_a_pepper() -> None:
    settings = load_settings({"AUTH_PEPPER": "s" * 40, "AUTH_PREVIOUS_PEPPERS": "t" * 40})
    assert "s" * 40 not in repr(settings) and "t" * 40 not in repr(settings)
