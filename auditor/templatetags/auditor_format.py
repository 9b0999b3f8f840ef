import json

from django import template

register = template.Library()


@register.filter
def as_json(value: object) -> str:
    """An event's details as the JSON they were recorded as (keys sorted), not Python's repr."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
