"""Which existing conversations put people of two segments together: the preview's question,
and the re-evaluation's after a segment changes. Set-based, in one aggregate query."""

from dataclasses import dataclass, field

from django.db.models import Count, Q

from accounts.selectors import group_member_ids, group_member_ids_query

from ..models import Conversation, Membership

#: The preview lists at most this many conversations; its counts are always exact.
PREVIEW_LIMIT = 1000


@dataclass
class ViolatingConversation:
    id: int
    kind: str
    name: str
    member_count: int
    segment_a_members: list[dict[str, object]] = field(default_factory=list)
    segment_b_members: list[dict[str, object]] = field(default_factory=list)


@dataclass
class Violations:
    conversations: list[ViolatingConversation]
    counts: dict[str, int]
    truncated: bool


def violating_conversation_ids(*, segment_a: int | None, segment_b: int | None) -> set[int]:
    """Conversations with someone of segment A and someone else of segment B in them."""
    if segment_a is None or segment_b is None:
        return set()
    a = group_member_ids_query(group_ids=[segment_a])
    b = group_member_ids_query(group_ids=[segment_b])
    rows = (
        Membership.objects.filter(Q(user_id__in=a) | Q(user_id__in=b))
        .values("conversation_id")
        .annotate(
            in_a=Count("user_id", filter=Q(user_id__in=a)),
            in_b=Count("user_id", filter=Q(user_id__in=b)),
            people=Count("user_id", distinct=True),
        )
        .filter(in_a__gte=1, in_b__gte=1, people__gte=2)
        .values_list("conversation_id", flat=True)
    )
    return set(rows)


def violations(
    *, segment_a: int | None, segment_b: int | None, offset: int = 0, limit: int = PREVIEW_LIMIT
) -> Violations:
    """The preview: the violating conversations (by id, `limit` of them from `offset`: the
    console pages through them all), their segments' members in them, and exact counts by
    kind and of the memberships involved."""
    ids = sorted(violating_conversation_ids(segment_a=segment_a, segment_b=segment_b))
    counts = {"conversations": len(ids), "public": 0, "private": 0, "direct": 0, "group": 0}
    if not ids:
        return Violations([], counts | {"memberships_a": 0, "memberships_b": 0}, False)
    assert segment_a is not None
    assert segment_b is not None
    in_a, in_b = group_member_ids(group_id=segment_a), group_member_ids(group_id=segment_b)
    listed = ids[offset : offset + limit]
    conversations = {
        c.pk: ViolatingConversation(c.pk, c.kind, c.name, c.member_count)
        for c in Conversation.objects.filter(pk__in=listed).annotate(
            member_count=Count("memberships")
        )
    }
    for kind, n in (
        Conversation.objects.filter(pk__in=ids).values_list("kind").annotate(n=Count("pk"))
    ):
        counts[kind] = n
    involved = group_member_ids_query(group_ids=[segment_a, segment_b])
    memberships = Membership.objects.filter(
        conversation_id__in=ids, user_id__in=involved
    ).values_list("conversation_id", "user_id", "user__username")
    counts["memberships_a"] = counts["memberships_b"] = 0
    for conversation_id, user_id, username in memberships.order_by("conversation_id", "user_id"):
        person = {"id": user_id, "username": username}
        shown = conversations.get(conversation_id)
        for side, members in (("a", in_a), ("b", in_b)):
            if user_id in members:
                counts[f"memberships_{side}"] += 1
                if shown is not None:
                    getattr(shown, f"segment_{side}_members").append(person)
    return Violations([conversations[i] for i in listed], counts, len(ids) > offset + len(listed))


def channel_ids(*, conversation_ids: set[int]) -> set[int]:
    return set(
        Conversation.objects.filter(
            pk__in=conversation_ids, kind__in=("public", "private")
        ).values_list("pk", flat=True)
    )
