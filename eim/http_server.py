"""Daphne's HTTP layer (Twisted) without the work whose result nobody reads.

- **Form parsing.** Twisted's `Request` parses the body of every POST whose Content-Type is a
  form (`application/x-www-form-urlencoded`, `multipart/form-data`) into `request.args`, and
  to know whether it is one, it runs the Content-Type header of every POST through the
  `email` package's header parser: about a tenth of a SCIM request's CPU on Daphne's event
  loop (docs/performance.md, "SCIM provisioning"), and for an attachment uploaded as
  `multipart/form-data`, a second parse of the whole file. Daphne never reads
  `request.args`: it hands the raw body to the ASGI application, where Django parses forms
  itself. Twisted lets a request be made without that parsing
  (`parsePOSTFormSubmission=False`).
- **Twisted's access-log line.** Twisted's HTTP factory formats a combined-log line for every
  request (about a twentieth of the event loop's CPU) and writes it to Twisted's log, which
  Daphne sends nowhere at its default verbosity (1 or less; its own access log is
  `--access-log`). At that verbosity the line is no longer formatted; above it, it is
  written as before.

Daphne's classes are patched here once per process (eim/asgi.py).
"""

import functools
import inspect
from typing import Any

from daphne import http_protocol
from twisted.web import http

_FLAG = "parsePOSTFormSubmission"
# Daphne sends Twisted's log nowhere at these verbosities (daphne.server.Server.run).
_DISCARDED_UP_TO = 1


def form_parsing_off() -> None:
    """Make Daphne's requests without Twisted's form parsing (a Twisted that cannot is left
    as it is)."""
    request_class = http_protocol.WebRequest
    if getattr(request_class.__init__, "form_parsing_off", False):
        return
    if _FLAG not in inspect.signature(http.Request.__init__).parameters:
        return
    made = request_class.__init__

    @functools.wraps(made)
    def init(self: http_protocol.WebRequest, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(_FLAG, False)
        made(self, *args, **kwargs)

    init.form_parsing_off = True  # type: ignore[attr-defined]
    request_class.__init__ = init


def access_line_skipped_when_discarded() -> None:
    """Format Twisted's access-log line only when Daphne's verbosity lets it be shown."""
    factory_class = http_protocol.HTTPFactory
    if getattr(factory_class.log, "skipped_when_discarded", False):
        return
    write = factory_class.log

    @functools.wraps(write)
    def log(self: http_protocol.HTTPFactory, request: http.Request) -> None:
        if self.server.verbosity <= _DISCARDED_UP_TO:
            return
        write(self, request)

    log.skipped_when_discarded = True  # type: ignore[attr-defined]
    factory_class.log = log
