"""Policy scopes name eim's own groups (accounts.group_model) by id instead of Django auth groups by
name. Each name in a stored scope maps to the accounts.Group of that display name (a local one
first, then the lowest id). A name with no such group gets a local group of that name holding
the auth group's members, so no policy changes whom it supervises: a scope that lost a group
would either supervise everyone (none left) or no one (a dangling id)."""

from django.db import migrations


def _group_for(name, group_model, auth_group_model, membership_model):
    found = group_model.objects.filter(display_name=name).order_by("pk")
    existing = found.filter(source="local").first() or found.first()
    if existing is not None:
        return existing
    group = group_model.objects.create(display_name=name, source="local")
    auth_group = auth_group_model.objects.filter(name=name).first()
    if auth_group is not None:
        members = auth_group.user_set.values_list("pk", flat=True)
        membership_model.objects.bulk_create(
            [membership_model(group=group, user_id=user_id) for user_id in members]
        )
    return group


def scopes_to_eim_groups(apps, schema_editor):
    version_model = apps.get_model("compliance", "PolicyVersion")
    group_model = apps.get_model("accounts", "Group")
    membership_model = apps.get_model("accounts", "GroupMembership")
    auth_group_model = apps.get_model("auth", "Group")
    mapped = {}
    for version in version_model.objects.all().order_by("pk"):
        names = version.scope.get("groups") or []
        if not names or all(isinstance(n, int) for n in names):
            continue
        ids = []
        for name in names:
            if name not in mapped:
                mapped[name] = _group_for(name, group_model, auth_group_model, membership_model).pk
            ids.append(mapped[name])
        version.scope = {**version.scope, "groups": sorted(set(ids))}
        version.save(update_fields=["scope"])


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0008_policy_notify"),
        ("accounts", "0006_workspace_settings"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(scopes_to_eim_groups, migrations.RunPython.noop)]
