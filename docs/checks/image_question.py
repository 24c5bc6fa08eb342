"""Issue 14 under production settings: a learner plans the demo nephrostomy route from the flank,
through the colon, with the mouse, and reads why it is wrong (see README.md here)."""

import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "irlearn.settings")
import django

django.setup()
from playwright.sync_api import expect, sync_playwright

from courses.models import Attempt, Question
from tests.stacks.test_phantom_questions import centre_of, entry_on_the_skin

BASE = "http://127.0.0.1:8765"
AXE = Path("node_modules/axe-core/axe.min.js").read_text()


def axe(page, label):
    page.evaluate(AXE)
    found = page.evaluate(
        "async () => (await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})).violations.map(v => v.id)"
    )
    print(f"axe {label}: {found}")


question = Question.objects.select_related("module__course").get(
    kind="route", stem_stack__slug="nephrostomy-ct"
)
module = question.module
calyx = centre_of(question.regions.get(role="target").shapes)
flank = entry_on_the_skin("nephrostomy-ct", calyx, (1, 0))
print("calyx", calyx, "flank entry", flank)

with sync_playwright() as p:
    browser = p.chromium.launch(
        executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox", "--disable-gpu"]
    )
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(BASE + "/accounts/login/")
    page.locator("#id_login").fill(os.environ.get("LEARNER", "learner@prod.example"))
    page.locator("#id_password").fill("a-long-test-passphrase-42")
    page.locator("#id_password").press("Enter")
    page.wait_for_load_state("load")
    page.goto(f"{BASE}/learn/{module.course.slug}/")
    enrol = page.get_by_role("button", name=re.compile("^Enrol"))
    if enrol.count():
        enrol.first.click()
        page.wait_for_load_state("load")
    page.goto(f"{BASE}/learn/{module.course.slug}/{module.slug}/questions/")
    axe(page, "questions page")
    print(page.locator("main p").first.inner_text()[:160])
    page.get_by_role("button", name=re.compile("Start the questions|Continue")).click()
    page.wait_for_load_state("load")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # a read beside Playwright's loop
    attempt = Attempt.objects.filter(module=module).latest("pk")
    number = attempt.question_ids.index(question.pk) + 1
    page.goto(f"{BASE}/learn/attempts/{attempt.pk}/{number}/")
    page.wait_for_load_state("load")
    viewer = page.locator(".stack-viewer").first
    viewer.get_by_role("slider", name="Slice").fill(str(calyx["slice"] + 1))
    print("viewer at:", viewer.locator(".stack-counter").inner_text())
    image = viewer.get_by_role("img", name=re.compile(r": slice \d+ of \d+"))
    for mark in (flank, calyx):
        # Measured before each click: placing a mark can scroll the page.
        image.scroll_into_view_if_needed()
        box = image.bounding_box()
        page.mouse.click(box["x"] + mark["x"] * box["width"], box["y"] + mark["y"] * box["height"])
    print("marks:", page.locator("[data-mark-summary]").inner_text().replace("\n", " "))
    axe(page, "route question, marked")
    page.get_by_role("button", name="Check my answer").click()
    page.wait_for_load_state("load")
    verdict = page.get_by_role("status").first.inner_text()
    print("verdict:", verdict.replace("\n", " ")[:200])
    expect(page.locator("figure.mark-overlay").first).to_be_visible()
    print("overlays:", page.locator("figure.mark-overlay").count())
    page.screenshot(path="/tmp/route-feedback.png", full_page=True)
    axe(page, "feedback")
    browser.close()
