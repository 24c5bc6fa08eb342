"""Issue 13 under production settings: an editor uploads a DICOM zip carrying patient identifiers
and a zip of PNG frames through the admin, with the real task worker (see README.md here)."""

import io
import sys
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "irlearn.settings")
import django

django.setup()
from PIL import Image
from playwright.sync_api import sync_playwright

from irlearn.stacks import synthetic
from tests.stacks.conftest import volume
from tests.stacks.test_deidentification import IDENTIFIERS, PATIENT

BASE = "http://127.0.0.1:8765"
AXE = Path("node_modules/axe-core/axe.min.js").read_text()


def axe(page, label):
    page.evaluate(AXE)
    result = page.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a','wcag2aa','wcag21a','wcag21aa','best-practice']}})).violations.map(v => v.id)"""
    )
    print(f"axe {label}: {result}")


series = synthetic.zip_of(synthetic.ct_series(volume(40, 128), patient=PATIENT))
frames = io.BytesIO()
with zipfile.ZipFile(frames, "w") as z:
    for n in range(1, 25):
        b = io.BytesIO()
        Image.new("L", (96, 72), color=6 * n).save(b, format="PNG")
        z.writestr(f"frame{n}.png", b.getvalue())

with sync_playwright() as p:
    browser = p.chromium.launch(
        executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox", "--disable-gpu"]
    )
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(BASE + "/admin/login/")
    page.locator("#id_username").fill("editor@prod.example")
    page.locator("#id_password").fill("a-long-test-passphrase-42")
    page.locator("#id_password").press("Enter")
    page.wait_for_load_state("load")
    for title, modality, plane, data, name in [
        ("Prod check CT", "CT", "Axial", series, "Featherstonehaugh.zip"),
        (
            "Prod check cine",
            "Ultrasound",
            "Oblique or free-hand (ultrasound)",
            frames.getvalue(),
            "frames.zip",
        ),
    ]:
        page.goto(BASE + "/admin/stacks/imagestack/add/")
        axe(page, "add page")
        page.get_by_label("Title").fill(title)
        page.get_by_label("Modality").select_option(label=modality)
        page.get_by_label("Plane").select_option(label=plane)
        page.get_by_label("Description").fill(f"{title}: a test upload.")
        page.get_by_label("Upload").set_input_files(
            files=[{"name": name, "mimeType": "application/zip", "buffer": data}]
        )
        page.get_by_role("button", name="Save and continue editing").click()
        page.wait_for_load_state("load")
        print(
            title,
            "after save:",
            page.locator(".field-processing").inner_text()[:120].replace("\n", " "),
        )
        # The page follows the background run and reloads when it ends.
        for _ in range(60):
            text = page.locator(".field-processing").inner_text()
            if "Learners see" in text or "Failed" in text:
                break
            time.sleep(1)
        print(title, "->", page.locator(".field-processing").inner_text()[:300].replace("\n", " "))
        if "Failed" in text and modality == "Ultrasound":
            page.get_by_label("No patient details in the pixels").check()
            page.get_by_role("button", name="Save and continue editing").click()
            for _ in range(60):
                page.wait_for_load_state("load")
                text = page.locator(".field-processing").inner_text()
                if "Learners see" in text:
                    break
                time.sleep(1)
            print(title, "after tick ->", text[:200].replace("\n", " "))
        if modality == "CT":
            print("report:", page.locator(".field-report").inner_text()[:400].replace("\n", " | "))
            html = page.content()
            print("identifiers in page:", [v for v in IDENTIFIERS if v in html])
        axe(page, f"{title} change page")
        page.screenshot(path=f"/tmp/{title.replace(' ', '-')}.png", full_page=True)
    browser.close()
