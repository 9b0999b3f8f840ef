"""The auditor's pages: parse the filters, check the role, read through the selectors, record
the viewing through the services, render. GET only: nothing here changes anything else."""

from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.models import User
from audit.selectors import (
    EventFilter,
    audit_event_by_seq,
    audit_events_page,
    audit_trail_status,
)

from .access import is_auditor
from .exports import export_chunks, export_chunks_async
from .filters import EventFilterForm
from .selectors import model_changes_for_event
from .services import audit_event_view_record, audit_trail_export_record, audit_trail_view_record

PAGE_SIZE = 50
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


def _auditor(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) and is_auditor(user=user) else None


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "auditor/forbidden.html", status=403)


@login_required
@require_GET
@never_cache
def events(request: HttpRequest) -> HttpResponse:
    auditor = _auditor(request)
    if auditor is None:
        return _forbidden(request)
    form = EventFilterForm(request.GET)
    context = {"form": form, "status": audit_trail_status()}
    if not form.is_valid():
        return render(request, "auditor/events.html", context | {"events": []}, status=400)
    filters, before = form.event_filter(), form.cleaned_data.get("before")
    rows, next_before = audit_events_page(filters=filters, before_seq=before, limit=PAGE_SIZE)
    audit_trail_view_record(
        auditor=auditor, filters=filters, before_seq=before, shown=[e.seq for e in rows]
    )
    query = request.GET.copy()
    query.pop("before", None)
    return render(
        request,
        "auditor/events.html",
        context
        | {
            "events": rows,
            "next_before": next_before,
            "filter_query": query.urlencode(),
            "filtered": any(filters.as_dict().values()),
            "paged": before is not None,
        },
    )


@login_required
@require_GET
@never_cache
def event(request: HttpRequest, seq: int) -> HttpResponse:
    auditor = _auditor(request)
    if auditor is None:
        return _forbidden(request)
    found = audit_event_by_seq(seq=seq)
    if found is None:
        raise Http404("no audit event has that number")
    changes = model_changes_for_event(event=found)
    audit_event_view_record(auditor=auditor, seq=seq, model_changes=len(changes))
    return render(request, "auditor/event.html", {"event": found, "changes": changes})


@login_required
@require_GET
@never_cache
def export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    auditor = _auditor(request)
    if auditor is None:
        return _forbidden(request)
    form = EventFilterForm(request.GET)
    if fmt not in EXPORT_TYPES:
        raise Http404("exports are csv or jsonl")
    if not form.is_valid():
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain")
    filters: EventFilter = form.event_filter()
    up_to = audit_trail_export_record(auditor=auditor, filters=filters, fmt=fmt)
    chunks = export_chunks(filters=filters, up_to_seq=up_to, fmt=fmt)
    content = export_chunks_async(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(content, content_type=EXPORT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="audit-trail-to-{up_to}.{fmt}"'
    return response
