"""An editor draws an image question's regions in the admin, on a real processed stack: a target
ellipse dragged with the mouse and copied through a range of slices, an avoid polygon clicked
corner by corner; saved, reloaded and seen again. Then the course report shows where learners
marked, over those regions. axe-core checks every page (conftest.py)."""

import json
import re

import pytest
from playwright.sync_api import expect

from courses.models import QuestionRegion
from tests.browser.test_elearning import assert_focus_is_visible, press_tab_until_focused
from tests.browser.test_stacks import processed_stack
from tests.courses.test_image_question_admin import answered
from tests.factories import ContentEditorFactory, ImageQuestionFactory, UserFactory

SLICES = 30


@pytest.fixture
def question():
    return ImageQuestionFactory(
        stem="Plan a nephrostomy route to the lower-pole calyx.", stem_stack=processed_stack()
    )


def regions_row(page, number):
    return page.locator(f"#regions-{number}")


def shapes_of(page, number):
    return json.loads(regions_row(page, number).locator("textarea").input_value())


def box_of(image):
    """The image's box on the screen, scrolled into view first (the mouse works in the view)."""
    image.scroll_into_view_if_needed()
    return image.bounding_box()


def point(box, x, y):
    """Page coordinates of the fractions (x, y) of an element's box."""
    return box["x"] + x * box["width"], box["y"] + y * box["height"]


def drag(page, box, start, end):
    page.mouse.move(*point(box, *start))
    page.mouse.down()
    page.mouse.move(*point(box, (start[0] + end[0]) / 2, (start[1] + end[1]) / 2), steps=3)
    page.mouse.move(*point(box, *end), steps=3)
    page.mouse.up()


def test_editor_draws_a_target_and_an_avoid_region_and_sees_learners_marks_in_the_report(
    page, log_in, question
):
    log_in(ContentEditorFactory())
    page.goto(f"/admin/courses/question/{question.pk}/change/")
    editor = page.locator(".region-editor")
    slider = editor.get_by_role("slider", name="Slice")
    expect(slider).to_be_enabled()  # the manifest has come
    expect(page.get_by_text("Drawing needs JavaScript")).to_be_hidden()
    image = editor.locator(".region-editor-image")
    expect(image).to_have_accessible_name(f"{question.stem_stack.title}: slice 1 of 30")
    stack = question.stem_stack

    # The first row is there to draw the target in.
    regions_row(page, 0).get_by_role("textbox").first.fill("lower-pole calyx")
    expect(editor.get_by_label("Region")).to_have_text(re.compile("Target: lower-pole calyx"))
    slider.fill("5")
    expect(editor.locator(".region-editor-counter")).to_have_text("Slice 5 of 30")
    expect(image).to_have_attribute("src", stack.image_url("soft-tissue", 4))
    expect(image).to_have_accessible_name(f"{stack.title}: slice 5 of 30")
    drag(page, box_of(image), (0.5, 0.45), (0.7, 0.65))
    expect(editor.locator("ellipse.region-shape.is-target.is-current")).to_have_count(1)
    expect(editor.get_by_role("status")).to_have_text(
        "Ellipse drawn on slice 5 for Target: lower-pole calyx."
    )
    [ellipse] = shapes_of(page, 0)
    assert ellipse["slice"] == 4 and ellipse["kind"] == "ellipse"
    assert ellipse["cx"] == pytest.approx(0.6, abs=0.02)
    assert ellipse["cy"] == pytest.approx(0.55, abs=0.02)
    assert ellipse["rx"] == pytest.approx(0.1, abs=0.02)

    # Through a range of slices: the next one, then 7 to 8.
    editor.get_by_role("button", name="Copy to the next slice").click()
    expect(editor.locator(".region-editor-counter")).to_have_text("Slice 6 of 30")
    expect(editor.locator("ellipse.region-shape")).to_have_count(1)
    editor.get_by_label("First slice to copy to").fill("7")
    editor.get_by_label("to", exact=True).fill("8")
    editor.get_by_role("button", name="Copy", exact=True).click()
    expect(editor.get_by_role("status")).to_have_text("Copied 1 shape to slices 7 to 8.")
    expect(editor.locator(".region-editor-slices")).to_have_text("Drawn on slices 5 to 8.")
    assert [s["slice"] for s in shapes_of(page, 0)] == [4, 5, 6, 7]

    # An avoid region in a new row: a polygon, corner by corner, closed with a double-click.
    page.get_by_role("button", name="Add another Region").click()
    row = regions_row(page, 1)
    row.get_by_role("combobox").select_option("avoid")
    row.get_by_role("textbox").first.fill("colon")
    expect(editor.get_by_label("Region")).to_have_value("regions-1")
    editor.get_by_role("button", name="Polygon", exact=True).click()
    slider.fill("6")
    box = box_of(image)
    for corner in [(0.1, 0.2), (0.3, 0.2)]:
        page.mouse.click(*point(box, *corner))
    page.mouse.dblclick(*point(box, 0.2, 0.4))
    expect(editor.locator("polygon.region-shape.is-avoid")).to_have_count(1)
    expect(editor.locator("ellipse.region-shape.is-target")).to_have_count(1)
    [polygon] = shapes_of(page, 1)
    assert polygon["slice"] == 5 and len(polygon["points"]) == 3
    assert polygon["points"][0] == pytest.approx([0.1, 0.2], abs=0.02)

    # A stray polygon on slice 10, closed with Enter, then deleted from the slice's list.
    editor.get_by_label("Region").select_option("regions-0")
    slider.fill("10")
    box = box_of(image)
    for corner in [(0.2, 0.2), (0.3, 0.2), (0.25, 0.3)]:
        page.mouse.click(*point(box, *corner))
    page.keyboard.press("Enter")
    expect(editor.locator("polygon.region-shape.is-target")).to_have_count(1)
    editor.get_by_role("button", name="Delete polygon 1 on slice 10").click()
    expect(editor.locator("polygon.region-shape")).to_have_count(0)
    assert [s["slice"] for s in shapes_of(page, 0)] == [4, 5, 6, 7]
    editor.get_by_role("button", name="Ellipse", exact=True).click()

    # The slice image takes the keyboard too (Tab reaches it, with a visible ring).
    editor.get_by_label("Region").focus()
    stage = editor.get_by_role("group", name=f"Slice to draw on: {stack.title}")
    press_tab_until_focused(page, stage, most=10)
    assert_focus_is_visible(stage)
    counter = editor.locator(".region-editor-counter")
    for key, text in [("ArrowDown", "Slice 11 of 30"), ("End", "Slice 30 of 30")]:
        page.keyboard.press(key)
        expect(counter).to_have_text(text)

    page.get_by_role("button", name="Save and continue editing").first.click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    target = QuestionRegion.objects.get(question=question, role="target")
    avoid = QuestionRegion.objects.get(question=question, role="avoid")
    assert (target.label, avoid.label) == ("lower-pole calyx", "colon")
    assert [s["slice"] for s in target.shapes] == [4, 5, 6, 7]
    assert avoid.shapes == [polygon] and target.stack == avoid.stack == stack

    # Reloaded, the page shows them again over their slices.
    page.reload()
    expect(slider).to_be_enabled()
    slider.fill("6")
    expect(editor.locator("ellipse.region-shape.is-target")).to_have_count(1)
    expect(editor.locator("polygon.region-shape.is-avoid")).to_have_count(1)
    expect(editor.locator(".region-editor-slices")).to_have_text("Drawn on slices 5 to 8.")

    # Learners' marks, as scoring records them; then the report.
    answered(question, UserFactory(), target=(5, 0.6, 0.55), entry=(5, 0.9, 0.55), hit=True)
    answered(
        question, UserFactory(), target=(5, 0.6, 0.55), entry=(5, 0.15, 0.3), hit=True,
        crossed=["colon"],
    )  # fmt: skip
    answered(question, UserFactory(), target=(12, 0.2, 0.8), entry=(12, 0.5, 0.9), hit=False)
    page.goto(f"/admin/courses/course/{question.module.course.pk}/report/")
    overlay = page.locator(f"#report-overlay-{question.pk}")
    expect(overlay.get_by_role("heading")).to_contain_text("Where learners marked")
    # The key slice: the target is on slices 5 to 8, one ellipse each, so the middle (6).
    key = overlay.get_by_role("img", name=re.compile(r": slice 6 of 30$"))
    expect(key).to_have_attribute("src", stack.image_url("soft-tissue", 5))
    expect(key).to_have_js_property("complete", True)
    expect(overlay.locator(".overlay-mark.is-hit")).to_have_count(2)
    expect(overlay.locator(".overlay-mark.is-miss")).to_have_count(1)
    expect(overlay.locator(".overlay-path.is-wrong")).to_have_count(2)
    expect(overlay.locator(".overlay-region.is-target")).to_have_count(1)
    expect(overlay.locator(".overlay-region.is-avoid")).to_have_count(1)
    # Hits are green and misses red, whatever the theme.
    hit = overlay.locator(".overlay-mark.is-hit .overlay-target").first
    miss = overlay.locator(".overlay-mark.is-miss .overlay-target")
    expect(hit).to_have_css("fill", "rgb(46, 224, 111)")
    expect(miss).to_have_css("stroke", "rgb(255, 59, 48)")
    expect(overlay.get_by_role("row", name="Crossed the colon")).to_contain_text("1")
    expect(overlay.get_by_role("row", name="Right")).to_contain_text("1")
