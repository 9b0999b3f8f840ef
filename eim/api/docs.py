"""The API's front door: the interactive reference, and answers for paths that are not routes.

Swagger UI comes from drf-spectacular-sidecar's static files and its start-up script is its own
file (the split view), so the page runs under the CSP that allows only this origin.
"""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseRedirectBase
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularSwaggerSplitView


class PermanentRedirect(HttpResponseRedirectBase):
    """308: like 301, but the client repeats the same method and body."""

    status_code = 308


class ApiDocsView(SpectacularSwaggerSplitView):
    template_name = "api/docs.html"
    title = "eim API"


def _resolves_elsewhere(path: str) -> bool:
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.func is not api_path_fallback


@csrf_exempt
def api_path_fallback(request: HttpRequest, rest: str) -> HttpResponse:
    """Any /api/v1/ path no route takes: a 308 to the same path with (or without) the trailing
    slash when that is a route, the method and body kept; otherwise a 404 in the API's error
    shape, never an HTML page."""
    other = request.path_info[:-1] if request.path_info.endswith("/") else request.path_info + "/"
    if _resolves_elsewhere(other):
        location = request.path[:-1] if request.path.endswith("/") else request.path + "/"
        if request.META.get("QUERY_STRING"):
            location += "?" + request.META["QUERY_STRING"]
        body = {"code": "moved", "detail": f"this endpoint is {location} (mind the slash)"}
        return PermanentRedirect(
            location, content=json.dumps(body), content_type="application/json"
        )
    return JsonResponse(
        {"code": "not_found", "detail": "no such API endpoint; the reference is /api/v1/docs/"},
        status=404,
    )
