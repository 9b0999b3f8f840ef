"""Fixtures for the query language: a real search table in PostgreSQL, and an Elasticsearch
client whose node records requests instead of sending them (no cluster runs here)."""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from elastic_transport import ApiResponseMeta, BaseNode, HttpHeaders
from elastic_transport._node import NodeApiResponse
from elasticsearch import Elasticsearch

from compliance.search.query import SqlFilter, compile_postgres, parse_query
from compliance.search.query.compile_postgres import search_table_ddl

TABLE = "compliance_search_test"
NOON = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class SearchTable:
    """The documented search table, created empty in the test's transaction."""

    next_seq: int = 1

    def add(self, body: str, **columns: Any) -> int:
        """Insert one version row; unspecified columns get plain defaults (alice in #general)."""
        seq = self.next_seq
        self.next_seq += 1
        row = {
            "archive_seq": seq,
            "message_id": seq,
            "version_kind": "original",
            "conversation_id": 1,
            "conversation_name": "general",
            "author_id": 1,
            "author_username": "alice",
            "audience_ids": [1, 2],
            "audience_usernames": ["alice", "bob"],
            "occurred_at": NOON,
            "created_at": NOON,
            "body": body,
            **columns,
        }
        names = ", ".join(row)
        placeholders = ", ".join(["%s"] * len(row))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {TABLE} ({names}) VALUES ({placeholders})",  # noqa: S608
                list(row.values()),
            )
        return seq

    def bodies(self, query: str, *, scope: SqlFilter | None = None) -> set[str]:
        """Bodies of the rows that `query` finds (within `scope` when given)."""
        condition = compile_postgres(parse_query(query))
        if scope is not None:
            condition = condition.within(scope)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT body FROM {TABLE} WHERE {condition.sql}", condition.params)  # noqa: S608
            return {body for (body,) in cursor.fetchall()}


@pytest.fixture
def search_table(db: None) -> SearchTable:
    with connection.cursor() as cursor:
        for statement in search_table_ddl(TABLE):
            cursor.execute(statement)
    return SearchTable()


@dataclass
class RecordedRequest:
    method: str
    target: str
    body: Any


_SEARCH_RESPONSE = (
    b'{"took":0,"timed_out":false,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0},'
    b'"hits":{"total":{"value":0,"relation":"eq"},"max_score":null,"hits":[]}}'
)


class RecordingNode(BaseNode):
    """Answers every request with an empty success and keeps what was asked."""

    requests: list[RecordedRequest] = []  # replaced per client by the fixture

    def perform_request(  # type: ignore[override]
        self, method: str, target: str, body: bytes | None = None, **kwargs: Any
    ) -> NodeApiResponse:
        decoded = json.loads(body) if body else None
        type(self).requests.append(RecordedRequest(method, target, decoded))
        headers = HttpHeaders(
            {"content-type": "application/json", "x-elastic-product": "Elasticsearch"}
        )
        meta = ApiResponseMeta(
            status=200, http_version="1.1", headers=headers, duration=0.0, node=self.config
        )
        return NodeApiResponse(
            meta, _SEARCH_RESPONSE if "_search" in target else b'{"acknowledged":true}'
        )


@dataclass
class RecordingClient:
    client: Elasticsearch
    requests: list[RecordedRequest] = field(default_factory=list)


@pytest.fixture
def es() -> Iterator[RecordingClient]:
    requests: list[RecordedRequest] = []
    node_class = type("Recording", (RecordingNode,), {"requests": requests})
    client = Elasticsearch("http://127.0.0.1:9200", node_class=node_class)
    yield RecordingClient(client, requests)
    client.close()


# -- search index and services (test_index_*, test_search_*, test_api_search) -------------


@pytest.fixture
def archive_blobs(tmp_path: Any, db: None) -> Iterator[None]:
    """The archive's blob store under this test's tmp directory (attachments are copied),
    and an empty search table: it has no model, so a transactional test's flush (or a
    worker run by another suite) may have left rows behind."""
    from django.test import override_settings

    from compliance.search.backends.postgres import PostgresBackend

    PostgresBackend().delete_all()

    store = {
        "BACKEND": "archive.blobs.FilesystemBlobStore",
        "OPTIONS": {"root": str(tmp_path / "archive-blobs")},
    }
    with override_settings(EIM_ARCHIVE_BLOB_STORE=store):
        yield


def _live_elasticsearch() -> Iterator[Any]:
    import os
    import uuid

    from compliance.search.backends.elasticsearch import ElasticsearchBackend

    client = Elasticsearch(os.environ["ELASTICSEARCH_URL"], request_timeout=30)
    alias = f"eim-test-{uuid.uuid4().hex[:12]}"
    backend = ElasticsearchBackend(client, alias=alias)
    try:
        yield backend
    finally:
        client.indices.delete(index=f"{alias}-*", ignore_unavailable=True)
        client.close()


@pytest.fixture(
    params=[
        "postgresql",
        pytest.param("elasticsearch", marks=pytest.mark.elasticsearch),
    ]
)
def backend(request: pytest.FixtureRequest, db: None) -> Iterator[Any]:
    """Each search backend in turn: PostgreSQL always, Elasticsearch when ELASTICSEARCH_URL
    names a live cluster (otherwise that case is skipped)."""
    import os

    if request.param == "postgresql":
        from compliance.search.backends.postgres import PostgresBackend

        yield PostgresBackend()
        return
    if not os.environ.get("ELASTICSEARCH_URL"):
        pytest.skip("no live Elasticsearch cluster (set ELASTICSEARCH_URL)")
    yield from _live_elasticsearch()
