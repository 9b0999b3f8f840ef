"""`role_grant`, `role_approve`, `role_refuse`, `role_revoke`, `role_bootstrap`: the role
service from the command line, with its rules; a refusal is one line and a non-zero exit."""

import io
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role, RoleGrant, RoleRequest
from accounts.selectors import user_has_role, user_roles
from audit.models import AuditEvent, AuditEventType
from tests.conftest import ROOT, server_env
from tests.factories import UserFactory, role_state

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def admins() -> tuple[str, str]:
    UserFactory(username="ada", roles=[Role.ADMINISTRATOR])
    UserFactory(username="dana", roles=[Role.ADMINISTRATOR])
    return "ada", "dana"


@pytest.mark.django_db(transaction=True)
def test_a_superusers_self_grant_through_the_command_is_refused_with_a_non_zero_exit():
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    before = role_state()

    done = subprocess.run(
        [sys.executable, "manage.py", "role_grant", "root", "compliance_officer", "--by", "root"],
        cwd=ROOT,
        env=server_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "CommandError: refused (not_administrator): only an active administrator may change roles"
    )
    assert role_state() == before
    assert user_roles(user=root) == {Role.EMPLOYEE}
    refusal = AuditEvent.objects.get()
    assert (refusal.event_type, refusal.actor) == (AuditEventType.ROLE_REFUSED, root)


def test_an_administrators_self_grant_through_the_command_is_refused(admins):
    before = role_state()

    with pytest.raises(CommandError, match="own_role"):
        run("role_grant", "ada", "compliance_officer", "--by", "ada")

    assert role_state() == before


def test_grant_then_approve_by_a_second_administrator(admins):
    UserFactory(username="carol")

    requested = run("role_grant", "carol", "compliance_officer", "--by", "ada", "--reason", "MNPI")
    carol = RoleRequest.objects.get().user
    assert user_has_role(user=carol, role=Role.COMPLIANCE_OFFICER) is False

    approved = run("role_approve", "carol", "compliance_officer", "--by", "dana")

    assert requested.startswith("Requested compliance_officer for carol (request ")
    assert approved == "Approved: carol now holds compliance_officer.\n"
    assert user_has_role(user=carol, role=Role.COMPLIANCE_OFFICER)
    assert RoleRequest.objects.get().reason == "MNPI"


def test_the_requester_cannot_approve_through_the_command(admins):
    UserFactory(username="carol")
    run("role_grant", "carol", "auditor", "--by", "ada")
    before = role_state()

    with pytest.raises(CommandError, match=r"refused \(four_eyes\)"):
        run("role_approve", "carol", "auditor", "--by", "ada")

    assert role_state() == before


def test_the_employee_role_is_granted_at_once(admins):
    UserFactory(username="bob", roles=[])

    assert run("role_grant", "bob", "employee", "--by", "ada") == "Granted employee to bob.\n"
    assert RoleGrant.objects.filter(user__username="bob", role=Role.EMPLOYEE).exists()


def test_refuse_and_revoke_through_the_commands(admins):
    UserFactory(username="bob")
    run("role_grant", "bob", "auditor", "--by", "ada")

    run("role_refuse", "bob", "auditor", "--by", "dana", "--reason", "no")
    run("role_revoke", "bob", "employee", "--by", "dana")

    assert RoleRequest.objects.get().status == "refused"
    assert not RoleGrant.objects.filter(user__username="bob").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("role_grant", "nobody", "employee", "--by", "ada"), "no user named 'nobody'"),
        (("role_grant", "bob", "employee", "--by", "nobody"), "no user named 'nobody'"),
        (("role_grant", "bob", "king", "--by", "ada"), "refused (invalid_role): no role named"),
        (("role_approve", "bob", "auditor", "--by", "dana"), "no pending request for bob"),
        (("role_revoke", "bob", "auditor", "--by", "dana"), "refused (not_found)"),
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(admins, args, message):
    UserFactory(username="bob")
    before = role_state()

    with pytest.raises(CommandError) as error:
        run(*args)

    assert str(error.value).startswith(message)
    assert role_state() == before


def test_the_bootstrap_makes_the_first_administrators_and_then_closes():
    for name in ("first", "second", "third"):
        UserFactory(username=name)

    run("role_bootstrap", "first")
    run("role_bootstrap", "second")
    with pytest.raises(CommandError, match="bootstrap_closed"):
        run("role_bootstrap", "third")

    assert sorted(
        RoleGrant.objects.filter(role=Role.ADMINISTRATOR).values_list("user__username", flat=True)
    ) == ["first", "second"]
