"""is:flagged, policy:NAME and review:STATE: written by scanning and review into the search
documents, compiled for both backends, found through the compliance search."""

import pytest

from compliance.models import ReviewItem, SearchRewrite
from compliance.review.services import review_item_decide
from compliance.scanning.stage import scan_pending
from compliance.search.query import QuerySyntaxError, compile_elasticsearch, parse_query
from compliance.search.services import compliance_search
from compliance.tasks import search_rewrite_sweep_task
from tests.factories import ChannelFactory, send

from ..search_world import archive_and_index
from .conftest import make_policy

pytestmark = pytest.mark.usefixtures("archive_blobs")


def bodies(officer, query: str) -> set[str]:
    return {r["body"] for r in compliance_search(user=officer, query=query)["results"]}


@pytest.fixture
def world(alice, officer, django_capture_on_commit_callbacks):
    make_policy(officer, "Promises", terms=["guarantee"])
    make_policy(officer, "Cards", detectors=["payment_card"])
    channel = ChannelFactory(creator=alice, name="desk")
    send(alice, channel, "I guarantee it")
    send(alice, channel, "card 4111 1111 1111 1111")
    send(alice, channel, "nothing to see")
    with django_capture_on_commit_callbacks(execute=True):
        archive_and_index()
        scan_pending()
    return django_capture_on_commit_callbacks


def test_is_flagged_and_policy_find_what_scanning_flagged(world, officer):
    assert bodies(officer, "is:flagged") == {"I guarantee it", "card 4111 1111 1111 1111"}
    assert bodies(officer, "policy:promises") == {"I guarantee it"}
    assert bodies(officer, "policy:Cards") == {"card 4111 1111 1111 1111"}
    assert bodies(officer, "-is:flagged in:desk") == {"nothing to see"}


def test_review_follows_the_items_state_and_decision(
    world, officer, django_capture_on_commit_callbacks
):

    items = {i.message_id: i for i in ReviewItem.objects.all()}
    first = min(items)
    assert bodies(officer, "review:new") == {"I guarantee it", "card 4111 1111 1111 1111"}

    with django_capture_on_commit_callbacks(execute=True):
        review_item_decide(
            user=officer, item_id=items[first].pk, decision="violation", comment="promised"
        )

    assert bodies(officer, "review:closed") == {"I guarantee it"}
    assert bodies(officer, "review:violation") == {"I guarantee it"}
    assert bodies(officer, "review:open") == {"card 4111 1111 1111 1111"}


def test_review_facets_compile_for_elasticsearch():
    dsl = compile_elasticsearch(parse_query("review:escalated policy:cards is:flagged"))
    assert {"term": {"review_states": "escalated"}} in dsl["bool"]["filter"]
    assert {"term": {"policies": "cards"}} in dsl["bool"]["filter"]
    assert {"term": {"is_flagged": True}} in dsl["bool"]["filter"]


def test_an_unknown_review_state_says_which_exist():
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query("review:pending")
    assert str(caught.value).startswith('unknown value "review:pending" at 7 — use review:new,')


def test_a_lost_rewrite_after_a_decision_is_caught_by_the_sweeper(
    world, officer, django_capture_on_commit_callbacks, settings
):
    settings.EIM_SEARCH_REWRITE_GRACE_SECONDS = 0
    item = ReviewItem.objects.order_by("message_id").first()
    # the decision commits, then its rewrite is lost (the process dies before it runs)
    with django_capture_on_commit_callbacks(execute=False):
        review_item_decide(user=officer, item_id=item.pk, decision="violation", comment="x")
    assert bodies(officer, "review:closed") == set()  # the document still says new

    assert search_rewrite_sweep_task() == 1

    assert bodies(officer, "review:closed") == {"I guarantee it"}
    assert not SearchRewrite.objects.exists()
    assert search_rewrite_sweep_task() == 0  # nothing left: the sweep does nothing twice


def test_a_rewrite_that_ran_leaves_nothing_for_the_sweeper(
    world, officer, django_capture_on_commit_callbacks, settings
):
    settings.EIM_SEARCH_REWRITE_GRACE_SECONDS = 0
    item = ReviewItem.objects.order_by("message_id").first()
    with django_capture_on_commit_callbacks(execute=True):
        review_item_decide(user=officer, item_id=item.pk, decision="no_issue", comment="fine")

    assert bodies(officer, "review:no_issue") == {"I guarantee it"}
    assert not SearchRewrite.objects.exists()


def test_the_sweeper_leaves_a_rewrite_still_on_its_way(
    world, officer, django_capture_on_commit_callbacks
):
    item = ReviewItem.objects.order_by("message_id").first()
    with django_capture_on_commit_callbacks(execute=False):
        review_item_decide(user=officer, item_id=item.pk, decision="violation", comment="x")

    assert search_rewrite_sweep_task() == 0  # younger than the grace period: not yet its turn
    assert SearchRewrite.objects.exists()
