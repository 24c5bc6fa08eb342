"""Every kind of page fits a 320-pixel screen (WCAG 1.4.10 reflow): nothing scrolls sideways.
A learner's whole path is visited at that width, from the home page to the certificate check;
axe-core checks each page on the way (conftest.py)."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from playwright.sync_api import expect

from courses import services
from courses.models import Certificate
from tests.factories import (
    CategoryFactory,
    CourseFactory,
    EnrolmentFactory,
    FigureFactory,
    LessonFactory,
    ModuleFactory,
    ProcedureFactory,
    QuestionFactory,
    StaffFactory,
    UserFactory,
    png_bytes,
)

WIDTH = 320
LONG_TITLE = "Percutaneous transhepatic cholangiography and biliary drainage"


@pytest.fixture
def site():
    category = CategoryFactory(name="Hepatobiliary", slug="hepatobiliary")
    procedure = ProcedureFactory(
        title=LONG_TITLE, abbreviation="PTC", category=category, guidance=["ultrasound"]
    )
    FigureFactory(
        procedure=procedure, image=ContentFile(png_bytes(size=(1200, 900)), name="ptc.png")
    )
    course = CourseFactory(title="Biliary intervention for the ward doctor")
    module = ModuleFactory(course=course, title="Draining a blocked biliary tree", pass_mark=50)
    lesson = LessonFactory(module=module, title="What a biliary drain is")
    question = QuestionFactory(
        module=module,
        stem="A jaundiced patient with a hilar tumour and cholangitis: what comes first?",
    )
    # A long word in a category heading beside its icon (the demo's "Neurointervention").
    ProcedureFactory(category=CategoryFactory(name="Neurointervention (overview)"))
    return procedure, course, module, lesson, question


def fits(page, url):
    """Open ``url`` at 320 pixels and return how wide the document is."""
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    return page.evaluate("document.documentElement.scrollWidth")


def test_every_kind_of_page_fits_320_pixels(page, log_in, site):
    procedure, course, module, lesson, question = site
    learner = log_in(UserFactory(email="a.very.long.address.for.a.learner@nhs-trust.example.org"))
    EnrolmentFactory(user=learner, course=course)
    page.set_viewport_size({"width": WIDTH, "height": 640})
    widths = {}

    for url in [
        "/",
        reverse("procedures:index"),
        procedure.get_absolute_url(),
        reverse("courses:catalogue"),
        course.get_absolute_url(),
        lesson.get_absolute_url(),
    ]:
        widths[url] = fits(page, url)

    services.lesson_complete(user=learner, lesson=lesson)
    attempt = services.attempt_start(user=learner, module=module)
    question_url = reverse("courses:attempt-question", args=[attempt.pk, 1])
    widths["question"] = fits(page, question_url)
    services.answer_submit(attempt=attempt, question_id=question.pk, choice="b")
    widths["question with feedback"] = fits(page, question_url)
    widths["result"] = fits(page, reverse("courses:attempt-result", args=[attempt.pk]))

    certificate = Certificate.objects.get(user=learner, course=course)
    widths["course complete"] = fits(page, reverse("courses:course-complete", args=[course.slug]))
    widths["dashboard"] = fits(page, reverse("courses:dashboard"))
    widths["certificate check"] = fits(page, certificate.get_absolute_url())

    assert {name: width for name, width in widths.items() if width > WIDTH} == {}


@pytest.mark.parametrize("width", [WIDTH, 1280])
def test_style_guide_passes_axe_and_fits_the_screen(page, log_in, width):
    log_in(StaffFactory())
    page.set_viewport_size({"width": width, "height": 800})

    assert fits(page, reverse("pages:styleguide")) <= width
    expect(page.get_by_role("heading", level=2, name="Colour")).to_be_visible()


def test_error_page_fits_320_pixels(page):
    page.set_viewport_size({"width": WIDTH, "height": 640})

    assert fits(page, "/no-such-page/") <= WIDTH
