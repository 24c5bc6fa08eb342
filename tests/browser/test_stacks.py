"""A learner scrolls through image stacks in a lesson, on a procedure page and in a question:
keyboard, slider, wheel, touch, windows, measuring, progressive loading, a phone's width and no
JavaScript. The stacks are real: synthetic DICOM processed by the pipeline editors use. axe-core
checks every page (conftest.py)."""

import re

import numpy as np
import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from courses import services
from irlearn.stacks import processing, synthetic
from irlearn.stacks.models import ImageStack
from tests.browser.test_elearning import (
    assert_focus_is_visible,
    log_in_context,
    press_tab_until_focused,
)
from tests.factories import (
    EnrolmentFactory,
    LessonFactory,
    ProcedureFactory,
    QuestionFactory,
    UserFactory,
)
from tests.stacks.conftest import ct_zip

SLICES = 30
SIZE = 64  # pixels a side; 0.75 mm pixels (ct_zip's default), so 48 mm across
DESCRIPTION = "Axial CT phantom: a bright square in the top left corner on every slice."


def processed_stack(data=None, *, slug="kidney-ct", title="Kidney CT", **fields):
    """A stack made as an editor makes one: an upload, processed for real."""
    fields.setdefault("window_keys", ["soft-tissue", "bone"])
    stack = ImageStack(
        title=title,
        slug=slug,
        description=DESCRIPTION,
        credit="IRLearn",
        source="Made for these tests",
        is_synthetic=True,
        burned_in_checked=True,
        **fields,
    )
    stack.source_file.save("series.zip", ContentFile(data or ct_zip(SLICES, SIZE)), save=False)
    stack.save()
    assert processing.stack_process(stack.pk) == "ready"
    stack.refresh_from_db()
    return stack


def ultrasound_stack(frames=12):
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 120, (48, 64), dtype=np.uint8) for _ in range(frames)]
    cine = synthetic.ultrasound_cine(images, frame_time_ms=50)
    return processed_stack(
        synthetic.to_bytes(cine),
        slug="gallbladder-us",
        title="Gallbladder ultrasound",
        modality="US",
        plane="oblique",
        window_keys=[],
    )


@pytest.fixture
def stack():
    return processed_stack()


@pytest.fixture
def lesson(stack):
    return LessonFactory(
        title="Planning a nephrostomy",
        body=f"Scroll through the kidney.\n\n[[stack:{stack.slug}]]\n\n## Key points\n\nLook.",
    )


@pytest.fixture
def enrolled_learner(log_in, lesson):
    learner = log_in(UserFactory())
    EnrolmentFactory(user=learner, course=lesson.module.course)
    return learner


def viewer_of(page, title="Kidney CT"):
    return page.locator("figure.stack-viewer").filter(has_text=title)


def viewport_of(viewer, modality="CT"):
    return viewer.get_by_role("group", name=re.compile(rf"^{modality} stack viewer: "))


def wait_until_loaded(viewer):
    """The manifest has come (the slider works) and every image of the window is loaded."""
    expect(viewer.get_by_role("slider")).to_be_enabled()
    expect(viewer.locator(".stack-loading")).to_be_hidden()


def millimetres(text):
    match = re.fullmatch(r"(\d+\.\d) mm", text)
    assert match, f"not a distance: {text!r}"
    return float(match.group(1))


def test_learner_scrolls_a_stack_with_keyboard_slider_and_wheel(
    page, enrolled_learner, lesson, stack
):
    page.goto(lesson.get_absolute_url())
    viewer = viewer_of(page)
    image = viewer.get_by_role("img", name=re.compile(r"^Kidney CT: slice"))
    counter = viewer.locator(".stack-counter")
    viewport = viewport_of(viewer)
    slider = viewer.get_by_role("slider", name="Slice")

    # The first slice is in the page itself, with its size, and shows before any script.
    expect(image).to_have_attribute("src", stack.first_image_url)
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("image => image.naturalWidth") == SIZE
    expect(counter).to_have_text(f"Slice 1 of {SLICES}")
    expect(viewer.get_by_text("Synthetic phantom")).to_be_visible()
    expect(viewer.get_by_text(DESCRIPTION)).to_be_visible()
    expect(viewer).to_contain_text("Images: IRLearn.")
    expect(viewer.get_by_text("needs JavaScript")).to_be_hidden()
    # Loading: the manifest, then every slice of the first window, and the indicator goes.
    wait_until_loaded(viewer)
    assert viewer.evaluate("root => root.stackViewer.loadsOf('soft-tissue').done") == SLICES

    # The keyboard, once the viewport has focus (Tab reaches it, with a visible ring).
    press_tab_until_focused(page, viewport, most=40)
    assert_focus_is_visible(viewport)
    expect(viewport).to_have_attribute("aria-describedby", re.compile(r"-description$"))
    for key, number in [("ArrowDown", 2), ("PageDown", 12), ("ArrowUp", 11), ("End", SLICES)]:
        page.keyboard.press(key)
        expect(counter).to_have_text(f"Slice {number} of {SLICES}")
        expect(image).to_have_attribute("src", stack.image_url("soft-tissue", number - 1))
    page.keyboard.press("Home")
    expect(counter).to_have_text(f"Slice 1 of {SLICES}")
    expect(slider).to_have_value("1")
    # The live region says where the learner stopped, once, not each step on the way.
    expect(viewer.locator(".stack-live")).to_have_text(f"Slice 1 of {SLICES}")

    # Arrow keys elsewhere on the page are the page's own.
    page.get_by_role("heading", level=1).click()
    page.keyboard.press("ArrowDown")
    expect(counter).to_have_text(f"Slice 1 of {SLICES}")

    # The slider, by pointer (fill) and by its own keys.
    slider.fill("15")
    expect(counter).to_have_text(f"Slice 15 of {SLICES}")
    expect(slider).to_have_attribute("aria-valuetext", f"Slice 15 of {SLICES}")
    expect(image).to_have_attribute("src", stack.image_url("soft-tissue", 14))
    slider.press("ArrowRight")
    expect(counter).to_have_text(f"Slice 16 of {SLICES}")
    expect(slider).to_have_attribute("aria-valuetext", f"Slice 16 of {SLICES}")

    # The wheel over the image: one notch one slice, a touchpad's small steps add up, and the
    # page itself does not scroll.
    image.scroll_into_view_if_needed()
    image.hover()
    scrolled = page.evaluate("window.scrollY")
    page.mouse.wheel(0, 100)
    expect(counter).to_have_text(f"Slice 17 of {SLICES}")
    page.mouse.wheel(0, -100)
    page.mouse.wheel(0, -100)
    expect(counter).to_have_text(f"Slice 15 of {SLICES}")
    for _ in range(4):
        page.mouse.wheel(0, 12)
    expect(counter).to_have_text(f"Slice 16 of {SLICES}")
    expect(image).to_have_attribute("src", stack.image_url("soft-tissue", 15))
    assert page.evaluate("window.scrollY") == scrolled


def slice_number(url):
    return int(re.search(r"/(\d{4})\.webp$", url).group(1)) + 1


def test_images_load_after_the_page_nearest_first_a_few_at_a_time(
    page, enrolled_learner, lesson, stack
):
    held, holding = [], [True]

    def hold(route):
        # The page's own first slice goes through; the preloads wait until the test lets them.
        if holding[0] and not route.request.url.endswith(stack.first_image_url):
            held.append(route)
        else:
            route.continue_()

    def wait_for_requests(count):
        for _ in range(100):
            if len(held) >= count:
                return
            page.wait_for_timeout(50)
        pytest.fail(f"{len(held)} image requests, not {count}")

    page.route(re.compile(r"\.webp$"), hold)
    page.goto(lesson.get_absolute_url())
    viewer = viewer_of(page)
    loading = viewer.locator(".stack-loading")
    expect(viewer.get_by_role("slider")).to_be_enabled()

    # Four at a time, the slices after the first in order; the indicator shows how far it is.
    wait_for_requests(4)
    page.wait_for_timeout(200)
    assert [slice_number(route.request.url) for route in held] == [2, 3, 4, 5]
    expect(loading).to_be_visible()
    expect(loading).to_contain_text(f"Loaded 1 of {SLICES}")
    expect(viewer.get_by_role("progressbar")).to_have_attribute("value", "1")

    # The learner jumps to the end: the next image to load is the one now shown, then its
    # neighbours.
    viewport_of(viewer).focus()
    page.keyboard.press("End")
    held[0].continue_()
    wait_for_requests(5)
    held[1].continue_()
    wait_for_requests(6)
    assert [slice_number(route.request.url) for route in held[4:]] == [SLICES, SLICES - 1]
    expect(loading).to_contain_text(f"Loaded 3 of {SLICES}")

    holding[0] = False
    for route in held[2:]:
        route.continue_()
    expect(loading).to_be_hidden()
    assert viewer.evaluate("root => root.stackViewer.loadsOf('soft-tissue').done") == SLICES


def test_learner_switches_window_measures_and_resets(page, enrolled_learner, lesson, stack):
    page.goto(lesson.get_absolute_url())
    viewer = viewer_of(page)
    image = viewer.get_by_role("img", name=re.compile(r"^Kidney CT: slice"))
    counter = viewer.locator(".stack-counter")
    soft, bone = (viewer.get_by_role("button", name=n) for n in ("Soft tissue", "Bone"))
    wait_until_loaded(viewer)
    expect(soft).to_have_attribute("aria-pressed", "true")
    viewport_of(viewer).focus()
    page.keyboard.press("PageDown")

    # Another window: the same slice in it, and that window's images load in turn.
    bone.click()
    expect(bone).to_have_attribute("aria-pressed", "true")
    expect(soft).to_have_attribute("aria-pressed", "false")
    expect(image).to_have_attribute("src", stack.image_url("bone", 10))
    expect(viewer.locator(".stack-window-name")).to_have_text("Bone · W 1800 L 400")
    wait_until_loaded(viewer)
    assert viewer.evaluate("root => root.stackViewer.loadsOf('bone').done") == SLICES

    # Measuring with the pointer: a line across half the image's width is half its 48 mm,
    # whatever size the image is shown at.
    measure = viewer.get_by_role("button", name="Measure")
    measure.click()
    expect(measure).to_have_attribute("aria-pressed", "true")
    expect(viewer.get_by_text("Click or tap two points")).to_be_visible()
    image.scroll_into_view_if_needed()
    box = image.bounding_box()
    assert box["width"] > SIZE  # shown larger than its own pixels
    for fraction in (0.25, 0.75):
        page.mouse.click(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)
    distance = viewer.locator(".stack-distance")
    expect(distance).to_have_text(re.compile(r"^\d+\.\d mm$"))
    assert millimetres(distance.text_content()) == pytest.approx(SIZE * 0.75 / 2, abs=0.5)
    # (A level line has no height, so "visible" cannot say: the ruler is drawn, not hidden.)
    ruler = viewer.locator(".stack-ruler")
    expect(ruler).not_to_have_class(re.compile(r"\bis-hidden\b"))

    # Measuring with the keyboard: Enter, ten steps of 1% of the image right, Enter.
    viewport_of(viewer).focus()
    page.keyboard.press("Enter")
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    expect(distance).to_have_text(f"{SIZE * 0.1 * 0.75:.1f} mm")
    # Page Down still moves through the stack while measuring.
    page.keyboard.press("PageDown")
    expect(counter).to_have_text(f"Slice 21 of {SLICES}")

    viewer.get_by_role("button", name="Reset").click()
    expect(counter).to_have_text(f"Slice 1 of {SLICES}")
    expect(soft).to_have_attribute("aria-pressed", "true")
    expect(image).to_have_attribute("src", stack.first_image_url)
    expect(measure).to_have_attribute("aria-pressed", "false")
    expect(distance).to_have_text("")
    expect(ruler).to_have_class(re.compile(r"\bis-hidden\b"))


def touch_drag(page, x, y, dy, steps=10):
    """A one-finger drag through the browser's own touch input (Chrome DevTools Protocol), so
    the page sees real touch pointer events and its touch-action applies."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for step in range(1, steps + 1):
        point = {"x": x, "y": y + dy * step / steps}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    # The finger rests before it lifts, as at the end of a careful scroll: lifted while moving,
    # it would fling, and the browser swallows the next tap to stop the fling.
    page.wait_for_timeout(150)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def test_learner_drags_through_a_stack_and_measures_on_a_touch_screen(
    touch_page, client, live_server, lesson, stack
):
    page = touch_page
    learner = UserFactory()
    EnrolmentFactory(user=learner, course=lesson.module.course)
    log_in_context(page.context, client, live_server, learner)
    page.goto(lesson.get_absolute_url())
    viewer = viewer_of(page)
    image = viewer.get_by_role("img", name=re.compile(r"^Kidney CT: slice"))
    counter = viewer.locator(".stack-counter")
    wait_until_loaded(viewer)
    image.scroll_into_view_if_needed()
    box = image.bounding_box()
    scrolled = page.evaluate("window.scrollY")

    # Down 80 pixels: ten slices on (8 pixels a slice); back up 40: five back.
    touch_drag(page, box["x"] + box["width"] / 2, box["y"] + 20, 80)
    expect(counter).to_have_text(f"Slice 11 of {SLICES}")
    expect(image).to_have_attribute("src", stack.image_url("soft-tissue", 10))
    touch_drag(page, box["x"] + box["width"] / 2, box["y"] + 100, -40)
    expect(counter).to_have_text(f"Slice 6 of {SLICES}")
    assert page.evaluate("window.scrollY") == scrolled

    # Two taps measure; a tap is not a drag, so the slice stays.
    measure = viewer.get_by_role("button", name="Measure")
    measure.tap()
    expect(measure).to_have_attribute("aria-pressed", "true")
    image.scroll_into_view_if_needed()
    box = image.bounding_box()
    page.touchscreen.tap(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.25)
    page.touchscreen.tap(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.75)
    distance = viewer.locator(".stack-distance")
    expect(distance).to_have_text(re.compile(r"^\d+\.\d mm$"))
    assert millimetres(distance.text_content()) == pytest.approx(SIZE * 0.75 / 2, abs=0.5)
    expect(counter).to_have_text(f"Slice 6 of {SLICES}")


def test_viewer_fits_320_pixels_and_measures_at_that_size(page, enrolled_learner, lesson, stack):
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(lesson.get_absolute_url())
    viewer = viewer_of(page)
    image = viewer.get_by_role("img", name=re.compile(r"^Kidney CT: slice"))
    wait_until_loaded(viewer)
    for control in ("Soft tissue", "Bone", "Measure", "Reset"):
        expect(viewer.get_by_role("button", name=control)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    box = image.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 320

    viewer.get_by_role("button", name="Measure").click()
    image.scroll_into_view_if_needed()
    box = image.bounding_box()
    for fraction in (0.1, 0.9):
        page.mouse.click(box["x"] + box["width"] * fraction, box["y"] + box["height"] * 0.6)
    distance = viewer.locator(".stack-distance")
    expect(distance).to_have_text(re.compile(r"^\d+\.\d mm$"))
    assert millimetres(distance.text_content()) == pytest.approx(SIZE * 0.75 * 0.8, abs=0.6)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


def test_two_viewers_on_one_page_scroll_on_their_own(page, log_in, stack):
    other = processed_stack(ct_zip(8, 32), slug="liver-ct", title="Liver CT")
    lesson = LessonFactory(body=f"[[stack:{stack.slug}]]\n\nAnd another.\n\n[[stack:{other.slug}]]")
    learner = log_in(UserFactory())
    EnrolmentFactory(user=learner, course=lesson.module.course)
    page.goto(lesson.get_absolute_url())
    first, second = viewer_of(page, "Kidney CT"), viewer_of(page, "Liver CT")
    wait_until_loaded(first)
    wait_until_loaded(second)

    viewport_of(second).focus()
    page.keyboard.press("End")
    expect(second.locator(".stack-counter")).to_have_text("Slice 8 of 8")
    expect(first.locator(".stack-counter")).to_have_text(f"Slice 1 of {SLICES}")
    ids = page.eval_on_selector_all("figure.stack-viewer [id]", "nodes => nodes.map(n => n.id)")
    assert len(ids) == len(set(ids))
    for figure in (first, second):
        uid = figure.get_attribute("id")
        assert all(
            i.startswith(uid + "-")
            for i in figure.evaluate("root => [...root.querySelectorAll('[id]')].map(n => n.id)")
        )


def test_procedure_page_shows_an_ultrasound_cine_that_plays_only_when_asked(page):
    cine = ultrasound_stack(frames=12)
    procedure = ProcedureFactory(title="Cholecystostomy")
    procedure.image_stacks.add(cine)
    page.emulate_media(reduced_motion="reduce")
    page.goto(procedure.get_absolute_url())
    guidance = page.get_by_role("region", name="Imaging guidance")
    viewer = viewer_of(guidance, "Gallbladder ultrasound")
    counter = viewer.locator(".stack-counter")
    wait_until_loaded(viewer)
    expect(viewport_of(viewer, "Ultrasound")).to_be_visible()
    expect(counter).to_have_text("Frame 1 of 12")
    # One window, so no window buttons; ultrasound has its spacing, so it measures.
    expect(viewer.locator("[data-window]")).to_have_count(0)
    expect(viewer.get_by_role("button", name="Measure")).to_be_visible()
    # Never plays by itself.
    page.wait_for_timeout(300)
    expect(counter).to_have_text("Frame 1 of 12")

    play = viewer.get_by_role("button", name="Play")
    play.click()
    expect(counter).not_to_have_text("Frame 1 of 12")
    viewer.get_by_role("button", name="Pause").click()
    stopped = counter.text_content()
    page.wait_for_timeout(200)
    expect(counter).to_have_text(stopped)
    viewport_of(viewer, "Ultrasound").focus()
    page.keyboard.press("Home")
    expect(counter).to_have_text("Frame 1 of 12")
    expect(viewer.get_by_role("slider", name="Frame")).to_have_attribute(
        "aria-valuetext", "Frame 1 of 12"
    )


def test_question_stem_shows_its_stack_during_an_attempt(page, log_in, stack):
    question = QuestionFactory(stem="Where would you puncture?", stem_stack=stack)
    learner = log_in(UserFactory())
    EnrolmentFactory(user=learner, course=question.module.course)
    attempt = services.attempt_start(user=learner, module=question.module)
    page.goto(f"/learn/attempts/{attempt.pk}/1/")
    viewer = viewer_of(page)
    wait_until_loaded(viewer)
    viewport_of(viewer).focus()
    page.keyboard.press("ArrowDown")
    expect(viewer.locator(".stack-counter")).to_have_text(f"Slice 2 of {SLICES}")
    expect(page.get_by_role("group", name="Where would you puncture?")).to_be_visible()


@pytest.fixture
def page_without_javascript(browser, live_server):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_without_javascript_the_first_slice_description_and_a_note_show(
    page_without_javascript, client, live_server, lesson, stack
):
    page = page_without_javascript
    learner = UserFactory()
    EnrolmentFactory(user=learner, course=lesson.module.course)
    log_in_context(page.context, client, live_server, learner)
    page.goto(lesson.get_absolute_url())
    viewer = viewer_of(page)
    image = viewer.get_by_role("img", name=f"Kidney CT: slice 1 of {SLICES}")
    expect(image).to_be_visible()
    expect(image).to_have_js_property("complete", True)
    expect(viewer.get_by_text(DESCRIPTION)).to_be_visible()
    expect(
        viewer.get_by_text("Scrolling through the other slices needs JavaScript")
    ).to_be_visible()
    expect(viewer.get_by_role("slider")).to_be_hidden()
    expect(viewer.get_by_role("button")).to_have_count(0)
