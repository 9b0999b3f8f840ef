"""Error codes of the role services; the API answers them as {"code", "detail"}."""

from enum import StrEnum


class RoleErrorCode(StrEnum):
    INVALID_ROLE = "invalid_role"
    NOT_FOUND = "not_found"
    NOT_ADMINISTRATOR = "not_administrator"
    OWN_ROLE = "own_role"
    FOUR_EYES = "four_eyes"
    INACTIVE_USER = "inactive_user"
    ALREADY_HELD = "already_held"
    ALREADY_REQUESTED = "already_requested"
    CONFLICTING_ROLE = "conflicting_role"
    NOT_PENDING = "not_pending"
    EXPIRED = "expired"
    BOOTSTRAP_CLOSED = "bootstrap_closed"
    MAPPING_GONE = "mapping_gone"  # a mapped request whose group membership is gone


HTTP_STATUS = {
    RoleErrorCode.NOT_FOUND: 404,
    RoleErrorCode.NOT_ADMINISTRATOR: 403,
    RoleErrorCode.OWN_ROLE: 403,
    RoleErrorCode.FOUR_EYES: 403,
    RoleErrorCode.BOOTSTRAP_CLOSED: 403,
    RoleErrorCode.ALREADY_HELD: 409,
    RoleErrorCode.ALREADY_REQUESTED: 409,
    RoleErrorCode.CONFLICTING_ROLE: 409,
    RoleErrorCode.NOT_PENDING: 409,
    RoleErrorCode.EXPIRED: 409,
    RoleErrorCode.MAPPING_GONE: 409,
}


class RoleError(Exception):
    """A role change the rules refuse: nothing changed, and the refusal is audited."""

    def __init__(self, code: RoleErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 400)
