from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.utils import timezone


def tokens_without_expiry_expire(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Tokens made before tokens expired get the full TTL from now, not from when made:
    clients get a term to replace them instead of failing at once."""
    token_model = apps.get_model(*settings.KNOX_TOKEN_MODEL.split("."))
    expiry = timezone.now() + timedelta(days=settings.EIM_API_TOKEN_TTL_DAYS)
    token_model.objects.filter(expiry__isnull=True).update(expiry=expiry)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_session_generation_and_api_token_activity"),
        migrations.swappable_dependency(settings.KNOX_TOKEN_MODEL),
    ]

    operations = [migrations.RunPython(tokens_without_expiry_expire, migrations.RunPython.noop)]
