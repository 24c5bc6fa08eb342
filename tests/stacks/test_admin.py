"""The stack admin: who may use it, the upload form's own checks, progress while processing,
and processing again."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from irlearn.stacks.models import ImageStack
from tests.factories import ContentEditorFactory, ImageStackFactory, SubscriberManagerFactory
from tests.stacks.conftest import ct_zip

pytestmark = pytest.mark.django_db


def form(**fields):
    data = {
        "title": "Obstructed left kidney",
        "slug": "obstructed-left-kidney",
        "modality": "CT",
        "plane": "axial",
        "description": "Axial CT: a dilated left collecting system.",
        "window_keys": ["soft-tissue", "bone"],
    }
    return {**data, **fields}


def test_an_editor_uploads_a_series_and_sees_it_processed(
    client, django_capture_on_commit_callbacks
):
    client.force_login(ContentEditorFactory())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:stacks_imagestack_add"),
            form(source_file=SimpleUploadedFile("series.zip", ct_zip(slices=4))),
            follow=True,
        )
    assert response.status_code == 200
    stack = ImageStack.objects.get()
    assert stack.status == ImageStack.State.READY and stack.slice_count == 4
    page = client.get(reverse("admin:stacks_imagestack_change", args=[stack.pk])).content.decode()
    assert "Learners see 4 slices" in page
    assert "[[stack:obstructed-left-kidney]]" in page


def test_a_file_that_is_neither_zip_nor_dicom_is_refused_by_the_form(client):
    client.force_login(ContentEditorFactory())
    response = client.post(
        reverse("admin:stacks_imagestack_add"),
        form(source_file=SimpleUploadedFile("scan.pdf", b"%PDF-1.7 not an image")),
    )
    assert response.status_code == 200
    assert "neither a zip nor a DICOM file" in response.content.decode()
    assert not ImageStack.objects.exists()


def test_an_upload_over_the_size_limit_is_refused_by_the_form(client, settings):
    settings.STACK_UPLOAD_MAX_BYTES = 1000
    client.force_login(ContentEditorFactory())
    response = client.post(
        reverse("admin:stacks_imagestack_add"),
        form(source_file=SimpleUploadedFile("series.zip", ct_zip(slices=2))),
    )
    assert "an upload can be at most" in response.content.decode()
    assert not ImageStack.objects.exists()


def test_a_new_stack_needs_an_upload(client):
    client.force_login(ContentEditorFactory())
    response = client.post(reverse("admin:stacks_imagestack_add"), form())
    assert response.status_code == 200 and not ImageStack.objects.exists()


def test_the_status_endpoint_reports_progress_to_editors_only(client):
    stack = ImageStackFactory(
        status=ImageStack.State.PROCESSING, progress_done=30, progress_total=120
    )
    url = reverse("admin:stacks_imagestack_status", args=[stack.pk])

    client.force_login(ContentEditorFactory())
    assert client.get(url).json() == {
        "status": "processing", "label": "Processing", "done": 30, "total": 120, "finished": False,
    }  # fmt: skip
    assert client.get(reverse("admin:stacks_imagestack_status", args=["abc"])).status_code == 404

    client.force_login(SubscriberManagerFactory())
    assert client.get(url).status_code == 403


def test_ticking_the_burned_in_box_processes_the_kept_upload(
    client, django_capture_on_commit_callbacks, make_stack
):
    from tests.stacks.test_processing import png_frames_zip

    stack = make_stack(png_frames_zip(count=3), modality="US", plane="oblique")
    assert stack.status == ImageStack.State.FAILED
    client.force_login(ContentEditorFactory())
    change = reverse("admin:stacks_imagestack_change", args=[stack.pk])
    assert "no patient details in the pixels" in client.get(change).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            change,
            form(
                title=stack.title,
                slug=stack.slug,
                modality="US",
                plane="oblique",
                burned_in_checked="on",
                window_keys=[],
            ),  # fmt: skip
        )
    stack.refresh_from_db()
    assert stack.status == ImageStack.State.READY, stack.error
    assert stack.slice_count == 3


def test_process_again_queues_stacks_whose_upload_is_kept(
    client, make_stack, django_capture_on_commit_callbacks
):
    stack = make_stack(ct_zip(slices=3), process=False)
    ImageStack.objects.filter(pk=stack.pk).update(status=ImageStack.State.FAILED, error="boom")
    done = ImageStackFactory()  # processed: its upload is gone
    client.force_login(ContentEditorFactory())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:stacks_imagestack_changelist"),
            {"action": "process_again", "_selected_action": [stack.pk, done.pk]},
            follow=True,
        )
    text = response.content.decode()
    assert "1 stack(s) queued" in text and "1 stack(s) skipped" in text
    stack.refresh_from_db()
    assert stack.status == ImageStack.State.READY


def test_deleting_a_stack_deletes_its_images_and_a_waiting_upload(
    client, make_stack, django_capture_on_commit_callbacks
):
    from tests.stacks.test_interrupted import files_under
    from tests.stacks.test_processing import stored_uploads

    ready = make_stack(ct_zip(slices=3))
    waiting = make_stack(ct_zip(slices=2), process=False)
    assert files_under("stacks") and stored_uploads()
    client.force_login(ContentEditorFactory())
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:stacks_imagestack_delete", args=[ready.pk]), {"post": "yes"})
        client.post(
            reverse("admin:stacks_imagestack_changelist"),
            {"action": "delete_selected", "_selected_action": [waiting.pk], "post": "yes"},
        )
    assert not ImageStack.objects.exists()
    assert files_under("stacks") == [] and stored_uploads() == []
