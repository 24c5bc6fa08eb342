"""A learner plans a nephrostomy route on a CT stack: the first route crosses the colon, the
feedback shows why (in words and drawn over the slices), and a new attempt passes; with the
mouse, then with the keyboard alone. Nothing of the regions reaches the browser before the
answer. The stack is real (synthetic DICOM processed by the pipeline); axe-core checks every
page (conftest.py)."""

import re

import pytest
from playwright.sync_api import expect

from courses.models import Answer, Attempt
from tests.browser.test_elearning import (
    assert_focus_is_visible,
    log_in_context,
    press_tab_until_focused,
)
from tests.browser.test_stacks import processed_stack, viewer_of, viewport_of, wait_until_loaded
from tests.factories import (
    EnrolmentFactory,
    ImageQuestionFactory,
    ModuleFactory,
    QuestionRegionFactory,
    UserFactory,
)

SLICES = 30  # processed_stack's series: 64 × 64 pixels, 0.75 mm each, slices 2.5 mm apart
KEY_SLICE = 16  # as the learner counts (index 15)
STEM = "Plan a route for a nephrostomy into this obstructed left kidney."
# The colon lies between the flank and the calyx: a route from the side crosses it, one from
# below (posteriorly, on this phantom's axial slices) misses it.
CALYX = {"cx": 0.7031, "cy": 0.5517, "rx": 0.0813, "ry": 0.0797}
COLON = {"cx": 0.4519, "cy": 0.5483, "rx": 0.0811, "ry": 0.1213}
FROM_THE_SIDE = (0.15, 0.55)
FROM_BELOW = (0.70, 0.92)
TARGET = (0.70, 0.55)


@pytest.fixture
def question():
    stack = processed_stack()
    module = ModuleFactory(title="Planning a nephrostomy", pass_mark=80)
    question = ImageQuestionFactory(
        module=module,
        stem=STEM,
        stem_stack=stack,
        explanation="Below the 12th rib and posterior, the needle stays behind the colon.",
        learning_point="Look for the colon **before** you choose the route.",
    )
    QuestionRegionFactory(
        question=question,
        label="lower-pole calyx",
        shapes=[{"slice": i, "kind": "ellipse", **CALYX} for i in range(12, 19)],
    )
    QuestionRegionFactory(
        question=question,
        role="avoid",
        label="colon",
        shapes=[{"slice": i, "kind": "ellipse", **COLON} for i in range(8, 23)],
    )
    return question


@pytest.fixture
def learner(log_in, question):
    learner = log_in(UserFactory())
    EnrolmentFactory(user=learner, course=question.module.course)
    return learner


def secrets_of(question):
    """The regions as they could leak: labels and every number drawn."""
    numbers = [str(n) for n in (*CALYX.values(), *COLON.values())]
    return {"lower-pole calyx", "colon", *numbers, *(n[2:] for n in numbers)}


def record_responses(page):
    """Every response the browser gets from now on, as (url, text or None)."""
    received = []

    def keep(response):
        kind = response.headers.get("content-type", "")
        text = None
        if kind.startswith(("text/html", "application/json")) and response.status == 200:
            text = response.text()
        received.append((response.url, text))

    page.on("response", keep)
    return received


def verdict_of(page):
    """Right or wrong, in words (the viewer's distance readout is a status too)."""
    return page.get_by_role("status").filter(has_text=re.compile(r"^\s*(Correct|Not quite)\."))


def summary_of(page):
    return page.locator("[data-mark-summary]")


def check_marks_placed(page, slice_number):
    summary = summary_of(page)
    expect(summary.locator('[data-mark-item="entry"] .mark-value')).to_have_text(
        f"slice {slice_number}"
    )
    expect(summary.locator('[data-mark-item="target"] .mark-value')).to_have_text(
        f"slice {slice_number}"
    )
    viewer = viewer_of(page)
    expect(viewer.locator(".stack-mark-entry")).not_to_have_class(re.compile(r"\bis-hidden\b"))
    expect(viewer.locator(".stack-mark-target")).not_to_have_class(re.compile(r"\bis-hidden\b"))
    expect(viewer.locator(".stack-live")).to_have_text(re.compile(r"^Target set on slice "))


def click_at(page, fraction):
    image = viewer_of(page).get_by_role("img", name=re.compile(r"^Kidney CT: slice"))
    image.scroll_into_view_if_needed()
    box = image.bounding_box()
    page.mouse.click(box["x"] + box["width"] * fraction[0], box["y"] + box["height"] * fraction[1])


def mark_with_the_mouse(page, entry, target):
    viewer = viewer_of(page)
    wait_until_loaded(viewer)
    viewer.get_by_role("slider", name="Slice").fill(str(KEY_SLICE))
    expect(viewer.locator(".stack-counter")).to_have_text(f"Slice {KEY_SLICE} of {SLICES}")
    click_at(page, entry)
    expect(viewer.locator(".stack-live")).to_have_text(
        f"Entry point set on slice {KEY_SLICE}. Now mark the target."
    )
    click_at(page, target)
    check_marks_placed(page, KEY_SLICE)


def assert_marks_stored(answer, entry, target):
    marks = answer.marks
    assert marks["entry"]["slice"] == marks["target"]["slice"] == KEY_SLICE - 1
    for name, (x, y) in (("entry", entry), ("target", target)):
        assert marks[name]["x"] == pytest.approx(x, abs=0.02)
        assert marks[name]["y"] == pytest.approx(y, abs=0.02)


def test_learner_plans_a_route_through_the_colon_sees_why_and_passes_with_the_mouse(
    page, learner, question
):
    module = question.module
    received = record_responses(page)
    page.goto(f"/learn/{module.course.slug}/{module.slug}/questions/")
    page.get_by_role("button", name="Start the questions").click()
    expect(page.get_by_role("heading", level=1, name="Question 1 of 1")).to_be_visible()
    expect(page.get_by_text(STEM)).to_be_visible()
    expect(page.get_by_text("Marking the image needs JavaScript")).to_be_hidden()
    expect(summary_of(page)).to_be_visible()

    # A first mark, redone, then the route from the side.
    viewer = viewer_of(page)
    wait_until_loaded(viewer)
    click_at(page, (0.5, 0.5))
    expect(summary_of(page).locator('[data-mark-item="entry"] .mark-value')).to_have_text("slice 1")
    page.get_by_role("button", name="Clear marks").click()
    expect(summary_of(page).locator('[data-mark-item="entry"] .mark-value')).to_have_text(
        "not marked yet"
    )
    expect(page.locator('input[name="entry_slice"]')).to_have_value("")
    mark_with_the_mouse(page, FROM_THE_SIDE, TARGET)
    expect(page.locator('input[name="target_slice"]')).to_have_value(str(KEY_SLICE - 1))
    # Elsewhere in the stack the marks stay in sight, dashed.
    viewport_of(viewer).focus()
    page.keyboard.press("PageDown")
    expect(viewer.locator(".stack-mark-target")).to_have_class(re.compile(r"\bis-elsewhere\b"))

    # Until now the browser has had nothing of the regions.
    leaks = [
        (url, secret)
        for url, text in received
        for secret in secrets_of(question)
        if secret in url or (text is not None and secret in text)
    ]
    assert not leaks
    assert any("manifest.json" in url for url, _ in received)

    page.get_by_role("button", name="Check my answer").click()

    status = verdict_of(page)
    expect(status).to_contain_text("Not quite.")
    expect(status).to_contain_text("Your route crossed the colon.")
    expect(status).to_contain_text("Your target mark is inside the lower-pole calyx.")
    overlay = page.locator("figure.mark-overlay")
    expect(overlay).to_have_count(1)
    expect(overlay.get_by_role("img")).to_have_accessible_name(
        re.compile(rf"slice {KEY_SLICE} of {SLICES}, with your marks")
    )
    expect(overlay).to_contain_text(f"Slice {KEY_SLICE}: your target; your route enters the colon.")
    expect(overlay).to_contain_text("Your route enters the colon here.")
    for drawn in (".region-target", ".region-avoid", ".learner-path", ".learner-crossing"):
        expect(overlay.locator(drawn)).to_have_count(1)
    expect(overlay.locator(".learner-mark")).to_have_count(2)
    expect(page.get_by_text("the needle stays behind the colon")).to_be_visible()
    expect(page.locator(".learning-point")).to_contain_text("Look for the colon before")
    assert_marks_stored(Answer.objects.get(), FROM_THE_SIDE, TARGET)
    # The feedback fits a phone's width.
    page.set_viewport_size({"width": 320, "height": 640})
    expect(overlay).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.set_viewport_size({"width": 1280, "height": 720})

    page.get_by_role("link", name="See your score").click()
    expect(page.get_by_role("heading", level=1, name="Not passed this time")).to_be_visible()
    # Each answer is a card with its explanations (it was a table row).
    expect(page.get_by_role("heading", level=3, name="Question 1: not right")).to_be_visible()
    expect(page.get_by_text("Marked on the image")).to_be_visible()
    page.get_by_role("button", name="Take the questions again").click()

    expect(page.get_by_role("heading", level=1, name="Question 1 of 1")).to_be_visible()
    mark_with_the_mouse(page, FROM_BELOW, TARGET)
    page.get_by_role("button", name="Check my answer").click()

    expect(verdict_of(page)).to_contain_text("Correct.")
    expect(verdict_of(page)).to_contain_text("the route misses the colon")
    page.get_by_role("link", name="See your score").click()
    expect(page.get_by_role("heading", level=1, name="You passed")).to_be_visible()
    first, second = Attempt.objects.filter(module=module).order_by("pk")
    assert (first.passed, second.passed) == (False, True)


def keyboard_marks(page, entry_moves, target_moves):
    """From the viewport: to the key slice with Page Down, then the cross to each mark."""
    viewer = viewer_of(page)
    for _ in range(KEY_SLICE - 1):
        page.keyboard.press("PageDown")
    expect(viewer.locator(".stack-counter")).to_have_text(f"Slice {KEY_SLICE} of {SLICES}")
    for moves in (entry_moves, target_moves):
        for key, times in moves:
            for _ in range(times):
                page.keyboard.press(key)
        page.keyboard.press("Enter")
    check_marks_placed(page, KEY_SLICE)


def tab_to_and_press(page, locator):
    press_tab_until_focused(page, locator, most=60)
    assert_focus_is_visible(locator)
    page.keyboard.press("Enter")


# The cross starts in the middle of the image; Shift + arrow moves it 5% of the image, an arrow
# alone 1%.
SIDE_THEN_TARGET = ([("Shift+ArrowLeft", 7), ("Shift+ArrowDown", 1)], [("Shift+ArrowRight", 11)])
BELOW_THEN_TARGET = (
    [("Shift+ArrowRight", 4), ("Shift+ArrowDown", 8), ("ArrowDown", 2)],
    [("Shift+ArrowUp", 7), ("ArrowUp", 2)],
)


def test_learner_plans_a_route_sees_why_it_is_wrong_and_passes_with_the_keyboard_alone(
    page, learner, question
):
    module = question.module
    page.goto(f"/learn/{module.course.slug}/{module.slug}/questions/")
    tab_to_and_press(page, page.get_by_role("button", name="Start the questions"))
    expect(page.get_by_role("heading", level=1, name="Question 1 of 1")).to_be_visible()
    viewer = viewer_of(page)
    wait_until_loaded(viewer)
    viewport = viewport_of(viewer)
    press_tab_until_focused(page, viewport, most=60)
    assert_focus_is_visible(viewport)
    # The cross shows where Enter would mark as soon as the image has the focus.
    expect(viewer.locator(".stack-cursor")).not_to_have_class(re.compile(r"\bis-hidden\b"))

    keyboard_marks(page, *SIDE_THEN_TARGET)
    tab_to_and_press(page, page.get_by_role("button", name="Check my answer"))

    expect(verdict_of(page)).to_contain_text("Your route crossed the colon.")
    expect(page.locator("figure.mark-overlay .region-avoid")).to_have_count(1)
    assert_marks_stored(Answer.objects.get(), FROM_THE_SIDE, TARGET)
    tab_to_and_press(page, page.get_by_role("link", name="See your score"))
    expect(page.get_by_role("heading", level=1, name="Not passed this time")).to_be_visible()
    tab_to_and_press(page, page.get_by_role("button", name="Take the questions again"))

    expect(page.get_by_role("heading", level=1, name="Question 1 of 1")).to_be_visible()
    viewer = viewer_of(page)
    wait_until_loaded(viewer)
    press_tab_until_focused(page, viewport_of(viewer), most=60)
    keyboard_marks(page, *BELOW_THEN_TARGET)
    # Redo the target with its button, and mark it again.
    tab_to_and_press(page, page.get_by_role("button", name="Redo the target"))
    expect(viewport_of(viewer)).to_be_focused()
    expect(summary_of(page).locator('[data-mark-item="target"] .mark-value')).to_have_text(
        "not marked yet"
    )
    page.keyboard.press("Enter")
    expect(summary_of(page).locator('[data-mark-item="target"] .mark-value')).to_have_text(
        f"slice {KEY_SLICE}"
    )
    tab_to_and_press(page, page.get_by_role("button", name="Check my answer"))

    expect(verdict_of(page)).to_contain_text("Correct.")
    assert_marks_stored(Answer.objects.latest("pk"), FROM_BELOW, TARGET)
    tab_to_and_press(page, page.get_by_role("link", name="See your score"))
    expect(page.get_by_role("heading", level=1, name="You passed")).to_be_visible()


def test_learner_marks_a_route_with_taps_on_a_touch_screen(
    touch_page, client, live_server, question
):
    page = touch_page
    learner = UserFactory()
    EnrolmentFactory(user=learner, course=question.module.course)
    log_in_context(page.context, client, live_server, learner)
    attempt = Attempt.objects.create(
        user=learner, module=question.module, question_ids=[question.pk], total=1, pass_mark=80
    )
    page.goto(f"/learn/attempts/{attempt.pk}/1/")
    viewer = viewer_of(page)
    wait_until_loaded(viewer)
    viewer.get_by_role("slider", name="Slice").fill(str(KEY_SLICE))
    image = viewer.get_by_role("img", name=re.compile(r"^Kidney CT: slice"))
    image.scroll_into_view_if_needed()
    box = image.bounding_box()
    for x, y in (FROM_BELOW, TARGET):
        page.touchscreen.tap(box["x"] + box["width"] * x, box["y"] + box["height"] * y)

    check_marks_placed(page, KEY_SLICE)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.get_by_role("button", name="Check my answer").tap()
    expect(verdict_of(page)).to_contain_text("Correct.")
    assert_marks_stored(Answer.objects.get(), FROM_BELOW, TARGET)


@pytest.fixture
def page_without_javascript(browser, live_server):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_without_javascript_the_question_says_marking_needs_it(
    page_without_javascript, client, live_server, question
):
    page = page_without_javascript
    learner = UserFactory()
    EnrolmentFactory(user=learner, course=question.module.course)
    log_in_context(page.context, client, live_server, learner)
    attempt = Attempt.objects.create(
        user=learner,
        module=question.module,
        question_ids=[question.pk],
        total=1,
        pass_mark=80,
    )
    page.goto(f"/learn/attempts/{attempt.pk}/1/")

    expect(page.get_by_text("Marking the image needs JavaScript")).to_be_visible()
    expect(summary_of(page)).to_be_hidden()
    page.get_by_role("button", name="Check my answer").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Mark the skin entry point and the target before you check your answer."
    )
    assert not Answer.objects.exists()
