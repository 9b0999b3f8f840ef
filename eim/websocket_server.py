"""Daphne's WebSocket layer (autobahn) without its eager debug formatting.

autobahn formats arguments for debug lines before the logger decides to drop them: on every
connection, its 29 options through `pprint.pformat` (about 0.2 ms of CPU), and on every frame
sent or received, a coloured name of the method and the peer (`hltype`, `hlval`: several µs
each). A chat server at INFO pays that on every handshake and every delivery
(docs/performance.md, "Coming back after a restart"). Here those three names, in the two
autobahn modules that use them, produce a value that formats itself only when a line that
shows it is written: with autobahn's debug logging on, the lines read exactly as before.
"""

import pprint
from collections.abc import Callable
from typing import Any

from autobahn import util as autobahn_util
from autobahn.twisted import websocket as twisted_websocket
from autobahn.websocket import protocol as websocket_protocol


class FormattedWhenShown:
    """`func(value)`, computed only when the object is formatted or printed."""

    __slots__ = ("func", "value")

    def __init__(self, func: Callable[[Any], str], value: Any) -> None:
        self.func, self.value = func, value

    def __str__(self) -> str:
        return str(self.func(self.value))

    def __repr__(self) -> str:
        return str(self)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def _when_shown(func: Callable[[Any], str]) -> Callable[[Any], FormattedWhenShown]:
    def deferred(value: Any) -> FormattedWhenShown:
        return FormattedWhenShown(func, value)

    return deferred


def debug_formatting_deferred() -> None:
    """Patch autobahn's protocol modules once per process (eim/asgi.py)."""
    replacements = {
        "pformat": _when_shown(pprint.pformat),
        "hltype": _when_shown(autobahn_util.hltype),
        "hlval": _when_shown(autobahn_util.hlval),
    }
    for module in (websocket_protocol, twisted_websocket):
        for name, deferred in replacements.items():
            if name in vars(module):
                setattr(module, name, deferred)
    # The one use of `pformat` there that is not a debug line's argument: str() must be a str.
    websocket_protocol.Timings.__str__ = _timings_text  # type: ignore[method-assign]


def _timings_text(timings: "websocket_protocol.Timings") -> str:
    return pprint.pformat(timings._timings)
