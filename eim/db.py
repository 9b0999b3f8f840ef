"""Helpers for rows written in plain SQL where the ORM's INSERT cost more than running it."""

from django.db.models import Model


def mark_inserted(instance: Model, *, pk: object, alias: str) -> None:
    """Make `instance` what `save()` would have left after inserting its row as `pk` on the
    database `alias`: later saves update it, relations resolve on the same database."""
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = alias
