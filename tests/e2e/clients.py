"""Named pusher-js and Laravel Echo clients living inside a :class:`NodeDriver`.

Each method sends one driver command or reads the driver's observations for that client;
see ``tests/e2e/node/lib/clients.mjs`` for what the Node side records.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.e2e.node_driver import NodeDriver, Obs


def pusher_js_options(host: str, port: int) -> dict[str, Any]:
    """pusher-js 8 options for a plain-ws pusherd on ``host:port`` (reference §1.1, §15)."""
    return {
        "cluster": "mt1",
        "wsHost": host,
        "wsPort": port,
        "forceTLS": False,
        "enabledTransports": ["ws"],
        "disableStats": True,
    }


def echo_options(host: str, port: int, broadcaster: str) -> dict[str, Any]:
    """Laravel Echo 2 options (reference §14.3); ``reverb`` passes ``cluster: ''`` itself, while
    ``pusher`` needs a cluster for pusher-js 8."""
    options: dict[str, Any] = {
        "wsHost": host,
        "wsPort": port,
        "wssPort": port,
        "forceTLS": False,
        "enabledTransports": ["ws"],
        "disableStats": True,
    }
    if broadcaster == "pusher":
        options["cluster"] = "mt1"
    return options


class PusherJsClient:
    """A named pusher-js client inside the driver."""

    def __init__(self, driver: NodeDriver, name: str) -> None:
        self.driver = driver
        self.name = name

    async def connected(self, *, since: int = 0, timeout_units: float = 5.0) -> str:
        """Wait for state ``connected`` (from ``since``) and return its socket id."""
        obs = await self.driver.wait_for(
            since=since,
            timeout_units=timeout_units,
            obs="state",
            client=self.name,
            current="connected",
        )
        socket_id: str = obs["socket_id"]
        return socket_id

    async def state(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.driver.request("state", client=self.name)
        return result

    async def subscribe(
        self,
        channel: str,
        *,
        expect: str = "pusher:subscription_succeeded",
        bind: tuple[str, ...] = (),
    ) -> Obs:
        """Subscribe and wait for the channel event ``expect`` (success or subscription error).

        ``bind``: events to ``channel.bind`` in the same tick as the subscribe (``bound``
        observations), so that a frame answering the subscribe cannot be missed.
        """
        since = self.driver.cursor
        await self.driver.request("subscribe", client=self.name, channel=channel, bind=list(bind))
        return await self.event(channel, expect, since=since)

    async def unsubscribe(self, channel: str) -> None:
        await self.driver.request("unsubscribe", client=self.name, channel=channel)

    async def event(self, channel: str, event: str, *, since: int = 0, **extra: Any) -> Obs:
        """Wait for pusher-js to emit ``event`` on ``channel``."""
        return await self.driver.wait_for(
            since=since,
            obs="channel_event",
            client=self.name,
            channel=channel,
            event=event,
            **extra,
        )

    def events(self, channel: str, event: str, *, since: int = 0) -> list[Obs]:
        return self.driver.find(
            since=since, obs="channel_event", client=self.name, channel=channel, event=event
        )

    def frames_in(self, *, since: int = 0) -> list[dict[str, Any]]:
        """Raw frames this client received (decoded JSON of the wire text)."""
        return [
            json.loads(obs["raw"])
            for obs in self.driver.find(since=since, obs="frame_in", client=self.name)
        ]

    def frames_out(self, *, since: int = 0) -> list[dict[str, Any]]:
        return [
            json.loads(obs["raw"])
            for obs in self.driver.find(since=since, obs="frame_out", client=self.name)
        ]

    async def trigger(self, channel: str, event: str, data: Any, *, repeat: int = 1) -> bool:
        """``channel.trigger(event, data)`` (a client event), ``repeat`` times in one tick."""
        result = await self.driver.request(
            "client_trigger",
            client=self.name,
            channel=channel,
            event=event,
            data=data,
            repeat=repeat,
        )
        return bool(result["sent"])

    async def send_raw(self, frame: dict[str, Any]) -> bool:
        """Write one frame as-is on this WebSocket (to forge what pusher-js never sends)."""
        result = await self.driver.request("send_raw", client=self.name, raw=json.dumps(frame))
        return bool(result["sent"])

    async def members(self, channel: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.driver.request(
            "members", client=self.name, channel=channel
        )
        return result

    async def disconnect(self) -> None:
        await self.driver.request("disconnect", client=self.name)

    # -- user authentication (reference §13) -------------------------------------------------

    async def signin(self) -> None:
        """``pusher.signin()``: the user authenticator runs once the socket is connected."""
        await self.driver.request("signin", client=self.name)

    async def user_bind(self, event: str) -> None:
        """``pusher.user.bind(event, cb)``; each call becomes a ``user_event`` observation."""
        await self.driver.request("user_bind", client=self.name, event=event)

    async def watchlist_bind(self, event: str) -> None:
        """``pusher.user.watchlist.bind(event, cb)``; calls become ``watchlist_event``."""
        await self.driver.request("watchlist_bind", client=self.name, event=event)

    async def user_state(self) -> dict[str, Any]:
        """``pusher.user.user_data`` and the state of its ``#server-to-user-`` channel."""
        result: dict[str, Any] = await self.driver.request("user_state", client=self.name)
        return result

    def frames_named(self, event: str, *, since: int = 0) -> list[dict[str, Any]]:
        """Raw frames received with this ``event`` name."""
        return [frame for frame in self.frames_in(since=since) if frame.get("event") == event]

    async def frame(
        self, event: str, *, since: int = 0, channel: str | None = None, timeout_units: float = 5.0
    ) -> dict[str, Any]:
        """Wait for a raw frame named ``event`` (on ``channel`` if given) and return it decoded."""

        def named(obs: Obs) -> bool:
            frame = json.loads(obs["raw"])
            return bool(
                frame.get("event") == event and (channel is None or frame.get("channel") == channel)
            )

        obs = await self.driver.wait_for(
            named, since=since, timeout_units=timeout_units, obs="frame_in", client=self.name
        )
        decoded: dict[str, Any] = json.loads(obs["raw"])
        return decoded

    # -- channel bindings --------------------------------------------------------------------

    async def bind(self, channel: str, event: str) -> None:
        """``channel.bind(event, cb)``; each call becomes a ``bound`` observation."""
        await self.driver.request("channel_bind", client=self.name, channel=channel, event=event)

    async def channel_state(self, channel: str) -> dict[str, Any]:
        """``{"subscribed", "subscription_count"}`` as pusher-js holds them for ``channel``."""
        result: dict[str, Any] = await self.driver.request(
            "channel_state", client=self.name, channel=channel
        )
        return result


class EchoClient(PusherJsClient):
    """A named Laravel Echo client; its pusher-js instance is observed like any other."""

    async def on(self, kind: str, name: str, method: str, event: str | None = None) -> str:
        """Register an Echo callback (``listen``, ``listenForWhisper``, ``here``, ``joining``,
        ``leaving``, ``error``, ``subscribed``) on ``Echo.channel|private|join(name)``; returns the
        pusher-js channel name."""
        result = await self.driver.request(
            "echo_on", client=self.name, kind=kind, name=name, method=method, event=event
        )
        channel: str = result["channel"]
        return channel

    async def whisper(self, kind: str, name: str, event: str, data: Any) -> None:
        await self.driver.request(
            "echo_whisper", client=self.name, kind=kind, name=name, event=event, data=data
        )

    async def signin(self) -> None:
        """``Echo.connector.signin()`` (Echo 2.5 has no top-level ``signin``)."""
        await self.driver.request("echo_signin", client=self.name)

    async def socket_id(self) -> str | None:
        result = await self.driver.request("echo_socket_id", client=self.name)
        socket_id: str | None = result["socket_id"]
        return socket_id

    def calls(self, method: str, *, event: str | None = None, since: int = 0) -> list[Obs]:
        """Echo callbacks of ``method`` (and ``event``) that ran so far."""
        return self.driver.find(
            since=since, obs="echo", client=self.name, method=method, event=event
        )

    async def call(
        self, method: str, *, event: str | None = None, since: int = 0, timeout_units: float = 5.0
    ) -> Obs:
        return await self.driver.wait_for(
            since=since,
            timeout_units=timeout_units,
            obs="echo",
            client=self.name,
            method=method,
            event=event,
        )
