"""Block and warn at send time: through the one send service, for the API and the socket."""

import uuid

import pytest

from archive.selectors import archived_events
from archive.services.archiving import archive_pending
from eim.chat.errors import ChatError, ErrorCode
from eim.chat.models import ConversationEvent, Message
from eim.chat.services.messages import message_edit, message_send
from tests.conftest import api_as
from tests.factories import ChannelFactory, chat_state, send


def _send(author, channel, body, **kwargs):
    return message_send(
        author=author, conversation_id=channel.pk, body=body, client_id=uuid.uuid4(), **kwargs
    )


def test_a_block_refuses_the_message_names_the_policy_and_span_and_archives_the_attempt(
    alice, bob, policy
):
    version = policy("No promises", terms=["guarantee"], actions=["block"])
    channel = ChannelFactory(creator=alice, members=[bob])
    messages_before = list(Message.objects.values_list("pk", flat=True))

    with pytest.raises(ChatError) as refused:
        _send(alice, channel, "I GUARANTEE a profit")

    assert refused.value.code == ErrorCode.MESSAGE_BLOCKED
    assert refused.value.http_status == 422
    assert 'policy "No promises"' in refused.value.detail
    assert '"GUARANTEE"' in refused.value.detail
    [finding] = refused.value.findings
    assert finding["policy"] == "No promises"
    assert finding["version"] == 1
    assert finding["spans"][0] | {} == {
        "kind": "term",
        "name": "promises",
        "term": "guarantee",
        "start": 2,
        "end": 11,
        "text": "GUARANTEE",
    }
    assert list(Message.objects.values_list("pk", flat=True)) == messages_before
    archive_pending()
    [record] = [
        e for e in archived_events(first_seq=1, last_seq=10**6) if e.type == "message.blocked"
    ]
    assert record.audience == ()
    assert record.actor_id == alice.pk
    assert record.payload["attempt"]["body"] == "I GUARANTEE a profit"
    assert record.payload["blocked_by"][0]["token"] == f"policy-version-{version.pk}"


def test_text_that_hits_nothing_goes_through(alice, policy):
    policy(terms=["guarantee"], actions=["block"])
    channel = ChannelFactory(creator=alice)
    assert _send(alice, channel, "guarantees are fine as a word").created


def test_a_blocked_edit_leaves_the_message_as_it_was(alice, policy):
    policy(terms=["guarantee"], actions=["block"])
    channel = ChannelFactory(creator=alice)
    message = send(alice, channel, "hello")

    with pytest.raises(ChatError) as refused:
        message_edit(user=alice, message_id=message.pk, body="I guarantee it")

    assert refused.value.code == ErrorCode.MESSAGE_BLOCKED
    message.refresh_from_db()
    assert (message.body, message.edited_at) == ("hello", None)
    attempt = ConversationEvent.objects.get(type="message.blocked").payload["attempt"]
    assert attempt["edit_of"] == message.pk


def test_a_non_member_leaves_no_attempt_in_a_conversation(alice, bob, policy):
    policy(terms=["guarantee"], actions=["block"])
    channel = ChannelFactory(creator=alice, private=True)
    before = chat_state()

    with pytest.raises(ChatError) as refused:
        _send(bob, channel, "I guarantee it")

    assert refused.value.code == ErrorCode.NOT_FOUND
    assert chat_state() == before


def test_a_warning_needs_the_senders_confirmation(alice, policy):
    version = policy(terms=["guarantee"], actions=["warn", "flag"])
    channel = ChannelFactory(creator=alice)
    before = chat_state()

    with pytest.raises(ChatError) as warned:
        _send(alice, channel, "I guarantee it")

    assert warned.value.code == ErrorCode.WARNING_UNCONFIRMED
    assert chat_state() == before
    token = warned.value.findings[0]["token"]
    assert token == f"policy-version-{version.pk}"
    result = _send(alice, channel, "I guarantee it", confirm_warnings=[token])
    assert result.created
    assert result.message.body == "I guarantee it"


def test_a_confirmation_of_an_older_version_does_not_count(alice, officer, policy):
    from compliance.scanning.services import policy_change

    old = policy(terms=["guarantee"], actions=["warn"])
    policy_change(
        user=officer,
        policy_id=old.policy_id,
        conditions={"lexicons": [{"name": "p", "terms": ["guarantee", "promise"]}]},
        actions=["warn"],
    )
    channel = ChannelFactory(creator=alice)

    with pytest.raises(ChatError) as warned:
        _send(alice, channel, "I guarantee it", confirm_warnings=[f"policy-version-{old.pk}"])

    assert warned.value.code == ErrorCode.WARNING_UNCONFIRMED
    assert warned.value.findings[0]["version"] == 2


def test_the_scope_limits_who_is_blocked(alice, bob, policy):
    policy(terms=["guarantee"], actions=["block"], scope={"users": [bob.pk]})
    channel = ChannelFactory(creator=alice, members=[bob])

    assert _send(alice, channel, "I guarantee it").created
    with pytest.raises(ChatError):
        _send(bob, channel, "I guarantee it")


def test_a_disabled_or_flag_only_policy_does_not_stop_a_send(alice, policy):
    policy("Flag only", terms=["guarantee"], actions=["flag"])
    channel = ChannelFactory(creator=alice)
    assert _send(alice, channel, "I guarantee it").created


def test_a_retry_of_a_message_that_went_through_is_answered_not_blocked(alice, officer, policy):
    from compliance.scanning.services import policy_create

    channel = ChannelFactory(creator=alice)
    client_id = uuid.uuid4()
    first = message_send(
        author=alice, conversation_id=channel.pk, body="I guarantee it", client_id=client_id
    )
    policy_create(
        user=officer,
        name="Late",
        conditions={"lexicons": [{"name": "x", "terms": ["guarantee"]}]},
        actions=["block"],
    )

    again = message_send(
        author=alice, conversation_id=channel.pk, body="I guarantee it", client_id=client_id
    )

    assert (again.created, again.message.pk) == (False, first.message.pk)
    assert not ConversationEvent.objects.filter(type="message.blocked").exists()


def test_the_api_answers_422_with_the_findings(alice, policy):
    policy("No promises", terms=["guarantee"], actions=["block"])
    channel = ChannelFactory(creator=alice)

    response = api_as(alice).post(
        f"/api/v1/conversations/{channel.pk}/messages/",
        {"body": "we guarantee it", "client_id": str(uuid.uuid4())},
        format="json",
    )

    assert response.status_code == 422
    assert response.json()["code"] == "message_blocked"
    assert response.json()["findings"][0]["spans"][0]["text"] == "guarantee"
    assert not Message.objects.filter(conversation=channel).exists()


def test_the_api_takes_a_confirmation(alice, policy):
    version = policy(terms=["guarantee"], actions=["warn"])
    channel = ChannelFactory(creator=alice)
    url = f"/api/v1/conversations/{channel.pk}/messages/"
    body = {"body": "we guarantee it", "client_id": str(uuid.uuid4())}

    assert api_as(alice).post(url, body, format="json").status_code == 422
    confirmed = {**body, "confirm_warnings": [f"policy-version-{version.pk}"]}
    assert api_as(alice).post(url, confirmed, format="json").status_code == 201


def test_a_process_compiles_the_policies_as_it_starts_and_sends_reuse_that_set(
    alice, policy, settings
):
    from compliance.scanning import cache

    settings.EIM_SCAN_WARM_UP = True
    policy("No promises", terms=["guarantee"], actions=["block"])
    cache.policy_set_forget()
    cache._cached = None

    cache.policy_set_warm()
    warmed = cache._cached
    with pytest.raises(ChatError):
        _send(alice, ChannelFactory(creator=alice), "I guarantee it")

    assert warmed is not None
    assert cache.policy_set() is warmed
