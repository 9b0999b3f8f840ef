"""django-auditlog's creation entry, the same as auditlog writes it, for a fraction of its CPU.

An identity provider's initial push creates thousands of people, one request each, and
auditlog's generic entry for a new row was a quarter of the request's Django time
(docs/performance.md, "SCIM provisioning"): it works out the model's fields and diffs every
one of them against the empty side, whose values never change, and it compiles the LogEntry's
INSERT through the ORM every time. `model_create` saves a new row and writes the same entry:

- the same changes: auditlog's own `get_field_value` on the new row, over the fields
  auditlog would diff (its registration's include, exclude and mask rules), with the fields
  and the empty side's values worked out once per model and registration;
- the same LogEntry: content type, object pk and id, representation, serialized data,
  additional data, correlation id, and the actor, address and port from auditlog's context,
  set by the LogEntry's `pre_save` receivers as in a save; `pre_log` may still veto it and
  `post_log` hears of it;
- in one plain INSERT whose columns and values are the model's own fields' (`pre_save`,
  `get_db_prep_save`), on PostgreSQL. Elsewhere (SQLite, development) auditlog writes it.

The new row itself is written the same way when `save()` would add nothing to its signals
and its INSERT (`_saves_plainly`: a person's row is one), for the ORM compiled the INSERT on
every creation too.

Only creations made through `model_create` take this way (`accounts.services.user_create`);
every other save of every model, a person's included, is auditlog's.
tests/accounts/test_model_history.py compares the two entries field by field.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from auditlog import get_logentry_model
from auditlog.cid import get_cid
from auditlog.context import auditlog_disabled, disable_auditlog
from auditlog.diff import get_field_value, get_fields_in_model, get_mask_function, is_primitive
from auditlog.models import DEFAULT_OBJECT_REPR
from auditlog.registry import auditlog
from auditlog.signals import post_log, pre_log
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.db import connections, router
from django.db.models import NOT_PROVIDED, Field, Model
from django.db.models.signals import post_save, pre_save
from django.utils.encoding import smart_str

from eim.db import mark_inserted


@dataclass(frozen=True)
class _Tracked:
    """A field auditlog diffs, with its value on the empty side of a creation."""

    field: Any  # a Field or a reverse relation, as auditlog's get_fields_in_model gives them
    old: Any
    mask: Callable[[str], str] | None


def model_create(instance: Model) -> None:
    """`instance.save(force_insert=True)`, with auditlog's creation entry written here. A row
    that `save()` would write plainly (`_saves_plainly`) is written as the LogEntry is: its
    signals, and one INSERT built once."""
    model = type(instance)
    if (
        auditlog_disabled.get()
        or not auditlog.contains(model)
        or connections[router.db_for_write(model)].vendor != "postgresql"
    ):
        instance.save(force_insert=True)
        return
    with disable_auditlog():  # auditlog's receivers stand aside for this save only
        if _saves_plainly(instance):
            _insert(instance)
        else:
            instance.save(force_insert=True)
    creation_entry_write(instance)


def _saves_plainly(instance: Model) -> bool:
    """Whether `save()` adds nothing to its signals and the INSERT for this new row: the
    model's `save()` is Django's (a user's is, without a new raw password to report to the
    validators), the database makes no value but the auto primary key, and no parent row."""
    model, meta = type(instance), instance._meta
    return (
        model.save in (Model.save, AbstractBaseUser.save)
        and getattr(instance, "_password", None) is None
        and instance.pk is None
        and not meta.parents
        and list(meta.db_returning_fields) == [meta.pk]
        and not any(f.generated or f.db_default is not NOT_PROVIDED for f in meta.concrete_fields)
    )


def creation_entry_write(instance: Model) -> Any:
    """What auditlog's `post_save` receiver writes for a new row (and the signals it sends);
    None if `pre_log` vetoes it or nothing would be recorded."""
    model = type(instance)
    log_entry = get_logentry_model()
    action = log_entry.Action.CREATE
    pre_log_results = pre_log.send(model, instance=instance, action=action)
    if any(result is False for _, result in pre_log_results):
        return None
    changes, entry = None, None
    try:
        changes = creation_changes(instance)
        if changes:
            entry = _entry(instance, action, changes)
            _insert(entry)
    except BaseException as error:
        _post_log(instance, pre_log_results, changes, None, error)
        raise
    if entry is not None:
        _post_log(instance, pre_log_results, changes, entry, None)
    return entry


def _post_log(
    instance: Model, pre_log_results: Any, changes: Any, entry: Any, error: BaseException | None
) -> None:
    post_log.send(
        type(instance),
        instance=instance,
        instance_old=None,
        action=get_logentry_model().Action.CREATE,
        error=error,
        pre_log_results=pre_log_results,
        changes=changes,
        log_entry=entry,
        log_created=entry is not None,
        use_json_for_changes=_use_json(),
    )


def creation_changes(instance: Model) -> dict[str, tuple[Any, Any]] | None:
    """auditlog's `model_instance_diff(None, instance)`."""
    use_json = _use_json()
    diff: dict[str, tuple[Any, Any]] = {}
    for tracked in _tracked_fields(type(instance), use_json, *_registration(type(instance))):
        old, new = tracked.old, get_field_value(instance, tracked.field, use_json)
        if old == new:
            continue
        if tracked.mask is not None:
            diff[tracked.field.name] = (tracked.mask(smart_str(old)), tracked.mask(smart_str(new)))
        elif not use_json:
            diff[tracked.field.name] = (smart_str(old), smart_str(new))
        else:
            diff[tracked.field.name] = (
                old if is_primitive(old) else smart_str(old),
                new if is_primitive(new) else smart_str(new),
            )
    return diff or None


def _use_json() -> bool:
    """auditlog's setting (auditlog.conf gives it its default)."""
    return bool(getattr(settings, "AUDITLOG_STORE_JSON_CHANGES", False))


def _registration(model: type[Model]) -> tuple[tuple[str, ...], ...]:
    """The registration's rules, as the cache key of `_tracked_fields`."""
    fields = auditlog.get_model_fields(model)
    return (
        tuple(fields["include_fields"]),
        tuple(fields["exclude_fields"]),
        tuple(fields["mask_fields"]),
        (fields["mask_callable"] or "",),
    )


@functools.cache
def _tracked_fields(
    model: type[Model],
    use_json: bool,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    masked: tuple[str, ...],
    mask_callable: tuple[str],
) -> tuple[_Tracked, ...]:
    """The fields auditlog's diff goes over for `model`, filtered as it filters them."""
    fields = get_fields_in_model(model())
    if include:
        fields = [f for f in fields if f.name in include]
    if exclude:
        fields = [f for f in fields if f.name not in exclude]
    mask = get_mask_function(mask_callable[0] or None) if masked else None
    return tuple(
        _Tracked(
            field=f,
            old=get_field_value(None, f, use_json),
            mask=mask if f.name in masked else None,
        )
        for f in fields
    )


def _entry(instance: Model, action: int, changes: dict[str, tuple[Any, Any]]) -> Any:
    """The LogEntry as auditlog's `LogEntryManager.log_create` fills it in."""
    log_entry = get_logentry_model()
    pk = getattr(instance, instance._meta.pk.attname)
    try:
        object_repr = smart_str(instance)
    except ObjectDoesNotExist:
        object_repr = DEFAULT_OBJECT_REPR
    values: dict[str, Any] = {
        "content_type": ContentType.objects.get_for_model(instance),
        "object_pk": pk,
        "object_repr": object_repr,
        "serialized_data": log_entry.objects._get_serialized_data_or_none(instance),
        "action": action,
        "changes": changes,
        "cid": get_cid(),
    }
    if isinstance(pk, int):
        values["object_id"] = pk
    additional_data = getattr(instance, "get_additional_data", None)
    if callable(additional_data):
        values["additional_data"] = additional_data()
    return log_entry(**values)


def _insert(row: Model) -> None:
    """`row.save(force_insert=True)` for a new row whose only value made by the database is
    its auto primary key (a LogEntry, a person): its signals, and the ORM's values for its
    columns in an INSERT built once."""
    model = type(row)
    alias = router.db_for_write(model, instance=row)
    connection = connections[alias]
    pre_save.send(sender=model, instance=row, raw=False, using=alias, update_fields=None)
    fields = _insert_fields(model)
    params = [f.get_db_prep_save(f.pre_save(row, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(model, alias), params)
        mark_inserted(row, pk=cursor.fetchone()[0], alias=alias)
    post_save.send(
        sender=model, instance=row, created=True, update_fields=None, raw=False, using=alias
    )


@functools.cache
def _insert_fields(model: type[Model]) -> tuple[Field[Any, Any], ...]:
    return tuple(f for f in model._meta.concrete_fields if not f.primary_key)


@functools.cache
def _insert_sql(model: type[Model], alias: str) -> str:
    quote = connections[alias].ops.quote_name
    columns = ", ".join(quote(f.column) for f in _insert_fields(model))
    placeholders = ", ".join(["%s"] * len(_insert_fields(model)))
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    # Names from the model's own metadata, quoted; the values go as parameters.
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING {pk}"  # noqa: S608
