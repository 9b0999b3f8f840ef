"""Writes of the accounts app. Roles are granted and revoked only through `.roles`."""

from .tokens import api_token_create, api_token_revoke
from .users import (
    user_deactivate,
    user_password_set,
    user_reactivate,
    user_sign_out_everywhere,
)

__all__ = [
    "api_token_create",
    "api_token_revoke",
    "user_deactivate",
    "user_password_set",
    "user_reactivate",
    "user_sign_out_everywhere",
]
