"""The password sign-in form: Django's, with the workspace's local sign-in setting applied.

When an administrator turns password sign-in off in the console, only active administrators
may still sign in with a password (break-glass, for when single sign-on is down); everyone
else is told to use single sign-on. Nothing else changes for them."""

from typing import Any

from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from .selectors import user_is_active_administrator
from .workspace.selectors import workspace_settings


class PasswordSignInForm(AuthenticationForm):
    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if workspace_settings().local_sign_in or user_is_active_administrator(user=user):
            return
        raise ValidationError(
            "Password sign-in is turned off here: sign in with your company's single sign-on.",
            code="local_sign_in_off",
        )
