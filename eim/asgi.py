import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eim.settings.base")
django.setup(set_prefix=False)  # what get_asgi_application() does, for Django's handler below

from eim.http_app import HttpApplication  # noqa: E402

# Django's ASGI handler, with /scim/ requests in one thread hop (eim/http_app.py).
django_asgi_app = HttpApplication()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from eim.chat.auth import ChatAuthMiddlewareStack  # noqa: E402
from eim.chat.origin import OriginCheck  # noqa: E402
from eim.http_server import access_line_skipped_when_discarded, form_parsing_off  # noqa: E402
from eim.routing import websocket_urlpatterns  # noqa: E402
from eim.startup import start_up_check  # noqa: E402
from eim.websocket_server import debug_formatting_deferred  # noqa: E402

start_up_check(process="chat server")


def _warm_up() -> None:
    """Compile the content policies before the first socket, not in the first send."""
    from compliance.scanning.cache import policy_set_warm

    policy_set_warm()


_warm_up()

application = ProtocolTypeRouter(
    {
        # Daphne serves no static files of its own, and the web UI is nothing without its JS
        # and CSS. A front proxy serving STATIC_ROOT (collectstatic) may take over /static/.
        "http": ASGIStaticFilesHandler(django_asgi_app),
        "websocket": OriginCheck(ChatAuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)


def _tune_garbage_collector() -> None:
    """A chat server keeps a few hundred long-lived objects per socket, and CPython's full
    collection walks all of them: at 1,000 sockets a pause of 150 ms, twice a minute at
    30 msg/s, which set the p99 delivery latency (docs/performance.md). Freeze what start-up
    made (it lives as long as the process) and collect less often; each young collection
    then frees more, and fewer survivors reach the old generation."""
    gc.freeze()
    gc.set_threshold(*settings.EIM_SERVER_GC_THRESHOLD)


debug_formatting_deferred()
form_parsing_off()
access_line_skipped_when_discarded()
_tune_garbage_collector()
