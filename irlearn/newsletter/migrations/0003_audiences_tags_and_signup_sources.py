"""Tags and sign-up sources on subscribers, and audiences (segments and test audiences) for
issues. Existing subscribers get their sign-up source from their first consent record, which
is only read: "website" for the sign-up form, the stated source for an import."""

import django.db.models.deletion
import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models

# As services.subscribers_import words an import's consent record, frozen here.
IMPORT_WORDING_PREFIXES = ("Prior opt-in: ", "To confirm: ")


def signup_sources_from_consent(apps, schema_editor):
    Subscriber = apps.get_model("newsletter", "Subscriber")
    ConsentRecord = apps.get_model("newsletter", "ConsentRecord")
    first_seen = {}
    records = ConsentRecord.objects.filter(event__in=["given", "imported"]).order_by(
        "created_at", "pk"
    )
    for subscriber_id, event, wording in records.values_list(
        "subscriber_id", "event", "wording"
    ).iterator(chunk_size=2000):
        if subscriber_id in first_seen:
            continue
        if event == "given":
            first_seen[subscriber_id] = "website"
        else:
            source = wording
            for prefix in IMPORT_WORDING_PREFIXES:
                source = source.removeprefix(prefix)
            first_seen[subscriber_id] = source.strip()[:100]
    by_source = {}
    for subscriber_id, source in first_seen.items():
        if source:
            by_source.setdefault(source, []).append(subscriber_id)
    for source, subscriber_ids in by_source.items():
        for start in range(0, len(subscriber_ids), 2000):
            chunk = subscriber_ids[start : start + 2000]
            Subscriber.objects.filter(pk__in=chunk).update(signup_source=source)


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0002_consent_sources_without_tokens"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="subscriber",
            name="signup_source",
            field=models.CharField(
                blank=True, db_index=True, max_length=100, verbose_name="sign-up source"
            ),
        ),
        migrations.CreateModel(
            name="Audience",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100, unique=True)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("segment", "Segment of the subscribers"),
                            ("test", "Test audience (staff, for test copies)"),
                        ],
                        default="segment",
                        max_length=10,
                    ),
                ),
                (
                    "signup_sources",
                    models.JSONField(
                        blank=True,
                        default=list,
                        help_text="Segment: subscribers who came from any of these sources.",
                        verbose_name="sign-up sources",
                    ),
                ),
                (
                    "testers",
                    models.ManyToManyField(
                        blank=True,
                        help_text="Test audience: the staff accounts that get a test copy.",
                        limit_choices_to={"is_active": True, "is_staff": True},
                        related_name="newsletter_test_audiences",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["kind", "name"],
            },
        ),
        migrations.AddField(
            model_name="issue",
            name="audience",
            field=models.ForeignKey(
                blank=True,
                help_text="Leave empty to send to every confirmed subscriber.",
                limit_choices_to={"kind": "segment"},
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="issues",
                to="newsletter.audience",
            ),
        ),
        migrations.CreateModel(
            name="Tag",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=60)),
            ],
            options={
                "ordering": ["name"],
                "constraints": [
                    models.UniqueConstraint(
                        django.db.models.functions.text.Lower("name"),
                        name="newsletter_tag_name_ci_unique",
                        violation_error_message="There is a tag with this name already.",
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="audience",
            name="tags",
            field=models.ManyToManyField(
                blank=True,
                help_text="Segment: subscribers with any of these tags.",
                related_name="audiences",
                to="newsletter.tag",
            ),
        ),
        migrations.AddField(
            model_name="subscriber",
            name="tags",
            field=models.ManyToManyField(
                blank=True, related_name="subscribers", to="newsletter.tag"
            ),
        ),
        migrations.RunPython(signup_sources_from_consent, migrations.RunPython.noop),
    ]
