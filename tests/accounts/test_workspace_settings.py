"""Workspace settings: versioned, audited, refused whole when any value is bad, read through a
cached selector, and enforced where the chat and the sign-in read them."""

import time
import uuid

import pytest
from django.test import Client, override_settings

from accounts.errors import RoleError
from accounts.models import Role, WorkspaceSettings
from accounts.workspace import selectors as workspace_selectors
from accounts.workspace.selectors import workspace_settings, workspace_settings_forget
from accounts.workspace.services import WorkspaceSettingsError, workspace_settings_update
from audit.models import AuditEvent, AuditEventType
from eim.chat.errors import ChatError, ErrorCode
from eim.chat.models import Conversation, Membership
from eim.chat.services.conversations import conversation_create_channel, conversation_open_direct
from eim.chat.services.messages import message_send
from tests.factories import ChannelFactory, UserFactory, chat_state, staged_attachment

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada():  # type: ignore[no-untyped-def]
    return UserFactory(username="ada", roles=[Role.ADMINISTRATOR])


def _stored() -> list[tuple[int, dict]]:
    return list(WorkspaceSettings.objects.order_by("version").values_list("version", "values"))


@override_settings(EIM_MAX_MESSAGE_CHARS=123, EIM_SEND_RATE="7/9")
def test_with_nothing_set_the_environment_decides():
    values = workspace_settings()

    assert values.version == 0
    assert (values.max_message_chars, values.send_rate) == (123, "7/9")
    assert values.local_sign_in is True


def test_a_change_is_a_new_audited_version(ada):
    workspace_settings_update(actor=ada, changes={"max_message_chars": "500"}, reason="spam")
    values = workspace_settings_update(actor=ada, changes={"send_rate": "5/10"})

    assert (values.version, values.max_message_chars, values.send_rate) == (2, 500, "5/10")
    assert _stored() == [
        (1, {"max_message_chars": 500}),
        (2, {"max_message_chars": 500, "send_rate": "5/10"}),
    ]
    event = AuditEvent.objects.filter(event_type=AuditEventType.WORKSPACE_SETTINGS_CHANGED).last()
    assert event.details["changes"] == {"send_rate": {"from": "1000/10", "to": "5/10"}}


def test_saving_the_same_values_records_nothing(ada):
    workspace_settings_update(actor=ada, changes={"session_hours": 8})
    audit = AuditEvent.objects.count()

    workspace_settings_update(actor=ada, changes={"session_hours": "8"})

    assert [v for v, _ in _stored()] == [1]
    assert AuditEvent.objects.count() == audit


def test_one_bad_value_refuses_the_whole_change(ada):
    audit = AuditEvent.objects.count()

    with pytest.raises(WorkspaceSettingsError) as refused:
        workspace_settings_update(
            actor=ada,
            changes={"max_message_chars": 50, "send_rate": "fast", "colour": "red"},
        )

    assert set(refused.value.problems) == {"send_rate", "colour"}
    assert _stored() == []
    assert AuditEvent.objects.count() == audit


@pytest.mark.parametrize(
    "kind", ["employee", "compliance officer", "superuser without roles", "deactivated"]
)
def test_only_an_active_administrator_changes_settings(kind):
    user = {
        "employee": lambda: UserFactory(username="emma"),
        "compliance officer": lambda: UserFactory(username="o", roles=[Role.COMPLIANCE_OFFICER]),
        "superuser without roles": lambda: UserFactory(username="r", is_superuser=True, roles=[]),
        "deactivated": lambda: UserFactory(
            username="g", roles=[Role.ADMINISTRATOR], is_active=False
        ),
    }[kind]()
    audit = AuditEvent.objects.count()

    with pytest.raises(RoleError):
        workspace_settings_update(actor=user, changes={"max_message_chars": 5})

    assert _stored() == []
    assert AuditEvent.objects.count() == audit


def test_another_process_sees_a_change_after_its_check_period(ada, settings, monkeypatch):
    settings.EIM_WORKSPACE_SETTINGS_CHECK_SECONDS = 60
    assert workspace_settings().max_message_chars == 10_000
    # Written as another process would: this process's cache is not told.
    WorkspaceSettings.objects.create(
        version=1, values={"max_message_chars": 42}, changed_at="2026-01-01T00:00Z"
    )

    cached = workspace_settings().max_message_chars
    later = time.monotonic() + 61
    monkeypatch.setattr(workspace_selectors.time, "monotonic", lambda: later)

    assert cached == 10_000
    assert workspace_settings().max_message_chars == 42


def test_the_message_size_limit_is_enforced(ada, alice):
    channel = ChannelFactory(creator=alice)
    workspace_settings_update(actor=ada, changes={"max_message_chars": 5})
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        message_send(
            author=alice, conversation_id=channel.pk, body="123456", client_id=uuid.uuid4()
        )
    message_send(author=alice, conversation_id=channel.pk, body="12345", client_id=uuid.uuid4())

    assert refused.value.code == ErrorCode.BODY_TOO_LONG
    assert len(chat_state()["messages"]) == len(before["messages"]) + 1


def test_the_send_rate_is_enforced(ada, alice):
    channel = ChannelFactory(creator=alice)
    workspace_settings_update(actor=ada, changes={"send_rate": "2/3600"})

    for _ in range(2):
        message_send(author=alice, conversation_id=channel.pk, body="hi", client_id=uuid.uuid4())
    with pytest.raises(ChatError) as refused:
        message_send(author=alice, conversation_id=channel.pk, body="hi", client_id=uuid.uuid4())

    assert refused.value.code == ErrorCode.RATE_LIMITED


def test_the_attachment_size_limit_is_enforced(ada, alice):
    channel = ChannelFactory(creator=alice)
    workspace_settings_update(actor=ada, changes={"max_attachment_bytes": 1024})

    staged_attachment(alice, channel, content=b"x" * 1024)
    with pytest.raises(ChatError) as refused:
        staged_attachment(alice, channel, content=b"x" * 1025)

    assert refused.value.code == ErrorCode.ATTACHMENT_TOO_LARGE


def test_only_administrators_create_channels_and_dms_when_so_set(ada, alice, bob):
    workspace_settings_update(
        actor=ada,
        changes={"channel_creation": "administrators", "direct_messages": "administrators"},
    )
    before = chat_state()

    with pytest.raises(ChatError) as channel:
        conversation_create_channel(creator=alice, name="new")
    with pytest.raises(ChatError) as direct:
        conversation_open_direct(creator=alice, user_ids=[bob.pk])

    assert (channel.value.code, direct.value.code) == (ErrorCode.FORBIDDEN, ErrorCode.FORBIDDEN)
    assert chat_state() == before
    assert conversation_create_channel(creator=ada, name="announcements").name == "announcements"


def test_existing_dms_stay_open_when_new_ones_are_not_allowed(ada, alice, bob):
    existing = conversation_open_direct(creator=alice, user_ids=[bob.pk])
    workspace_settings_update(actor=ada, changes={"direct_messages": "administrators"})

    assert conversation_open_direct(creator=bob, user_ids=[alice.pk]).pk == existing.pk


def test_the_history_default_applies_to_new_channels(ada, alice, bob):
    workspace_settings_update(actor=ada, changes={"history_visible_default": False})

    channel = conversation_create_channel(creator=alice, name="quiet")
    explicit = conversation_create_channel(creator=alice, name="open", history_visible=True)

    assert Conversation.objects.get(pk=channel.pk).history_visible is False
    assert Conversation.objects.get(pk=explicit.pk).history_visible is True
    assert Membership.objects.filter(conversation=channel).count() == 1


def test_password_sign_in_off_leaves_it_to_administrators(ada, alice):
    workspace_settings_update(actor=ada, changes={"local_sign_in": False})

    refused = Client().post("/login/", {"username": "alice", "password": "pw-for-tests-1"})
    admitted = Client().post("/login/", {"username": "ada", "password": "pw-for-tests-1"})

    assert refused.status_code == 200
    assert b"Password sign-in is turned off here" in refused.content
    assert b"Wrong username or password" in refused.content  # never whether it was right
    assert admitted.status_code == 302


def test_a_sign_in_lasts_the_session_length(ada, alice):
    workspace_settings_update(actor=ada, changes={"session_hours": 3})
    client = Client()

    client.post("/login/", {"username": "alice", "password": "pw-for-tests-1"})

    assert client.session.get_expiry_age() == 3 * 3600


def test_the_console_saves_settings_and_names_the_audit_event(ada):
    client = Client()
    client.force_login(ada)

    response = client.post(
        "/console/settings/",
        {"max_message_chars": "2000", "send_rate": "30/10", "channel_creation": "everyone"},
        follow=True,
    )

    event = AuditEvent.objects.get(event_type=AuditEventType.WORKSPACE_SETTINGS_CHANGED)
    assert [str(m) for m in response.context["messages"]] == [
        f"Settings saved — audit event #{event.seq}."
    ]
    workspace_settings_forget()
    assert (workspace_settings().max_message_chars, workspace_settings().send_rate) == (
        2000,
        "30/10",
    )


def test_the_console_marks_bad_values_and_changes_nothing(ada):
    client = Client()
    client.force_login(ada)
    client.get("/console/")
    audit = AuditEvent.objects.count()

    response = client.post("/console/settings/", {"max_message_chars": "lots"})

    assert b"a whole number from 1 to 16000" in response.content
    assert _stored() == []
    assert AuditEvent.objects.count() == audit
