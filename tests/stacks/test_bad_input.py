"""Uploads that cannot become a stack: a clear message for the editor, nothing half-saved, the
upload deleted (it may hold patient data), and a stack that was ready stays as it was."""

import io
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGLSLossless, generate_uid

from irlearn.stacks import processing, synthetic
from irlearn.stacks.models import ImageStack, StackSlice
from tests.stacks.conftest import ct_zip, volume
from tests.stacks.test_interrupted import files_under
from tests.stacks.test_processing import stored_uploads


def zip_with(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def dicom_files(count=3, **options) -> list[bytes]:
    return [synthetic.to_bytes(ds) for ds in synthetic.ct_series(volume(count, 16), **options)]


def two_series() -> bytes:
    first = dicom_files(3, series_number=3)
    second = dicom_files(2, series_number=4)
    return zip_with({f"{n}.dcm": data for n, data in enumerate(first + second)})


def sizes_mismatched() -> bytes:
    series = generate_uid()
    small = dicom_files(2, series_uid=series)
    large = [synthetic.to_bytes(ds) for ds in synthetic.ct_series(volume(1, 24), series_uid=series)]
    return zip_with({f"{n}.dcm": data for n, data in enumerate(small + large)})


def one_corrupted() -> bytes:
    files = dicom_files(3)
    files[1] = files[1][:400]  # cut off inside the header
    return zip_with({f"{n}.dcm": data for n, data in enumerate(files)})


def pixel_data_cut_short() -> bytes:
    files = dicom_files(3)
    files[2] = files[2][:-300]
    return zip_with({f"{n}.dcm": data for n, data in enumerate(files)})


def no_geometry() -> bytes:
    files = dicom_files(3, with_geometry=False)
    return zip_with({f"{n}.dcm": data for n, data in enumerate(files)})


def not_dicom_inside() -> bytes:
    files = dicom_files(2)
    return zip_with({"a.dcm": files[0], "b.dcm": files[1], "notes.txt": b"Ward 3, bed 12"})


def compressed_as_jpeg_ls() -> bytes:
    datasets = list(synthetic.ct_series(volume(2, 16)))
    for ds in datasets:
        ds.file_meta.TransferSyntaxUID = JPEGLSLossless
        ds.PixelData = encapsulate([b"\xff\xd8" + b"\0" * 64])  # never decoded
    files = []
    for ds in datasets:
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=False)
        files.append(out.getvalue())
    return zip_with({f"{n}.dcm": data for n, data in enumerate(files)})


def zip_bomb() -> bytes:
    return zip_with({"a.dcm": b"\0" * (50 * 1024**2)})


def path_traversal() -> bytes:
    return zip_with({"../../etc/evil.dcm": dicom_files(1)[0]})


def thousands_of_files() -> bytes:
    return zip_with({f"{n}.dcm": b"x" for n in range(2001)}, compression=zipfile.ZIP_STORED)


def images_and_dicom() -> bytes:
    return zip_with({"a.dcm": dicom_files(1)[0], "b.png": b"\x89PNG\r\n\x1a\n"})


def mixed_image_sizes() -> bytes:
    from PIL import Image

    def png(size):
        data = io.BytesIO()
        Image.new("L", size).save(data, format="PNG")
        return data.getvalue()

    return zip_with({"1.png": png((20, 20)), "2.png": png((30, 20))})


BAD_UPLOADS = {
    "two series": (two_series, "mixes 2 series: series 3 (3 files), series 4 (2 files)"),
    "slice sizes differ": (sizes_mismatched, "not all the same size"),
    "a damaged file": (one_corrupted, "File 2 in the zip could not be read as DICOM"),
    "pixel data cut short": (pixel_data_cut_short, "could not be decoded"),
    "no geometry": (no_geometry, "no position in the body"),
    "a file that is not DICOM": (not_dicom_inside, "1 of the 3 files in this zip are not DICOM"),
    "an unsupported compression": (compressed_as_jpeg_ls, "IRLearn cannot decode"),
    "a zip bomb": (zip_bomb, "zip bomb"),
    "path traversal": (path_traversal, "leads outside the zip"),
    "thousands of files": (thousands_of_files, "at most 2,000"),
    "images and DICOM together": (images_and_dicom, "mixes PNG/JPEG images with other files"),
    "frames of different sizes": (mixed_image_sizes, "not all the same size"),
    "not a zip or DICOM": (lambda: b"PK\x03\x04 but not really a zip", "neither a zip nor a DICOM"),
}


@pytest.mark.parametrize("case", BAD_UPLOADS, ids=list(BAD_UPLOADS))
def test_a_bad_upload_fails_with_a_clear_message_and_leaves_nothing_behind(make_stack, case):
    build, message = BAD_UPLOADS[case]
    stack = make_stack(build(), burned_in_checked=True)

    assert stack.status == ImageStack.State.FAILED
    assert message in stack.error
    assert not StackSlice.objects.exists()
    assert stack.generation == 0 and not stack.is_showable
    assert stored_uploads() == []
    assert files_under("stacks") == []


@pytest.mark.parametrize("case", ["two series", "pixel data cut short"])
def test_a_bad_upload_to_a_ready_stack_leaves_learners_the_old_images(make_stack, case):
    stack = make_stack(ct_zip(slices=4))
    first_image = stack.image_name("bone", 0)
    stack.source_file.save("bad.zip", ContentFile(BAD_UPLOADS[case][0]()), save=True)
    processing.stack_process(stack.pk)
    stack.refresh_from_db()

    assert stack.status == ImageStack.State.FAILED
    assert stack.is_showable and stack.slice_count == 4 and stack.slices.count() == 4
    assert default_storage.exists(first_image)
