"""The channel authorization service: API keys, tiers, channel rules and the auth endpoints.

The small public surface below is what pusherd (or any host) composes; it is pinned by a test.
``auth`` imports only ``pusherd.protocol`` from pusherd, never the server.
"""

from __future__ import annotations

from auth.app import AuthService, build_auth_app
from auth.channel_auth import AppCredentials
from auth.clock import Clock, SystemClock
from auth.config import AuthOptions, AuthSettings, load_peppers, load_settings, read_policy
from auth.errors import AuthError
from auth.grants import GrantRegistry, MemoryGrants, RedisGrants, SocketGrant
from auth.keys import ApiKey
from auth.pepper import Peppers
from auth.policy import Policy, default_policy, load_policy
from auth.sql import SqlKeyStore, create_engine_for_url, open_sql_key_store
from auth.store import KeyStore, MemoryKeyStore
from auth.verifier import KeyVerifier
from pusherd.protocol.secret import Secret

__all__ = [
    "ApiKey",
    "AppCredentials",
    "AuthOptions",
    "AuthService",
    "AuthError",
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
