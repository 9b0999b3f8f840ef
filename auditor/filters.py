"""The auditor's filters, from the query string: checked, with a clear message for each
mistake, into an audit.selectors.EventFilter."""

import re
from datetime import datetime, time
from typing import Any

from django import forms
from django.utils import timezone

from audit.models import AuditEventType
from audit.selectors import EventFilter

TARGET = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]{0,39})\s*=\s*(\S.{0,199}?)\s*$")


def _families() -> list[str]:
    return sorted({f"{value.split('.')[0]}." for value in AuditEventType.values})


def type_choices() -> list[tuple[str, str]]:
    families = [(f, f"{f}* (every {f[:-1]} event)") for f in _families()]
    types = [(value, f"{value} — {label}") for value, label in AuditEventType.choices]
    return [("", "Any type"), *families, *types]


class EventFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150, strip=True)
    type = forms.ChoiceField(required=False, choices=type_choices)
    target = forms.CharField(
        required=False,
        max_length=250,
        help_text="key=value of the event's details, e.g. user_id=42 or policy_id=3",
    )
    since = forms.DateTimeField(required=False, input_formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M"])
    until = forms.DateTimeField(required=False, input_formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M"])
    before = forms.IntegerField(required=False, min_value=1)

    def clean_target(self) -> tuple[str, str] | None:
        raw = self.cleaned_data.get("target") or ""
        if not raw.strip():
            return None
        match = TARGET.match(raw)
        if match is None:
            raise forms.ValidationError("a target is key=value, e.g. user_id=42")
        return match.group(1), match.group(2)

    def clean_until(self) -> datetime | None:
        until = self.cleaned_data.get("until")
        raw = self.data.get("until", "")
        if until is not None and "T" not in raw:  # a date: up to the end of that day
            until = timezone.make_aware(datetime.combine(until.date(), time.max))
        return until

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError("'since' is after 'until'")
        return data

    def event_filter(self) -> EventFilter:
        data = self.cleaned_data
        key, value = data.get("target") or ("", "")
        return EventFilter(
            actor=data.get("actor") or "",
            event_type=data.get("type") or "",
            target_key=key,
            target_value=value,
            since=data.get("since"),
            until=data.get("until"),
        )
