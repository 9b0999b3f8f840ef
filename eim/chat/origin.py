"""Origin checking for the socket.

Cross-site WebSocket hijacking rides on the browser's cookies, so a cookie-authenticated
handshake must come from an allowed origin. A browser cannot put an `Authorization` header on
a WebSocket, so a handshake with a Bearer header and no Origin is an API client and may pass;
one with a foreign Origin is still refused.
"""

from typing import Any

from channels.security.websocket import AllowedHostsOriginValidator


def OriginCheck(application: Any) -> Any:  # noqa: N802 - wraps like channels' validators
    validated = AllowedHostsOriginValidator(application)

    async def check(scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers", []))
        if b"origin" not in headers and headers.get(b"authorization", b"").lower().startswith(
            b"bearer "
        ):
            return await application(scope, receive, send)
        return await validated(scope, receive, send)

    return check
