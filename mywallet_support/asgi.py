"""ASGI entry point: HTTP and websockets through one ProtocolTypeRouter, served by daphne."""

import os

from django.core.asgi import get_asgi_application

from mywallet_support.bodylimit import BodyLimit
from mywallet_support.daphne import bound_daphne_requests, let_daphne_send_1009

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mywallet_support.settings")

# Django must be set up before anything imports models (the websocket routes do).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from chat.routing import websocket_urlpatterns  # noqa: E402
from workspace.routing import websocket_urlpatterns as workspace_patterns  # noqa: E402

http_app = django_asgi_app
if settings.SERVE_STATIC:
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    http_app = ASGIStaticFilesHandler(django_asgi_app)

# No request body over REQUEST_MAX_BODY_BYTES reaches the application, whatever the server
# (mywallet_support.bodylimit).
http_app = BodyLimit(http_app, settings.REQUEST_MAX_BODY_BYTES)

# The server's own adjustments, made where it is assembled (mywallet_support.daphne): the chat
# closes an oversized frame with 1009, which daphne would otherwise turn into 1011; daphne
# reads no body over the limit (it reads whole bodies before the application sees them).
let_daphne_send_1009()
bound_daphne_requests(settings.REQUEST_MAX_BODY_BYTES)

application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter([*websocket_urlpatterns, *workspace_patterns]))
        ),
    }
)
