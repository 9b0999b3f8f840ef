from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from eim.chat.errors import ChatError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Chat errors become {"code", "detail"} with their HTTP status; others as DRF does."""
    if isinstance(exc, ChatError):
        denial = Response({"code": exc.code.value, "detail": exc.detail}, status=exc.http_status)
        if exc.findings is not None:
            denial.data["findings"] = exc.findings
        if exc.retry_after is not None:
            denial["Retry-After"] = str(max(1, round(exc.retry_after)))
        return denial
    drf_response = drf_exception_handler(exc, context)
    if drf_response is None:
        return None
    response: Response = drf_response
    if isinstance(response.data, dict) and "detail" in response.data:
        response.data.setdefault("code", getattr(response.data["detail"], "code", "error"))
    else:
        response.data = {"code": "invalid_input", "detail": response.data}
    return response
