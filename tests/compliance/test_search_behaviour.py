"""One behaviour suite for every search backend: messages go through the real pipeline
(chat services → archive → index) and each query must find exactly the expected versions.

Runs against PostgreSQL always and against a live Elasticsearch cluster when
ELASTICSEARCH_URL is set (marker `elasticsearch`)."""

from dataclasses import dataclass

import pytest

from accounts.models import User
from compliance.search.backends import SearchBackend
from compliance.search.query import parse_query
from compliance.search.results import Order, Scope
from eim.chat.selectors import conversation_cursors_for_user
from eim.chat.services.conversations import membership_join, membership_leave
from eim.chat.services.messages import message_delete, message_edit
from tests.factories import (
    ChannelFactory,
    UserFactory,
    direct_conversation,
    send,
    staged_attachment,
)

from .search_world import archive_and_index, bodies, found, versions

pytestmark = pytest.mark.usefixtures("archive_blobs")

EVERYTHING = Scope.everything()


@dataclass
class World:
    alice: User
    bob: User
    carol: User
    backend: SearchBackend

    def employee(self, user: User) -> Scope:
        return Scope.member_of(set(conversation_cursors_for_user(user_id=user.pk)))


@pytest.fixture
def world(backend: SearchBackend) -> World:
    """alice and bob on #trading-desk; alice and carol in private #deals; bob and carol in a
    direct conversation. bob edits one message; alice deletes one."""
    alice, bob, carol = (UserFactory(username=n) for n in ("alice", "bob", "carol"))
    desk = ChannelFactory(creator=alice, members=[bob], name="trading-desk")
    deals = ChannelFactory(creator=alice, members=[carol], name="deals", private=True)
    direct = direct_conversation(bob, carol)
    send(alice, desk, "we are trading shares today")
    insider = send(bob, desk, "the insider list is updated")
    message_edit(user=bob, message_id=insider.pk, body="the compliance list is updated")
    merger = send(alice, deals, "confidential merger talk with Acme")
    message_delete(user=alice, message_id=merger.pk)
    send(carol, direct, "lunch at noon? bring the <b>menu</b>")
    upload = staged_attachment(alice, desk, b"numbers\n", "numbers.txt")
    send(alice, desk, "see the attached numbers", attachment_ids=[upload.pk])
    archive_and_index(backend)
    return World(alice, bob, carol, backend)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("trade", {("we are trading shares today", "original")}),
        ("insider", {("the insider list is updated", "original")}),
        ("compliance", {("the compliance list is updated", "edit")}),
        (
            "is:edited",
            {
                ("the insider list is updated", "original"),
                ("the compliance list is updated", "edit"),
            },
        ),
        ("confidential", {("confidential merger talk with Acme", "original")}),
        ("is:deleted", {("confidential merger talk with Acme", "original")}),
        ('"merger talk"', {("confidential merger talk with Acme", "original")}),
        ('"merger talks"', set()),
        ("confid*", {("confidential merger talk with Acme", "original")}),
        ("merger NEAR/2 acme", {("confidential merger talk with Acme", "original")}),
        ("merger NEAR/1 acme", set()),
        ("has:attachment", {("see the attached numbers", "original")}),
        ("in:deals", {("confidential merger talk with Acme", "original")}),
        (
            "participant:carol",
            {
                ("confidential merger talk with Acme", "original"),
                ("lunch at noon? bring the <b>menu</b>", "original"),
            },
        ),
        ("from:carol", {("lunch at noon? bring the <b>menu</b>", "original")}),
        ("list -from:bob", set()),
        ("list AND NOT is:edited", set()),
        ("(lunch OR shares) -noon", {("we are trading shares today", "original")}),
        ("after:2999-01-01", set()),
    ],
)
def test_compliance_scope_finds_every_version(world: World, query: str, expected: set) -> None:
    assert versions(found(world.backend, query, EVERYTHING)) == expected


@pytest.mark.parametrize(
    ("user", "query", "expected"),
    [
        ("bob", "insider", set()),
        ("bob", "compliance", {"the compliance list is updated"}),
        ("bob", "list", {"the compliance list is updated"}),
        ("bob", "is:edited", {"the compliance list is updated"}),
        ("carol", "confidential", set()),
        ("carol", "is:deleted", set()),
        (
            "bob",
            "lunch OR trading",
            {"lunch at noon? bring the <b>menu</b>", "we are trading shares today"},
        ),
        ("carol", "trading OR NOT trading", {"lunch at noon? bring the <b>menu</b>"}),
        ("carol", "in:trading-desk", set()),
        ("alice", "lunch", set()),
    ],
)
def test_employee_scope_is_current_text_of_own_conversations(
    world: World, user: str, query: str, expected: set
) -> None:
    person = getattr(world, user)

    assert bodies(found(world.backend, query, world.employee(person))) == expected


def test_an_employee_count_and_facets_stay_inside_the_scope(world: World) -> None:
    page = found(world.backend, "NOT zzz", world.employee(world.carol), facets=True)

    assert page.count == 1
    assert page.facets is not None
    assert [a["username"] for a in page.facets.authors] == ["carol"]
    assert [(c["name"], c["count"]) for c in page.facets.conversations] == [("", 1)]
    assert sum(d["count"] for d in page.facets.days) == 1


def test_compliance_facets_count_versions(world: World) -> None:
    page = found(world.backend, "NOT zzz", EVERYTHING, facets=True)

    assert page.count == 6
    assert page.facets is not None
    assert {a["username"]: a["count"] for a in page.facets.authors} == {
        "alice": 3,
        "bob": 2,
        "carol": 1,
    }
    assert {c["name"]: c["count"] for c in page.facets.conversations} == {
        "trading-desk": 4,
        "deals": 1,
        "": 1,
    }


def test_highlights_mark_matches_and_escape_everything_else(world: World) -> None:
    page = found(world.backend, "lunch", EVERYTHING)

    assert page.hits[0].highlights == [
        "<mark>lunch</mark> at noon? bring the &lt;b&gt;menu&lt;/b&gt;"
    ]


def test_a_match_by_field_only_has_no_highlights(world: World) -> None:
    page = found(world.backend, "from:carol", EVERYTHING)

    assert page.hits[0].highlights == []


def test_newest_first_pages_through_everything_once(world: World) -> None:
    seen, after = [], None
    while True:
        page = world.backend.search(
            parse_query("NOT zzz"),
            scope=EVERYTHING,
            order=Order.NEWEST,
            after=after,
            limit=2,
        )
        seen += [h.document.archive_seq for h in page.hits]
        after = page.next_after
        if after is None:
            break

    assert len(seen) == 6 == len(set(seen))
    assert seen == sorted(seen, reverse=True)


def test_relevance_order_ranks_more_matched_words_first(world: World) -> None:
    page = found(world.backend, "list OR compliance", EVERYTHING, order=Order.RELEVANCE)

    assert [h.document.body for h in page.hits] == [
        "the compliance list is updated",
        "the insider list is updated",
    ]


def test_relevance_order_pages_through_everything_once(world: World) -> None:
    first = found(world.backend, "NOT zzz", EVERYTHING, order=Order.RELEVANCE, limit=4)
    second = found(
        world.backend, "NOT zzz", EVERYTHING, order=Order.RELEVANCE, limit=4, after=first.next_after
    )

    seqs = [h.document.archive_seq for h in first.hits + second.hits]
    assert (len(first.hits), len(second.hits), second.next_after) == (4, 2, None)
    assert len(set(seqs)) == 6


def test_participant_finds_who_joined_later_with_the_history_and_not_who_joined_without(
    backend: SearchBackend,
) -> None:
    """dave joins #open after its first message (the history is shown); erin joins #closed
    after its first message (it is not); frank was in #open when it was written, then left."""
    alice, dave, erin, frank = (UserFactory(username=n) for n in ("alice", "dave", "erin", "frank"))
    shown = ChannelFactory(creator=alice, members=[frank], name="open")
    closed = ChannelFactory(creator=alice, name="closed", history_visible=False)
    send(alice, shown, "open words before dave")
    edited = send(alice, shown, "open draft before dave")
    message_edit(user=alice, message_id=edited.pk, body="open final before dave")
    gone = send(alice, shown, "open deleted before dave")
    message_delete(user=alice, message_id=gone.pk)
    send(alice, closed, "closed words before erin")
    membership_leave(user=frank, conversation_id=shown.pk)
    membership_join(user=dave, conversation_id=shown.pk)
    membership_join(user=erin, conversation_id=closed.pk)
    send(alice, closed, "closed words after erin")
    archive_and_index(backend)

    assert versions(found(backend, "participant:dave", EVERYTHING)) == {
        ("open words before dave", "original"),
        ("open final before dave", "edit"),
    }
    assert bodies(found(backend, "participant:erin", EVERYTHING)) == {"closed words after erin"}
    assert bodies(found(backend, "participant:frank", EVERYTHING)) == {
        "open words before dave",
        "open draft before dave",
        "open final before dave",
        "open deleted before dave",
    }
