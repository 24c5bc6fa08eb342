"""Processing an upload into a stack: order, units, windows, geometry, and the upload deleted.

Bad input is test_bad_input.py; de-identification is test_deidentification.py.
"""

import io
import zipfile

import numpy as np
import pytest
from django.core.files.storage import default_storage
from PIL import Image

from irlearn.stacks import synthetic
from irlearn.stacks.models import ImageStack, upload_storage
from tests.stacks.conftest import ct_zip


def rendered(stack, window, index):
    with default_storage.open(stack.image_name(window, index)) as image_file:
        return np.asarray(Image.open(image_file).convert("L"), dtype=np.int16)


def stored_uploads():
    storage = upload_storage()
    try:
        return storage.listdir("incoming")[1]
    except FileNotFoundError:
        return []


def test_a_shuffled_ct_series_becomes_a_stack_in_body_order_with_its_geometry(make_stack):
    stack = make_stack(ct_zip(slices=6, size=32, pixel_spacing=0.8, slice_spacing=2.5))

    assert stack.status == ImageStack.State.READY, stack.error
    assert stack.slice_count == 6
    assert stack.rendered_windows == ["soft-tissue", "bone"]
    assert (stack.width, stack.height) == (32, 32)
    assert stack.row_spacing == pytest.approx(0.8) and stack.column_spacing == pytest.approx(0.8)
    assert stack.slice_spacing == pytest.approx(2.5)
    positions = list(stack.slices.values_list("position", flat=True))
    assert positions == pytest.approx([0, 2.5, 5, 7.5, 10, 12.5])
    # The files were shuffled in the zip: the marker square says which slice each image is
    # (its value grows with the scanner's instance number, which counts from the head down).
    # Axial stacks read from the head down, as radiologists scroll them.
    markers = [rendered(stack, "bone", i)[5:7, 5:7].mean() for i in range(6)]
    assert markers == sorted(markers)


def test_the_rescale_puts_values_in_hounsfield_units_before_windowing(make_stack):
    # Soft tissue (W 400, L 40): 40 HU is mid-grey. Stored values are HU + 1024.
    stack = make_stack(ct_zip(slices=2, size=32))
    assert abs(rendered(stack, "soft-tissue", 0)[12:28, 12:28].mean() - 128) <= 2


def test_signed_16_bit_pixel_data_reads_as_the_same_hounsfield_units(make_stack):
    stack = make_stack(ct_zip(slices=2, size=32, signed=True))
    assert stack.status == ImageStack.State.READY, stack.error
    assert abs(rendered(stack, "soft-tissue", 0)[12:28, 12:28].mean() - 128) <= 2


def test_large_slices_are_rendered_at_a_web_size_and_the_spacing_follows(make_stack):
    stack = make_stack(ct_zip(slices=2, size=1024, pixel_spacing=0.4))
    assert (stack.width, stack.height) == (512, 512)
    assert stack.row_spacing == pytest.approx(0.8)


def test_the_upload_is_deleted_once_processed(make_stack):
    make_stack(ct_zip(slices=2))
    assert stored_uploads() == []


def test_processing_again_replaces_the_images_and_removes_the_old_ones(make_stack):
    from django.core.files.base import ContentFile

    from irlearn.stacks import processing

    stack = make_stack(ct_zip(slices=3))
    old_first = stack.image_name("bone", 0)
    stack.source_file.save("again.zip", ContentFile(ct_zip(slices=5)), save=True)
    processing.stack_process(stack.pk)
    stack.refresh_from_db()

    assert stack.slice_count == 5 and stack.generation == 2
    assert not default_storage.exists(old_first)
    assert default_storage.exists(stack.image_name("bone", 4))


def test_an_ultrasound_cine_is_one_window_with_its_frame_rate_and_spacing(make_stack):
    frames = [np.full((60, 80), 20 + 3 * i, dtype=np.uint8) for i in range(12)]
    data = synthetic.to_bytes(
        synthetic.ultrasound_cine(frames, frame_time_ms=50, pixel_spacing_mm=0.3)
    )
    stack = make_stack(data, name="cine.dcm", modality="US", plane="oblique")

    assert stack.status == ImageStack.State.READY, stack.error
    assert stack.rendered_windows == ["original"]
    assert stack.slice_count == 12 and stack.frame_time_ms == 50
    assert stack.row_spacing == pytest.approx(0.3)
    assert list(stack.slices.values_list("position", flat=True)) == [None] * 12
    # 8-bit ultrasound greys are shown as they are.
    assert abs(rendered(stack, "original", 11)[30, 40] - (20 + 33)) <= 2


def png_frames_zip(count=11, size=(40, 30)) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for number in range(1, count + 1):
            image = Image.new("L", size, color=10 * number)
            data = io.BytesIO()
            image.save(data, format="PNG")
            # Named without leading zeros: frame10 must come after frame9, not after frame1.
            archive.writestr(f"frames/frame{number}.png", data.getvalue())
    return out.getvalue()


def test_png_frames_need_the_burned_in_tick_then_become_a_cine_in_name_order(make_stack):
    stack = make_stack(png_frames_zip(), modality="US", plane="oblique")
    assert stack.status == ImageStack.State.FAILED
    assert "no patient details in the pixels" in stack.error
    assert stored_uploads(), "the upload is kept until the editor confirms"

    from irlearn.stacks import processing

    ImageStack.objects.filter(pk=stack.pk).update(burned_in_checked=True)
    processing.stack_process(stack.pk)
    stack.refresh_from_db()

    assert stack.status == ImageStack.State.READY, stack.error
    assert stack.slice_count == 11
    greys = [rendered(stack, "original", i)[10, 10] for i in range(11)]
    assert greys == pytest.approx([10 * n for n in range(1, 12)], abs=2)
    assert stack.row_spacing is None  # PNG frames carry no spacing: no measuring
