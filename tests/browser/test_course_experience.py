"""The e-learning pages on a 320 pixel wide phone: nothing scrolls sideways, the lesson's outline
is at hand above the text, and finishing a course leads to its certificate. axe-core checks every
page on the way (conftest.py)."""

import re

import pytest
from playwright.sync_api import expect

from courses import services
from courses.models import Certificate
from tests.factories import (
    CourseFactory,
    EnrolmentFactory,
    LessonFactory,
    ModuleFactory,
    QuestionFactory,
    UserFactory,
)

COURSE = "Nephrostomy essentials"
# A lesson as editors write them: a heading one level too deep, and a wide table.
BODY = """An obstructed, infected kidney is an emergency: drain it.

### Who needs a nephrostomy today

| Situation | Usual approach | What to check before referring |
|---|---|---|
| Septic, obstructed kidney | Nephrostomy the same day | Clotting, platelets, anticoagulants |
| Stone in a well patient | Stent or nephrostomy | Renal function, the other kidney |
"""


@pytest.fixture
def course():
    course = CourseFactory(title=COURSE, cpd_hours="1.5")
    module = ModuleFactory(course=course, title="Why drain a kidney", order=0, pass_mark=50)
    LessonFactory(module=module, title="What a nephrostomy is", order=0, body=BODY)
    LessonFactory(module=module, title="Who needs one", order=1, body=BODY)
    for n in range(2):
        QuestionFactory(module=module, order=n, stem=f"Question {n + 1}: which is best?")
    CourseFactory(title="Biliary drainage basics")
    return course


@pytest.fixture
def phone(page):
    page.set_viewport_size({"width": 320, "height": 640})
    return page


def assert_fits(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, f"{page.url} is {width}px wide at 320px"


def test_a_learner_takes_and_finishes_a_course_on_a_320_pixel_phone(phone, log_in, course):
    page = phone
    learner = log_in(UserFactory(full_name="Amara Okafor"))
    first, second = course.modules.get().lessons.order_by("order")

    page.goto(course.get_absolute_url())
    expect(page.get_by_role("heading", level=1, name=COURSE)).to_be_visible()
    assert_fits(page)
    enrol = page.get_by_role("button", name="Enrol", exact=True)
    # The first action is on the first screen, above what the course holds.
    assert enrol.bounding_box()["y"] < 640
    enrol.click()

    expect(page.get_by_role("heading", level=1, name=first.title)).to_be_visible()
    assert_fits(page)
    # The editor's "###" is the lesson's first section: an <h2>.
    section = page.get_by_role("heading", level=2, name="Who needs a nephrostomy today")
    expect(section).to_be_visible()
    table = page.get_by_role("region", name=re.compile(r"^Table 1: Situation"))
    expect(table.get_by_role("table")).to_be_attached()
    assert table.evaluate("box => box.scrollWidth > box.clientWidth"), "the table fits: no test"
    # The outline is folded above the lesson; opened, it lists every step.
    outline = page.locator("summary", has_text="Course outline")
    assert outline.bounding_box()["y"] < section.bounding_box()["y"]
    outline.click()
    expect(page.get_by_role("navigation", name="Course outline")).to_contain_text("Who needs one")
    page.get_by_role("button", name="Mark as complete and continue").click()

    expect(page.get_by_role("heading", level=1, name=second.title)).to_be_visible()
    page.get_by_role("button", name="Mark as complete and continue").click()

    expect(
        page.get_by_role("heading", level=1, name="Questions: Why drain a kidney")
    ).to_be_visible()
    assert_fits(page)
    page.get_by_role("button", name="Start the questions").click()

    for number, letter in [(1, "A"), (2, "B")]:
        expect(page.get_by_role("heading", level=1, name=f"Question {number} of 2")).to_be_visible()
        assert_fits(page)
        radio = page.get_by_role("radio", name=re.compile(rf"^{letter}\. "))
        box = radio.bounding_box()
        assert box["width"] >= 20 and box["height"] >= 20, box
        radio.check()
        page.get_by_role("button", name="Check my answer").click()
        expect(page.get_by_role("status")).to_contain_text("You answered")
        expect(page.get_by_role("heading", name="Learning point")).to_be_visible()
        assert_fits(page)
        page.get_by_role("link", name="See your score" if number == 2 else "Next question").click()

    expect(page.get_by_role("heading", level=1, name="You passed")).to_be_visible()
    assert_fits(page)
    expect(page.get_by_role("link", name="Continue the course")).to_have_count(0)
    page.get_by_role("link", name="See your certificate").click()

    expect(
        page.get_by_role("heading", level=1, name=f"you have completed {COURSE}")
    ).to_be_visible()
    assert_fits(page)
    certificate = Certificate.objects.get(user=learner)
    expect(page.get_by_role("link", name="Download the certificate (PDF)")).to_be_visible()
    expect(page.get_by_label("Verification link")).to_have_value(
        re.compile(rf"/learn/certificates/{certificate.code}/$")
    )
    expect(page.get_by_role("link", name="Biliary drainage basics")).to_be_visible()
    page.goto("/learn/my/")

    expect(page.get_by_role("heading", level=1, name="My learning")).to_be_visible()
    assert_fits(page)
    completed = page.get_by_role("region", name="Completed")
    completed.get_by_role("link", name=f"Verification page for {COURSE}").click()

    expect(page.get_by_role("heading", level=1, name="Certificate check")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Valid.")
    assert_fits(page)


def test_a_mistyped_code_on_a_phone_says_not_found_and_offers_the_form_again(phone, log_in):
    page = phone
    certificate_holder = UserFactory()
    course = CourseFactory(title="Short course")
    module = ModuleFactory(course=course)
    lesson = LessonFactory(module=module)
    EnrolmentFactory(user=certificate_holder, course=course)
    services.lesson_complete(user=certificate_holder, lesson=lesson)
    code = Certificate.objects.get().code

    response = page.goto("/learn/certificates/ZZZZ-ZZZZ-ZZZZ/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1, name="Certificate not found")).to_be_visible()
    assert_fits(page)
    field = page.get_by_label("Certificate code")
    expect(field).to_have_value("ZZZZ-ZZZZ-ZZZZ")
    field.fill(code.lower().replace("-", " "))
    page.get_by_role("button", name="Check").click()

    expect(page.get_by_role("heading", level=1, name="Certificate check")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Valid.")
    assert_fits(page)
