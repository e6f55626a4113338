from __future__ import annotations

from pathlib import Path

import pytest

from poller.config import load_catalogue


def test_default_catalogue_has_the_schema_examples() -> None:
    cat = load_catalogue()
    assert cat.slug("football", 39) == "premier-league"
    assert cat.slug("basketball", 12) == "nba"
    assert cat.slug("football", 424242) == "424242"


@pytest.mark.parametrize(
    "text",
    ["[]", '{"football": []}', '{"football": {"x": "a"}}', '{"football": {"1": "Bad Slug"}}'],
)
def test_bad_catalogue_files_are_rejected(tmp_path: Path, text: str) -> None:
    path = tmp_path / "c.json"
    path.write_text(text)
    with pytest.raises(ValueError):
        load_catalogue(path)
