"""The simple backend: the embedded default (SQLite), for development and small trials.

Limits, by design (use PostgreSQL or Elasticsearch for a real archive):
- Every search reads the rows in scope and evaluates the query tree in Python, so it is
  linear in the size of the scope.
- Words are runs of letters and digits, lower-cased; a term also matches a word that starts
  with the term's crude stem (trailing -s, -es, -ed, -ing, -e removed), which approximates but
  is not English stemming; there are no stop words; NEAR counts words the same way.
- Highlights mark exact words and prefixes only.
"""

import html
import json
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction

from ..documents import IndexBatch, SearchDocument
from ..paging import after_keyset, after_offset
from ..query import (
    And,
    DateFilter,
    From,
    Has,
    In,
    Is,
    MessageState,
    Near,
    Node,
    Not,
    Or,
    Participant,
    Phrase,
    Policy,
    Prefix,
    Review,
    Term,
    Word,
)
from ..results import (
    FACET_SIZE,
    After,
    Facets,
    Order,
    Scope,
    SearchHit,
    SearchPage,
    capped_count,
)
from .postgres import COLUMNS, TABLE
from .table import DatabaseTableIndex
from .words import positive_words

_WORD = re.compile(r"\w+")
_ARRAYS = ("audience_ids", "audience_usernames", "policies", "review_states")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "ed", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _positions(words: list[str], word: Word) -> list[tuple[int, int]]:
    """(start, end) word spans where `word` occurs."""
    if isinstance(word, Prefix):
        stem = word.stem.lower()
        return [(i, i) for i, w in enumerate(words) if w.startswith(stem)]
    wanted = _words(word.text)
    if not wanted:
        return []
    stems = [_stem(w) for w in wanted]

    def same(w: str, i: int) -> bool:
        return w == wanted[i] if isinstance(word, Phrase) else w.startswith(stems[i])

    n = len(wanted)
    return [
        (i, i + n - 1)
        for i in range(len(words) - n + 1)
        if all(same(words[i + k], k) for k in range(n))
    ]


def _matches(node: Node, d: SearchDocument, words: list[str]) -> bool:
    match node:
        case Term() | Phrase():
            return not _words(node.text) or bool(_positions(words, node))
        case Prefix():
            return bool(_positions(words, node))
        case Near(left=left, right=right, distance=distance):
            return any(
                abs(a[0] - b[0]) - 1 <= distance
                for a in _positions(words, left)
                for b in _positions(words, right)
                if a != b
            )
        case And(children=children):
            return all(_matches(c, d, words) for c in children)
        case Or(children=children):
            return any(_matches(c, d, words) for c in children)
        case Not(child=child):
            return not _matches(child, d, words)
        case From(username=username):
            return d.author_username == username
        case In():
            return d.conversation_name == node.conversation or (
                node.conversation_id == d.conversation_id
            )
        case Participant(username=username):
            return username in d.audience_usernames
        case DateFilter():
            return _in_days(node, d.occurred_at)
        case Has():
            return d.has_attachment
        case Is(state=state):
            return {
                MessageState.EDITED: d.is_edited,
                MessageState.DELETED: d.is_deleted,
                MessageState.FLAGGED: d.is_flagged,
            }[state]
        case Policy(name=name):
            return name in d.policies
        case Review(facet=facet):
            return facet.value in d.review_states
    return False


def _in_days(node: DateFilter, moment: datetime) -> bool:
    day_range = node.day_range()
    if day_range is None:
        return False
    start, end = day_range
    day = moment.astimezone(UTC).date()
    return (start is None or day >= start) and (end is None or day < end)


def _highlight(d: SearchDocument, tree: Node) -> list[str]:
    words = positive_words(tree)
    if not words:
        return []
    prefixes: set[str] = set()
    for word in words:
        if isinstance(word, Prefix):
            prefixes.add(word.stem.lower())
        else:
            prefixes.update(_stem(w) for w in _words(word.text))

    def test(found: str) -> bool:
        return any(found.lower().startswith(p) for p in prefixes)

    tests: list[Callable[[str], bool]] = [test]
    parts, last, hit = [], 0, False
    for found in _WORD.finditer(d.body):
        if any(test(found.group()) for test in tests):
            hit = True
            parts.append(html.escape(d.body[last : found.start()], quote=False))
            parts.append(f"<mark>{html.escape(found.group(), quote=False)}</mark>")
            last = found.end()
    parts.append(html.escape(d.body[last:], quote=False))
    return ["".join(parts)] if hit else []


class SimpleBackend(DatabaseTableIndex):
    name = "simple"

    def __init__(self, table: str = TABLE) -> None:
        super().__init__(table)

    def index_records(self, batch: IndexBatch) -> None:
        names = ", ".join(COLUMNS)
        marks = ", ".join(["%s"] * len(COLUMNS))
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT OR REPLACE INTO {self.table} ({names}) VALUES ({marks})",  # noqa: S608
                [self._row(d) for d in batch.documents],
            )
            for conversation_id, name in batch.renamed.items():
                cursor.execute(
                    f"UPDATE {self.table} SET conversation_name = %s WHERE conversation_id = %s",  # noqa: S608
                    [name, conversation_id],
                )

    def _row(self, d: SearchDocument) -> list[Any]:
        values = [getattr(d, c) for c in COLUMNS]
        return [
            json.dumps(list(v))
            if c in _ARRAYS
            else v.astimezone(UTC).isoformat()
            if isinstance(v, datetime)
            else v
            for c, v in zip(COLUMNS, values, strict=True)
        ]

    def _document(self, row: tuple[Any, ...]) -> SearchDocument:
        values = dict(zip(COLUMNS, row, strict=True))
        for name in _ARRAYS:
            values[name] = tuple(json.loads(values[name]))
        for name in ("occurred_at", "created_at"):
            values[name] = datetime.fromisoformat(values[name])
        for name in ("is_edited", "is_deleted", "has_attachment", "is_flagged"):
            values[name] = bool(values[name])
        return SearchDocument(**values)

    def _in_scope(self, scope: Scope) -> list[SearchDocument]:
        sql, params = f"SELECT {', '.join(COLUMNS)} FROM {self.table}", []  # noqa: S608
        if scope.conversation_ids is not None:
            ids = sorted(scope.conversation_ids) or [-1]
            sql += f" WHERE conversation_id IN ({', '.join(['%s'] * len(ids))})"
            params = ids
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            documents = [self._document(row) for row in cursor.fetchall()]
        starts = dict(scope.history_starts)
        documents = [d for d in documents if d.archive_seq >= starts.get(d.conversation_id, 0)]
        if scope.all_versions:
            return documents
        latest: dict[int, int] = {}
        for d in documents:
            latest[d.message_id] = max(latest.get(d.message_id, 0), d.archive_seq)
        return [d for d in documents if not d.is_deleted and latest[d.message_id] == d.archive_seq]

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
        # Newest first pages by keyset, as PostgreSQL does, so a message archived meanwhile
        # cannot shift a page; relevance (no ranking here: newest first too) by offset.
        keyset = after_keyset(after) if order is Order.NEWEST else None
        offset = after_offset(after) if order is Order.RELEVANCE else 0
        matching = [d for d in self._in_scope(scope) if _matches(tree, d, _words(d.body))]
        matching.sort(key=_newest_key, reverse=True)
        following = [d for d in matching if keyset is None or _newest_key(d) < keyset]
        page = following[offset : offset + limit]
        hits = [SearchHit(d, _highlight(d, tree) if highlights else []) for d in page]
        next_after: After | None = None
        if len(following) > offset + limit:
            last = page[-1]
            next_after = (
                [last.occurred_at.isoformat(), last.archive_seq]
                if order is Order.NEWEST
                else [offset + limit]
            )
        count, count_exact = capped_count(len(matching))  # as the other backends report it
        return SearchPage(
            count=count,
            count_exact=count_exact,
            hits=hits,
            next_after=next_after,
            facets=_facets(matching) if facets else None,
        )


def _newest_key(d: SearchDocument) -> tuple[datetime, int]:
    return d.occurred_at, d.archive_seq


def _facets(documents: list[SearchDocument]) -> Facets:
    authors = Counter(d.author_username for d in documents)
    conversations = Counter((d.conversation_id, d.conversation_name) for d in documents)
    days = Counter(d.occurred_at.astimezone(UTC).date().isoformat() for d in documents)
    return Facets(
        authors=[{"username": u, "count": n} for u, n in authors.most_common(FACET_SIZE)],
        conversations=[
            {"id": c, "name": name, "count": n}
            for (c, name), n in conversations.most_common(FACET_SIZE)
        ],
        days=[{"date": day, "count": n} for day, n in sorted(days.items())],
    )
