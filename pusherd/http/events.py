"""``POST /apps/{id}/events`` and ``/batch_events``: publishing through the HTTP API (§9.2, §9.3).

Each event is validated whole before anything is published, so a bad batch item publishes
nothing. A frame is encoded once per channel and handed to the adapter as bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from pusherd.adapters.base import Adapter
from pusherd.config import AppConfig
from pusherd.http.context import SignedRequest, json_response, parse_info
from pusherd.protocol.channels import ChannelKind, classify_channel
from pusherd.protocol.errors import ApiError
from pusherd.protocol.frames import encode_event
from pusherd.publisher import EventPublisher

__all__ = ["TriggerEvent", "batch_events", "trigger_event", "validate_event"]

_SOCKET_ID = re.compile(r"\d+\.\d+")
_INFO_ATTRIBUTES = ("user_count", "subscription_count")


@dataclass(frozen=True, slots=True)
class TriggerEvent:
    name: str
    data: str
    channels: tuple[str, ...]
    socket_id: str | None
    info: tuple[str, ...]


def validate_event(raw: Any, app: AppConfig, *, is_batch_item: bool) -> TriggerEvent:
    """One event of a trigger or a batch, checked against the app's limits.

    Raises:
        ApiError: 400 for a missing or invalid field, 413 for data over the size limit.
    """
    if not isinstance(raw, dict):
        raise ApiError(400, "Each event must be a JSON object")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ApiError(400, "Field 'name' is required and must be a string")
    if len(name) > app.max_event_name_length:
        raise ApiError(400, f"Event name is longer than {app.max_event_name_length} characters")
    if name.startswith(("pusher:", "pusher_internal:")):
        raise ApiError(400, "Event names starting with 'pusher:' are reserved for the server")
    data = raw.get("data")
    if not isinstance(data, str):
        raise ApiError(400, "Field 'data' is required and must be a string")
    data_bytes = len(data.encode())
    if data_bytes > app.max_message_size_bytes:
        raise ApiError(413, f"Event data is larger than {app.max_message_size_bytes} bytes")
    channels = _channels(raw, app, is_batch_item=is_batch_item)
    if data_bytes > min(app.max_data_bytes(name) for name in channels):
        # The cache keeps the event for its TTL, so its own (smaller) bound applies (§11).
        raise ApiError(
            413, f"Cache channel event data is larger than {app.max_cache_event_bytes} bytes"
        )
    socket_id = raw.get("socket_id")
    if socket_id is not None and (
        not isinstance(socket_id, str) or _SOCKET_ID.fullmatch(socket_id) is None
    ):
        raise ApiError(400, "Field 'socket_id' must look like '123.456'")
    info = raw.get("info")
    if info is not None and not isinstance(info, str):
        raise ApiError(400, "Field 'info' must be a comma-separated string")
    return TriggerEvent(name, data, channels, socket_id, parse_info(info, _INFO_ATTRIBUTES))


def _channels(raw: dict[str, Any], app: AppConfig, *, is_batch_item: bool) -> tuple[str, ...]:
    single, many = raw.get("channel"), raw.get("channels")
    if is_batch_item and many is not None:
        raise ApiError(400, "Batch items take one 'channel', not 'channels'")
    if single is not None and many is not None:
        raise ApiError(400, "Give either 'channel' or 'channels', not both")
    if single is not None:
        if not isinstance(single, str):
            raise ApiError(400, "Field 'channel' must be a string")
        names = [single]
    elif many is not None:
        if not isinstance(many, list) or not all(isinstance(name, str) for name in many):
            raise ApiError(400, "Field 'channels' must be an array of strings")
        names = many
    else:
        raise ApiError(400, "Field 'channel' or 'channels' is required")
    unique = tuple(dict.fromkeys(names))
    if not unique:
        raise ApiError(400, "At least one channel is required")
    if len(unique) > app.max_channels_per_trigger:
        raise ApiError(400, f"At most {app.max_channels_per_trigger} channels per event")
    for name in unique:
        channel_type = classify_channel(name, app.max_channel_name_length)
        if channel_type is None:
            raise ApiError(400, f"Invalid channel name '{name[:200]}'")
        if channel_type.kind is ChannelKind.ENCRYPTED and len(unique) > 1:
            raise ApiError(400, "An encrypted channel cannot be triggered with other channels")
    return unique


async def _info_for(
    adapter: Adapter, app: AppConfig, event: TriggerEvent
) -> dict[str, dict[str, int]]:
    """``user_count`` for presence channels, ``subscription_count`` when the app enables it."""
    result: dict[str, dict[str, int]] = {}
    for channel in event.channels:
        stats = await adapter.channel_stats(app.app_id, channel)
        attributes: dict[str, int] = {}
        if "user_count" in event.info and stats.user_count is not None:
            attributes["user_count"] = stats.user_count
        if "subscription_count" in event.info and app.subscription_count_enabled:
            attributes["subscription_count"] = stats.subscription_count
        result[channel] = attributes
    return result


def _publish(publisher: EventPublisher, app: AppConfig, event: TriggerEvent) -> None:
    for channel in event.channels:
        frame = encode_event(event.name, channel, event.data)
        publisher.publish(app, channel, frame, event.socket_id)


async def trigger_event(request: SignedRequest) -> Response:
    event = validate_event(request.json_body(), request.app, is_batch_item=False)
    adapter = request.context.adapter
    _publish(request.context.publisher, request.app, event)
    if not event.info:
        return json_response({})
    return json_response({"channels": await _info_for(adapter, request.app, event)})


async def batch_events(request: SignedRequest) -> Response:
    app = request.app
    batch = request.json_body().get("batch")
    if not isinstance(batch, list) or not batch:
        raise ApiError(400, "Field 'batch' must be a non-empty array of events")
    if len(batch) > app.max_batch_size:
        raise ApiError(400, f"At most {app.max_batch_size} events per batch")
    events = [validate_event(item, app, is_batch_item=True) for item in batch]
    adapter = request.context.adapter
    for event in events:
        _publish(request.context.publisher, app, event)
    if not any(event.info for event in events):
        return json_response({})
    results: list[dict[str, int]] = []
    for event in events:
        if not event.info:
            results.append({})
            continue
        info = await _info_for(adapter, app, event)
        results.append(info[event.channels[0]])
    return json_response({"batch": results})
