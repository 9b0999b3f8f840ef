"""Elasticsearch: the index behind an alias, filled with the bulk API, read with search_after.

Readers and writers use the alias (`EIM_SEARCH_INDEX_ALIAS`, default `eim-messages`); the
concrete index is `<alias>-<UTC timestamp>`, created with the contract's SETTINGS and
MAPPING. A rebuild fills a new concrete index, then moves the alias in one
`update_aliases` call (remove + add, atomic) and deletes the old index. Documents have
`_id` = archive_seq, so indexing the same record twice overwrites it with itself.

Employee search needs "the current version only", which the index contract has no field
for: the scope excludes the archive_seqs of versions a later edit replaced, read from the
archive for the user's conversations (see docs/search.md, limits).
"""

import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from elasticsearch import ApiError, Elasticsearch, TransportError

from archive.selectors import superseded_version_seqs

from ...errors import ComplianceError, ComplianceErrorCode
from ..documents import IndexBatch, SearchDocument
from ..paging import after_sort_values
from ..query import Node, search_body
from ..query.compile_elasticsearch import MAPPING, SETTINGS
from ..results import (
    FACET_SIZE,
    After,
    Facets,
    Order,
    Scope,
    SearchHit,
    SearchPage,
    capped_count,
    count_limit,
)

logger = logging.getLogger(__name__)

BULK_DOCUMENTS = 500
_KEYWORD_IDS = ("conversation_id", "author_id")


class IndexingError(RuntimeError):
    """Elasticsearch refused some documents of a bulk request."""


def document_source(document: SearchDocument) -> dict[str, Any]:
    """The JSON document: keyword ids as strings, dates as UTC ISO 8601."""
    return {
        "archive_seq": document.archive_seq,
        "message_id": document.message_id,
        "version_kind": document.version_kind,
        "conversation_id": str(document.conversation_id),
        "conversation_name": document.conversation_name,
        "author_id": str(document.author_id),
        "author_username": document.author_username,
        "audience_ids": [str(i) for i in document.audience_ids],
        "audience_usernames": list(document.audience_usernames),
        "occurred_at": _utc(document.occurred_at),
        "created_at": _utc(document.created_at),
        "body": document.body,
        "is_edited": document.is_edited,
        "is_deleted": document.is_deleted,
        "has_attachment": document.has_attachment,
        "is_flagged": document.is_flagged,
        "policies": list(document.policies),
        "review_states": list(document.review_states),
    }


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _document(source: dict[str, Any]) -> SearchDocument:
    values = dict(source)
    for name in (*_KEYWORD_IDS, "archive_seq", "message_id"):
        values[name] = int(values[name])
    values["audience_ids"] = tuple(int(i) for i in values["audience_ids"])
    values["audience_usernames"] = tuple(values["audience_usernames"])
    values["policies"] = tuple(values.get("policies") or ())
    values["review_states"] = tuple(values.get("review_states") or ())
    for name in ("occurred_at", "created_at"):
        values[name] = datetime.fromisoformat(values[name])
    return SearchDocument(**values)


def _highlights(hit: dict[str, Any]) -> list[str]:
    fragments: list[str] = []
    for field in ("body", "body.exact"):
        for fragment in hit.get("highlight", {}).get(field, []):
            if fragment not in fragments:
                fragments.append(fragment)
    return fragments


AGGREGATIONS = {
    "authors": {"terms": {"field": "author_username", "size": FACET_SIZE}},
    "conversations": {
        "terms": {"field": "conversation_id", "size": FACET_SIZE},
        "aggs": {"name": {"terms": {"field": "conversation_name", "size": 1}}},
    },
    "days": {
        "date_histogram": {
            "field": "occurred_at",
            "calendar_interval": "day",
            "format": "yyyy-MM-dd",
            "min_doc_count": 1,
        }
    },
}


def _facets(aggregations: dict[str, Any]) -> Facets:
    conversations = []
    for bucket in aggregations["conversations"]["buckets"]:
        names = bucket["name"]["buckets"]
        conversations.append(
            {
                "id": int(bucket["key"]),
                "name": names[0]["key"] if names else "",
                "count": bucket["doc_count"],
            }
        )
    return Facets(
        authors=[
            {"username": b["key"], "count": b["doc_count"]}
            for b in aggregations["authors"]["buckets"]
        ],
        conversations=conversations,
        days=[
            {"date": b["key_as_string"], "count": b["doc_count"]}
            for b in aggregations["days"]["buckets"]
        ],
    )


def _total(total: dict[str, Any]) -> int:
    """The hits counted; past track_total_hits Elasticsearch says only "at least" that."""
    value = int(total["value"])
    return value if total.get("relation", "eq") == "eq" else max(value, count_limit())


@functools.lru_cache(maxsize=4)
def _client(url: str, timeout: float) -> Elasticsearch:
    """One client (and its connection pool) per process and URL."""
    return Elasticsearch(url, request_timeout=timeout)


class ElasticsearchBackend:
    name = "elasticsearch"

    def __init__(
        self,
        client: Elasticsearch,
        *,
        alias: str = "eim-messages",
        index: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        request_timeout: float = 10.0,
    ) -> None:
        self.client = client
        self.alias = alias
        # Writes go to `index` while a rebuild fills it; otherwise through the alias.
        self.target = index or alias
        self.now = now
        self.request_timeout = request_timeout

    @classmethod
    def from_settings(cls) -> "ElasticsearchBackend":
        timeout = settings.EIM_SEARCH_TIMEOUT_MS / 1000
        client = _client(settings.ELASTICSEARCH_URL, timeout)
        return cls(client, alias=settings.EIM_SEARCH_INDEX_ALIAS, request_timeout=timeout)

    # -- the index -------------------------------------------------------------------------

    def new_index_name(self) -> str:
        return f"{self.alias}-{self.now():%Y%m%d%H%M%S%f}"

    def ensure_ready(self) -> None:
        if self.client.indices.exists_alias(name=self.alias):
            return
        self.client.indices.create(
            index=self.new_index_name(),
            settings=SETTINGS,
            mappings=MAPPING,
            aliases={self.alias: {}},
        )

    def rebuild_start(self) -> "ElasticsearchBackend":
        name = self.new_index_name()
        self.client.indices.create(index=name, settings=SETTINGS, mappings=MAPPING)
        return ElasticsearchBackend(self.client, alias=self.alias, index=name, now=self.now)

    def rebuild_finish(self, writer: Any) -> None:
        new = writer.target
        old = sorted(self.client.indices.get_alias(name=self.alias).body)
        self.client.indices.refresh(index=new)
        actions: list[dict[str, Any]] = [
            {"remove": {"index": name, "alias": self.alias}} for name in old
        ]
        actions.append({"add": {"index": new, "alias": self.alias}})
        self.client.indices.update_aliases(actions=actions)
        for name in old:
            self.client.indices.delete(index=name)

    def delete_all(self) -> None:
        self.client.delete_by_query(
            index=self.target, query={"match_all": {}}, conflicts="proceed", refresh=True
        )

    def refresh(self) -> None:
        self.client.indices.refresh(index=self.target)

    # -- writing ---------------------------------------------------------------------------

    def index_records(self, batch: IndexBatch) -> None:
        documents = batch.documents
        for start in range(0, len(documents), BULK_DOCUMENTS):
            operations: list[dict[str, Any]] = []
            for document in documents[start : start + BULK_DOCUMENTS]:
                operations.append(
                    {"index": {"_index": self.target, "_id": str(document.archive_seq)}}
                )
                operations.append(document_source(document))
            response = self.client.bulk(operations=operations)
            if response.get("errors"):
                failed = [i for i in response["items"] if i.get("index", {}).get("error")]
                raise IndexingError(f"{len(failed)} documents refused, first: {failed[:1]}")
        for conversation_id, name in sorted(batch.renamed.items()):
            self.client.update_by_query(
                index=self.target,
                query={"term": {"conversation_id": str(conversation_id)}},
                script={
                    "source": "ctx._source.conversation_name = params.name",
                    "lang": "painless",
                    "params": {"name": name},
                },
                conflicts="proceed",
            )

    # -- reading ---------------------------------------------------------------------------

    def scope_query(self, scope: Scope) -> dict[str, Any]:
        if scope.conversation_ids is None and scope.all_versions:
            return {"match_all": {}}
        filters: list[dict[str, Any]] = []
        must_not: list[dict[str, Any]] = []
        if scope.conversation_ids is not None:
            ids = sorted(scope.conversation_ids)
            filters.append({"terms": {"conversation_id": [str(i) for i in ids]}})
        for conversation_id, first_seq in scope.history_starts:
            earlier = [
                {"term": {"conversation_id": str(conversation_id)}},
                {"range": {"archive_seq": {"lt": first_seq}}},
            ]
            must_not.append({"bool": {"filter": earlier}})
        if not scope.all_versions:
            filters.append({"term": {"is_deleted": False}})
            superseded = superseded_version_seqs(conversation_ids=scope.conversation_ids or ())
            if superseded:
                must_not.append({"terms": {"archive_seq": superseded}})
        query: dict[str, Any] = {"filter": filters}
        if must_not:
            query["must_not"] = must_not
        return {"bool": query}

    def search_request(
        self,
        tree: Node,
        *,
        scope: Scope,
        order: Order,
        after: After | None,
        limit: int,
        highlights: bool,
        facets: bool,
    ) -> dict[str, Any]:
        """The keyword arguments of `client.search` (reference-tested request by request)."""
        body = search_body(tree, scope=self.scope_query(scope))
        if not highlights:
            body.pop("highlight", None)
        if order is Order.NEWEST:
            sort: list[Any] = [{"occurred_at": "desc"}, {"archive_seq": "desc"}]
        else:
            sort = [{"_score": "desc"}, {"archive_seq": "desc"}]
        request: dict[str, Any] = {
            "index": self.alias,
            **body,
            "sort": sort,
            "size": limit + 1,
            # Count one past COUNT_CAP, then stop ("relation": "gte"), as PostgreSQL counts.
            "track_total_hits": count_limit(),
            "timeout": f"{int(self.request_timeout * 1000)}ms",
            # A shard that fails makes the search fail, rather than quietly drop its matches.
            "allow_partial_search_results": False,
        }
        if after:
            request["search_after"] = after_sort_values(after, order=order)
        if facets:
            request["aggs"] = AGGREGATIONS
        return request

    def search(
        self,
        tree: Node,
        *,
        scope: Scope,
        order: Order = Order.NEWEST,
        after: After | None = None,
        limit: int = 50,
        highlights: bool = True,
        facets: bool = False,
    ) -> SearchPage:
        request = self.search_request(
            tree,
            scope=scope,
            order=order,
            after=after,
            limit=limit,
            highlights=highlights,
            facets=facets,
        )
        response = _complete(self._answer(request))
        raw_hits = response["hits"]["hits"]
        hits = [SearchHit(_document(h["_source"]), _highlights(h)) for h in raw_hits[:limit]]
        next_after = raw_hits[limit - 1]["sort"] if len(raw_hits) > limit else None
        count, count_exact = capped_count(_total(response["hits"]["total"]))
        return SearchPage(
            count=count,
            count_exact=count_exact,
            hits=hits,
            next_after=next_after,
            facets=_facets(response["aggregations"]) if facets else None,
        )

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return dict(self.client.search(**request).body)
        except TransportError as exc:  # no answer: the cluster is down or did not reply
            logger.error("Elasticsearch search failed: %s", exc)
            raise _unavailable("the search index did not answer; try again shortly") from exc
        except ApiError as exc:
            if exc.status_code < 500 and exc.status_code != 429:
                raise  # a request the cluster refuses is a fault of ours, not of the cluster
            logger.error("Elasticsearch search failed: %s %s", exc.status_code, exc.body)
            raise _unavailable("the search index could not answer; try again shortly") from exc


def _complete(response: dict[str, Any]) -> dict[str, Any]:
    """The response, if every shard answered in time; an error otherwise.

    A timed-out or partly failed search still answers 200 with the hits it found: read as a
    whole page, it would show an officer fewer messages than the archive holds, and say so
    nowhere.
    """
    shards = response.get("_shards") or {}
    if response.get("timed_out"):
        logger.error("Elasticsearch search timed out (shards: %s)", shards)
        raise _unavailable(
            "the search timed out before every part of the index answered; narrow it "
            "(dates, people, conversations) or try again"
        )
    if shards.get("failed", 0) > 0:
        logger.error("Elasticsearch search had failed shards: %s", shards.get("failures"))
        raise _unavailable(
            f"{shards['failed']} of {shards.get('total', '?')} parts of the search index did "
            "not answer, so the results would be incomplete; try again shortly"
        )
    return response


def _unavailable(detail: str) -> ComplianceError:
    return ComplianceError(ComplianceErrorCode.SEARCH_UNAVAILABLE, detail)
