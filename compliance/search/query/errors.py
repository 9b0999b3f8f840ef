"""The one exception a query can raise while it is read.

A query is untrusted text typed by a logged-in user. Whatever it contains, reading it either
gives a syntax tree or raises `QuerySyntaxError` with a plain sentence and the character
position to point at, so the interface can underline the mistake instead of showing a 500.
"""


class QuerySyntaxError(ValueError):
    """A query that cannot be read, with where the problem is.

    `position` is an index into the query string in Unicode code points (Python `str`
    indexing), from 0 to `len(query)` inclusive; `len(query)` means "at the end". `hint`
    is an optional suggestion shown after the position.
    """

    def __init__(self, message: str, position: int, *, hint: str | None = None) -> None:
        self.message = message
        self.position = position
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.message} at {self.position}"
        return f"{text} — {self.hint}" if self.hint else text

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only `hint` would be lost by the default pickling of exceptions; Celery and
        # the test runner pickle exceptions across processes.
        return (_rebuild, (self.message, self.position, self.hint, type(self)))


class QueryTooLargeError(QuerySyntaxError):
    """A query over one of the limits (length, nesting, number of clauses, NEAR distance).

    A subclass so that callers may log or count refusals for size apart from typing mistakes;
    catching `QuerySyntaxError` catches both.
    """


def _rebuild(
    message: str, position: int, hint: str | None, cls: type[QuerySyntaxError]
) -> QuerySyntaxError:
    return cls(message, position, hint=hint)
