"""Request-level tests of the Elasticsearch backend: the official client, with a node class
that records each request and answers from a script instead of a cluster. Bodies are
compared with reference files in reference/backend/ (EIM_UPDATE_REFERENCE=1 rewrites them
and fails, so that every rewrite is reviewed)."""

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, BaseNode, HttpHeaders
from elastic_transport._node import NodeApiResponse
from elasticsearch import Elasticsearch

from audit.models import AuditEvent
from compliance.errors import ComplianceError, ComplianceErrorCode
from compliance.search import services as search_services
from compliance.search.backends.elasticsearch import ElasticsearchBackend, IndexingError
from compliance.search.documents import IndexBatch, SearchDocument
from compliance.search.indexing import index_rebuild
from compliance.search.query import parse_query
from compliance.search.results import Order, Scope
from eim.chat.services.messages import message_edit
from tests.conftest import api_as
from tests.factories import ChannelFactory, send

REFERENCE = Path(__file__).parent / "reference" / "backend"
UPDATE = os.environ.get("EIM_UPDATE_REFERENCE") == "1"
NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
INDEX = "eim-messages-20240301120000000000"
OLD_INDEX = "eim-messages-20240101000000000000"


EMPTY_SEARCH = {
    "hits": {"total": {"value": 0, "relation": "eq"}, "hits": []},
    "aggregations": {name: {"buckets": []} for name in ("authors", "conversations", "days")},
}


@dataclass
class Request:
    method: str
    path: str
    body: Any


@dataclass
class Script:
    """Answers by (method, path regex), in order of the first that matches; records all."""

    answers: list[tuple[str, str, int, Any]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    def answer(self, method: str, path: str) -> tuple[int, Any]:
        for want_method, pattern, status, body in self.answers:
            if want_method == method and re.fullmatch(pattern, path):
                return status, body
        if path.endswith("/_search"):
            return 200, EMPTY_SEARCH
        return 200, {"acknowledged": True}


def _decode(body: bytes | None) -> Any:
    if not body:
        return None
    lines = body.decode().strip().split("\n")
    return [json.loads(line) for line in lines] if len(lines) > 1 else json.loads(lines[0])


class ScriptedNode(BaseNode):
    script: Script  # set per client by the fixture

    def perform_request(  # type: ignore[override]
        self, method: str, target: str, body: bytes | None = None, **kwargs: Any
    ) -> NodeApiResponse:
        path = target.split("?", 1)[0]
        self.script.requests.append(Request(method, target, _decode(body)))
        status, answer = self.script.answer(method, path)
        headers = HttpHeaders(
            {"content-type": "application/json", "x-elastic-product": "Elasticsearch"}
        )
        meta = ApiResponseMeta(
            status=status, http_version="1.1", headers=headers, duration=0.0, node=self.config
        )
        return NodeApiResponse(meta, json.dumps(answer).encode())


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def es_backend(script: Script) -> Iterator[ElasticsearchBackend]:
    node_class = type("Scripted", (ScriptedNode,), {"script": script})
    client = Elasticsearch("http://127.0.0.1:9200", node_class=node_class)
    yield ElasticsearchBackend(client, alias="eim-messages", now=lambda: NOW)
    client.close()


def _compare(name: str, actual: Any) -> None:
    path = REFERENCE / name
    if UPDATE:
        path.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        pytest.fail(f"rewrote {name}: review the diff, then run without EIM_UPDATE_REFERENCE")
    assert actual == json.loads(path.read_text(encoding="utf-8"))


def _document(seq: int, body: str, **changes: Any) -> SearchDocument:
    values: dict[str, Any] = {
        "archive_seq": seq,
        "message_id": 10 + seq,
        "version_kind": "original",
        "conversation_id": 3,
        "conversation_name": "trading-desk",
        "author_id": 1,
        "author_username": "alice",
        "audience_ids": (1, 2),
        "audience_usernames": ("alice", "bob"),
        "occurred_at": datetime(2024, 3, 1, 9, 30, seq, tzinfo=UTC),
        "created_at": datetime(2024, 3, 1, 9, 30, tzinfo=UTC),
        "body": body,
    }
    return SearchDocument(**(values | changes))


def _requests(script: Script) -> list[tuple[str, str]]:
    return [(r.method, r.path.split("?", 1)[0]) for r in script.requests]


def test_the_first_use_creates_the_index_behind_the_alias(es_backend, script):
    script.answers.append(("HEAD", "/_alias/eim-messages", 404, {}))

    es_backend.ensure_ready()

    assert _requests(script) == [("HEAD", "/_alias/eim-messages"), ("PUT", f"/{INDEX}")]
    _compare("create_index.json", script.requests[1].body)


def test_an_existing_alias_is_left_alone(es_backend, script):
    es_backend.ensure_ready()

    assert _requests(script) == [("HEAD", "/_alias/eim-messages")]


def test_documents_go_in_one_bulk_request_keyed_by_archive_seq(es_backend, script):
    script.answers.append(("PUT", "/_bulk", 200, {"errors": False, "items": []}))
    batch = IndexBatch(
        documents=[
            _document(1, "insider <b>tip</b>", is_edited=True),
            _document(2, "compliance tip", version_kind="edit", is_edited=True),
        ],
        renamed={3: "trading-desk"},
    )

    es_backend.index_records(batch)

    assert _requests(script) == [
        ("PUT", "/_bulk"),
        ("POST", "/eim-messages/_update_by_query"),
    ]
    _compare("bulk.json", script.requests[0].body)
    _compare("rename.json", script.requests[1].body)


def test_a_refused_document_fails_the_batch(es_backend, script):
    refused = {"index": {"_id": "1", "status": 400, "error": {"type": "mapper_parsing"}}}
    script.answers.append(("PUT", "/_bulk", 200, {"errors": True, "items": [refused]}))

    with pytest.raises(IndexingError, match="1 documents refused"):
        es_backend.index_records(IndexBatch(documents=[_document(1, "x")]))


@pytest.mark.django_db
def test_a_rebuild_fills_a_new_index_then_swaps_the_alias_atomically(
    es_backend, script, alice, archive_blobs
):
    channel = ChannelFactory(creator=alice, name="desk")
    message = send(alice, channel, "first")
    message_edit(user=alice, message_id=message.pk, body="second")
    from archive.services.archiving import archive_pending

    archive_pending()
    script.answers += [
        ("PUT", "/_bulk", 200, {"errors": False, "items": []}),
        ("GET", "/_alias/eim-messages", 200, {OLD_INDEX: {"aliases": {"eim-messages": {}}}}),
    ]

    index_rebuild(backend=es_backend)

    assert _requests(script) == [
        ("HEAD", "/_alias/eim-messages"),
        ("PUT", f"/{INDEX}"),
        ("PUT", "/_bulk"),
        ("GET", "/_alias/eim-messages"),
        ("POST", f"/{INDEX}/_refresh"),
        ("POST", "/_aliases"),
        ("DELETE", f"/{OLD_INDEX}"),
    ]
    assert script.requests[1].body == {
        "settings": json.loads((REFERENCE / "create_index.json").read_text())["settings"],
        "mappings": json.loads((REFERENCE / "create_index.json").read_text())["mappings"],
    }
    bulk = script.requests[2].body
    assert [line["index"] for line in bulk[::2]] == [
        {"_index": INDEX, "_id": "3"},
        {"_index": INDEX, "_id": "4"},
    ]
    assert [doc["body"] for doc in bulk[1::2]] == ["first", "second"]
    _compare("alias_swap.json", script.requests[5].body)


def id_of(user: Any) -> int:
    return int(user.pk)


def _bulk_sources(script: Script) -> list[dict[str, Any]]:
    """The documents sent in every bulk request so far, in order."""
    bodies = [r.body for r in script.requests if r.path.split("?", 1)[0] == "/_bulk"]
    return [line for body in bodies for line in body if "index" not in line]


@pytest.mark.django_db
def test_a_join_with_the_history_resends_the_earlier_messages_with_the_joiner_in_the_audience(
    es_backend, script, alice, bob, carol, archive_blobs
):
    from archive.services.archiving import archive_pending
    from compliance.search.indexing import index_pending
    from eim.chat.services.conversations import membership_join

    desk = ChannelFactory(creator=alice, members=[bob], name="desk")
    send(alice, desk, "before carol came")
    archive_pending()
    index_pending(backend=es_backend)
    first = _bulk_sources(script)
    script.requests.clear()

    membership_join(user=carol, conversation_id=desk.pk)
    archive_pending()
    index_pending(backend=es_backend)

    resent = _bulk_sources(script)
    assert [(d["body"], d["audience_usernames"]) for d in first] == [
        ("before carol came", ["alice", "bob"])
    ]
    assert [(d["body"], d["audience_usernames"]) for d in resent] == [
        ("before carol came", ["alice", "bob", "carol"])
    ]
    assert resent[0]["audience_ids"] == [str(u.pk) for u in sorted((alice, bob, carol), key=id_of)]


@pytest.mark.django_db
def test_a_join_without_the_history_resends_nothing(
    es_backend, script, alice, carol, archive_blobs
):
    from archive.services.archiving import archive_pending
    from compliance.search.indexing import index_pending
    from eim.chat.services.conversations import membership_join

    desk = ChannelFactory(creator=alice, name="need-to-know", history_visible=False)
    send(alice, desk, "before carol came")
    archive_pending()
    index_pending(backend=es_backend)
    script.requests.clear()

    membership_join(user=carol, conversation_id=desk.pk)
    archive_pending()
    index_pending(backend=es_backend)

    assert _bulk_sources(script) == []


@pytest.mark.django_db
def test_an_employee_scope_leaves_out_what_came_before_a_join_without_the_history(es_backend):
    scope = Scope.member_of({3, 4}, history_starts={4: 40})

    query = es_backend.scope_query(scope)

    assert query["bool"]["filter"][0] == {"terms": {"conversation_id": ["3", "4"]}}
    assert {
        "bool": {
            "filter": [
                {"term": {"conversation_id": "4"}},
                {"range": {"archive_seq": {"lt": 40}}},
            ]
        }
    } in query["bool"]["must_not"]


def test_compliance_search_request(es_backend, script):
    es_backend.search(
        parse_query("insider NEAR/3 trading from:bob"),
        scope=Scope.everything(),
        order=Order.NEWEST,
        after=[1709285400000, 12],
        limit=50,
        facets=True,
    )

    (request,) = script.requests
    assert request.path.startswith("/eim-messages/_search")
    _compare("search_compliance.json", request.body)


@pytest.mark.django_db
def test_employee_search_request_puts_membership_first_and_drops_replaced_versions(
    es_backend, script, alice, bob, archive_blobs
):
    channel = ChannelFactory(creator=alice, members=[bob], name="desk")
    message = send(alice, channel, "first")
    message_edit(user=alice, message_id=message.pk, body="second")
    message_edit(user=alice, message_id=message.pk, body="third")
    from archive.services.archiving import archive_pending

    archive_pending()
    # Records: 1 created, 2-3 joins, 4 first, 5 second, 6 third: 4 and 5 were replaced.
    scope = Scope.member_of({channel.pk})

    es_backend.search(parse_query("second OR third"), scope=scope, order=Order.RELEVANCE)

    body = script.requests[0].body
    assert body["query"]["bool"]["filter"] == [
        {
            "bool": {
                "filter": [
                    {"terms": {"conversation_id": [str(channel.pk)]}},
                    {"term": {"is_deleted": False}},
                ],
                "must_not": [{"terms": {"archive_seq": [4, 5]}}],
            }
        }
    ]
    assert body["sort"] == [{"_score": "desc"}, {"archive_seq": "desc"}]
    assert "aggs" not in body


def test_a_search_response_becomes_a_page(es_backend, script):
    source = json.loads((REFERENCE / "bulk.json").read_text())[1]
    hit = {
        "_id": "1",
        "_score": None,
        "_source": source,
        "highlight": {"body": ["insider &lt;b&gt;<mark>tip</mark>&lt;/b&gt;"]},
        "sort": [1709285401000, 1],
    }
    aggregations = {
        "authors": {"buckets": [{"key": "alice", "doc_count": 2}]},
        "conversations": {
            "buckets": [
                {"key": "3", "doc_count": 2, "name": {"buckets": [{"key": "trading-desk"}]}}
            ]
        },
        "days": {"buckets": [{"key_as_string": "2024-03-01", "key": 0, "doc_count": 2}]},
    }
    script.answers.append(
        (
            "POST",
            "/eim-messages/_search",
            200,
            {
                "hits": {"total": {"value": 2, "relation": "eq"}, "hits": [hit, hit]},
                "aggregations": aggregations,
            },
        )
    )

    page = es_backend.search(parse_query("tip"), scope=Scope.everything(), limit=1, facets=True)

    assert (page.count, page.count_exact) == (2, True)
    assert page.next_after == [1709285401000, 1]
    (found,) = page.hits
    assert found.document == _document(1, "insider <b>tip</b>", is_edited=True)
    assert found.highlights == ["insider &lt;b&gt;<mark>tip</mark>&lt;/b&gt;"]
    assert page.facets is not None
    assert page.facets.conversations == [{"id": 3, "name": "trading-desk", "count": 2}]
    assert page.facets.days == [{"date": "2024-03-01", "count": 2}]


@pytest.mark.parametrize(
    ("total", "expected"),
    [
        ({"value": 10_000, "relation": "eq"}, (10_000, True)),
        ({"value": 10_001, "relation": "eq"}, (10_000, False)),
        ({"value": 10_001, "relation": "gte"}, (10_000, False)),
    ],
)
def test_the_total_is_counted_to_one_past_the_cap_as_on_postgresql(
    es_backend, script, total, expected
):
    script.answers.append(
        ("POST", "/eim-messages/_search", 200, {"hits": {"total": total, "hits": []}})
    )

    page = es_backend.search(parse_query("tip"), scope=Scope.everything())

    assert (page.count, page.count_exact) == expected
    assert script.requests[0].body["track_total_hits"] == 10_001


def test_a_search_asks_the_cluster_to_fail_rather_than_drop_a_failed_shard(es_backend, script):
    es_backend.search(parse_query("tip"), scope=Scope.everything())

    assert "allow_partial_search_results=false" in script.requests[0].path


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        ({"timed_out": True, "_shards": {"total": 5, "successful": 5, "failed": 0}}, "timed out"),
        (
            {
                "timed_out": False,
                "_shards": {
                    "total": 5,
                    "successful": 4,
                    "failed": 1,
                    "failures": [{"shard": 2, "reason": {"type": "node_disconnected"}}],
                },
            },
            "1 of 5 parts",
        ),
    ],
    ids=["timed-out", "failed-shard"],
)
def test_a_partial_answer_is_an_error_never_a_short_page(es_backend, script, answer, detail):
    hit = {"_id": "1", "_source": json.loads((REFERENCE / "bulk.json").read_text())[1]}
    partial = {"hits": {"total": {"value": 1, "relation": "eq"}, "hits": [hit]}, **answer}
    script.answers.append(("POST", "/eim-messages/_search", 200, partial))

    with pytest.raises(ComplianceError) as refused:
        es_backend.search(parse_query("tip"), scope=Scope.everything())

    assert refused.value.code == ComplianceErrorCode.SEARCH_UNAVAILABLE
    assert refused.value.http_status == 503
    assert detail in refused.value.detail


def test_a_cluster_that_cannot_answer_is_search_unavailable(es_backend, script):
    failure = {"error": {"type": "search_phase_execution_exception"}, "status": 503}
    script.answers.append(("POST", "/eim-messages/_search", 503, failure))

    with pytest.raises(ComplianceError) as refused:
        es_backend.search(parse_query("tip"), scope=Scope.everything())

    assert refused.value.code == ComplianceErrorCode.SEARCH_UNAVAILABLE


@pytest.mark.django_db
def test_a_timed_out_compliance_search_is_a_503_and_is_not_audited(
    es_backend, script, officer, monkeypatch
):
    script.answers.append(
        ("POST", "/eim-messages/_search", 200, {**EMPTY_SEARCH, "timed_out": True})
    )
    monkeypatch.setattr(search_services, "search_backend", lambda: es_backend)

    response = api_as(officer).get("/api/v1/compliance/search", {"q": "tip"})

    assert response.status_code == 503
    assert response.json()["code"] == "search_unavailable"
    assert not AuditEvent.objects.exists()
