"""Production check of issue 13 in Chromium: learner scrolls the nephrostomy stack and a demo
lesson by keyboard, wheel and touch, switches windows; axe on each page (see README.md here)."""

import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from playwright.sync_api import expect, sync_playwright

BASE = "http://127.0.0.1:8765"
AXE = Path("node_modules/axe-core/axe.min.js").read_text()


def axe(page, label):
    page.evaluate(AXE)
    result = page.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a','wcag2aa','wcag21a','wcag21aa','best-practice']}})).violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"""
    )
    print(f"axe {label}: {len(result)} violations", result)


def pos(v):
    return re.search(r"(Slice|Frame) [0-9]+ of [0-9]+", v.inner_text()).group(0)


def counter(page):
    return (
        page.locator(".stack-viewer")
        .first.locator("[class*=position], .stack-position, output")
        .first.inner_text()
    )


with sync_playwright() as p:
    browser = p.chromium.launch(
        executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox", "--disable-gpu"]
    )
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    # Anonymous: the nephrostomy page.
    page.goto(BASE + "/procedures/nephrostomy/")
    viewer = page.locator(".stack-viewer").first
    expect(viewer).to_be_visible()
    print(
        "nephrostomy viewer title:",
        viewer.locator(".stack-title, figcaption").first.inner_text()[:80],
    )
    page.wait_for_load_state("load")
    viewport = viewer.locator("[tabindex='0']").first
    viewport.focus()
    img = viewer.locator("img").first
    src0 = img.get_attribute("src")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("PageDown")
    time.sleep(0.3)
    print("after keys:", pos(viewer), "| src changed:", img.get_attribute("src") != src0)
    page.keyboard.press("End")
    time.sleep(0.2)
    print("after End:", pos(viewer))
    page.keyboard.press("Home")
    time.sleep(0.2)
    box = img.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(5):
        page.mouse.wheel(0, 120)
        time.sleep(0.05)
    time.sleep(0.3)
    print("after 5 wheel notches:", pos(viewer))
    buttons = viewer.locator("button[aria-pressed]")
    print("window buttons:", buttons.all_inner_texts())
    if buttons.count() > 1:
        buttons.nth(1).click()
        time.sleep(0.3)
        print("switched window; src:", img.get_attribute("src").split("/")[-2:])
    viewer.screenshot(path="/tmp/nephrostomy-viewer.png")
    axe(page, "nephrostomy page")
    print("console errors:", errors)
    # Touch: a phone.
    phone = browser.new_context(
        viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True
    )
    tpage = phone.new_page()
    tpage.goto(BASE + "/procedures/nephrostomy/")
    tpage.wait_for_load_state("load")
    tv = tpage.locator(".stack-viewer").first
    timg = tv.locator("img").first
    timg.scroll_into_view_if_needed()
    b = timg.bounding_box()
    cdp = phone.new_cdp_session(tpage)
    x, y = b["x"] + b["width"] / 2, b["y"] + b["height"] * 0.3
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for step in range(1, 16):
        cdp.send(
            "Input.dispatchTouchEvent",
            {"type": "touchMove", "touchPoints": [{"x": x, "y": y + step * 8}]},
        )
        time.sleep(0.02)
    time.sleep(0.2)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    time.sleep(0.3)
    print("after touch drag:", pos(tv))
    width = tpage.evaluate("document.documentElement.scrollWidth")
    print("phone scrollWidth:", width)
    tpage.screenshot(path="/tmp/phone.png", full_page=False)
    # Learner: log in and open a demo lesson with a stack.
    page.goto(BASE + "/accounts/login/")
    page.locator("#id_login").fill("learner@prod.example")
    page.locator("#id_password").fill("a-long-test-passphrase-42")
    page.locator("#id_password").press("Enter")
    page.wait_for_load_state("load")
    print("after login:", page.url)
    page.goto(BASE + "/learn/ultrasound-and-ct/")
    print("course page:", page.title())
    enrol = page.get_by_role("button", name="Enrol")
    if enrol.count():
        enrol.first.click()
        page.wait_for_load_state("load")
    href = "/learn/ultrasound-and-ct/planning-from-images/planning-a-nephrostomy/"
    page.goto(BASE + href)
    page.wait_for_load_state("load")
    print("lesson url:", page.url, page.title())
    lv = page.locator(".stack-viewer").first
    expect(lv).to_be_visible()
    lv.locator("[tabindex='0']").first.focus()
    page.keyboard.press("PageDown")
    page.keyboard.press("PageDown")
    time.sleep(0.3)
    print("lesson", href, "after 2 PageDown:", pos(lv))
    time.sleep(2)
    print(
        "progress hidden:",
        lv.locator("progress").first.is_hidden()
        if lv.locator("progress").count()
        else "no progress element",
    )
    axe(page, "lesson")
    browser.close()
