"""The search API: compliance search, version history, context and employee search, with
the permission matrix (a refusal changes and audits nothing) and the audit of each search."""

import base64
import json

import pytest

from accounts.models import Role
from audit.models import AuditEvent, AuditEventType
from compliance.search import results
from eim.chat.services.messages import message_delete, message_edit
from tests.conftest import api_as
from tests.factories import ChannelFactory, UserFactory, direct_conversation, send

from .search_world import archive_and_index

pytestmark = pytest.mark.usefixtures("archive_blobs")

RESULT_KEYS = {
    "archive_seq",
    "message_id",
    "conversation",
    "author",
    "body",
    "created_at",
    "occurred_at",
    "version_kind",
    "is_edited",
    "is_deleted",
    "has_attachment",
    "highlights",
}


@pytest.fixture
def chat(alice, bob, carol):  # type: ignore[no-untyped-def]
    """#trading-desk (alice, bob): an edited and a deleted message; a bob-carol DM."""
    desk = ChannelFactory(creator=alice, members=[bob], name="trading-desk")
    tip = send(bob, desk, "insider tip about <script>Acme</script>")
    message_edit(user=bob, message_id=tip.pk, body="compliance tip about Acme")
    gone = send(alice, desk, "delete this tip")
    message_delete(user=alice, message_id=gone.pk)
    send(carol, direct_conversation(bob, carol), "a private tip for bob")
    archive_and_index()
    return {"desk": desk, "tip": tip, "gone": gone}


def _audit_rows() -> list[tuple]:
    return list(AuditEvent.objects.order_by("pk").values_list("pk", "event_type", "details"))


def test_compliance_search_returns_every_version_with_facets_when_asked(officer, chat):
    response = api_as(officer).get("/api/v1/compliance/search", {"q": "tip", "facets": "true"})

    body = response.json()
    assert response.status_code == 200
    assert (body["count"], body["count_exact"]) == (4, True)
    assert body["next"] is None
    assert {r["body"] for r in body["results"]} == {
        "insider tip about <script>Acme</script>",
        "compliance tip about Acme",
        "delete this tip",
        "a private tip for bob",
    }
    assert set(body["results"][0]) == RESULT_KEYS
    assert {a["username"]: a["count"] for a in body["facets"]["authors"]} == {
        "bob": 2,
        "alice": 1,
        "carol": 1,
    }
    assert set(body["facets"]) == {"authors", "conversations", "days"}


def test_compliance_search_has_no_facets_unless_asked(officer, chat):
    body = api_as(officer).get("/api/v1/compliance/search", {"q": "tip"}).json()

    assert "facets" not in body
    assert body["count"] == len(body["results"]) == 4


def test_a_count_past_the_cap_is_the_cap_and_not_exact_and_is_audited_so(
    officer, chat, monkeypatch
):
    monkeypatch.setattr(results, "COUNT_CAP", 3)
    client = api_as(officer)

    four = client.get("/api/v1/compliance/search", {"q": "tip", "limit": 2}).json()
    three = client.get("/api/v1/compliance/search", {"q": "tip -from:carol"}).json()
    bob_sees_two = api_as(chat["tip"].author).get("/api/v1/search", {"q": "tip"}).json()

    assert (four["count"], four["count_exact"], len(four["results"])) == (3, False, 2)
    assert four["next"] is not None
    assert (three["count"], three["count_exact"], len(three["results"])) == (3, True, 3)
    assert (bob_sees_two["count"], bob_sees_two["count_exact"]) == (2, True)
    assert [e.details["result_count_exact"] for e in AuditEvent.objects.order_by("pk")] == [
        False,
        True,
    ]
    assert [e.details["result_count"] for e in AuditEvent.objects.order_by("pk")] == [3, 3]


def test_an_employee_count_past_the_cap_is_not_exact(chat, bob, monkeypatch):
    monkeypatch.setattr(results, "COUNT_CAP", 1)

    body = api_as(bob).get("/api/v1/search", {"q": "tip"}).json()

    assert (body["count"], body["count_exact"], len(body["results"])) == (1, False, 2)
    assert not AuditEvent.objects.exists()


def test_a_result_has_its_conversation_author_and_escaped_highlights(officer, chat):
    response = api_as(officer).get("/api/v1/compliance/search", {"q": "insider"})

    (result,) = response.json()["results"]
    assert result["conversation"] == {"id": chat["desk"].pk, "name": "trading-desk"}
    assert result["author"]["username"] == "bob"
    assert result["author"]["name"] == "Bob"
    assert (result["version_kind"], result["is_edited"], result["is_deleted"]) == (
        "original",
        True,
        False,
    )
    assert result["highlights"] == [
        "<mark>insider</mark> tip about &lt;script&gt;Acme&lt;/script&gt;"
    ]


def test_every_compliance_search_writes_one_audit_event_with_its_result_count(officer, chat):
    api_as(officer).get("/api/v1/compliance/search", {"q": "tip -From:Alice", "limit": 2})

    (event,) = AuditEvent.objects.all()
    assert event.actor == officer
    assert event.event_type == AuditEventType.SEARCH_RUN
    assert event.details["query"] == "tip -From:Alice"
    assert event.details["canonical"] == "tip AND NOT from:alice"
    assert event.details["result_count"] == 3
    assert event.details["result_count_exact"] is True
    assert event.details["order"] == "newest"


def test_the_next_cursor_continues_the_search_and_is_audited_too(officer, chat):
    client = api_as(officer)
    first = client.get("/api/v1/compliance/search", {"q": "tip", "limit": 3}).json()

    second = client.get(
        "/api/v1/compliance/search", {"q": "tip", "limit": 3, "cursor": first["next"]}
    ).json()

    seqs = [r["archive_seq"] for r in first["results"] + second["results"]]
    assert len(seqs) == 4 == len(set(seqs))
    assert second["next"] is None
    assert AuditEvent.objects.count() == 2


def test_a_malformed_query_is_400_with_its_position_and_is_not_audited(officer, chat):
    response = api_as(officer).get("/api/v1/compliance/search", {"q": 'insider "trading'})

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_query",
        "detail": "unclosed quote at 8",
        "position": 8,
    }
    assert not AuditEvent.objects.exists()


def test_a_foreign_cursor_is_refused(officer, chat):
    response = api_as(officer).get(
        "/api/v1/compliance/search", {"q": "tip", "cursor": "not-a-cursor"}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"
    assert not AuditEvent.objects.exists()


def _tampered(order: str, after: object) -> str:
    raw = json.dumps({"order": order, "after": after}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("order", "after"),
    [
        ("relevance", [-5]),
        ("relevance", ["abc"]),
        ("relevance", [1e300]),
        ("relevance", [float("nan")]),
        ("relevance", [float("inf")]),
        ("relevance", [10**30]),
        ("relevance", [2.5]),
        ("relevance", [1e300, 3]),
        ("relevance", [[1]]),
        ("relevance", [{"offset": 1}]),
        ("relevance", [None]),
        ("newest", [1709285400000, 12]),
        ("newest", ["2024-03-01T09:30:00+00:00", 2**70]),
        ("newest", ["2024-03-01T09:30:00+00:00", -1]),
        ("newest", ["2024-03-01T09:30:00", 5]),
        ("newest", ["0001-01-01T00:00:00+14:00", 5]),
        ("newest", ["not a time", 5]),
        ("newest", [5]),
        ("newest", ["2024-03-01T09:30:00+00:00", 5, 6]),
    ],
    ids=str,
)
def test_a_tampered_cursor_is_400_in_plain_words_and_is_not_audited(officer, chat, order, after):
    response = api_as(officer).get(
        "/api/v1/compliance/search",
        {"q": "tip", "order": order, "cursor": _tampered(order, after)},
    )

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_cursor",
        "detail": "the cursor is not one this search returned",
    }
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("after", [[-5], ["abc"], [1e300]], ids=str)
def test_a_tampered_cursor_is_400_in_employee_search_too(bob, chat, after):
    response = api_as(bob).get(
        "/api/v1/search",
        {"q": "tip", "order": "relevance", "cursor": _tampered("relevance", after)},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


def test_a_relevance_cursor_pages_through_every_match(officer, chat):
    client = api_as(officer)
    first = client.get("/api/v1/compliance/search", {"q": "tip", "order": "relevance", "limit": 3})

    second = client.get(
        "/api/v1/compliance/search",
        {"q": "tip", "order": "relevance", "limit": 3, "cursor": first.json()["next"]},
    )

    seqs = [r["archive_seq"] for r in first.json()["results"] + second.json()["results"]]
    assert second.status_code == 200
    assert len(seqs) == 4 == len(set(seqs))


def test_a_facets_flag_that_is_not_a_boolean_is_refused_and_nothing_is_searched(officer, chat):
    response = api_as(officer).get("/api/v1/compliance/search", {"q": "tip", "facets": "maybe"})

    assert response.status_code == 400
    assert "facets" in response.json()["detail"]
    assert not AuditEvent.objects.exists()


def _not_officers():  # type: ignore[no-untyped-def]
    return {
        "employee": UserFactory(username="eve"),
        "administrator": UserFactory(username="adam", roles=[Role.ADMINISTRATOR]),
        "auditor": UserFactory(username="audrey", roles=[Role.AUDITOR]),
        "superuser": UserFactory(username="root", is_superuser=True, is_staff=True),
    }


@pytest.mark.parametrize("who", ["employee", "administrator", "auditor", "superuser"])
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/compliance/search?q=tip",
        "/api/v1/compliance/messages/{message}/versions",
        "/api/v1/compliance/messages/{message}/exposure",
        "/api/v1/compliance/records/{seq}/context",
    ],
)
def test_only_compliance_officers_reach_the_archive(chat, who, url):
    user = _not_officers()[who]
    before = _audit_rows()

    response = api_as(user).get(url.format(message=chat["tip"].pk, seq=1))

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert _audit_rows() == before == []


def test_anonymous_requests_are_refused(api, chat):
    assert api.get("/api/v1/compliance/search", {"q": "tip"}).status_code in (401, 403)
    assert api.get("/api/v1/search", {"q": "tip"}).status_code in (401, 403)
    assert not AuditEvent.objects.exists()


def test_version_history_lists_original_edit_and_deletion_and_is_audited(officer, chat):
    client = api_as(officer)

    edited = client.get(f"/api/v1/compliance/messages/{chat['tip'].pk}/versions").json()
    deleted = client.get(f"/api/v1/compliance/messages/{chat['gone'].pk}/versions").json()

    assert [(v["version_kind"], v["body"]) for v in edited["versions"]] == [
        ("original", "insider tip about <script>Acme</script>"),
        ("edit", "compliance tip about Acme"),
    ]
    assert [(v["version_kind"], v["body"]) for v in deleted["versions"]] == [
        ("original", "delete this tip"),
        ("deleted", "delete this tip"),
    ]
    assert list(AuditEvent.objects.values_list("event_type", "details")) == [
        (AuditEventType.VERSION_HISTORY_VIEWED, {"message_id": chat["tip"].pk, "version_count": 2}),
        (
            AuditEventType.VERSION_HISTORY_VIEWED,
            {"message_id": chat["gone"].pk, "version_count": 2},
        ),
    ]


def test_version_history_of_an_unknown_message_is_404(officer, chat):
    response = api_as(officer).get("/api/v1/compliance/messages/999999/versions")

    assert response.status_code == 404
    assert not AuditEvent.objects.exists()


def test_context_shows_neighbours_as_they_were_at_that_moment(officer, alice, bob):
    desk = ChannelFactory(creator=alice, members=[bob], name="desk")
    early = send(alice, desk, "early words")
    hit = send(bob, desk, "the hit")
    send(alice, desk, "later words")
    message_edit(user=alice, message_id=early.pk, body="early words, rewritten afterwards")
    archive_and_index()
    seq = api_as(officer).get("/api/v1/compliance/search", {"q": '"the hit"'}).json()
    hit_seq = seq["results"][0]["archive_seq"]

    response = api_as(officer).get(
        f"/api/v1/compliance/records/{hit_seq}/context", {"before": 5, "after": 5}
    )

    body = response.json()
    assert response.status_code == 200
    assert body["record"]["message_id"] == hit.pk
    assert [m["body"] for m in body["before"]] == ["early words"]
    assert [m["body"] for m in body["after"]] == ["later words"]
    assert AuditEvent.objects.filter(event_type=AuditEventType.CONTEXT_VIEWED).count() == 1


def test_employee_search_finds_only_current_text_of_own_conversations(chat, bob, carol, alice):
    bob_sees = api_as(bob).get("/api/v1/search", {"q": "tip"}).json()
    carol_sees = api_as(carol).get("/api/v1/search", {"q": "tip", "facets": "true"}).json()
    alice_old = api_as(alice).get("/api/v1/search", {"q": "insider"}).json()

    assert {r["body"] for r in bob_sees["results"]} == {
        "compliance tip about Acme",
        "a private tip for bob",
    }
    assert bob_sees["count"] == 2
    assert "facets" not in bob_sees
    assert carol_sees["count"] == 1
    assert [r["body"] for r in carol_sees["results"]] == ["a private tip for bob"]
    assert [a["username"] for a in carol_sees["facets"]["authors"]] == ["carol"]
    assert [c["count"] for c in carol_sees["facets"]["conversations"]] == [1]
    assert alice_old == {"count": 0, "count_exact": True, "results": [], "next": None}
    assert not AuditEvent.objects.exists()


def test_an_employee_query_cannot_widen_the_scope(chat, carol):
    for query in [
        "tip OR NOT tip",
        "in:trading-desk",
        "is:deleted",
        "-zzz",
        "from:bob OR from:alice",
    ]:
        body = api_as(carol).get("/api/v1/search", {"q": query, "facets": "true"}).json()

        assert all(r["conversation"]["name"] == "" for r in body["results"]), query
        assert body["count"] == len(body["results"]) <= 1, query
        assert sum(d["count"] for d in body["facets"]["days"]) == body["count"], query


def test_a_malformed_employee_query_is_400_with_position(bob, chat):
    response = api_as(bob).get("/api/v1/search", {"q": "(buy OR sell"})

    assert response.status_code == 400
    assert response.json()["position"] == 0
