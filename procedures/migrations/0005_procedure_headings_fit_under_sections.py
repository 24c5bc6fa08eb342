"""Render every procedure's fields again: an editor's headings now nest under the section's
<h2> however many "#"s they typed, with no level skipped (irlearn.markup's fit_under)."""

from django.db import migrations

from irlearn.markup import render_markdown

# The Markdown fields as they stand at this migration (Procedure.SECTIONS and the references).
FIELDS = [
    "what_it_is",
    "indications",
    "contraindications",
    "technique",
    "imaging_guidance",
    "anaesthesia",
    "setting_notes",
    "aftercare",
    "risks",
    "alternatives",
    "referral",
    "references",
]


def render_procedure_field(name, text):
    # As procedures.models.render_procedure_field renders it at this migration.
    return render_markdown(text, heading_level=3, fit_under=2, id_prefix=name.replace("_", "-"))


def render_again(apps, schema_editor):
    historical = apps.get_model("procedures", "Procedure")
    procedures = list(historical.objects.only("pk", "rendered", *FIELDS))
    for procedure in procedures:
        procedure.rendered = {
            name: render_procedure_field(name, getattr(procedure, name)) for name in FIELDS
        }
    historical.objects.bulk_update(procedures, ["rendered"], batch_size=200)


class Migration(migrations.Migration):
    dependencies = [("procedures", "0004_procedure_image_stacks")]

    operations = [migrations.RunPython(render_again, migrations.RunPython.noop)]
