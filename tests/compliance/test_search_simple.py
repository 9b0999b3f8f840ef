"""The simple backend (SQLite, the embedded default) reports counts and pages as the other
backends do.

The suite runs on PostgreSQL, where the simple backend's table format (arrays as JSON text)
does not exist, so its rows in scope are given here instead of read from SQLite."""

from datetime import UTC, datetime

import pytest

from audit.models import AuditEvent, AuditEventType
from compliance.errors import ComplianceError, ComplianceErrorCode
from compliance.search import results, services
from compliance.search.backends.simple import SimpleBackend
from compliance.search.documents import SearchDocument
from compliance.search.query import parse_query
from compliance.search.results import Order, Scope, cursor_encode


def _document(seq: int, body: str) -> SearchDocument:
    return SearchDocument(
        archive_seq=seq,
        message_id=seq,
        version_kind="original",
        conversation_id=1,
        conversation_name="desk",
        author_id=1,
        author_username="alice",
        audience_ids=(1,),
        audience_usernames=("alice",),
        occurred_at=datetime(2024, 3, 1, 12, seq, tzinfo=UTC),
        created_at=datetime(2024, 3, 1, 12, seq, tzinfo=UTC),
        body=body,
    )


@pytest.fixture
def simple(monkeypatch: pytest.MonkeyPatch) -> SimpleBackend:
    documents = [_document(seq, f"deal {seq}") for seq in range(1, 4)]
    monkeypatch.setattr(SimpleBackend, "_in_scope", lambda self, scope: documents)
    return SimpleBackend()


@pytest.mark.parametrize(("cap", "expected"), [(3, (3, True)), (2, (2, False))])
def test_the_count_is_capped_and_says_whether_it_is_exact(
    simple: SimpleBackend, monkeypatch: pytest.MonkeyPatch, cap: int, expected: tuple
) -> None:
    monkeypatch.setattr(results, "COUNT_CAP", cap)

    page = simple.search(parse_query("deal"), scope=Scope.everything())

    assert (page.count, page.count_exact) == expected
    assert len(page.hits) == 3


def test_facets_only_when_asked(simple: SimpleBackend) -> None:
    plain = simple.search(parse_query("deal"), scope=Scope.everything())
    faceted = simple.search(parse_query("deal"), scope=Scope.everything(), facets=True)

    assert plain.facets is None
    assert faceted.facets is not None
    assert faceted.facets.authors == [{"username": "alice", "count": 3}]


@pytest.mark.django_db
@pytest.mark.parametrize("order", ["newest", "relevance"])
def test_the_search_service_pages_through_every_match_on_the_simple_backend(
    simple: SimpleBackend, monkeypatch: pytest.MonkeyPatch, officer, order: str
) -> None:
    monkeypatch.setattr(services, "search_backend", lambda: simple)
    first = services.compliance_search(user=officer, query="deal", order=order, limit=2)

    second = services.compliance_search(
        user=officer, query="deal", order=order, cursor=first["next"], limit=2
    )

    seqs = [r["archive_seq"] for r in first["results"] + second["results"]]
    assert seqs == [3, 2, 1]
    assert second["next"] is None
    assert AuditEvent.objects.filter(event_type=AuditEventType.SEARCH_RUN).count() == 2


@pytest.mark.django_db
def test_a_cursor_of_another_backend_is_refused_by_the_simple_backend(
    simple: SimpleBackend, monkeypatch: pytest.MonkeyPatch, officer
) -> None:
    monkeypatch.setattr(services, "search_backend", lambda: simple)
    elasticsearch_cursor = cursor_encode(Order.NEWEST, [1709285400000, 2])

    with pytest.raises(ComplianceError) as refused:
        services.compliance_search(user=officer, query="deal", cursor=elasticsearch_cursor)

    assert refused.value.code == ComplianceErrorCode.INVALID_CURSOR
    assert not AuditEvent.objects.exists()
