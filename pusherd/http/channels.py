"""``GET /apps/{id}/channels``, ``…/{name}`` and ``…/{name}/users`` (reference §9.4–§9.6)."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from pusherd.http.context import SignedRequest, json_response, parse_info
from pusherd.protocol.channels import ChannelKind, ChannelType, classify_channel
from pusherd.protocol.errors import ApiError

__all__ = ["channel_info", "channel_users", "list_channels"]


def _channel_type(request: SignedRequest) -> tuple[str, ChannelType]:
    name = request.path_params["channel_name"]
    channel_type = classify_channel(name, request.app.max_channel_name_length)
    if channel_type is None:
        raise ApiError(400, f"Invalid channel name '{name[:200]}'")
    return name, channel_type


async def list_channels(request: SignedRequest) -> Response:
    app = request.app
    prefix = request.params.get("filter_by_prefix", "")
    info = parse_info(request.params.get("info"), ("user_count", "subscription_count"))
    if "user_count" in info and not prefix.startswith("presence-"):
        raise ApiError(400, "info=user_count requires filter_by_prefix=presence-")
    if "subscription_count" in info and not app.subscription_count_enabled:
        raise ApiError(400, "subscription_count is not enabled for this app")
    stats = await request.context.adapter.channels(app.app_id, prefix)
    channels: dict[str, dict[str, int]] = {}
    for name, channel in stats.items():
        if name.startswith("#"):
            # Server-to-user channels are an implementation detail, never listed (§9.4).
            continue
        attributes: dict[str, int] = {}
        if "user_count" in info and channel.user_count is not None:
            attributes["user_count"] = channel.user_count
        if "subscription_count" in info:
            attributes["subscription_count"] = channel.subscription_count
        channels[name] = attributes
    return json_response({"channels": channels})


async def channel_info(request: SignedRequest) -> Response:
    app = request.app
    name, channel_type = _channel_type(request)
    kind = channel_type.kind
    info = parse_info(request.params.get("info"), ("user_count", "subscription_count", "cache"))
    if "user_count" in info and kind is not ChannelKind.PRESENCE:
        raise ApiError(400, "info=user_count is only available for presence channels")
    if "subscription_count" in info and not app.subscription_count_enabled:
        raise ApiError(400, "subscription_count is not enabled for this app")
    if "cache" in info and not channel_type.is_cache:
        raise ApiError(400, "info=cache is only available for cache channels")
    adapter = request.context.adapter
    stats = await adapter.channel_stats(app.app_id, name)
    body: dict[str, object] = {"occupied": stats.subscription_count > 0}
    if "user_count" in info:
        body["user_count"] = stats.user_count or 0
    if "subscription_count" in info:
        body["subscription_count"] = stats.subscription_count
    if "cache" in info:
        cached = await adapter.cached_event(app.app_id, name)
        if cached is None:
            body["cache"] = None
        else:
            # The cached frame's data string and its remaining lifetime in seconds (§11).
            ttl_s = max(0, int(cached.expires_at - request.context.clock.time()))
            body["cache"] = {"data": orjson.loads(cached.frame).get("data"), "ttl": ttl_s}
    return json_response(body)


async def channel_users(request: SignedRequest) -> Response:
    name, channel_type = _channel_type(request)
    if channel_type.kind is not ChannelKind.PRESENCE:
        raise ApiError(400, "Users can only be listed for presence channels")
    members = await request.context.adapter.members(request.app.app_id, name)
    return json_response({"users": [{"id": user_id} for user_id in members]})
