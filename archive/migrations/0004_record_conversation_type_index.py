"""A conversation's records of one kind by index; the new index first, then the old one goes."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("archive", "0003_verification_run"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="archiverecord",
            index=models.Index(
                fields=["conversation_id", "event_type", "seq"], name="archive_record_conv_type"
            ),
        ),
        migrations.AlterField(
            model_name="archiverecord",
            name="conversation_id",
            field=models.BigIntegerField(),
        ),
    ]
