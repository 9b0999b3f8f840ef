"""The password sign-in form: Django's, with the workspace's local sign-in setting applied.

When an administrator turns password sign-in off in the console, only active administrators
may still sign in with a password (break-glass, for when single sign-on is down). The page
then says so to everyone; a refused sign-in gets the same answer as a wrong password, so the
form never tells whether a password was right."""

from typing import Any

from django.contrib.auth.forms import AuthenticationForm

from .selectors import user_is_active_administrator
from .workspace.selectors import workspace_settings


class PasswordSignInForm(AuthenticationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.local_sign_in = workspace_settings().local_sign_in

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not self.local_sign_in and not user_is_active_administrator(user=user):
            raise self.get_invalid_login_error()
