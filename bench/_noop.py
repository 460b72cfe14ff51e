"""A do-nothing ASGI endpoint: the ceiling the load generator reaches against uvicorn alone.

It answers the two calls of an environment's life (POST /v2/create_environment, POST
/v2/environments/{id}/close) and GET /v2/health with fixed JSON of the same shape as the server's,
reading the request body, and does nothing else; any other call gets a 404. Run by
`bench._servers` with the uvicorn options `hud server` uses.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

_HEADERS = [(b"content-type", b"application/json")]


async def app(
    scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    path: str = scope["path"]
    method: str = scope["method"]
    status = 200
    if method == "POST" and path == "/v2/create_environment":
        body = b'{"id":"' + str(uuid.uuid4()).encode() + b'","metadata":null}'
    elif method == "POST" and path.startswith("/v2/environments/") and path.endswith("/close"):
        env_id = path.split("/")[-2]
        body = b'{"id":"' + env_id.encode() + b'","reward":1.0,"logs":null,"error":null,"step_count":0}'
    elif method == "GET" and path == "/v2/health":
        body = b'{"status":"ok"}'
    else:  # any other call is an error, as it would be on the server: the load generators count it
        status = 404
        body = b'{"detail":"not found"}'
    await send({"type": "http.response.start", "status": status, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", server_header=False)
