"""Writes of the accounts app. Roles are granted and revoked only through `.roles`."""

from .tokens import api_token_create, api_token_revoke
from .users import (
    user_create,
    user_deactivate,
    user_password_set,
    user_profile_update,
    user_reactivate,
    user_sign_out_everywhere,
)

__all__ = [
    "api_token_create",
    "api_token_revoke",
    "user_create",
    "user_deactivate",
    "user_password_set",
    "user_profile_update",
    "user_reactivate",
    "user_sign_out_everywhere",
]
