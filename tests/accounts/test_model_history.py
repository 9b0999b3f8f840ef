"""accounts/model_history.py: a person's creation entry is the one django-auditlog writes.

Each test makes the reference with auditlog's own receiver for the same person in the same
context, and compares every column but the row id and the time."""

from typing import Any

import pytest
from auditlog.cid import correlation_id
from auditlog.context import disable_auditlog, set_actor
from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from auditlog.receivers import log_create
from auditlog.registry import auditlog
from auditlog.signals import pre_log
from django.db.models.signals import post_save, pre_save

from accounts.model_history import _saves_plainly, creation_changes
from accounts.models import User
from accounts.services import user_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOT_COMPARED = {"id", "timestamp"}
ROW_FIELDS = (
    "password",
    "last_login",
    "is_superuser",
    "first_name",
    "last_name",
    "email",
    "is_staff",
    "is_active",
    "display_name",
    "session_generation",
    "last_seen_at",
)


def _columns(entry: LogEntry) -> dict[str, Any]:
    return {
        f.attname: getattr(entry, f.attname)
        for f in LogEntry._meta.concrete_fields
        if f.attname not in NOT_COMPARED
    }


def _auditlogs_entry(user: User) -> LogEntry:
    log_create(sender=User, instance=user, created=True)
    return LogEntry.objects.filter(object_pk=str(user.pk)).latest("pk")


def _person(username: str, **extra: Any) -> User:
    return user_create(
        username=username,
        by=None,
        via="scim:okta",
        display_name="Ada Lovelace",
        first_name="Ada",
        last_name="Lovelace",
        email=username,
        **extra,
    )


def test_the_creation_entry_is_auditlogs_own_column_by_column():
    actor = UserFactory(email="admin@example.com")
    token = correlation_id.set("request-7")
    try:
        with set_actor(actor, remote_addr="10.1.2.3", remote_port=4431):
            user = _person("ada@example.com", is_active=False)
            reference = _auditlogs_entry(user)
    finally:
        correlation_id.reset(token)

    entry = LogEntry.objects.filter(object_pk=str(user.pk)).earliest("pk")

    assert entry.pk != reference.pk
    assert _columns(entry) == _columns(reference)
    assert entry.actor_id == actor.pk
    assert entry.actor_email == "admin@example.com"
    assert (entry.remote_addr, entry.remote_port, entry.cid) == ("10.1.2.3", 4431, "request-7")
    assert entry.action == LogEntry.Action.CREATE
    assert entry.changes["username"] == ["None", "ada@example.com"]
    assert entry.changes["is_active"] == ["None", "False"]
    assert entry.changes["roles"] == ["None", "accounts.RoleGrant.None"]
    assert "password" not in entry.changes


def test_without_a_context_the_entry_is_auditlogs_own_too():
    user = _person("grace@example.com")
    reference = _auditlogs_entry(user)

    entry = LogEntry.objects.filter(object_pk=str(user.pk)).earliest("pk")

    assert _columns(entry) == _columns(reference)
    assert entry.actor_id is None
    assert entry.remote_addr is None


@pytest.mark.parametrize(
    "registration",
    [
        {"include_fields": ["username", "email", "date_joined", "roles"]},
        {"exclude_fields": ["password", "email", "identities"]},
        {"exclude_fields": ["password"], "mask_fields": ["email", "username"]},
    ],
)
def test_the_changes_follow_the_registrations_rules(
    registration: dict[str, Any], monkeypatch: pytest.MonkeyPatch
):
    user = _person("alan@example.com")
    rules = {**auditlog._registry[User], "include_fields": [], "exclude_fields": []}
    monkeypatch.setitem(auditlog._registry, User, {**rules, **registration})

    assert creation_changes(user) == model_instance_diff(None, user)


def test_a_creation_with_auditlog_disabled_records_no_entry():
    with disable_auditlog():
        user = _person("edsger@example.com")

    assert not LogEntry.objects.filter(object_pk=str(user.pk)).exists()


def test_a_pre_log_veto_is_honoured():
    def veto(sender: Any, **kwargs: Any) -> bool:
        return False

    pre_log.connect(veto, sender=User, dispatch_uid="test-veto")
    try:
        user = _person("barbara@example.com")
    finally:
        pre_log.disconnect(sender=User, dispatch_uid="test-veto")

    assert not LogEntry.objects.filter(object_pk=str(user.pk)).exists()


def test_a_persons_row_is_written_as_save_writes_it_with_its_signals():
    heard: list[tuple[str, bool, bool]] = []

    def pre(sender: Any, instance: User, raw: bool, **kwargs: Any) -> None:
        heard.append(("pre_save", instance._state.adding, raw))

    def post(sender: Any, instance: User, created: bool, **kwargs: Any) -> None:
        heard.append(("post_save", created, kwargs["update_fields"] is None))

    pre_save.connect(pre, sender=User, dispatch_uid="test-pre")
    post_save.connect(post, sender=User, dispatch_uid="test-post")
    try:
        user = _person("ada@example.com")
    finally:
        pre_save.disconnect(sender=User, dispatch_uid="test-pre")
        post_save.disconnect(sender=User, dispatch_uid="test-post")
    saved = User(**{f: getattr(user, f) for f in ROW_FIELDS}, username="ada-2@example.com")
    saved.save(force_insert=True)

    stored = User.objects.values(*ROW_FIELDS, "username", "date_joined").get(pk=user.pk)
    assert heard == [("pre_save", True, False), ("post_save", True, True)]
    assert not user._state.adding
    assert stored == {
        **User.objects.values(*ROW_FIELDS).get(pk=saved.pk),
        "username": "ada@example.com",
        "date_joined": user.date_joined,
    }


def test_a_user_with_a_new_raw_password_goes_through_save():
    plain = User(username="a")
    plain.set_unusable_password()
    with_password = User(username="b")
    with_password.set_password("a long enough password 7")

    assert _saves_plainly(plain)
    assert not _saves_plainly(with_password)
