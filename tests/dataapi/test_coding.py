"""Content codings (issue 11 item 4): ``br`` beside gzip, each with its own strong ETag, chosen
by ``Accept-Encoding`` weights; any of a data version's tags gets a 304."""

from __future__ import annotations

import brotli
import httpx
import pytest
from sqlalchemy.engine import Engine

from dataapi.freshness import choose_coding
from poller.cache import MemoryCache
from poller.clock import FakeClock
from tests.dataapi.helpers import LEAGUE, Harness, record_day
from tests.poller.conftest import SAMPLE_DAY

DAY_PATH = f"/sports/football/leagues/{LEAGUE}/matches?date=2026-10-03"


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("", None),
        ("identity", None),
        ("gzip", "gzip"),
        ("br", "br"),
        ("gzip, deflate, br, zstd", "br"),  # a browser's: br at equal weight
        ("gzip;q=1.0, br;q=0.5", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("*", "br"),
        ("*;q=0.5, gzip", "gzip"),
        ("br;q=0, gzip;q=0", None),
        ("br;q=nonsense", None),
    ],
)
def test_the_coding_follows_the_weights(accept: str, coding: str | None) -> None:
    assert choose_coding(accept) == coding


async def test_br_has_its_own_tag_and_any_tag_of_the_data_is_a_304(
    sim_url: str, http: httpx.AsyncClient, fake_clock: FakeClock, engine: Engine
) -> None:
    cache = MemoryCache(clock=fake_clock)
    await record_day(sim_url, http, fake_clock, engine, SAMPLE_DAY + 12 * 3600 + 10 * 60, cache)
    api = Harness.build(engine=engine, cache=cache, clock=fake_clock)
    async with api.client(api.keys["pro"]) as client:
        plain = await client.get(DAY_PATH, headers={"Accept-Encoding": "identity"})
        compressed = await client.get(DAY_PATH, headers={"Accept-Encoding": "gzip, br"})
        zipped = await client.get(DAY_PATH, headers={"Accept-Encoding": "gzip"})
        raw = await client.send(
            client.build_request("GET", DAY_PATH, headers={"Accept-Encoding": "br"}), stream=True
        )
        wire = b"".join([chunk async for chunk in raw.aiter_raw()])
        await raw.aclose()
        tags = [plain.headers["etag"], compressed.headers["etag"], zipped.headers["etag"]]
        assert compressed.headers["content-encoding"] == "br"
        assert compressed.json() == plain.json()  # httpx decoded the br body
        assert brotli.decompress(wire) == plain.content
        assert compressed.num_bytes_downloaded < zipped.num_bytes_downloaded < len(plain.content)
        assert tags[1] == tags[0][:-1] + '-br"' and tags[2] == tags[0][:-1] + '-gz"'
        assert len(set(tags)) == 3
        for tag in tags:
            again = await client.get(
                DAY_PATH, headers={"Accept-Encoding": "gzip, br", "If-None-Match": tag}
            )
            assert again.status_code == 304 and again.headers["etag"] == tags[1]
