"""``POST /apps/{id}/users/{user_id}/terminate_connections`` (§9.7, §13.4)."""

from __future__ import annotations

from starlette.responses import Response

from pusherd.http.context import SignedRequest, json_response
from pusherd.protocol.channels import is_valid_channel_name
from pusherd.protocol.errors import ApiError

__all__ = ["terminate_user_connections"]


async def terminate_user_connections(request: SignedRequest) -> Response:
    """Close every socket signed in as the user, on every node; others are left alone."""
    user_id = request.path_params["user_id"]
    if len(user_id) > request.app.max_presence_user_id_length or not is_valid_channel_name(user_id):
        raise ApiError(400, "Invalid user id")
    request.context.adapter.terminate_user(request.app.app_id, user_id)
    return json_response({})
