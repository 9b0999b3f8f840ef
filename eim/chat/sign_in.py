"""What an open socket was signed in with, and whether that still holds.

A socket outlives the handshake that authenticated it, so it keeps its user and what it rode
on (an API token, or a session) and re-checks them: when told that the user's access shrank,
on every frame the client sends, and every EIM_SOCKET_ACCESS_CHECK_SECONDS (docs/access.md).
"""

import enum
from dataclasses import dataclass

from accounts.selectors import AccessStanding, access_standing


class CloseCode(enum.IntEnum):
    """Close codes of the chat socket (docs/protocol.md)."""

    RECONNECT = 4000  # connect again: a role was revoked, or the socket's session was replaced
    SIGNED_OUT = 4401  # no sign-in, or the token or session it rode on ended: sign in again
    ACCESS_ENDED = 4403  # the user was deactivated


class AccessLostError(Exception):
    def __init__(self, code: CloseCode) -> None:
        super().__init__(code.name)
        self.code = code


@dataclass(frozen=True)
class SignIn:
    user_id: int
    token_digest: str | None
    session_key: str | None

    def require(self) -> None:
        """Raise AccessLostError unless the user is active and the token or session still holds."""
        standing = access_standing(
            user_id=self.user_id, token_digest=self.token_digest, session_key=self.session_key
        )
        if standing == AccessStanding.DEACTIVATED:
            raise AccessLostError(CloseCode.ACCESS_ENDED)
        if standing != AccessStanding.VALID and self.token_digest is not None:
            raise AccessLostError(CloseCode.SIGNED_OUT)
        if standing != AccessStanding.VALID:
            # The session this socket rode on is gone, but the browser may hold a newer one
            # (a password change there gives it a new session key): let it connect again with
            # whatever cookie it has now; a browser that signed out is refused (4401) then.
            raise AccessLostError(CloseCode.RECONNECT)
