"""The mention check keeps the barriers' facts in memory, trusted only while the barrier
generation the send statement reads is theirs. Every way the facts change (the services, SCIM,
raw SQL as the application's role, bulk writes, a rename, a policy's life) must be seen by the
very next mention, with the facts already in memory from the mention before; and a change
rolled back must not leave its facts behind."""

import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Group, GroupMembership, Role, User
from accounts.scim.services.tokens import scim_token_create
from accounts.services.groups import group_members_add, group_members_remove
from eim.chat.barriers import rules
from eim.chat.barriers.models import BarrierGeneration
from eim.chat.barriers.services import barrier_policy_remove
from eim.chat.errors import ChatError, ErrorCode
from eim.chat.models import Conversation
from eim.chat.services.messages import message_edit, message_send
from tests.accounts.scim.conftest import GROUP, ScimClient, patch_op, user_body
from tests.archive.roles import connect_as, database_role
from tests.factories import ChannelFactory, UserFactory, send

from .conftest import POLICY, World, barrier_in_force, chat_state, segment, the_people


def generation() -> int:
    return BarrierGeneration.objects.get(pk=1).value


def _mention(author: User, channel: Conversation, name: str) -> None:
    """A send that @mentions `name` goes through, leaving this process's facts at the
    generation it read."""
    send(author, channel, f"ask @{name} about it")
    assert rules._facts is not None
    assert rules._facts.generation == generation()


def _mention_refused(author: User, channel: Conversation, name: str) -> None:
    before = chat_state()
    with pytest.raises(ChatError) as caught:
        message_send(
            author=author,
            conversation_id=channel.pk,
            body=f"ask @{name} about it",
            client_id=uuid.uuid4(),
        )
    assert caught.value.code == ErrorCode.INFORMATION_BARRIER
    assert POLICY in caught.value.detail
    assert chat_state() == before


@pytest.fixture
def channel(walled: World) -> Conversation:
    return ChannelFactory(creator=walled.rita, members=[walled.nina])


# --- the services -----------------------------------------------------------------------------


def test_someone_added_to_a_segment_is_barred_at_the_next_mention(walled, channel):
    _mention(walled.rita, channel, "nina")

    group_members_add(actor=None, group=walled.trading, user_ids=[walled.nina.pk], via="test")

    _mention_refused(walled.rita, channel, "nina")


def test_someone_removed_from_a_segment_may_be_mentioned_at_once(walled, channel):
    _mention_refused(walled.rita, channel, "tom")  # loads the facts: tom is barred
    assert rules._facts is not None
    assert rules._facts.generation == generation()

    group_members_remove(actor=None, group=walled.trading, user_ids=[walled.tom.pk], via="test")

    _mention(walled.rita, channel, "tom")


def test_the_author_joining_a_segment_is_barred_at_the_next_mention(walled, channel):
    _mention(walled.nina, channel, "rita")

    group_members_add(actor=None, group=walled.trading, user_ids=[walled.nina.pk], via="test")

    _mention_refused(walled.nina, channel, "rita")


def test_a_policy_put_in_force_bars_the_next_mention(people):
    channel = ChannelFactory(creator=people.rita, members=[people.nina])
    _mention(people.rita, channel, "tom")

    barrier_in_force(people.admin, people.research, people.trading)

    _mention_refused(people.rita, channel, "tom")


def test_a_policy_removed_frees_the_next_mention(walled, channel):
    _mention_refused(walled.rita, channel, "tom")
    policy_id = rules._facts.barriers[0].policy_id if rules._facts else None

    barrier_policy_remove(actor=walled.admin, policy_id=policy_id)

    _mention(walled.rita, channel, "tom")


def test_a_deleted_group_bars_nobody_from_the_next_mention(walled, channel):
    _mention_refused(walled.rita, channel, "tom")

    walled.trading.memberships.all().delete()
    Group.objects.filter(pk=walled.trading.pk).delete()  # the versions' side becomes empty

    _mention(walled.rita, channel, "tom")


def test_an_edit_is_judged_with_the_new_facts_too(walled, channel):
    message = send(walled.rita, channel, "ask @nina about it")
    group_members_add(actor=None, group=walled.trading, user_ids=[walled.nina.pk], via="test")

    with pytest.raises(ChatError) as caught:
        message_edit(user=walled.rita, message_id=message.pk, body="ask @nina again")

    assert caught.value.code == ErrorCode.INFORMATION_BARRIER


def test_a_renamed_person_is_barred_under_the_new_name(walled, channel):
    _mention_refused(walled.rita, channel, "tom")

    User.objects.filter(pk=walled.tom.pk).update(username="thomas")

    _mention_refused(walled.rita, channel, "thomas")
    _mention(walled.rita, channel, "tom")  # nobody is called tom now


# --- bulk writes: one statement, one bump -------------------------------------------------------


def test_a_bulk_insert_of_ten_thousand_members_bumps_once_and_bars_the_next_mention(
    walled, channel
):
    crowd = User.objects.bulk_create(
        [User(username=f"crowd{n:05d}", email=f"c{n}@bank.example") for n in range(10_000)]
    )
    _mention(walled.rita, channel, "crowd09999")
    before = generation()

    GroupMembership.objects.bulk_create(
        [GroupMembership(group=walled.trading, user=u) for u in crowd], batch_size=10_000
    )

    assert generation() == before + 1  # statement-level: one bump, not 10,000
    _mention_refused(walled.rita, channel, "crowd09999")


def test_a_statement_that_changes_nothing_does_not_bump(walled):
    before = generation()

    GroupMembership.objects.filter(user_id=-1).delete()
    GroupMembership.objects.filter(user_id=-1).update(added_at=None)
    User.objects.filter(pk=walled.tom.pk).update(username="tom")  # the same name
    User.objects.filter(pk=walled.tom.pk).update(last_name="Tanaka")

    assert generation() == before


# --- rollbacks ----------------------------------------------------------------------------------


def test_facts_read_inside_a_change_that_rolled_back_are_never_used(walled, channel):
    with transaction.atomic():
        group_members_add(actor=None, group=walled.trading, user_ids=[walled.nina.pk], via="test")
        _mention_refused(walled.rita, channel, "nina")  # facts loaded with nina in Trading
        transaction.set_rollback(True)

    _mention(walled.rita, channel, "nina")  # nina is not in Trading: the send must not say so


def test_a_rolled_back_generation_is_never_written_again(walled, channel):
    with transaction.atomic():
        group_members_add(actor=None, group=walled.trading, user_ids=[walled.nina.pk], via="test")
        _mention_refused(walled.rita, channel, "nina")
        poisoned = generation()
        transaction.set_rollback(True)

    segment("Compliance", walled.ruth)  # another change commits a new generation

    assert generation() != poisoned
    _mention(walled.rita, channel, "nina")


# --- no query while the facts are current -------------------------------------------------------


def test_a_mention_check_on_current_facts_makes_no_query(walled, channel):
    _mention(walled.rita, channel, "nina")
    current = generation()

    with CaptureQueriesContext(connection) as queries:
        found = rules.barrier_mentioning(
            user_id=walled.rita.pk, usernames=["tom", "nina"], generation=current
        )

    assert found is not None
    assert found.name == POLICY
    assert len(queries) == 0


@pytest.mark.parametrize(
    "mentioned",
    [["tom"], ["nina"], ["ruth"], ["rita"], ["tom", "nina"], ["nobody"], []],
)
def test_the_facts_in_memory_answer_as_the_query_does(walled, mentioned):
    from_memory = rules.barrier_mentioning(
        user_id=walled.rita.pk, usernames=mentioned, generation=generation()
    )
    from_query = rules.barrier_mentioning(user_id=walled.rita.pk, usernames=mentioned)

    assert from_memory == from_query


def test_a_send_without_an_at_sign_does_not_read_the_generation(walled, channel):
    with CaptureQueriesContext(connection) as queries:
        send(walled.rita, channel, "plain line")

    assert not any("chat_barrier_generation()" in q["sql"] for q in queries.captured_queries)


# --- outside the application: SCIM, and raw SQL as the application's role -----------------------


def _scim_group(scim: ScimClient, name: str, members: list[str]) -> Group:
    response = scim.post(
        "/Groups",
        {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members]},
    )
    assert response.status_code == 201, response.content
    return Group.objects.get(pk=response.json()["id"])


@pytest.fixture
def scim(db: None) -> ScimClient:
    token, secret = scim_token_create(name="idp", provider=None)
    return ScimClient(token, secret, Client())


def test_a_scim_patch_adding_a_member_bars_the_next_mention(scim):
    rita, tom, nina = (
        scim.post("/Users", user_body(f"scim{n}")).json()["id"] for n in ("rita", "tom", "nina")
    )
    research = _scim_group(scim, "Research", [rita])
    trading = _scim_group(scim, "Trading", [tom])
    admin = UserFactory(username="ada", roles=[Role.ADMINISTRATOR])
    barrier_in_force(admin, research, trading)
    author, mentioned = User.objects.get(pk=rita), User.objects.get(pk=nina)
    channel = ChannelFactory(creator=author, members=[mentioned])
    _mention(author, channel, mentioned.username)

    response = scim.patch(
        f"/Groups/{trading.pk}",
        patch_op({"op": "add", "path": "members", "value": [{"value": nina}]}),
    )

    assert response.status_code in (200, 204), response.content
    _mention_refused(author, channel, mentioned.username)


@pytest.fixture
def as_app(transactional_db: None) -> Iterator[psycopg.Connection]:
    with database_role("app") as role:
        call_command("db_grant_app_role", role)
        with connect_as(role) as conn:
            yield conn


@pytest.mark.django_db(transaction=True)
def test_raw_sql_as_the_application_role_bars_the_next_mention(as_app):
    people = _world()
    channel = ChannelFactory(creator=people.rita, members=[people.nina])
    _mention(people.rita, channel, "nina")

    as_app.execute(
        "INSERT INTO accounts_groupmembership (group_id, user_id, added_at) VALUES (%s, %s, now())",
        [people.trading.pk, people.nina.pk],
    )

    _mention_refused(people.rita, channel, "nina")
    # and the send statement's read works as that role too
    row = as_app.execute("SELECT chat_barrier_generation()").fetchone()
    assert row == (generation(),)


@pytest.mark.django_db(transaction=True)
def test_a_truncate_by_the_owner_frees_the_next_mention():
    people = _world()
    channel = ChannelFactory(creator=people.rita, members=[people.nina])
    _mention_refused(people.rita, channel, "tom")

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE accounts_groupmembership")

    _mention(people.rita, channel, "tom")


def _world() -> World:
    people = the_people()
    barrier_in_force(people.admin, people.research, people.trading)
    return people


# --- ordering: a change committed while the send waits for the conversation's lock --------------


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_while_the_send_waits_for_the_lock_is_seen():
    """The generation is read after the send takes the conversation's row lock (a VOLATILE
    function in the send statement), so a change that commits while the send waits is judged,
    as the query of the check made after the lock always did."""
    people = _world()
    channel = ChannelFactory(creator=people.rita, members=[people.nina])
    _mention(people.rita, channel, "nina")
    holder = _connect()
    holder.execute("UPDATE chat_conversation SET last_seq = last_seq WHERE id = %s", [channel.pk])
    outcome: list[object] = []

    def sending() -> None:
        try:
            send(people.rita, channel, "ask @nina about it")
            outcome.append("sent")
        except ChatError as error:
            outcome.append(error.code)
        finally:
            connections.close_all()

    sender = threading.Thread(target=sending)
    sender.start()
    _wait_until_blocked()
    with _connect() as other:  # not the service: its group hook would wait for the lock too
        other.execute(
            "INSERT INTO accounts_groupmembership (group_id, user_id, added_at) "
            "VALUES (%s, %s, now())",
            [people.trading.pk, people.nina.pk],
        )
    holder.commit()
    sender.join(timeout=30)
    holder.close()

    assert outcome == [ErrorCode.INFORMATION_BARRIER]


def _connect() -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(host=db["HOST"], port=db["PORT"], dbname=db["NAME"], user=db["USER"])


def _wait_until_blocked() -> None:
    """Until a backend waits on a lock in a send statement."""
    with connection.cursor() as cursor:
        for _ in range(500):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' "
                "AND query LIKE 'UPDATE chat_conversation SET last_seq = last_seq + 1%%'"
            )
            row = cursor.fetchone()
            if row and row[0]:
                return
            threading.Event().wait(0.02)
    raise AssertionError("the send never waited for the conversation's lock")
