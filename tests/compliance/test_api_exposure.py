"""Who could see a message, for a compliance officer: the exposure endpoint (audited, officers
only) and `participant:` finding people who joined later and were given the history."""

import pytest

from accounts.models import Role
from audit.models import AuditEvent, AuditEventType
from compliance.search import indexing
from compliance.search.indexing import index_rebuild
from eim.chat.models import ConversationEvent, EventType
from eim.chat.services.conversations import membership_join, membership_leave
from tests.conftest import api_as
from tests.factories import ChannelFactory, UserFactory, send

from .search_world import archive_and_index

pytestmark = pytest.mark.usefixtures("archive_blobs")


def _join_time(username: str) -> str:
    event = ConversationEvent.objects.get(
        type=EventType.MEMBER_JOINED, payload__user__username=username
    )
    return event.occurred_at.isoformat()


def _audit_rows() -> list[tuple]:
    return list(AuditEvent.objects.order_by("pk").values_list("pk", "event_type", "details"))


def _search(officer, query: str) -> set[str]:  # type: ignore[no-untyped-def]
    response = api_as(officer).get("/api/v1/compliance/search", {"q": query})
    assert response.status_code == 200
    return {r["body"] for r in response.json()["results"]}


@pytest.fixture
def tip(alice, bob, carol):  # type: ignore[no-untyped-def]
    """alice tells bob on #desk; bob leaves; carol joins later (the history is shown)."""
    desk = ChannelFactory(creator=alice, members=[bob], name="desk")
    message = send(alice, desk, "the tip before carol came")
    membership_leave(user=bob, conversation_id=desk.pk)
    membership_join(user=carol, conversation_id=desk.pk)
    archive_and_index()
    return message


def test_the_exposure_lists_a_later_joiner_from_the_join_and_a_leaver_until_the_leave(officer, tip):
    response = api_as(officer).get(f"/api/v1/compliance/messages/{tip.pk}/exposure")

    body = response.json()
    assert response.status_code == 200
    people = {p["user"]["username"]: p for p in body["people"]}
    assert set(people) == {"alice", "bob", "carol"}
    assert (people["carol"]["via"], people["carol"]["since"]) == ("history", _join_time("carol"))
    assert people["carol"]["until"] is None
    left = ConversationEvent.objects.get(type=EventType.MEMBER_LEFT).occurred_at.isoformat()
    assert (people["bob"]["via"], people["bob"]["until"]) == ("audience", left)
    assert people["bob"]["until_reason"] == "left"
    assert people["alice"]["since"] == body["written_at"]
    assert body["conversation"]["name"] == "desk"


def test_viewing_the_exposure_is_audited(officer, tip):
    api_as(officer).get(f"/api/v1/compliance/messages/{tip.pk}/exposure")

    assert list(AuditEvent.objects.values_list("actor", "event_type", "details")) == [
        (officer.pk, AuditEventType.EXPOSURE_VIEWED, {"message_id": tip.pk, "people_count": 3})
    ]


def test_the_exposure_of_an_unknown_message_is_404_and_not_audited(officer, tip):
    response = api_as(officer).get("/api/v1/compliance/messages/999999/exposure")

    assert response.status_code == 404
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "roles", [[Role.EMPLOYEE], [Role.ADMINISTRATOR], [Role.AUDITOR], "superuser"]
)
def test_only_officers_see_the_exposure_and_a_refusal_records_nothing(tip, roles):
    if roles == "superuser":
        user = UserFactory(username="root", is_superuser=True, is_staff=True)
    else:
        user = UserFactory(username="someone", roles=roles)
    before = _audit_rows()

    response = api_as(user).get(f"/api/v1/compliance/messages/{tip.pk}/exposure")

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert _audit_rows() == before == []


def test_anonymous_exposure_requests_are_refused(api, tip):
    response = api.get(f"/api/v1/compliance/messages/{tip.pk}/exposure")

    assert response.status_code in (401, 403)
    assert not AuditEvent.objects.exists()


def test_participant_finds_a_later_joiner_given_the_history(officer, tip):
    assert _search(officer, "participant:carol") == {"the tip before carol came"}
    assert _search(officer, "participant:bob") == {"the tip before carol came"}


def test_participant_does_not_find_a_later_joiner_without_the_history(officer, alice, carol):
    desk = ChannelFactory(creator=alice, name="need-to-know", history_visible=False)
    send(alice, desk, "said before carol came")
    membership_join(user=carol, conversation_id=desk.pk)
    send(alice, desk, "said after carol came")
    archive_and_index()

    assert _search(officer, "participant:carol") == {"said after carol came"}
    exposure = api_as(officer).get(
        f"/api/v1/compliance/messages/{desk.messages.order_by('seq').first().pk}/exposure"
    )
    assert [p["user"]["username"] for p in exposure.json()["people"]] == ["alice"]


def test_a_join_archived_in_a_later_batch_widens_what_participant_finds(officer, alice, carol):
    desk = ChannelFactory(creator=alice, name="desk")
    send(alice, desk, "indexed before carol came")
    archive_and_index()
    assert _search(officer, "participant:carol") == set()

    membership_join(user=carol, conversation_id=desk.pk)
    archive_and_index()

    assert _search(officer, "participant:carol") == {"indexed before carol came"}


def test_employee_search_keeps_to_where_the_members_history_starts(alice, carol):
    shown = ChannelFactory(creator=alice, name="shown")
    hidden = ChannelFactory(creator=alice, name="hidden", history_visible=False)
    send(alice, shown, "shown words before carol")
    send(alice, hidden, "hidden words before carol")
    membership_join(user=carol, conversation_id=shown.pk)
    membership_join(user=carol, conversation_id=hidden.pk)
    send(alice, hidden, "hidden words after carol")
    archive_and_index()

    response = api_as(carol).get("/api/v1/search", {"q": "words"})

    assert response.status_code == 200
    assert {r["body"] for r in response.json()["results"]} == {
        "shown words before carol",
        "hidden words after carol",
    }
    alices = api_as(alice).get("/api/v1/search", {"q": "words"}).json()["results"]
    assert len(alices) == 3


def test_employee_search_finds_nothing_of_a_join_not_archived_yet(alice, carol):
    hidden = ChannelFactory(creator=alice, name="hidden", history_visible=False)
    send(alice, hidden, "hidden words before carol")
    archive_and_index()
    membership_join(user=carol, conversation_id=hidden.pk)

    response = api_as(carol).get("/api/v1/search", {"q": "words"})

    assert response.json()["results"] == []


def test_a_rebuilt_index_finds_the_later_joiner_too(officer, tip):
    index_rebuild()

    assert _search(officer, "participant:carol") == {"the tip before carol came"}


def test_a_join_widens_every_earlier_message_however_many_chunks_it_takes(
    officer, alice, carol, monkeypatch
):
    monkeypatch.setattr(indexing, "WIDEN_CHUNK", 2)
    desk = ChannelFactory(creator=alice, name="desk")
    for i in range(5):
        send(alice, desk, f"line {i} before carol")
    archive_and_index()

    membership_join(user=carol, conversation_id=desk.pk)
    archive_and_index()

    assert _search(officer, "participant:carol") == {f"line {i} before carol" for i in range(5)}


def test_the_version_history_names_everyone_who_could_read_each_version(
    officer, tip, alice, bob, carol
):
    body = api_as(officer).get(f"/api/v1/compliance/messages/{tip.pk}/versions").json()

    (original,) = body["versions"]
    assert original["audience"] == sorted([alice.pk, bob.pk])
    assert original["readers"] == sorted([alice.pk, bob.pk, carol.pk])
