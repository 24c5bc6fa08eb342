from django.db import migrations
from django.utils import timezone

from irlearn.markup import render_markdown


def first_version(apps, schema_editor):
    """Version 1 of the policy is the text the privacy page had; that page is then retired."""
    Page = apps.get_model("pages", "Page")
    PrivacyPolicy = apps.get_model("pages", "PrivacyPolicy")
    page = Page.objects.filter(slug="privacy").first()
    if page and not PrivacyPolicy.objects.exists():
        PrivacyPolicy.objects.create(
            version=1,
            body=page.body,
            body_html=render_markdown(page.body),
            changes="First version.",
            published_at=timezone.now(),
        )
    Page.objects.filter(slug="privacy").delete()


class Migration(migrations.Migration):
    dependencies = [("pages", "0003_privacy_policy")]

    operations = [migrations.RunPython(first_version, migrations.RunPython.noop)]
