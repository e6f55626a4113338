"""``/api/v1/docs``: the reference page, built by the scoreboard's npm build from the pinned
swagger-ui-dist bundle, loads only this server's own assets (issue 11 item 8)."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy.engine import Engine

from poller.cache import MemoryCache
from poller.clock import FakeClock
from tests.dataapi.helpers import Harness

pytestmark = pytest.mark.node

CLIENT_DIR = Path(__file__).resolve().parents[2] / "clients" / "js-example"
PAGE = "http://testserver/api/v1/docs"


class _References(HTMLParser):
    """Every URL the page makes the browser load or link to."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "action", "data") and value is not None:
                self.urls.append(value)


@pytest.fixture(scope="module")
def docs_dir() -> Path:
    """The page as ``npm run build`` makes it (built now, so the test sees the current source)."""
    node = shutil.which("node")
    if node is None or not (CLIENT_DIR / "node_modules" / "swagger-ui-dist").is_dir():
        pytest.fail("node and `npm ci --prefix clients/js-example` are needed to build the docs")
    subprocess.run(
        [node, "build.mjs"], cwd=CLIENT_DIR, check=True, capture_output=True, timeout=120
    )
    return CLIENT_DIR / "dist" / "api-docs"


async def test_the_docs_page_loads_only_same_origin_assets(
    engine: Engine, fake_clock: FakeClock, docs_dir: Path
) -> None:
    api = Harness.build(
        engine=engine, cache=MemoryCache(clock=fake_clock), clock=fake_clock, docs_dir=docs_dir
    )
    async with api.client() as client:  # no key: the reference is public, like the document
        page = await client.get(PAGE)
        assert page.status_code == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        parser = _References()
        parser.feed(page.text)
        loaded = [url for url in parser.urls if not url.startswith("data:")]
        assert len(loaded) >= 3  # stylesheet, bundle, start-up script (and the document link)
        for url in loaded:
            absolute = urljoin(PAGE, url)
            assert urlsplit(absolute).netloc == "testserver", url  # same origin, no CDN
            answer = await client.get(absolute)
            assert answer.status_code == 200, (url, answer.status_code)
        init = (await client.get(urljoin(PAGE, "docs/init.js"))).text
        assert re.search(r"url:\s*'openapi\.json'", init) and "validatorUrl: null" in init
        assert not re.search(r"https?://", init)
        document = await client.get(urljoin(PAGE, "openapi.json"))
        assert document.json()["openapi"].startswith("3.1")
        bundle = await client.get(urljoin(PAGE, "docs/swagger-ui-bundle.js"))
        assert bundle.headers["content-type"].startswith("text/javascript")
        assert len(bundle.content) > 100_000 and b"SwaggerUIBundle" in bundle.content
        unlisted = await client.get(urljoin(PAGE, "docs/LICENSE"))  # built, but not an asset
        assert unlisted.status_code == 404
        other = await client.get(urljoin(PAGE, "docs/index.css"))
        assert other.status_code == 404 and other.headers["content-type"].startswith(
            "application/problem+json"
        )


async def test_without_a_build_the_page_says_how_to_build_it(
    engine: Engine, fake_clock: FakeClock, tmp_path: Path
) -> None:
    api = Harness.build(
        engine=engine, cache=MemoryCache(clock=fake_clock), clock=fake_clock, docs_dir=tmp_path
    )
    async with api.client() as client:
        missing = await client.get(PAGE)
    assert missing.status_code == 503
    assert "npm run --prefix clients/js-example build" in missing.json()["detail"]
