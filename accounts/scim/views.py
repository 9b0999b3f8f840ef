"""The SCIM endpoints: thin views that authenticate the bearer token, parse, call one service
or selector, and answer in SCIM (application/scim+json; errors in the SCIM error schema).

CSRF-exempt because only a bearer token authenticates here: cookies are never read.
"""

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from . import schemas
from .errors import ScimError, ScimType, invalid_value, not_found, not_implemented
from .models import ScimToken
from .services.tokens import scim_token_authenticate
from .throttle import scim_rate_check

CONTENT_TYPE = "application/scim+json"


def scim_response(
    body: dict[str, Any] | None, status: int = 200, headers: dict[str, str] | None = None
) -> HttpResponse:
    content = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    response = HttpResponse(content, status=status, content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_response(error: ScimError) -> HttpResponse:
    return scim_response(error.body(), error.status, error.headers)


def _bearer(request: HttpRequest) -> ScimToken:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    token = None
    if scheme.lower() == "bearer" and secret.strip():
        token = scim_token_authenticate(secret=secret.strip())
    if token is None:
        raise ScimError(
            401, "a valid SCIM bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    return token


def _body_size_check(request: HttpRequest) -> None:
    limit = settings.EIM_SCIM_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    try:
        if declared > limit or len(request.body) > limit:
            raise ScimError(413, f"the body is larger than {limit} bytes")
    except RequestDataTooBig as exc:
        raise ScimError(413, f"the body is larger than {limit} bytes") from exc


@method_decorator(csrf_exempt, name="dispatch")
class ScimView(View):
    """Authentication, limits and SCIM errors around every endpoint; writes in a transaction,
    so a refused request changes nothing."""

    token: ScimToken

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            self.token = _bearer(request)
            scim_rate_check(token_id=self.token.pk)
            _body_size_check(request)
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                with transaction.atomic():
                    return super().dispatch(request, *args, **kwargs)
            return super().dispatch(request, *args, **kwargs)
        except ScimError as error:
            return error_response(error)
        except IntegrityError:  # a concurrent request took the name after our check
            return error_response(
                ScimError(409, "a unique attribute is taken", ScimType.UNIQUENESS)
            )

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return error_response(ScimError(405, f"{request.method} is not supported here"))

    def base(self) -> str:
        return f"{self.request.scheme}://{self.request.get_host()}/scim/v2"


def int_param(request: HttpRequest, name: str, default: int) -> int:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise invalid_value(f"{name} must be an integer") from exc


def page_bounds(request: HttpRequest) -> tuple[int, int]:
    """(startIndex, count) as RFC 7644 §3.4.2.4 reads them: below 1 is 1, below 0 is 0.
    A list asked to be sorted is refused (501): ServiceProviderConfig says sort is not
    supported, and an answer in another order would look sorted."""
    if "sortBy" in request.GET or "sortOrder" in request.GET:
        raise not_implemented("sorting (sortBy, sortOrder)")
    start = max(1, int_param(request, "startIndex", 1))
    count = min(schemas.MAX_RESULTS, max(0, int_param(request, "count", schemas.DEFAULT_COUNT)))
    return start, count


class ServiceProviderConfigView(ScimView):
    def get(self, request: HttpRequest) -> HttpResponse:
        return scim_response(schemas.service_provider_config(base=self.base()))


class _DiscoveryList(ScimView):
    kind = ""

    def documents(self) -> list[dict[str, Any]]:
        if self.kind == "ResourceType":
            return schemas.resource_types(base=self.base())
        return schemas.schemas(base=self.base())

    def get(self, request: HttpRequest, item_id: str | None = None) -> HttpResponse:
        documents = self.documents()
        if item_id is not None:
            found = next((d for d in documents if d["id"] == item_id), None)
            if found is None:
                raise not_found(f"no {self.kind} {item_id}")
            return scim_response(found)
        if request.GET.get("filter"):
            raise ScimError(403, "filtering is not supported here")
        return scim_response(schemas.list_response(documents, total=len(documents), start_index=1))


class ResourceTypesView(_DiscoveryList):
    kind = "ResourceType"


class SchemasView(_DiscoveryList):
    kind = "Schema"


class UnsupportedView(ScimView):
    """An optional SCIM feature eim does not offer (ServiceProviderConfig says which): 501
    with the SCIM error body, after the token is checked, as RFC 7644 §3.12 has it for an
    operation the service provider does not support (§3.11 names 501 for /Me)."""

    feature = ""

    def refuse(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        raise not_implemented(self.feature)

    get = post = put = patch = delete = refuse
