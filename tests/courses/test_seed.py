"""The demo e-learning loaded by `manage.py seed_demo`: three courses that meet the issue's bar."""

import io

import pytest
from django.core.management import call_command

from courses.models import Course, Lesson, LessonFigure, Module, Question
from procedures.demo import stored_file_name
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db

DEMO_COURSES = ["ir-bites", "ultrasound-and-ct", "radiology-basics"]


@pytest.fixture
def demo():
    call_command("seed_demo", "--no-accounts", stdout=io.StringIO())


def test_seed_demo_publishes_the_three_demo_courses(demo, client):
    assert list(Course.objects.published().values_list("slug", flat=True)) == DEMO_COURSES
    response = client.get("/learn/")
    for course in Course.objects.all():
        assert course.title in response.text


def test_ir_bites_has_a_module_per_procedure_group_of_the_seed_page(demo):
    modules = Module.objects.filter(course__slug="ir-bites")
    assert list(modules.values_list("slug", flat=True)) == [
        "gastrointestinal",
        "hepatobiliary",
        "genitourinary",
        "musculoskeletal",
        "interventional-oncology",
        "image-guided",
    ]


def test_every_demo_module_has_three_lessons_and_five_questions_linked_to_procedures(demo):
    for module in Module.objects.filter(course__slug__in=DEMO_COURSES):
        assert module.lessons.published().count() >= 3, module
        assert module.questions.count() >= 5, module
    # Radiology Basics' radiation safety module teaches no one procedure; the rest do.
    unlinked = Module.objects.filter(procedures__isnull=True).values_list("slug", flat=True)
    assert list(unlinked) == ["radiation-safety"]


def test_demo_content_passes_the_same_validation_as_the_admin(demo):
    for model in (Course, Module, Lesson, LessonFigure, Question):
        for row in model.objects.all():
            row.full_clean()


def test_demo_questions_vary_the_position_of_the_correct_answer(demo):
    letters = set(Question.objects.filter(kind="sba").values_list("correct", flat=True))
    assert letters == {"a", "b", "c", "d", "e"}


def test_seed_demo_twice_adds_nothing_and_keeps_editors_changes(demo):
    lesson = Lesson.objects.first()
    lesson.title = "Edited by an editor"
    lesson.save()
    counts = [m.objects.count() for m in (Course, Module, Lesson, Question, LessonFigure)]

    call_command("seed_demo", "--no-accounts", stdout=io.StringIO())

    assert [m.objects.count() for m in (Course, Module, Lesson, Question, LessonFigure)] == counts
    assert Lesson.objects.get(pk=lesson.pk).title == "Edited by an editor"


def test_sitemap_lists_published_courses_only(client):
    published = CourseFactory(title="Published course")
    draft = CourseFactory(title="Draft course", status="draft")

    response = client.get("/sitemap.xml")

    assert published.get_absolute_url() in response.text
    assert draft.get_absolute_url() not in response.text


def test_seed_demo_gives_an_existing_demo_lesson_the_demo_figures_it_lacks(demo):
    # A database seeded before the lesson's diagrams were added to the demo.
    bare = Lesson.objects.get(slug="planning-a-lung-biopsy")
    names = [figure.image.name for figure in bare.figures.order_by("order")]
    bare.figures.all().delete()
    edited = LessonFigure.objects.exclude(lesson=bare).order_by("pk").first()
    edited.caption = "An editor's caption."
    edited.save()
    count = LessonFigure.objects.count()

    output = io.StringIO()
    call_command("seed_demo", "--no-accounts", stdout=output)

    assert [stored_file_name(f.image.name) for f in bare.figures.order_by("order")] == [
        stored_file_name(name) for name in names
    ]
    assert len(names) == 2
    assert LessonFigure.objects.count() == count + len(names)
    assert LessonFigure.objects.get(pk=edited.pk).caption == "An editor's caption."
    assert f"({len(names)} figures added to existing lessons)" in output.getvalue()

    call_command("seed_demo", "--no-accounts", stdout=io.StringIO())

    assert LessonFigure.objects.count() == count + len(names)
