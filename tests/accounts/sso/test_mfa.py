"""MFA for local accounts: required for administrators, compliance officers and auditors who
sign in with a password; local password sign-in can be turned off for everyone else."""

import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.test import Client

from accounts.models import Role
from audit.models import AuditEvent, AuditEventType
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-1"  # tests/factories.py
SECRET = "JBSWY3DPEHPK3PXP"


def _code(secret: str = SECRET) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def _password_sign_in(username: str, **extra: str) -> tuple[Client, object]:
    client = Client()
    response = client.post("/login/", {"username": username, "password": PASSWORD, **extra})
    return client, response


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("role", [Role.ADMINISTRATOR, Role.COMPLIANCE_OFFICER, Role.AUDITOR])
def test_a_privileged_local_account_without_mfa_can_only_set_it_up(role):
    UserFactory(username="priv", roles=[role])
    client, response = _password_sign_in("priv")

    home = client.get("/")
    api = client.get("/api/v1/conversations/")
    setup = client.get("/accounts/2fa/totp/activate/")

    assert response.status_code == 302
    assert home.status_code == 302
    assert home["Location"] == "/login/mfa-required/"
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "mfa_required"
    assert setup.status_code == 200
    assert client.get("/login/mfa-required/").status_code == 200


def test_setting_up_totp_opens_the_app_and_is_audited():
    user = UserFactory(username="ada", roles=[Role.ADMINISTRATOR])
    client, _ = _password_sign_in("ada")
    secret = client.get("/accounts/2fa/totp/activate/").context["form"].secret

    response = client.post("/accounts/2fa/totp/activate/", {"code": _code(secret)})

    assert response.status_code == 302
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(
        event_type=AuditEventType.MFA_AUTHENTICATOR_ADDED, actor=user
    ).exists()


def test_with_totp_the_password_alone_does_not_sign_in():
    user = UserFactory(username="ada", roles=[Role.ADMINISTRATOR])
    TOTP.activate(user, SECRET)

    client, response = _password_sign_in("ada", next="/compliance/")
    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    pending = _signed_in(client)
    right = client.post("/accounts/2fa/authenticate/", {"code": _code()})

    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert wrong.status_code == 200
    assert not pending
    assert right.status_code == 302
    assert right["Location"] == "/compliance/"
    assert _signed_in(client)


def test_an_employee_needs_no_mfa():
    UserFactory(username="emp", roles=[Role.EMPLOYEE])
    client, _ = _password_sign_in("emp")

    assert client.get("/").status_code == 200


def test_local_sign_in_can_be_kept_for_privileged_accounts_only(settings):
    settings.EIM_LOCAL_SIGN_IN = "privileged"
    UserFactory(username="emp", roles=[Role.EMPLOYEE])
    UserFactory(username="ada", roles=[Role.ADMINISTRATOR])

    employee, refused = _password_sign_in("emp")
    administrator, allowed = _password_sign_in("ada")

    # Answered as a wrong password: the page never tells whether the password was right.
    assert refused.status_code == 200
    assert "Wrong username or password" in refused.content.decode()
    assert "Password sign-in is turned off here" in refused.content.decode()
    assert not _signed_in(employee)
    assert allowed.status_code == 302
    assert _signed_in(administrator)


def test_an_open_redirect_in_next_is_dropped():
    UserFactory(username="emp", roles=[Role.EMPLOYEE])

    _, response = _password_sign_in("emp", next="https://evil.example/")
    _, scheme_relative = _password_sign_in("emp", next="//evil.example/x")

    assert response["Location"] == "/"
    assert scheme_relative["Location"] == "/"


def test_a_recovery_code_signs_in_once_and_not_twice():
    """A lost phone: a recovery code stands in for the TOTP code, once. A second use of the
    same code (someone who saw it on the printout) is refused and signs nobody in."""
    user = UserFactory(username="ada", roles=[Role.ADMINISTRATOR])
    TOTP.activate(user, SECRET)
    code = RecoveryCodes.activate(user).get_unused_codes()[0]

    first, _ = _password_sign_in("ada")
    used = first.post("/accounts/2fa/authenticate/", {"code": code})
    second, _ = _password_sign_in("ada")
    again = second.post("/accounts/2fa/authenticate/", {"code": code})

    assert used.status_code == 302
    assert _signed_in(first)
    assert first.get("/").status_code == 200
    assert again.status_code == 200
    assert "code" in again.context["form"].errors
    assert not _signed_in(second)
    codes = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    assert code not in RecoveryCodes(codes).get_unused_codes()


def test_recovery_codes_alone_do_not_count_as_mfa_for_a_privileged_account():
    """Recovery codes are a fallback for an authenticator, not one: a privileged account with
    only recovery codes is still sent to set up TOTP or a security key."""
    user = UserFactory(username="ada", roles=[Role.ADMINISTRATOR])
    RecoveryCodes.activate(user)

    client, _ = _password_sign_in("ada")

    assert client.get("/")["Location"] == "/login/mfa-required/"


def _code_at_step(offset: int) -> str:
    return format_hotp_value(hotp_value(SECRET, int(time.time()) // 30 + offset))


def _totp_sign_in(code: str) -> tuple[Client, object]:
    client, _ = _password_sign_in("ada")
    return client, client.post("/accounts/2fa/authenticate/", {"code": code})


def test_a_code_typed_as_its_step_ends_still_signs_in():
    TOTP.activate(UserFactory(username="ada", roles=[Role.ADMINISTRATOR]), SECRET)

    client, response = _totp_sign_in(_code_at_step(-1))

    assert response.status_code == 302
    assert _signed_in(client)


def test_a_code_two_steps_old_is_refused():
    TOTP.activate(UserFactory(username="ada", roles=[Role.ADMINISTRATOR]), SECRET)

    client, response = _totp_sign_in(_code_at_step(-2))

    assert response.status_code == 200
    assert not _signed_in(client)


def test_a_code_signs_in_once_and_not_twice():
    TOTP.activate(UserFactory(username="ada", roles=[Role.ADMINISTRATOR]), SECRET)
    code = _code_at_step(-1)

    first, first_response = _totp_sign_in(code)
    second, second_response = _totp_sign_in(code)

    assert first_response.status_code == 302
    assert _signed_in(first)
    assert second_response.status_code == 200
    assert not _signed_in(second)
