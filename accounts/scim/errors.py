"""The SCIM error (RFC 7644 §3.12): an HTTP status, an optional scimType and a detail."""

from enum import StrEnum
from typing import Any

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimType(StrEnum):
    INVALID_FILTER = "invalidFilter"
    TOO_MANY = "tooMany"
    UNIQUENESS = "uniqueness"
    MUTABILITY = "mutability"
    INVALID_SYNTAX = "invalidSyntax"
    INVALID_PATH = "invalidPath"
    NO_TARGET = "noTarget"
    INVALID_VALUE = "invalidValue"
    INVALID_VERSION = "invalidVers"


class ScimError(Exception):
    """A request SCIM refuses; nothing was changed."""

    def __init__(
        self,
        status: int,
        detail: str,
        scim_type: ScimType | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "schemas": [ERROR_SCHEMA],
            "status": str(self.status),
            "detail": self.detail,
        }
        if self.scim_type is not None:
            body["scimType"] = str(self.scim_type)
        return body


def invalid_value(detail: str) -> ScimError:
    return ScimError(400, detail, ScimType.INVALID_VALUE)


def invalid_syntax(detail: str) -> ScimError:
    return ScimError(400, detail, ScimType.INVALID_SYNTAX)


def not_found(detail: str = "no such resource") -> ScimError:
    return ScimError(404, detail)


def not_implemented(feature: str) -> ScimError:
    return ScimError(501, f"{feature} is not supported here (see /ServiceProviderConfig)")
