import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eim.settings.base")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from eim.chat.auth import ChatAuthMiddlewareStack  # noqa: E402
from eim.chat.origin import OriginCheck  # noqa: E402
from eim.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Daphne serves no static files of its own, and the web UI is nothing without its JS
        # and CSS. A front proxy serving STATIC_ROOT (collectstatic) may take over /static/.
        "http": ASGIStaticFilesHandler(django_asgi_app),
        "websocket": OriginCheck(ChatAuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
