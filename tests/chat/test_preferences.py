"""A person's chat choices kept with their account: read at load, changed through the API,
heard live by the person's other open clients, and no one else's to change or hear."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from eim.asgi import application
from eim.chat.errors import ChatError, ErrorCode
from eim.chat.models import ChatPreferences
from eim.chat.selectors import chat_preferences_of
from eim.chat.services.preferences import chat_preferences_update
from tests.conftest import api_as
from tests.factories import ChannelFactory


def _session_cookie(user) -> bytes:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _open_as(user) -> WebsocketCommunicator:  # type: ignore[no-untyped-def]
    cookie = await database_sync_to_async(_session_cookie)(user)
    communicator = WebsocketCommunicator(
        application, "/ws/", headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.receive_json_from()  # hello
    await communicator.send_json_to({"type": "sync", "cursors": {}})
    while (await communicator.receive_json_from(timeout=5))["type"] != "sync.done":
        pass
    return communicator


async def _next_of(communicator: WebsocketCommunicator, type_: str) -> dict:
    while True:
        frame = await communicator.receive_json_from(timeout=5)
        if frame["type"] == type_:
            return frame


@pytest.mark.django_db
def test_nothing_chosen_yet_reads_as_the_defaults(alice):
    assert chat_preferences_of(user=alice) == {"notifications": False, "muted": []}


@pytest.mark.django_db
def test_choices_are_kept_per_account_and_each_change_keeps_the_others(alice, bob):
    desk = ChannelFactory(creator=alice, members=[bob])
    other = ChannelFactory(creator=alice)

    chat_preferences_update(user=alice, notifications=True)
    chat_preferences_update(user=alice, conversation_id=desk.pk, muted=True)
    chat_preferences_update(user=alice, conversation_id=other.pk, muted=True)
    chat_preferences_update(user=alice, conversation_id=desk.pk, muted=False)

    assert chat_preferences_of(user=alice) == {"notifications": True, "muted": [other.pk]}
    assert chat_preferences_of(user=bob) == {"notifications": False, "muted": []}


@pytest.mark.django_db
def test_muting_a_conversation_one_is_not_in_is_refused_and_changes_nothing(alice, carol):
    hidden = ChannelFactory(creator=alice, private=True)

    with pytest.raises(ChatError) as refusal:
        chat_preferences_update(user=carol, conversation_id=hidden.pk, muted=True)

    assert refusal.value.code == ErrorCode.NOT_FOUND
    assert not ChatPreferences.objects.exists()


@pytest.mark.django_db
def test_the_api_reads_and_changes_the_choices(alice):
    desk = ChannelFactory(creator=alice)
    client = api_as(alice)

    changed = client.patch(
        "/api/v1/me/preferences/", {"conversation": desk.pk, "muted": True}, format="json"
    )
    half = client.patch("/api/v1/me/preferences/", {"muted": True}, format="json")

    assert changed.json() == {"notifications": False, "muted": [desk.pk]}
    assert (half.status_code, half.json()["code"]) == (400, "invalid_input")
    assert client.get("/api/v1/me/preferences/").json() == {
        "notifications": False,
        "muted": [desk.pk],
    }


@pytest.mark.django_db(transaction=True)
async def test_another_open_client_of_the_person_hears_the_change_and_nobody_else(alice, bob):
    desk = await database_sync_to_async(ChannelFactory)(creator=alice, members=[bob])
    laptop, phone, bobs = await _open_as(alice), await _open_as(alice), await _open_as(bob)

    await database_sync_to_async(chat_preferences_update)(
        user=alice, conversation_id=desk.pk, muted=True
    )

    for client in (laptop, phone):
        frame = await _next_of(client, "preferences")
        assert frame == {"type": "preferences", "notifications": False, "muted": [desk.pk]}
    await bobs.send_json_to({"type": "ping"})
    heard = [await bobs.receive_json_from(timeout=5)]
    while heard[-1]["type"] != "pong":
        heard.append(await bobs.receive_json_from(timeout=5))
    assert "preferences" not in [frame["type"] for frame in heard]
    assert await bobs.receive_nothing(timeout=0.3)
    for client in (laptop, phone, bobs):
        await client.disconnect()
