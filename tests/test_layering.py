"""The architecture as tests: house rule 1 (sans-I/O core) and the import rules of style.md §2.

Imports are read with :mod:`ast` from the source files, never by importing them, so a module that
would fail to import (or import something heavy) is still checked. ``poller/`` and ``auth/`` are
checked on whatever exists today; an empty or missing folder passes.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: House rule 1: the sans-I/O core may use the standard library and orjson, and nothing that
#: does I/O, awaits, or reads time and randomness itself (those are parameters, house rule 6).
FORBIDDEN_STDLIB_IN_CORE = frozenset(
    {
        "asyncio",
        "concurrent",
        "multiprocessing",
        "os",
        "random",
        "secrets",
        "selectors",
        "socket",
        "ssl",
        "subprocess",
        "threading",
        "time",
    }
)

#: style.md §2: ``protocol ← state ← adapters ← transport / http / webhooks ← app``. A module may
#: import pusherd modules of its own rank or lower. ``clock`` and ``config`` are leaves the
#: adapters and services read; a pusherd module not listed here counts as a service (rank 3).
RANKS = {
    "pusherd.protocol": 0,
    "pusherd.state": 1,
    "pusherd.clock": 1,
    "pusherd.config": 1,
    "pusherd.adapters": 2,
    "pusherd.hooks": 2,
    "pusherd.transport": 3,
    "pusherd.http": 3,
    "pusherd.webhooks": 3,
    "pusherd.publisher": 3,
    "pusherd.app": 4,
    # The composition of the embedded companions (auth, poller) with the app, for __main__.
    "pusherd.embedded": 4,
    # The composition of the data API (dataapi/) with auth, the poller's cache and the store.
    "pusherd.data_api": 4,
    "pusherd.__main__": 5,
}
SERVICE_RANK = 3


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def source_files(folder: str) -> list[Path]:
    base = ROOT / folder
    return sorted(base.rglob("*.py")) if base.is_dir() else []


def imported_modules(path: Path) -> Iterator[str]:
    """Every module an ``import`` statement in ``path`` names, relative imports resolved."""
    source = path.read_text(encoding="utf-8")
    return imports_in(source, module_name(path), is_package=path.name == "__init__.py")


def imports_in(source: str, module: str, *, is_package: bool) -> Iterator[str]:
    tree = ast.parse(source)
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield target
            # ``from pusherd import state`` names a module through its attribute.
            for alias in node.names:
                yield f"{target}.{alias.name}"


def top(module: str) -> str:
    return module.split(".")[0]


def is_within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def rank(module: str) -> int:
    for prefix, value in RANKS.items():
        if is_within(module, prefix):
            return value
    return SERVICE_RANK


def is_pusherd_module(module: str) -> bool:
    """Only real modules: ``from pusherd.x import Name`` also yields ``pusherd.x.Name``."""
    if top(module) != "pusherd":
        return False
    relative = Path(*module.split("."))
    return (ROOT / relative).is_dir() or (ROOT / relative).with_suffix(".py").is_file()


CORE_PATHS = [*source_files("pusherd/protocol"), *source_files("pusherd/state")]
CORE = [pytest.param(path, id=module_name(path)) for path in CORE_PATHS]


def test_the_core_exists() -> None:
    """The parametrized checks below must not pass vacuously."""
    names = {module_name(path) for path in CORE_PATHS}
    assert {
        "pusherd.protocol.session",
        "pusherd.protocol.frames",
        "pusherd.state.presence",
    } <= names


@pytest.mark.parametrize("path", CORE)
def test_core_imports_only_stdlib_orjson_and_the_core(path: Path) -> None:
    """House rule 1: pusherd/protocol and pusherd/state are sans-I/O."""
    own = module_name(path)
    if is_within(own, "pusherd.protocol"):
        allowed = {"pusherd.protocol"}
    else:
        allowed = {"pusherd.protocol", "pusherd.state"}
    for module in imported_modules(path):
        if top(module) == "pusherd":
            if not is_pusherd_module(module):
                continue  # a name imported from a pusherd module, checked as its module
            assert any(is_within(module, package) for package in allowed), (
                f"{own} imports {module}: the core may import only {sorted(allowed)}"
            )
            continue
        if top(module) in ("__future__", "orjson"):
            continue
        assert top(module) in sys.stdlib_module_names, f"{own} imports third-party {module}"
        assert top(module) not in FORBIDDEN_STDLIB_IN_CORE, (
            f"{own} imports {module}: the sans-I/O core takes time, randomness and I/O as "
            "parameters (house rules 1 and 6)"
        )


@pytest.mark.parametrize("path", CORE)
def test_core_has_no_async_code(path: Path) -> None:
    """House rule 1: the core never awaits."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        assert not isinstance(node, ast.AsyncFunctionDef | ast.Await | ast.AsyncFor), (
            f"{module_name(path)} line {getattr(node, 'lineno', '?')} is async"
        )


@pytest.mark.parametrize(
    "path", [pytest.param(path, id=module_name(path)) for path in source_files("pusherd")]
)
def test_pusherd_imports_flow_one_way(path: Path) -> None:
    """style.md §2: protocol ← state ← adapters ← transport / http / webhooks ← app."""
    own = module_name(path)
    for module in imported_modules(path):
        if is_pusherd_module(module) and module != "pusherd":
            assert rank(module) <= rank(own), (
                f"{own} (rank {rank(own)}) imports {module} (rank {rank(module)}): "
                "imports flow from protocol towards app, never back"
            )


@pytest.mark.parametrize(
    "path", [pytest.param(path, id=module_name(path)) for path in source_files("pusherd")]
)
def test_only_the_composition_imports_poller_and_auth(path: Path) -> None:
    """The server knows nothing of its companions; app, embedded and __main__ compose them."""
    own = module_name(path)
    if rank(own) >= RANKS["pusherd.app"]:
        return
    for module in imported_modules(path):
        assert top(module) not in ("poller", "auth"), (
            f"{own} imports {module}: only the composition (app, embedded, __main__) may"
        )


@pytest.mark.parametrize("folder", ["poller", "auth"])
def test_poller_and_auth_import_only_pusherd_protocol(folder: str) -> None:
    """style.md §2: they use the pure protocol code, never the server."""
    for path in source_files(folder):
        for module in imported_modules(path):
            if top(module) == "pusherd" and module != "pusherd":
                assert is_within(module, "pusherd.protocol"), (
                    f"{module_name(path)} imports {module}: only pusherd.protocol is allowed"
                )
            if module == "pusherd":
                pytest.fail(f"{module_name(path)} imports the pusherd package itself")


def test_dataapi_imports_only_pusherd_protocol_and_the_pollers_pure_model() -> None:
    """dataapi/ (the HTTP data API and its SQL store) reaches the auth service, the cache and
    the server only through Protocol seams composed in pusherd.embedded: from pusherd it may
    use only the pure protocol code, never auth, and from the poller only its data model and
    payload shapes (the contract the store records and the API serves)."""
    allowed_poller = {
        "poller.cache",
        "poller.model",
        "poller.payloads",
        "poller.record",
    }
    paths = source_files("dataapi")
    assert paths, "dataapi/ exists"
    for path in paths:
        own = module_name(path)
        for module in imported_modules(path):
            if top(module) == "pusherd" and module != "pusherd":
                assert is_within(module, "pusherd.protocol"), f"{own} imports {module}"
            assert top(module) != "auth", f"{own} imports {module}: use a Protocol seam"
            if top(module) == "poller":
                assert any(is_within(module, m) for m in allowed_poller), (
                    f"{own} imports {module}: only {sorted(allowed_poller)}"
                )


@pytest.mark.parametrize("folder", ["poller", "auth"])
def test_poller_and_auth_never_import_dataapi(folder: str) -> None:
    """The data API builds on them; nothing points back, except their composition roots:
    ``poller/__main__`` opens the match store it records into, and ``auth/__main__`` hands
    ``python -m auth usage`` to the data API's usage report (the numbers live in its store)."""
    for path in source_files(folder):
        if module_name(path) in ("poller.__main__", "auth.__main__"):
            continue
        for module in imported_modules(path):
            assert top(module) != "dataapi", f"{module_name(path)} imports {module}"


SAMPLE = """
import asyncio, os.path
from typing import TYPE_CHECKING
from . import frames
from .errors import ClientError
from ..state.presence import Roster
if TYPE_CHECKING:
    import starlette
def later() -> None:
    import httpx
"""


def test_the_import_reader_sees_every_import_form() -> None:
    """The checks above are only as good as the reader; pin it on a sample."""
    found = set(imports_in(SAMPLE, "pusherd.protocol.sample", is_package=False))
    assert {
        "asyncio",
        "os.path",
        "typing",
        "pusherd.protocol",
        "pusherd.protocol.frames",
        "pusherd.protocol.errors",
        "pusherd.state.presence",
        "starlette",
        "httpx",
    } <= found
    in_package = set(imports_in("from . import x", "pusherd.protocol", is_package=True))
    assert "pusherd.protocol.x" in in_package


def test_rank_and_module_lookup() -> None:
    assert rank("pusherd.protocol.frames") < rank("pusherd.state.presence")
    assert rank("pusherd.state") < rank("pusherd.adapters.local") < rank("pusherd.http.events")
    assert rank("pusherd.transport.websocket") < rank("pusherd.app") < rank("pusherd.__main__")
    assert is_pusherd_module("pusherd.protocol.frames")
    assert is_pusherd_module("pusherd.state")
    assert not is_pusherd_module("pusherd.protocol.frames.encode_event")


# -- the public surface of each protocol module, pinned (house rule 4) ----------------------------

PROTOCOL_ALL = {
    "pusherd.protocol.bus": [
        "BUS_FIELD",
        "BUS_MAX_LENGTH",
        "BusFormatError",
        "BusMessage",
        "bus_stream",
        "decode_bus_message",
        "encode_bus_message",
    ],
    "pusherd.protocol.channels": [
        "ChannelKind",
        "ChannelType",
        "DEFAULT_MAX_CHANNEL_NAME_LENGTH",
        "SERVER_TO_USER_PREFIX",
        "classify_channel",
        "is_valid_channel_name",
    ],
    "pusherd.protocol.errors": [
        "ApiError",
        "ClientError",
        "CloseCode",
        "ConnectionRefused",
        "PusherError",
        "SubscriptionRefused",
    ],
    "pusherd.protocol.frames": [
        "ClientEvent",
        "ClientFrame",
        "PING_FRAME",
        "PONG_FRAME",
        "Ping",
        "Pong",
        "Signin",
        "Subscribe",
        "UnknownEvent",
        "Unsubscribe",
        "cache_miss_frame",
        "connection_established_frame",
        "encode_event",
        "member_added_frame",
        "member_removed_frame",
        "parse_client_frame",
        "presence_data",
        "signin_success_frame",
        "subscription_count_frame",
        "subscription_succeeded_frame",
        "watchlist_events_frame",
    ],
    "pusherd.protocol.limits": ["Limits"],
    "pusherd.protocol.session": [
        "Command",
        "Join",
        "Leave",
        "MAX_WATCHLIST_LENGTH",
        "Member",
        "Relay",
        "Reply",
        "Session",
        "SignIn",
    ],
    "pusherd.protocol.secret": ["Secret"],
    "pusherd.protocol.signatures": [
        "EMPTY_BODY_MD5",
        "body_md5",
        "channel_string_to_sign",
        "encrypted_shared_secret",
        "http_string_to_sign",
        "sign",
        "sign_token",
        "user_string_to_sign",
        "verify_token",
    ],
    "pusherd.protocol.wsframes": [
        "FrameReader",
        "MAX_EMPTY_FRAGMENTS",
        "MAX_FRAGMENTS_PER_MESSAGE",
        "OP_BINARY",
        "OP_CLOSE",
        "OP_CONTINUATION",
        "OP_PING",
        "OP_PONG",
        "OP_TEXT",
        "WebSocketProtocolError",
        "close_frame",
        "control_frame",
        "inflate_message",
        "parse_close_payload",
        "text_frame",
    ],
}


def test_every_protocol_module_is_pinned() -> None:
    modules = {
        module_name(path) for path in source_files("pusherd/protocol") if path.name != "__init__.py"
    }
    assert modules == set(PROTOCOL_ALL)


@pytest.mark.parametrize(("name", "expected"), sorted(PROTOCOL_ALL.items()))
def test_protocol_module_all_is_pinned(name: str, expected: list[str]) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert sorted(exported) == sorted(expected)
    assert len(set(exported)) == len(exported), "duplicate names in __all__"
    for attribute in exported:
        assert hasattr(module, attribute), f"{name}.__all__ names missing {attribute}"


@pytest.mark.parametrize("name", sorted(PROTOCOL_ALL))
def test_public_classes_and_functions_are_exported(name: str) -> None:
    """Anything public defined in a protocol module is either in ``__all__`` or underscored."""
    module = importlib.import_module(name)
    for attribute, value in vars(module).items():
        if attribute.startswith("_") or getattr(value, "__module__", None) != name:
            continue
        if isinstance(value, type) or callable(value):
            assert attribute in module.__all__, f"{name}.{attribute} is public but not exported"
