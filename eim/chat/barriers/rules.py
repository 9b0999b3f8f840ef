"""The barrier checks the chat services call: who is barred from whom, right now.

Reads only. A check costs nothing while no policy is in force beyond one indexed query of the
versions in force (at most one row per policy); the send path reads no table at all: it reads
`Conversation.barrier_restricted` in the statement that takes the conversation's seq.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from django.db import connection

from accounts.models import GroupMembership, User
from accounts.selectors import (
    group_ids_of_user_and_usernames,
    group_ids_of_users,
    group_member_ids_query,
)

from ..errors import ChatError, ErrorCode
from ..models import Membership
from .models import (
    BarrierGeneration,
    BarrierPolicy,
    BarrierPolicyVersion,
    BarrierRestriction,
    BarrierVersionState,
)


@dataclass(frozen=True)
class Barrier:
    policy_id: int
    name: str
    segment_a: int
    segment_b: int

    def bars(self, groups_of_one: frozenset[int], groups_of_other: frozenset[int]) -> bool:
        a, b = self.segment_a, self.segment_b
        return (a in groups_of_one and b in groups_of_other) or (
            b in groups_of_one and a in groups_of_other
        )

    def opposite(self, groups: frozenset[int]) -> set[int]:
        """The segments barred from someone in `groups`."""
        found = set()
        if self.segment_a in groups:
            found.add(self.segment_b)
        if self.segment_b in groups:
            found.add(self.segment_a)
        return found


def barriers_in_force() -> list[Barrier]:
    """Every version in force with both segments, by policy (one indexed query, in SQL: on the
    send path with a mention, building the ORM query cost more than running it)."""
    versions, policies = BarrierPolicyVersion._meta.db_table, BarrierPolicy._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT v.policy_id, p.name, v.segment_a_id, v.segment_b_id FROM {versions} v "  # noqa: S608
            f"JOIN {policies} p ON p.id = v.policy_id WHERE v.state = %s "
            "AND p.removed_at IS NULL AND v.segment_a_id IS NOT NULL "
            "AND v.segment_b_id IS NOT NULL ORDER BY v.policy_id",
            [BarrierVersionState.IN_FORCE.value],
        )
        return [Barrier(int(p), name, int(a), int(b)) for p, name, a, b in cursor.fetchall()]


def refusal(barrier: Barrier) -> ChatError:
    """The refusal names the policy, never the other person's segment."""
    return ChatError(
        ErrorCode.INFORMATION_BARRIER,
        f'the information barrier policy "{barrier.name}" does not allow this',
    )


def _hold_policies() -> None:
    """Share-lock every live policy until the caller's transaction ends, so an activation (which
    locks its policy for update before it looks for violations) waits for a direct message
    being opened right now and then finds it, instead of missing it. SQLite (the embedded
    default) has no row locks and serialises every writer anyway."""
    if connection.in_atomic_block and connection.features.has_select_for_update:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {BarrierPolicy._meta.db_table} "  # noqa: S608
                "WHERE removed_at IS NULL FOR SHARE"
            )


def barrier_among(*, user_ids: Iterable[int]) -> Barrier | None:
    """A barrier between any two of these people (a direct or group message)."""
    _hold_policies()
    barriers = barriers_in_force()
    ids = sorted(set(user_ids))
    if not barriers or len(ids) < 2:
        return None
    groups = group_ids_of_users(user_ids=ids)
    for i, one in enumerate(ids):
        for other in ids[i + 1 :]:
            for barrier in barriers:
                if barrier.bars(groups[one], groups[other]):
                    return barrier
    return None


def barrier_between(
    *, user_id: int, others: Iterable[int], barriers: list[Barrier] | None = None
) -> Barrier | None:
    """A barrier between this person and any of the others (e.g. the people they mention)."""
    barriers = barriers_in_force() if barriers is None else barriers
    other_ids = set(others) - {user_id}
    if not barriers or not other_ids:
        return None
    groups = group_ids_of_users(user_ids=other_ids | {user_id})
    for other in sorted(other_ids):
        for barrier in barriers:
            if barrier.bars(groups[user_id], groups[other]):
                return barrier
    return None


def barred_group_ids(*, user_id: int) -> dict[int, Barrier]:
    """{segment: the barrier} of every segment this person is barred from."""
    barriers = barriers_in_force()
    if not barriers:
        return {}
    mine = group_ids_of_users(user_ids=[user_id])[user_id]
    return {group: b for b in barriers for group in sorted(b.opposite(mine))}


def barrier_joining(*, user_id: int, conversation_id: int) -> Barrier | None:
    """A barrier between a person about to join a conversation and someone already in it."""
    opposite = barred_group_ids(user_id=user_id)
    for group_id, barrier in opposite.items():
        present = (
            Membership.objects.filter(conversation_id=conversation_id)
            .exclude(user_id=user_id)
            .filter(user_id__in=group_member_ids_query(group_ids=[group_id]))
        )
        if present.exists():
            return barrier
    return None


def read_only_refusal(*, conversation_id: int) -> ChatError:
    """Why a barrier-restricted conversation refuses a write (one query, refusals only)."""
    restriction = (
        BarrierRestriction.objects.select_related("policy")
        .filter(conversation_id=conversation_id)
        .order_by("policy_id")
        .first()
    )
    name = restriction.policy.name if restriction else "an information barrier"
    return ChatError(
        ErrorCode.INFORMATION_BARRIER,
        f'this conversation is read-only: the information barrier policy "{name}" applies',
    )


def barrier_mentioning(
    *, user_id: int, usernames: Iterable[str], generation: int | None = None
) -> Barrier | None:
    """A barrier between an author and anyone they @mention (member of the conversation or
    not).

    On the send path (`generation`: the barrier generation its locking statement read, on
    PostgreSQL) no query at all while this process holds the facts of that generation, one to
    load them when it does not. Without a generation: one query on PostgreSQL (the versions in
    force and, if there are any, the author's and the mentioned people's groups among their
    segments), two on SQLite."""
    if generation is not None and connection.vendor == "postgresql":
        return mention_facts_of(generation).barrier_mentioning(user_id, usernames)
    if connection.vendor == "postgresql":
        barriers, groups = _mention_facts(user_id, sorted(set(usernames)))
    else:
        barriers = barriers_in_force()
        if not barriers:
            return None
        segments = {g for b in barriers for g in (b.segment_a, b.segment_b)}
        groups = group_ids_of_user_and_usernames(
            user_id=user_id, usernames=usernames, among_group_ids=segments
        )
    mine = groups.get(user_id, frozenset())
    for other in sorted(set(groups) - {user_id}):
        for barrier in barriers:
            if barrier.bars(mine, groups[other]):
                return barrier
    return None


@dataclass(frozen=True)
class MentionFacts:
    """Everything a mention check reads, as of one barrier generation of one database: the
    barriers in force (by policy), and the segments and username of everyone in any of their
    segments. Someone in no segment is barred from nobody, so is not here."""

    database: tuple[str, str, str]
    generation: int | None
    barriers: tuple[Barrier, ...]
    segments: dict[int, frozenset[int]]
    user_ids: dict[str, int]

    def barrier_mentioning(self, user_id: int, usernames: Iterable[str]) -> Barrier | None:
        """As the query does: each mentioned person by id, each barrier by policy."""
        mine = self.segments.get(user_id)
        if not mine:
            return None
        ids = self.user_ids
        for other in sorted({ids[name] for name in usernames if name in ids} - {user_id}):
            for barrier in self.barriers:
                if barrier.bars(mine, self.segments[other]):
                    return barrier
        return None


# This process's facts, replaced whole (one assignment: the database threads share them).
_facts: MentionFacts | None = None


def _database() -> tuple[str, str, str]:
    db = connection.settings_dict
    return (str(db["HOST"]), str(db["PORT"]), str(db["NAME"]))


def mention_facts_of(generation: int) -> MentionFacts:
    """The facts of this barrier generation: this process's, if they are of it, else loaded.

    Equal generations mean equal facts (BarrierGeneration): every change to a policy, a version,
    a group membership or a username writes a new value from a sequence in the same
    transaction, and a rolled-back value is never written again. The facts loaded carry the
    generation read in the same statement, which may be newer than the caller's: then they are
    the newer facts, as the query of the check without a cache would have read."""
    global _facts
    facts = _facts
    if facts is not None and facts.generation == generation and facts.database == _database():
        return facts
    facts = _mention_facts_load()
    if facts.generation is not None:
        _facts = facts
    return facts


@cache
def _in_force_rows() -> str:
    """The mention queries' start: `b`, the versions in force with both segments (a row
    0, policy, name, segment a, segment b each), and `s`, their segments; one parameter, the
    state in force."""
    versions, policies = BarrierPolicyVersion._meta.db_table, BarrierPolicy._meta.db_table
    return (
        f"WITH b AS (SELECT v.policy_id, p.name, v.segment_a_id, v.segment_b_id "  # noqa: S608
        f"FROM {versions} v JOIN {policies} p ON p.id = v.policy_id WHERE v.state = %s "
        "AND p.removed_at IS NULL AND v.segment_a_id IS NOT NULL "
        "AND v.segment_b_id IS NOT NULL), "
        "s AS (SELECT segment_a_id AS g FROM b UNION SELECT segment_b_id FROM b) "
        "SELECT 0, policy_id, name, segment_a_id, segment_b_id FROM b"
    )


@cache
def _mention_facts_sql() -> str:
    users, memberships = User._meta.db_table, GroupMembership._meta.db_table
    return (
        f"{_in_force_rows()} UNION ALL "  # noqa: S608
        f"SELECT 1, m.user_id, u.username, m.group_id, NULL FROM {memberships} m "
        f"JOIN {users} u ON u.id = m.user_id WHERE m.group_id IN (SELECT g FROM s) UNION ALL "
        f"SELECT 2, value, NULL, NULL, NULL FROM {BarrierGeneration._meta.db_table} WHERE id = 1"
    )


def _mention_facts_load() -> MentionFacts:
    """The barriers in force, their segments' members and the generation, in one statement so
    that all three are of one snapshot."""
    barriers: list[Barrier] = []
    segments: dict[int, set[int]] = {}
    user_ids: dict[str, int] = {}
    generation = None
    with connection.cursor() as cursor:
        cursor.execute(_mention_facts_sql(), [BarrierVersionState.IN_FORCE.value])
        for kind, key, name, group_id, other in cursor.fetchall():
            if kind == 0:
                barriers.append(Barrier(int(key), name, int(group_id), int(other)))
            elif kind == 1:
                segments.setdefault(int(key), set()).add(int(group_id))
                user_ids[name] = int(key)
            else:
                generation = int(key)
    return MentionFacts(
        database=_database(),
        generation=generation,
        barriers=tuple(sorted(barriers, key=lambda b: b.policy_id)),
        segments={user: frozenset(groups) for user, groups in segments.items()},
        user_ids=user_ids,
    )


@cache
def _mention_sql() -> str:
    users, memberships = User._meta.db_table, GroupMembership._meta.db_table
    return (
        f"{_in_force_rows()} UNION ALL "  # noqa: S608
        f"SELECT 1, u.id, NULL, m.group_id, NULL FROM {users} u LEFT JOIN {memberships} m "
        "ON m.user_id = u.id AND m.group_id IN (SELECT g FROM s) "
        "WHERE EXISTS (SELECT 1 FROM b) AND (u.id = %s OR u.username = ANY(%s))"
    )


def _mention_facts(
    user_id: int, usernames: list[str]
) -> tuple[list[Barrier], dict[int, frozenset[int]]]:
    """The mention check's one round trip: building two ORM queries and waiting for two
    answers was most of its cost (docs/performance.md)."""
    barriers: list[Barrier] = []
    found: dict[int, set[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            _mention_sql(),
            [BarrierVersionState.IN_FORCE.value, user_id, usernames],
        )
        for kind, key, name, group_id, other in cursor.fetchall():
            if kind == 0:
                barriers.append(Barrier(int(key), name, int(group_id), int(other)))
            else:
                groups = found.setdefault(int(key), set())
                if group_id is not None:
                    groups.add(int(group_id))
    barriers.sort(key=lambda b: b.policy_id)
    return barriers, {user: frozenset(groups) for user, groups in found.items()}


def barred_user_ids_among(*, user_id: int, user_ids: Iterable[int]) -> set[int]:
    """Which of these people an information barrier keeps from this person."""
    barriers = barriers_in_force()
    others = set(user_ids) - {user_id}
    if not barriers or not others:
        return set()
    groups = group_ids_of_users(user_ids=others | {user_id})
    return {
        other
        for other in others
        if any(barrier.bars(groups[user_id], groups[other]) for barrier in barriers)
    }
