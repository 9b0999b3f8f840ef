"""The barrier matrix through the REST API, the people directory and presence, and the
barrier administration API (administrators only; a refusal changes nothing)."""

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent
from eim.chat.barriers.models import BarrierPolicy, BarrierPolicyVersion
from eim.chat.models import PresenceSession
from tests.conftest import api_as
from tests.factories import ChannelFactory, UserFactory, direct_conversation, send

from .conftest import POLICY, barrier_in_force, chat_state

pytestmark = pytest.mark.django_db


def _refused(response, before) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "information_barrier"
    assert POLICY in response.json()["detail"]
    assert "Trading" not in response.json()["detail"]
    assert chat_state() == before


def test_api_direct_message_across_and_not_across(walled):
    client = api_as(walled.rita)
    before = chat_state()
    _refused(
        client.post("/api/v1/conversations/direct/", {"users": [walled.tom.pk]}, format="json"),
        before,
    )
    ok = client.post("/api/v1/conversations/direct/", {"users": [walled.nina.pk]}, format="json")
    assert ok.status_code == 200


def test_api_group_message_across_and_not_across(walled):
    client = api_as(walled.nina)
    before = chat_state()
    across = {"users": [walled.rita.pk, walled.tom.pk]}
    _refused(client.post("/api/v1/conversations/direct/", across, format="json"), before)
    same = {"users": [walled.rita.pk, walled.ruth.pk]}
    assert client.post("/api/v1/conversations/direct/", same, format="json").status_code == 200


def test_api_invite_across_and_not_across(walled):
    channel = ChannelFactory(creator=walled.rita)
    client = api_as(walled.rita)
    url = f"/api/v1/conversations/{channel.pk}/members/"
    before = chat_state()
    _refused(client.post(url, {"users": [walled.tom.pk]}, format="json"), before)
    assert client.post(url, {"users": [walled.nina.pk]}, format="json").status_code == 201


def test_api_join_across_and_not_across(walled):
    research_channel = ChannelFactory(creator=walled.rita)
    open_channel = ChannelFactory(creator=walled.nina)
    client = api_as(walled.tom)
    before = chat_state()
    _refused(client.post(f"/api/v1/conversations/{research_channel.pk}/join/"), before)
    assert client.post(f"/api/v1/conversations/{open_channel.pk}/join/").status_code == 200


def test_api_mention_across_and_not_across(walled):
    channel = ChannelFactory(creator=walled.rita, members=[walled.nina])
    client = api_as(walled.rita)
    url = f"/api/v1/conversations/{channel.pk}/messages/"
    before = chat_state()
    across = {"body": "cc @tom", "client_id": str(uuid.uuid4())}
    _refused(client.post(url, across, format="json"), before)
    fine = {"body": "cc @nina", "client_id": str(uuid.uuid4())}
    assert client.post(url, fine, format="json").status_code == 201


@pytest.fixture
def read_only_dm(people):
    dm = direct_conversation(people.rita, people.tom)
    message = send(people.tom, dm, "before the wall")
    barrier_in_force(people.admin, people.research, people.trading)
    return dm, message


def test_api_file_share_and_reaction_in_a_read_only_conversation_are_refused(people, read_only_dm):
    dm, message = read_only_dm
    client = api_as(people.rita)
    before = chat_state()
    upload = SimpleUploadedFile("model.txt", b"numbers", content_type="text/plain")
    _refused(client.post(f"/api/v1/conversations/{dm.pk}/attachments/", {"file": upload}), before)
    _refused(
        client.post(f"/api/v1/messages/{message.pk}/reactions/", {"emoji": "👍"}, format="json"),
        before,
    )
    listed = client.get(f"/api/v1/conversations/{dm.pk}/").json()
    assert listed["barrier_read_only"] is True


def test_api_file_share_and_reaction_not_across_go_through(walled):
    channel = ChannelFactory(creator=walled.rita, members=[walled.ruth])
    message = send(walled.ruth, channel, "findings")
    client = api_as(walled.rita)
    upload = SimpleUploadedFile("model.txt", b"numbers", content_type="text/plain")
    assert (
        client.post(f"/api/v1/conversations/{channel.pk}/attachments/", {"file": upload})
    ).status_code == 201
    reacted = client.post(
        f"/api/v1/messages/{message.pk}/reactions/", {"emoji": "👍"}, format="json"
    )
    assert reacted.status_code == 200


def _online(*users) -> None:  # type: ignore[no-untyped-def]
    for user in users:
        PresenceSession.objects.create(
            user=user, channel_name=f"test.{user.pk}", status="online", last_seen=timezone.now()
        )


def test_the_directory_hides_barred_people_from_a_search(walled):
    found = api_as(walled.rita).get("/api/v1/users/", {"q": ""}).json()
    names = {u["username"] for u in found}
    assert "tom" not in names
    assert {"ruth", "nina"} <= names
    seen_by_tom = {u["username"] for u in api_as(walled.tom).get("/api/v1/users/").json()}
    assert not {"rita", "ruth"} & seen_by_tom
    assert "nina" in seen_by_tom


def test_presence_of_barred_people_is_never_shown(walled):
    _online(walled.tom, walled.nina)
    ids = f"{walled.tom.pk},{walled.nina.pk}"
    found = {
        u["username"]: u["presence"]
        for u in api_as(walled.rita).get("/api/v1/users/", {"ids": ids}).json()
    }
    assert found == {"tom": "offline", "nina": "online"}
    seen_by_ruths_colleague = api_as(walled.nina).get("/api/v1/users/", {"ids": ids}).json()
    assert {u["username"]: u["presence"] for u in seen_by_ruths_colleague} == {
        "tom": "online",
        "nina": "online",
    }


# --- the barrier administration API -------------------------------------------------------


def test_an_administrator_proposes_previews_and_activates_through_the_api(people):
    dm = direct_conversation(people.rita, people.tom)
    client = api_as(people.admin)
    created = client.post(
        "/api/v1/barriers/",
        {"name": POLICY, "segment_a": people.research.pk, "segment_b": people.trading.pk},
        format="json",
    )
    assert created.status_code == 201
    policy = created.json()
    assert policy["proposed"]["number"] == 1
    assert policy["in_force"] is None

    preview = client.get(f"/api/v1/barriers/{policy['id']}/preview/").json()
    assert [c["id"] for c in preview["conversations"]] == [dm.pk]
    assert preview["counts"]["direct"] == 1

    activated = client.post(
        f"/api/v1/barriers/{policy['id']}/activate/",
        {"version": 1, "channels": "read_only"},
        format="json",
    )
    assert activated.status_code == 200
    assert activated.json()["in_force"]["decision"]["restricted"] == [dm.pk]
    assert client.get("/api/v1/barriers/").json()[0]["in_force"]["segment_b"]["display_name"] == (
        "Trading"
    )


def _outsiders():  # type: ignore[no-untyped-def]
    return [
        UserFactory(username="emp"),
        UserFactory(username="officer", roles=[Role.COMPLIANCE_OFFICER]),
        UserFactory(username="auditor", roles=[Role.AUDITOR]),
        UserFactory(username="root", roles=[], is_superuser=True, is_staff=True),
        UserFactory(username="gone", roles=[Role.ADMINISTRATOR], is_active=False),
    ]


def test_nobody_but_an_active_administrator_reaches_the_barrier_api(people):
    version = barrier_in_force(people.admin, people.research, people.trading)
    pid = version.policy_id
    calls = [
        ("get", "/api/v1/barriers/", None),
        (
            "post",
            "/api/v1/barriers/",
            {"name": "x", "segment_a": people.research.pk, "segment_b": people.trading.pk},
        ),
        ("get", f"/api/v1/barriers/{pid}/", None),
        ("delete", f"/api/v1/barriers/{pid}/", None),
        (
            "post",
            f"/api/v1/barriers/{pid}/proposals/",
            {"segment_a": people.trading.pk, "segment_b": people.research.pk},
        ),
        ("get", f"/api/v1/barriers/{pid}/preview/", None),
        ("post", f"/api/v1/barriers/{pid}/activate/", {"version": 1, "channels": "read_only"}),
        ("post", f"/api/v1/barriers/{pid}/withdraw/", {"version": 1}),
    ]
    for outsider in _outsiders():
        client = api_as(outsider)
        for method, url, body in calls:
            state = (
                chat_state(),
                list(BarrierPolicy.objects.values()),
                list(BarrierPolicyVersion.objects.values()),
                AuditEvent.objects.count(),
            )
            response = getattr(client, method)(url, body, format="json")
            assert response.status_code in (401, 403), (outsider, method, url, response.content)
            assert state == (
                chat_state(),
                list(BarrierPolicy.objects.values()),
                list(BarrierPolicyVersion.objects.values()),
                AuditEvent.objects.count(),
            )


def test_bad_input_to_the_barrier_api_is_a_clear_400_and_changes_nothing(people):
    client = api_as(people.admin)
    for body in (
        {"name": "x"},
        {"name": "x", "segment_a": "research", "segment_b": 2},
        {"name": "x", "segment_a": people.research.pk, "segment_b": people.research.pk},
        {"name": "x", "segment_a": people.research.pk, "segment_b": 424242},
    ):
        response = client.post("/api/v1/barriers/", body, format="json")
        assert response.status_code == 400, response.content
        assert response.json()["code"] == "invalid_input"
    assert not BarrierPolicy.objects.exists()
    assert client.get("/api/v1/barriers/999/preview/").status_code == 404
