from django.db import migrations

MODALITIES = [
    ("Ultrasound", "ultrasound", 1),
    ("CT", "ct", 2),
    ("Fluoroscopy", "fluoroscopy", 3),
    ("MRI", "mri", 4),
]


def create_modalities(apps, schema_editor):
    ImagingModality = apps.get_model("procedures", "ImagingModality")
    for name, slug, order in MODALITIES:
        ImagingModality.objects.get_or_create(slug=slug, defaults={"name": name, "order": order})


class Migration(migrations.Migration):
    # The guidance filter needs these on every site, not only where demo content is loaded.
    dependencies = [("procedures", "0001_initial")]

    operations = [migrations.RunPython(create_modalities, migrations.RunPython.noop)]
