"""End-to-end encrypted channels: SDK auth with ``shared_secret``, SDK-encrypted triggers
decrypted by pusher-js and Echo, ciphertext relayed untouched (checklist §18 G66, I81, K98;
reference §5.3)."""

from __future__ import annotations

import base64
import hashlib
import json

import nacl.secret
import pytest

from tests.e2e.node_driver import ENCRYPTION_MASTER_KEY_BASE64, NodeDriver
from tests.e2e.python_sdk import PythonSdk
from tests.servers import RunningServer

pytestmark = pytest.mark.node

CHANNEL = "private-encrypted-x"
MESSAGE = {"message": "hello"}


def shared_secret(channel: str) -> bytes:
    """base64-decoded ``SHA-256(channel_name ‖ master_key)`` (§5.3)."""
    return hashlib.sha256(
        channel.encode() + base64.b64decode(ENCRYPTION_MASTER_KEY_BASE64)
    ).digest()


def decrypt(channel: str, data: str) -> str:
    """Open the ``{"nonce","ciphertext"}`` secretbox the SDKs produce."""
    payload = json.loads(data)
    box = nacl.secret.SecretBox(shared_secret(channel))
    plaintext: bytes = box.decrypt(
        base64.b64decode(payload["ciphertext"]), base64.b64decode(payload["nonce"])
    )
    return plaintext.decode()


@pytest.mark.parametrize("signer", ["node", "python"])
async def test_i81_sdk_encrypted_event_decrypts_in_pusher_js_and_is_relayed_byte_for_byte(
    driver: NodeDriver, pusherd_server: RunningServer, signer: str
) -> None:
    vault = await driver.pusher("vault", pusherd_server, signer=signer)
    await vault.connected()
    await vault.subscribe(CHANNEL)
    [signed] = driver.find(obs="auth_signed", client="vault", channel=CHANNEL)
    assert base64.b64decode(signed["result"]["shared_secret"]) == shared_secret(CHANNEL)
    since = driver.cursor

    result = await driver.sdk_trigger(CHANNEL, "secret", MESSAGE)

    assert result["status"] == 200
    received = await vault.event(CHANNEL, "secret", since=since)
    assert received["data"] == MESSAGE  # decrypted by pusher-js (tweetnacl)
    [posted] = driver.find(since=since, obs="sdk_post", path="/events")
    [frame] = vault.frames_named("secret", since=since)
    assert frame["data"] == posted["body"]["data"]  # the ciphertext string, unchanged
    assert decrypt(CHANNEL, frame["data"]) == json.dumps(MESSAGE, separators=(",", ":"))


async def test_i81_python_sdk_encrypted_trigger_decrypts_in_pusher_js(
    driver: NodeDriver, pusherd_server: RunningServer, python_sdk: PythonSdk
) -> None:
    vault = await driver.pusher("vault", pusherd_server, signer="node")
    await vault.connected()
    await vault.subscribe(CHANNEL)
    since = driver.cursor

    await python_sdk.trigger(CHANNEL, "secret", MESSAGE)

    received = await vault.event(CHANNEL, "secret", since=since)
    assert received["data"] == MESSAGE
    [frame] = vault.frames_named("secret", since=since)
    assert decrypt(CHANNEL, frame["data"]) == json.dumps(MESSAGE)


async def test_i81_encrypted_cache_channel_replays_ciphertext_that_decrypts(
    driver: NodeDriver, pusherd_server: RunningServer
) -> None:
    channel = "private-encrypted-cache-x"
    await driver.sdk_trigger(channel, "secret", MESSAGE)
    [posted] = driver.find(obs="sdk_post", path="/events")
    vault = await driver.pusher("vault", pusherd_server, signer="node")
    await vault.connected()

    await vault.subscribe(channel)

    received = await vault.event(channel, "secret")
    assert received["data"] == MESSAGE
    [frame] = vault.frames_named("secret")
    assert frame["data"] == posted["body"]["data"]


async def test_g66_encrypted_channel_with_another_channel_is_400(driver: NodeDriver) -> None:
    # Both SDKs refuse to build this request, so it goes through the Node SDK's signed post().
    mixed = {"name": "secret", "channels": [CHANNEL, "lobby"], "data": "{}"}
    alone = {"name": "secret", "channels": [CHANNEL], "data": "{}"}

    refused = await driver.sdk_post("/events", mixed)
    accepted = await driver.sdk_post("/events", alone)

    assert refused["status"] == 400
    assert json.loads(refused["body"])  # a JSON error body
    assert accepted["status"] == 200


@pytest.mark.parametrize("broadcaster", ["reverb", "pusher"])
async def test_k98_echo_encrypted_private_receives_a_laravel_style_event_decrypted(
    driver: NodeDriver, pusherd_server: RunningServer, python_sdk: PythonSdk, broadcaster: str
) -> None:
    echo = await driver.echo("echo", pusherd_server, broadcaster=broadcaster, signer="node")
    await echo.connected()
    channel = await echo.on("encryptedPrivate", "vault.1", "listen", "VaultOpened")
    assert channel == "private-encrypted-vault.1"
    await echo.event(channel, "pusher:subscription_succeeded")

    # As Laravel's pusher driver publishes with encryption_master_key_base64: the event's
    # class name, the payload encrypted by the SDK.
    await python_sdk.trigger(channel, "App\\Events\\VaultOpened", {"vault": 1, "open": True})

    call = await echo.call("listen", event="VaultOpened")
    assert call["args"] == [{"vault": 1, "open": True}]
