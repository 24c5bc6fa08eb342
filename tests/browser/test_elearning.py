"""A learner takes a course in the browser: sign up, enrol, read, answer, certificate; then
resuming, the keyboard alone, no JavaScript and a phone's width. axe-core checks every page on
the way (conftest.py)."""

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from courses import services
from courses.models import Attempt, Certificate, LessonFigure, LessonProgress
from tests.browser.locators import field
from tests.factories import (
    CourseFactory,
    EnrolmentFactory,
    LessonFactory,
    ModuleFactory,
    QuestionFactory,
    UserFactory,
    png_bytes,
)

PASSWORD = "ultrasound-guided-drain-7"
QUIZ_ONE = "Questions: Why drain a kidney"
COURSE = "Nephrostomy essentials"
BODY = """Urine that cannot leave a kidney builds up behind the blockage, and an infected,
obstructed kidney is an emergency. A nephrostomy drains it through the skin of the back.

## Key points

- Check the clotting and the platelet count before you refer.
- Give antibiotics first when the urine may be infected.
- Read [the national guidance on nephrostomy](https://www.bsir.org/) before the first case.

| Situation | Usual approach |
|---|---|
| Infected, obstructed kidney in a septic patient | Nephrostomy the same day, with antibiotics |
| Ureteric stone in a well patient | Stent or nephrostomy, whichever comes sooner |
"""

# The course of every test: two modules, each with a few lessons and questions (answer B).
OUTLINE = {
    "Why drain a kidney": (["What a nephrostomy is", "Who needs one"], 2),
    "Aftercare on the ward": (["Looking after the tube", "When it falls out", "Taking it out"], 3),
}


@pytest.fixture
def course():
    course = CourseFactory(title=COURSE, cpd_hours="1.5")
    for order, (title, (lessons, questions)) in enumerate(OUTLINE.items()):
        module = ModuleFactory(course=course, title=title, order=order, pass_mark=80)
        for n, lesson in enumerate(lessons):
            LessonFactory(module=module, title=lesson, order=n, body=BODY)
        for n in range(questions):
            QuestionFactory(
                module=module,
                order=n,
                stem=f"{title}, question {n + 1}: which is the single best answer?",
            )
    return course


def lessons_of(course, module_number):
    return list(course.modules.all()[module_number - 1].lessons.all())


def log_in_context(context, client, live_server, user):
    """Log ``user`` in a browser context of this test's own, as the ``log_in`` fixture does."""
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def sign_up_and_log_in(page, mailoutbox, *, name, email):
    header = page.get_by_role("banner")
    page.goto("/")
    header.get_by_role("link", name="Sign up").click()

    expect(page.get_by_role("heading", name="Create your account", level=1)).to_be_visible()
    page.get_by_label(field("Full name")).fill(name)
    page.get_by_label(field("Email")).fill(email)
    page.get_by_label(field("Password")).fill(PASSWORD)
    page.get_by_label(field("Password (again)")).fill(PASSWORD)
    page.get_by_label(field("Training grade")).select_option(label="Foundation doctor")
    page.get_by_label(field("Specialty")).fill("Urology")
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("heading", name="Verify your email address")).to_be_visible()
    link = re.search(r"http://\S+/accounts/confirm-email/\S+/", mailoutbox[-1].body).group()
    page.goto(link)
    expect(page.get_by_role("heading", name="Confirm your email address")).to_be_visible()
    # Confirmed in the browser that signed up: logged in at once.
    page.get_by_role("button", name="Confirm my email address").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("banner").get_by_text("Account")).to_be_visible()


def read_lessons(page, titles):
    """Read each lesson in turn, going on with "Mark as complete and continue"."""
    for title in titles:
        expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()
        page.get_by_role("button", name="Mark as complete and continue").click()
        expect(page.get_by_role("status")).to_contain_text(f"“{title}” marked complete.")


def answer_questions(page, letters):
    """Answer the attempt's questions in order, one letter each, reading the feedback."""
    for number, letter in enumerate(letters, start=1):
        expect(
            page.get_by_role("heading", level=1, name=f"Question {number} of {len(letters)}")
        ).to_be_visible()
        page.get_by_role("radio", name=re.compile(rf"^{letter.upper()}\. ")).check()
        page.get_by_role("button", name="Check my answer").click()
        feedback = page.get_by_role("status")
        if letter == "b":
            expect(feedback).to_contain_text("Correct. You answered B.")
        else:
            expect(feedback).to_contain_text(
                f"Not quite. You answered {letter.upper()}; the best answer is B."
            )
        why = page.get_by_role("heading", name="Why each option is right or wrong")
        expect(why).to_be_visible()
        last = number == len(letters)
        page.get_by_role("link", name="See your score" if last else "Next question").click()


def test_visitor_signs_up_takes_a_course_fails_once_passes_and_verifies_the_certificate(
    page, course, mailoutbox, settings
):
    # Links in emails point at the live server, which speaks plain HTTP.
    settings.ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http"
    header = page.get_by_role("banner")
    sign_up_and_log_in(page, mailoutbox, name="Amara Okafor", email="amara.okafor@example.org")

    header.get_by_role("link", name="E-learning").click()
    expect(page.get_by_role("heading", level=1, name="E-learning")).to_be_visible()
    page.get_by_role("link", name=COURSE, exact=True).click()

    expect(page.get_by_role("heading", level=1, name=COURSE)).to_be_visible()
    syllabus = page.get_by_role("region", name="Syllabus")
    expect(syllabus.get_by_role("heading", level=3)).to_have_text(
        ["1. Why drain a kidney", "2. Aftercare on the ward"]
    )
    page.get_by_role("button", name="Enrol", exact=True).click()

    expect(page.get_by_role("status")).to_contain_text(f"You are enrolled on {COURSE}.")
    first, second = OUTLINE.values()
    read_lessons(page, first[0])

    expect(page.get_by_role("heading", level=1, name=QUIZ_ONE)).to_be_visible()
    page.get_by_role("button", name="Start the questions").click()
    answer_questions(page, ["a", "b"])

    expect(page.get_by_role("heading", level=1, name="Not passed this time")).to_be_visible()
    expect(page.get_by_text("You scored 1 out of 2 (50%). The pass mark is 80%.")).to_be_visible()
    page.get_by_role("button", name="Take the questions again").click()
    answer_questions(page, ["b", "b"])

    expect(page.get_by_role("heading", level=1, name="You passed")).to_be_visible()
    page.get_by_role("link", name="Continue the course").click()
    read_lessons(page, second[0])

    expect(
        page.get_by_role("heading", level=1, name="Questions: Aftercare on the ward")
    ).to_be_visible()
    page.get_by_role("button", name="Start the questions").click()
    answer_questions(page, ["b", "b", "b"])

    expect(page.get_by_role("heading", level=1, name="You passed")).to_be_visible()
    expect(page.get_by_text(f"You have completed {COURSE}.")).to_be_visible()
    header.get_by_role("link", name="My learning").click()

    expect(page.get_by_role("heading", level=1, name="My learning")).to_be_visible()
    expect(page.get_by_role("region", name="In progress")).to_have_count(0)
    completed = page.get_by_role("region", name="Completed")
    # A card per completed course (it was a table row, too wide for a phone).
    row = completed.get_by_role("listitem").filter(has_text=COURSE)
    expect(row).to_contain_text("1.5")
    with page.expect_download() as download_info:
        row.get_by_role("link", name=f"Download PDF for {COURSE}").click()
    download = download_info.value
    certificate = Certificate.objects.get(user__email="amara.okafor@example.org")
    assert download.suggested_filename == f"irlearn-certificate-{certificate.code}.pdf"
    pdf = Path(download.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 1000

    row.get_by_role("link", name=f"Verification page for {COURSE}").click()
    expect(page.get_by_role("heading", level=1, name="Certificate check")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Valid.")
    facts = page.locator("dl")
    expect(facts).to_contain_text("Amara Okafor")
    expect(facts).to_contain_text(COURSE)
    expect(facts).to_contain_text(certificate.code)
    assert [(a.module.title, a.passed) for a in Attempt.objects.order_by("started_at", "pk")] == [
        ("Why drain a kidney", False),
        ("Why drain a kidney", True),
        ("Aftercare on the ward", True),
    ]
    assert LessonProgress.objects.filter(user=certificate.user).count() == 5


def test_resume_opens_the_first_incomplete_lesson_and_enrolling_again_keeps_the_ticks(
    page, log_in, course
):
    learner = log_in(UserFactory())
    EnrolmentFactory(user=learner, course=course)
    one, two, three = lessons_of(course, 1)[:2] + lessons_of(course, 2)[:1]
    # The first and third lessons of the course are done, the second is not.
    services.lesson_complete(user=learner, lesson=one)
    services.lesson_complete(user=learner, lesson=three)
    header = page.get_by_role("banner")

    page.goto("/")
    header.get_by_role("link", name="My learning").click()
    in_progress = page.get_by_role("region", name="In progress")
    expect(in_progress.get_by_role("progressbar")).to_have_attribute("value", "29")
    in_progress.get_by_role("link", name=f"Resume {COURSE}").click()

    expect(page.get_by_role("heading", level=1, name=two.title)).to_be_visible()
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name=COURSE).click()

    expect(page.get_by_role("heading", level=1, name=COURSE)).to_be_visible()
    page.get_by_role("button", name="Leave this course").click()

    expect(page.get_by_role("status")).to_contain_text(f"You have left {COURSE}.")
    left = page.get_by_role("region", name="Courses you left")
    expect(left).to_contain_text(f"{COURSE} (29% done)")
    left.get_by_role("link", name=COURSE).click()

    expect(page.get_by_text("Your earlier progress is kept")).to_be_visible()
    page.get_by_role("button", name="Enrol again").click()

    expect(page.get_by_role("status")).to_contain_text(
        f"Welcome back to {COURSE}: your progress is as you left it."
    )
    expect(page.get_by_role("heading", level=1, name=two.title)).to_be_visible()
    outline = page.get_by_role("navigation", name="Course outline")
    for lesson, state in [(one, "(complete)"), (two, "(not complete)"), (three, "(complete)")]:
        step = outline.get_by_role("listitem").filter(
            has=page.get_by_role("link", name=lesson.title, exact=True)
        )
        expect(step).to_contain_text(state)


def press_tab_until_focused(page, locator, *, most=25):
    """Press Tab from where focus is until ``locator`` has it; fail after ``most`` presses."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if locator.evaluate("element => element === document.activeElement"):
            return
    pytest.fail(f"{most} presses of Tab never reached {locator}")


# How wide the focus indicator of an element is, in pixels, once its transitions have ended:
# its outline, or the widest spread of its box shadows (Bootstrap's focus ring).
FOCUS_INDICATOR = """async (element) => {
  await Promise.all(element.getAnimations().map((a) => a.finished.catch(() => {})));
  const style = getComputedStyle(element);
  const outline = style.outlineStyle === "none" ? 0 : parseFloat(style.outlineWidth);
  const spreads = [...style.boxShadow.matchAll(/([\\d.]+)px(?:\\s*inset)?\\s*(?:,|$)/g)];
  return {
    focusVisible: element.matches(":focus-visible"),
    width: Math.max(outline, ...spreads.map((match) => parseFloat(match[1]))),
  };
}"""


def assert_focus_is_visible(locator):
    """The focused element matches :focus-visible and draws an indicator at least 2px wide."""
    indicator = locator.evaluate(FOCUS_INDICATOR)
    assert indicator["focusVisible"], f"{locator} does not match :focus-visible"
    assert indicator["width"] >= 2, f"{locator} shows no focus indicator: {indicator}"


def test_learner_marks_a_lesson_complete_with_the_keyboard_alone(page, log_in, course):
    learner = log_in(UserFactory())
    EnrolmentFactory(user=learner, course=course)
    first, second = lessons_of(course, 1)
    page.goto(first.get_absolute_url())
    button = page.get_by_role("button", name="Mark as complete and continue")
    expect(page.get_by_role("heading", level=1, name=first.title)).to_be_visible()

    press_tab_until_focused(page, button)
    assert_focus_is_visible(button)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1, name=second.title)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(f"“{first.title}” marked complete.")
    assert LessonProgress.objects.filter(user=learner, lesson=first).exists()


def test_learner_chooses_and_submits_an_answer_with_the_keyboard_alone(page, log_in, course):
    learner = log_in(UserFactory())
    EnrolmentFactory(user=learner, course=course)
    attempt = services.attempt_start(user=learner, module=course.modules.first())
    page.goto(f"/learn/attempts/{attempt.pk}/1/")
    options = [page.get_by_role("radio", name=re.compile(rf"^{letter}\. ")) for letter in "ABCDE"]
    expect(page.get_by_role("heading", level=1, name="Question 1 of 2")).to_be_visible()

    press_tab_until_focused(page, options[0])
    assert_focus_is_visible(options[0])
    page.keyboard.press("Space")
    expect(options[0]).to_be_checked()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(options[2]).to_be_focused()
    expect(options[2]).to_be_checked()
    page.keyboard.press("ArrowUp")
    expect(options[1]).to_be_focused()
    expect(options[1]).to_be_checked()
    expect(options[0]).not_to_be_checked()
    assert_focus_is_visible(options[1])
    check = page.get_by_role("button", name="Check my answer")
    page.keyboard.press("Tab")
    expect(check).to_be_focused()
    assert_focus_is_visible(check)
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_contain_text("Correct. You answered B.")
    answer = attempt.answers.get()
    assert (answer.choice, answer.is_correct) == ("b", True)


@pytest.fixture
def page_without_javascript(browser, live_server):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_learner_marks_a_lesson_and_answers_a_question_without_javascript(
    page_without_javascript, client, live_server, course
):
    page = page_without_javascript
    learner = UserFactory()
    log_in_context(page.context, client, live_server, learner)
    EnrolmentFactory(user=learner, course=course)
    first, second = lessons_of(course, 1)

    page.goto(first.get_absolute_url())
    page.get_by_role("button", name="Mark as complete and continue").click()

    expect(page.get_by_role("heading", level=1, name=second.title)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(f"“{first.title}” marked complete.")
    page.get_by_role("link", name="Questions (2)").click()

    expect(page.get_by_role("heading", level=1, name=QUIZ_ONE)).to_be_visible()
    page.get_by_role("button", name="Start the questions").click()

    expect(page.get_by_role("heading", level=1, name="Question 1 of 2")).to_be_visible()
    page.get_by_role("radio", name=re.compile(r"^D\. ")).check()
    page.get_by_role("button", name="Check my answer").click()

    expect(page.get_by_role("status")).to_contain_text("Not quite. You answered D")
    assert LessonProgress.objects.filter(user=learner, lesson=first).exists()
    assert Attempt.objects.get(user=learner).answers.get().choice == "d"


def test_lesson_fits_a_375_pixel_phone_without_scrolling_sideways(page, log_in, course):
    learner = log_in(UserFactory())
    EnrolmentFactory(user=learner, course=course)
    lesson = lessons_of(course, 1)[0]
    LessonFigure.objects.create(
        lesson=lesson,
        image=ContentFile(png_bytes(size=(1200, 600)), name="kidney.png"),
        alt_text="A drainage tube entering the kidney from the back",
        caption="The route of the tube.",
    )
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(lesson.get_absolute_url())

    expect(page.get_by_role("heading", level=1, name=lesson.title)).to_be_visible()
    figure = page.get_by_role("img", name="A drainage tube entering the kidney from the back")
    figure.scroll_into_view_if_needed()
    expect(figure).to_have_js_property("complete", True)
    assert figure.evaluate("image => image.naturalWidth") == 1200
    expect(page.get_by_role("table")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
