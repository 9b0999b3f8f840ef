"""The simple backend (SQLite, the embedded default) reports counts as the other backends do.

The suite runs on PostgreSQL, where the simple backend's table format (arrays as JSON text)
does not exist, so its rows in scope are given here instead of read from SQLite."""

from datetime import UTC, datetime

import pytest

from compliance.search import results
from compliance.search.backends.simple import SimpleBackend
from compliance.search.documents import SearchDocument
from compliance.search.query import parse_query
from compliance.search.results import Scope


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
