"""The groups list pages by keyset (the page and the API), and "last seen" is the latest of a
sign-in, a chat socket connecting and an API token used, filterable in People."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import GroupSource, User
from accounts.services import groups
from accounts.services.tokens import api_token_create
from accounts.services.users import SEEN_PRECISION, user_seen
from eim.chat.models import PresenceStatus
from eim.chat.services.presence import presence_session_set
from tests.conftest import api_as
from tests.factories import UserFactory

from .conftest import World, signed_in

pytestmark = pytest.mark.django_db


def _many_groups(world: World, n: int) -> None:
    for i in range(n):
        groups.group_create(actor=world.ada, display_name=f"Desk {i:03d}")
    groups.group_create(  # the same name again, from the identity provider
        actor=None,
        display_name="Desk 007",
        source=GroupSource.SCIM,
        provider=world.provider,
        external_id="g-7",
        via="test",
    )


def test_the_groups_api_pages_through_every_group_once_in_name_order(world: World):
    _many_groups(world, 120)
    client, seen, after = api_as(world.ada), [], None

    while True:
        query = {"limit": 50} | ({"after": after} if after else {})
        page = client.get("/api/v1/admin/groups/", query).json()
        seen += [(g["display_name"], g["id"]) for g in page["results"]]
        after = page["next_after"]
        if after is None:
            break

    assert len(seen) == 123  # and Advisory, Research from the world
    assert seen == sorted(seen)
    assert len(set(seen)) == len(seen)


def test_the_groups_page_searches_and_offers_the_next_page(world: World):
    _many_groups(world, 60)
    admin = signed_in(world.ada)

    first = admin.get("/console/groups/")
    found = admin.get("/console/groups/", {"q": "desk 05"})
    nothing = admin.get("/console/groups/", {"q": "zzz"})

    assert len(first.context["groups"]) == 50
    assert f"after={first.context['result'].next_after}" in first.content.decode()
    assert [g.display_name for g in found.context["groups"]] == [f"Desk 05{i}" for i in range(10)]
    assert "No group matches" in nothing.content.decode()


def test_a_sign_in_a_socket_and_a_token_each_count_as_seen(world: World):
    signing_in, socket, token_user = (UserFactory(username=n) for n in ("sig", "sock", "tok"))

    signed_in(signing_in)  # force_login sends user_logged_in, as every sign-in does
    presence_session_set(user=socket, channel_name="ws.1", status=PresenceStatus.ONLINE)
    secret = api_token_create(user=token_user)
    Client().get("/api/v1/conversations/", HTTP_AUTHORIZATION=f"Bearer {secret}")

    for person in (signing_in, socket, token_user):
        person.refresh_from_db()
        assert person.last_seen_at is not None
        assert timezone.now() - person.last_seen_at < timedelta(minutes=1)


def test_being_seen_again_soon_writes_nothing_and_never_goes_back(world: World):
    now = timezone.now()
    user_seen(user=world.bob, at=now)
    bob = User.objects.get(pk=world.bob.pk)

    user_seen(user=bob, at=now + SEEN_PRECISION / 2)  # within the precision: nothing written
    stale = User.objects.get(pk=world.bob.pk)
    stale.last_seen_at = now - timedelta(days=1)  # an old copy of the row
    user_seen(user=stale, at=now - timedelta(hours=1))

    assert User.objects.get(pk=world.bob.pk).last_seen_at == now


def test_people_filter_on_last_seen(world: World):
    now = timezone.now()
    User.objects.filter(pk=world.bob.pk).update(last_seen_at=now - timedelta(days=2))
    User.objects.filter(pk=world.carol.pk).update(last_seen_at=now - timedelta(days=100))
    User.objects.exclude(pk__in=[world.bob.pk, world.carol.pk]).update(last_seen_at=None)
    client = api_as(world.ada)

    def usernames(seen: str) -> set[str]:
        page = client.get("/api/v1/admin/people/", {"seen": seen}).json()
        return {p["username"] for p in page["results"]}

    assert usernames("7d") == {"bob"}
    assert usernames("90d+") == {"carol"}
    assert "bob" not in usernames("never")
    assert "carol" not in usernames("never")


@pytest.mark.parametrize(
    "query", [{"after": "abc"}, {"after": 0}, {"limit": 1000}, {"q": "x" * 101}]
)
def test_a_bad_groups_query_is_a_documented_400(world: World, query):
    response = api_as(world.ada).get("/api/v1/admin/groups/", query)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_input"


def test_paging_after_a_group_that_no_longer_exists_starts_over(world: World):
    page = api_as(world.ada).get("/api/v1/admin/groups/", {"after": 999_999}).json()

    assert [g["display_name"] for g in page["results"]] == ["Advisory", "Research"]
