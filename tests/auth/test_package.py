"""The package's public surface and its import boundary (style: auth imports only
pusherd.protocol from pusherd), checked on the source so a stray import cannot slip in."""

from __future__ import annotations

import ast
from pathlib import Path

import auth

AUTH_DIR = Path(auth.__file__).parent


def test_public_surface_is_pinned() -> None:
    assert sorted(auth.__all__) == [
        "ApiKey",
        "AppCredentials",
        "AuthError",
        "AuthOptions",
        "AuthService",
        "AuthSettings",
        "Clock",
        "GrantRegistry",
        "KeyStore",
        "KeyVerifier",
        "MemoryGrants",
        "MemoryKeyStore",
        "Peppers",
        "Policy",
        "RedisGrants",
        "Secret",
        "SocketGrant",
        "SqlKeyStore",
        "SystemClock",
        "build_auth_app",
        "create_engine_for_url",
        "default_policy",
        "load_peppers",
        "load_policy",
        "load_settings",
        "open_sql_key_store",
        "read_policy",
    ]
    for name in auth.__all__:
        assert hasattr(auth, name), name


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
    return names


def test_auth_imports_only_the_protocol_package_of_pusherd() -> None:
    sources = sorted(AUTH_DIR.rglob("*.py"))
    assert len(sources) > 10
    for path in sources:
        for module in _imported_modules(path):
            if module == "pusherd" or module.startswith("pusherd."):
                assert module.startswith("pusherd.protocol"), f"{path.name} imports {module}"


def test_every_module_starts_with_future_annotations_and_stays_small() -> None:
    for path in sorted(AUTH_DIR.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if not text.strip():
            continue
        assert "from __future__ import annotations" in text, path.name
        assert len(text.splitlines()) < 300, path.name
