"""Conversations, membership and the directory over REST."""

import pytest

from accounts.models import Role
from eim.chat.models import ConversationEvent, EventType
from eim.chat.services.presence import presence_session_set
from tests.conftest import api_as
from tests.factories import ChannelFactory, UserFactory, chat_state, direct_conversation

pytestmark = pytest.mark.django_db


def test_creating_a_channel_answers_201_with_the_creator_as_owner(alice):
    response = api_as(alice).post(
        "/api/v1/conversations/",
        {"name": "Trading-Desk", "private": True, "topic": "FX"},
        format="json",
    )

    body = response.json()
    assert response.status_code == 201
    assert (body["name"], body["kind"], body["topic"]) == ("trading-desk", "private", "FX")
    assert (body["member"], body["role"], body["unread"]) == (True, "owner", 0)


def test_a_taken_channel_name_is_409_already_exists(alice, bob):
    ChannelFactory(creator=alice, name="general")
    before = chat_state()

    response = api_as(bob).post("/api/v1/conversations/", {"name": "general"}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "already_exists")
    assert chat_state() == before


@pytest.mark.parametrize("name", ["", "two words", "<script>", "x" * 81], ids=repr)
def test_a_bad_channel_name_is_400(alice, name):
    before = chat_state()

    response = api_as(alice).post("/api/v1/conversations/", {"name": name}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "invalid_input")
    assert chat_state() == before


def test_the_conversation_list_holds_mine_and_browse_holds_public_channels_to_join(alice, bob):
    mine = ChannelFactory(creator=alice, members=[bob])
    joinable = ChannelFactory(creator=alice)
    ChannelFactory(creator=alice, private=True)
    archived = ChannelFactory(creator=alice)
    api_as(alice).post(f"/api/v1/conversations/{archived.pk}/archive/")
    client = api_as(bob)

    listing = client.get("/api/v1/conversations/").json()
    browse = client.get("/api/v1/conversations/", {"browse": "1"}).json()

    assert [c["id"] for c in listing] == [mine.pk]
    assert [(c["id"], c["member_count"]) for c in browse] == [(joinable.pk, 1)]


def test_opening_a_direct_conversation_is_idempotent(alice, bob):
    first = api_as(alice).post("/api/v1/conversations/direct/", {"users": [bob.pk]}, format="json")
    events = chat_state()["events"]
    again = api_as(bob).post("/api/v1/conversations/direct/", {"users": [alice.pk]}, format="json")

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["kind"] == "direct"
    assert first.json()["name"] == bob.shown_name
    assert again.json()["name"] == alice.shown_name
    assert chat_state()["events"] == events


def test_a_group_of_more_than_nine_is_400(alice):
    others = [UserFactory().pk for _ in range(9)]
    before = chat_state()

    response = api_as(alice).post("/api/v1/conversations/direct/", {"users": others}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "invalid_input")
    assert chat_state() == before


def test_an_owner_renames_a_channel(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])

    response = api_as(alice).patch(
        f"/api/v1/conversations/{channel.pk}/", {"name": "renamed", "topic": "new"}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["topic"]) == ("renamed", "new")
    assert ConversationEvent.objects.filter(type=EventType.CONVERSATION_UPDATED).count() == 1


def test_joining_and_leaving_a_public_channel(alice, bob):
    channel = ChannelFactory(creator=alice)
    client = api_as(bob)

    joined = client.post(f"/api/v1/conversations/{channel.pk}/join/")
    left = client.post(f"/api/v1/conversations/{channel.pk}/leave/")
    members = api_as(alice).get(f"/api/v1/conversations/{channel.pk}/members/").json()

    assert (joined.status_code, joined.json()["role"]) == (200, "member")
    assert left.status_code == 204
    assert [m["id"] for m in members] == [alice.pk]
    assert [e.type for e in ConversationEvent.objects.filter(conversation=channel).order_by("seq")][
        -2:
    ] == [EventType.MEMBER_JOINED, EventType.MEMBER_LEFT]


def test_members_are_listed_with_their_roles(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])

    members = api_as(bob).get(f"/api/v1/conversations/{channel.pk}/members/").json()

    assert members == [
        {"id": alice.pk, "username": "alice", "name": alice.shown_name, "role": "owner"},
        {"id": bob.pk, "username": "bob", "name": bob.shown_name, "role": "member"},
    ]


def test_an_owner_invites_and_removes(alice, bob, carol):
    channel = ChannelFactory(creator=alice, private=True)
    client = api_as(alice)

    invited = client.post(
        f"/api/v1/conversations/{channel.pk}/members/", {"users": [bob.pk, carol.pk]}, format="json"
    )
    removed = client.delete(f"/api/v1/conversations/{channel.pk}/members/{carol.pk}/")
    members = client.get(f"/api/v1/conversations/{channel.pk}/members/").json()

    assert invited.status_code == 201
    assert [m["username"] for m in invited.json()] == ["alice", "bob", "carol"]
    assert removed.status_code == 204
    assert [m["username"] for m in members] == ["alice", "bob"]


def test_inviting_an_unknown_user_is_400_and_invites_nobody(alice, bob):
    channel = ChannelFactory(creator=alice)
    before = chat_state()

    response = api_as(alice).post(
        f"/api/v1/conversations/{channel.pk}/members/", {"users": [bob.pk, 999_999]}, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (400, "invalid_input")
    assert chat_state() == before


def test_an_archived_channel_reads_but_refuses_writes(alice):
    channel = ChannelFactory(creator=alice)
    client = api_as(alice)
    archived = client.post(f"/api/v1/conversations/{channel.pk}/archive/")
    before = chat_state()

    rename = client.patch(f"/api/v1/conversations/{channel.pk}/", {"topic": "x"}, format="json")
    history = client.get(f"/api/v1/conversations/{channel.pk}/messages/")

    assert (archived.status_code, archived.json()["archived"]) == (200, True)
    assert (rename.status_code, rename.json()["code"]) == (409, "archived")
    assert history.status_code == 200
    assert chat_state() == before


# --- me and the directory --------------------------------------------------------------------


def test_me_names_the_user_and_their_roles():
    officer = UserFactory(username="olga", roles=[Role.EMPLOYEE, Role.COMPLIANCE_OFFICER])

    response = api_as(officer).get("/api/v1/me/")

    assert response.json() == {
        "id": officer.pk,
        "username": "olga",
        "name": officer.shown_name,
        "roles": ["compliance_officer", "employee"],
    }


def test_the_directory_searches_active_users_with_their_presence(alice, bob):
    UserFactory(username="bobby-gone", is_active=False)
    presence_session_set(user=bob, channel_name="bob-laptop", status="online")

    found = api_as(alice).get("/api/v1/users/", {"q": "bob"}).json()

    assert found == [
        {"id": bob.pk, "username": "bob", "name": bob.shown_name, "presence": "online"}
    ]


def test_the_conversation_list_reveals_no_conversation_the_user_is_not_in(alice, bob, carol):
    direct_conversation(alice, bob)

    listing = api_as(carol).get("/api/v1/conversations/").json()

    assert listing == []


def test_the_directory_returns_exactly_the_people_asked_for_by_id(alice, bob, carol):
    response = api_as(alice).get(f"/api/v1/users/?ids={bob.pk},{carol.pk}")

    assert response.status_code == 200
    assert sorted(u["id"] for u in response.json()) == sorted([bob.pk, carol.pk])
    assert all(u["presence"] == "offline" for u in response.json())


def test_a_malformed_id_list_is_refused_plainly(alice):
    response = api_as(alice).get("/api/v1/users/?ids=1,x")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_input"


def test_an_owner_sets_the_purpose_and_makes_the_channel_private(alice, bob):
    channel = ChannelFactory(creator=alice, members=[bob])
    client = api_as(alice)

    purpose = client.patch(
        f"/api/v1/conversations/{channel.pk}/", {"purpose": "Quotes only"}, format="json"
    )
    private = client.post(
        f"/api/v1/conversations/{channel.pk}/visibility/", {"private": True}, format="json"
    )

    assert (purpose.status_code, purpose.json()["purpose"]) == (200, "Quotes only")
    assert (private.status_code, private.json()["kind"]) == (200, "private")
    assert api_as(bob).get(f"/api/v1/conversations/{channel.pk}/").json()["kind"] == "private"


def test_making_a_channel_private_without_the_flag_is_400(alice):
    channel = ChannelFactory(creator=alice)
    before = chat_state()

    response = api_as(alice).post(
        f"/api/v1/conversations/{channel.pk}/visibility/", {}, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (400, "invalid_input")
    assert chat_state() == before
