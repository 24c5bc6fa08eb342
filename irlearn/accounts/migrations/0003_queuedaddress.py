import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# Queued by earlier releases with the subject, body and recipient of each account email, live
# password-reset links included. Waiting ones are not sent: whoever asked can ask again.
OLD_EMAIL_TASK = "irlearn.accounts.tasks.email_send"


def delete_old_email_tasks(apps, schema_editor):
    apps.get_model("django_tasks_database", "DBTaskResult").objects.filter(
        task_path=OLD_EMAIL_TASK
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_staff_groups"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [
        migrations.CreateModel(
            name="QueuedAddress",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("email", models.EmailField(max_length=254)),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.RunPython(delete_old_email_tasks, migrations.RunPython.noop),
    ]
