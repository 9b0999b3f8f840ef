"""autobahn's debug-line arguments are formatted only when a line shows them, and then read
as before (eim/websocket_server.py)."""

import pprint

from autobahn import util as autobahn_util
from autobahn.twisted import websocket as twisted_websocket
from autobahn.websocket import protocol as websocket_protocol

from eim.websocket_server import FormattedWhenShown


def test_loading_the_application_defers_autobahns_debug_formatting():
    import eim.asgi  # noqa: F401  (what Daphne imports)

    options = [("openHandshakeTimeout", 5, "WebSocketServerFactory")]
    for module in (websocket_protocol, twisted_websocket):
        assert isinstance(
            module.hltype(test_loading_the_application_defers_autobahns_debug_formatting),
            FormattedWhenShown,
        )
        assert isinstance(module.hlval(42), FormattedWhenShown)
    assert isinstance(websocket_protocol.pformat(options), FormattedWhenShown)


def test_a_deferred_value_formats_exactly_as_the_eager_one():
    import eim.asgi  # noqa: F401

    options = [
        ("openHandshakeTimeout", 5, "WebSocketServerFactory"),
        ("maxFramePayloadSize", 0, "x"),
    ]

    # A debug line is written as autobahn's logger writes it: str.format with the arguments.
    line = "\n{attrs}".format(attrs=websocket_protocol.pformat(options))  # noqa: UP032
    assert line == "\n" + pprint.pformat(options)
    assert "{peer}".format(peer=twisted_websocket.hlval("tcp:1.2.3.4")) == autobahn_util.hlval(
        "tcp:1.2.3.4"
    )
    assert f"{twisted_websocket.hltype(pprint.pformat)}" == autobahn_util.hltype(pprint.pformat)


def test_timings_still_print_as_text():
    import eim.asgi  # noqa: F401

    timings = websocket_protocol.Timings()
    timings.track("start")

    assert str(timings).startswith("{'start':")
