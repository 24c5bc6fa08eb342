"""Render every lesson's body again: tables now come in a named scroll container, and headings
nest under the lesson's title however many "#"s the editor typed (irlearn.markup)."""

from django.db import migrations

from irlearn.markup import render_markdown


def render_again(apps, schema_editor):
    Lesson = apps.get_model("courses", "Lesson")
    lessons = list(Lesson.objects.only("pk", "body", "body_html"))
    for lesson in lessons:
        lesson.body_html = render_markdown(lesson.body, heading_level=1, fit_under=1)
    Lesson.objects.bulk_update(lessons, ["body_html"], batch_size=200)


class Migration(migrations.Migration):
    dependencies = [("courses", "0004_image_questions")]

    operations = [migrations.RunPython(render_again, migrations.RunPython.noop)]
