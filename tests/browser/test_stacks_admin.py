"""An editor makes image stacks in the admin: a DICOM series carrying patient identifiers comes
back de-identified and processed, with its report; a set of PNG frames becomes an ultrasound cine
once the editor has confirmed that no patient details are burned into them."""

import io
import re
import zipfile

from PIL import Image
from playwright.sync_api import expect

from irlearn.stacks import synthetic
from irlearn.stacks.models import ImageStack
from tests.factories import ContentEditorFactory
from tests.stacks.conftest import volume
from tests.stacks.test_deidentification import IDENTIFIERS, PATIENT


def png_frames(count=11) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for number in range(1, count + 1):
            frame = Image.new("L", (64, 48), color=8 * number)
            data = io.BytesIO()
            frame.save(data, format="PNG")
            archive.writestr(f"gallbladder/frame{number}.png", data.getvalue())
    return out.getvalue()


def save_and_continue(page):
    """Save, and let the stack's page load before anything (the automatic axe-core check
    included) looks at it: processing runs within the request, so the page comes slowly."""
    with page.expect_navigation(url=re.compile(r"/admin/stacks/imagestack/\d+/change/$")):
        page.get_by_role("button", name="Save and continue editing").click()
    page.wait_for_load_state("load")


def fill_stack_form(page, *, title, modality, plane, description):
    page.get_by_label("Title").fill(title)  # the admin makes the slug from it
    page.get_by_label("Modality").select_option(label=modality)
    page.get_by_label("Plane").select_option(label=plane)
    page.get_by_label("Description").fill(description)


def test_an_editor_uploads_a_dicom_series_and_gets_a_deidentified_stack(page, log_in):
    log_in(ContentEditorFactory())
    page.goto("/admin/stacks/imagestack/add/")
    fill_stack_form(
        page,
        title="Obstructed left kidney",
        modality="CT",
        plane="Axial",
        description="Axial CT of the abdomen: a dilated left collecting system.",
    )
    page.get_by_label("Bone (W 1800, L 400)").check()
    series = synthetic.zip_of(synthetic.ct_series(volume(8, 64), patient=PATIENT))
    page.get_by_label("Upload").set_input_files(
        files=[{"name": "Featherstonehaugh.zip", "mimeType": "application/zip", "buffer": series}]
    )
    save_and_continue(page)

    expect(page.get_by_text("Learners see 8 slices")).to_be_visible()
    report = page.locator(".field-report")
    expect(report).to_contain_text("Patient's Name: replaced (8 of 8 files)")
    expect(report).to_contain_text("Patient's Birth Date: replaced")
    expect(report).to_contain_text("Accession Number: replaced")
    expect(report).to_contain_text("Institution Name: replaced")
    expect(page.get_by_role("img", name="First slice of Obstructed left kidney")).to_be_visible()
    expect(page.get_by_text("[[stack:obstructed-left-kidney]]")).to_be_visible()
    html = page.content()
    assert not [value for value in IDENTIFIERS if value in html]
    stack = ImageStack.objects.get()
    assert stack.rendered_windows == ["soft-tissue", "bone"]


def test_an_editor_turns_png_frames_into_an_ultrasound_cine_after_confirming_no_burned_in_text(
    page, log_in
):
    log_in(ContentEditorFactory())
    page.goto("/admin/stacks/imagestack/add/")
    fill_stack_form(
        page,
        title="Distended gallbladder",
        modality="Ultrasound",
        plane="Oblique or free-hand (ultrasound)",
        description="Ultrasound sweep through a distended, thin-walled gallbladder.",
    )
    page.get_by_label("Upload").set_input_files(
        files=[{"name": "frames.zip", "mimeType": "application/zip", "buffer": png_frames()}]
    )
    save_and_continue(page)

    expect(page.locator(".field-processing")).to_contain_text("Failed")
    expect(page.locator(".field-processing")).to_contain_text(
        "tick 'no patient details in the pixels'"
    )
    page.get_by_label("No patient details in the pixels").check()
    save_and_continue(page)

    expect(page.get_by_text("Learners see 11 slices")).to_be_visible()
    expect(page.locator(".field-processing")).to_contain_text("windows: As acquired")
    stack = ImageStack.objects.get()
    assert stack.status == ImageStack.State.READY and stack.modality == "US"


def test_the_stack_page_follows_a_background_run_and_shows_the_result_when_it_ends(page, log_in):
    from tests.stacks.conftest import ct_zip

    log_in(ContentEditorFactory())
    stack = ImageStack(title="Being processed", slug="being-processed", description="A series.")
    stack.save()
    ImageStack.objects.filter(pk=stack.pk).update(
        status=ImageStack.State.PROCESSING, progress_done=3, progress_total=8
    )
    page.goto(f"/admin/stacks/imagestack/{stack.pk}/change/")
    expect(page.locator(".field-processing")).to_contain_text("3 of 8")

    # Meanwhile the task worker gets on with it, then finishes.
    ImageStack.objects.filter(pk=stack.pk).update(progress_done=6)
    expect(page.locator(".field-processing")).to_contain_text("6 of 8", timeout=10_000)
    from django.core.files.base import ContentFile

    from irlearn.stacks.processing import stack_process

    stack.source_file.save("series.zip", ContentFile(ct_zip(slices=8)), save=True)
    stack_process(stack.pk)
    expect(page.get_by_text("Learners see 8 slices")).to_be_visible(timeout=10_000)
