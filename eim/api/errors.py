"""Every refusal of the API has one body: {"code", "detail"}, plus "fields" for invalid input.

`detail` is always plain words. DRF's own refusals (validation, authentication, parsing) are
reshaped here; a value the database cannot hold (an id past bigint, say) is bad input, not a
server error.
"""

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import DataError
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from eim.chat.errors import ChatError

logger = logging.getLogger(__name__)


def _field_messages(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested validation errors as {"field.sub": ["message", ...]}."""
    if isinstance(errors, dict):
        flat: dict[str, list[str]] = {}
        for name, value in errors.items():
            flat |= _field_messages(value, f"{prefix}.{name}" if prefix else str(name))
        return flat
    if isinstance(errors, list) and errors and not all(isinstance(e, str) for e in errors):
        flat = {}
        for index, value in enumerate(errors):
            flat |= _field_messages(value, f"{prefix}.{index}" if prefix else str(index))
        return flat
    messages = errors if isinstance(errors, list) else [errors]
    return {prefix or "input": [str(m) for m in messages if str(m)]} if messages else {}


def invalid_input_body(errors: Any) -> dict[str, Any]:
    fields = {name: msgs for name, msgs in _field_messages(errors).items() if msgs}
    detail = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in fields.items())
    return {"code": "invalid_input", "detail": detail or "invalid input", "fields": fields}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Chat errors become {"code", "detail"} with their HTTP status; DRF's refusals too."""
    if isinstance(exc, ChatError):
        denial = Response({"code": exc.code.value, "detail": exc.detail}, status=exc.http_status)
        if exc.findings is not None:
            denial.data["findings"] = exc.findings
        if exc.retry_after is not None:
            denial["Retry-After"] = str(max(1, round(exc.retry_after)))
        return denial
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        # Django refuses these while DRF parses the body; left alone they would be its HTML 400.
        return Response({"code": "invalid_input", "detail": str(exc)}, status=400)
    if isinstance(exc, RequestDataTooBig):
        return Response({"code": "too_large", "detail": str(exc)}, status=413)
    if isinstance(exc, DataError):
        logger.warning("input the database cannot hold: %s", exc)
        return Response(
            {"code": "invalid_input", "detail": "a value is out of range or not valid"},
            status=400,
        )
    drf_response = drf_exception_handler(exc, context)
    if drf_response is None:
        return None
    response: Response = drf_response
    if isinstance(exc, ValidationError):
        response.data = invalid_input_body(response.data)
    elif isinstance(response.data, dict) and "detail" in response.data:
        detail = response.data["detail"]
        response.data = {"code": str(getattr(detail, "code", "error")), "detail": str(detail)}
    else:
        response.data = invalid_input_body(response.data)
    return response
