"""Production check of issue 15 in Chromium: the main pages at 320, 390 and 1280 px, as a
visitor and as a learner with a finished course. For each page it prints the width the page
needs (it must not exceed the window's) and axe-core's violations, and saves a full-page
screenshot to /tmp/irlearn-shots/ (see README.md here; the learner needs a finished course:
docs/checks/finish_course.py)."""

import os
import re
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = os.environ.get("BASE", "http://127.0.0.1:8765")
LEARNER = os.environ.get("LEARNER", "learner@prod.example")
PASSWORD = os.environ.get("PASSWORD", "a-long-test-passphrase-42")
OUT = Path("/tmp/irlearn-shots")
AXE = Path("node_modules/axe-core/axe.min.js").read_text()
AXE_RUN = """async () => (await axe.run(document, {runOnly: {type: 'tag', values:
  ['wcag2a','wcag2aa','wcag21a','wcag21aa','best-practice']}})).violations.map(
  v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"""
WIDTHS = [320, 390, 1280]
PUBLIC = [
    ("home", "/"),
    ("procedure-list", "/procedures/"),
    ("procedure", "/procedures/nephrostomy/"),
    ("catalogue", "/learn/"),
    ("certificate-form", "/learn/certificates/"),
    ("certificate-not-found", "/learn/certificates/AAAA-BBBB-CCCC/"),
]
LEARNING = [
    ("course", "/learn/ir-bites/"),
    ("lesson", "/learn/ir-bites/gastrointestinal/gastrostomy-and-why-rig/"),
    ("dashboard", "/learn/my/"),
    ("course-complete", "/learn/my/radiology-basics/complete/"),
]


def check(page, name, width, problems):
    page.wait_for_load_state("load")
    needed = page.evaluate("document.documentElement.scrollWidth")
    page.evaluate(AXE)
    violations = page.evaluate(AXE_RUN)
    page.screenshot(path=OUT / f"{name}-{width}.png", full_page=True)
    status = "ok" if needed <= width and not violations else "PROBLEM"
    print(f"{width:>4} {name:<22} {status}: width {needed}, axe {violations or 'none'}")
    if status != "ok":
        problems.append((width, name))


def main():
    OUT.mkdir(exist_ok=True)
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu"],
        )
        for width in WIDTHS:
            page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
            for name, path in PUBLIC:
                page.goto(BASE + path)
                check(page, name, width, problems)
            code = None
            page.goto(BASE + "/accounts/login/")
            page.fill("input[name=login]", LEARNER)
            page.fill("input[name=password]", PASSWORD)
            page.locator("main button[type=submit]").click()
            page.wait_for_load_state("load")
            for name, path in LEARNING:
                page.goto(BASE + path)
                check(page, name, width, problems)
                if name == "course-complete":
                    code = re.search(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", page.content())
            if code:
                page.goto(f"{BASE}/learn/certificates/{code.group(0)}/")
                check(page, "certificate", width, problems)
            # A question and its feedback: the first module's questions, first option.
            page.goto(BASE + "/learn/ir-bites/gastrointestinal/questions/")
            page.locator("main form button[type=submit]").first.click()
            page.wait_for_load_state("load")
            check(page, "question", width, problems)
            page.locator("main input[type=radio]").first.check()
            page.locator("main form button[type=submit]").first.click()
            check(page, "feedback", width, problems)
            page.context.close()
        browser.close()
    print("problems:", problems or "none")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
