"""A processing run that dies part-way (the worker killed, the machine restarted) or fails on an
unexpected error: never "ready" with slices missing, and the editor can process it again."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from freezegun import freeze_time

from irlearn.stacks import processing, render
from irlearn.stacks.models import ImageStack
from tests.stacks.conftest import ct_zip
from tests.stacks.test_processing import stored_uploads


def files_under(folder):
    if not default_storage.exists(folder):
        return []
    directories, files = default_storage.listdir(folder)
    return files + [f for d in directories for f in files_under(f"{folder}/{d}")]


class Killed(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs (not even except Exception)."""


@pytest.fixture
def dies_after(monkeypatch):
    def arm(images, exception=Killed):
        real = render.encode
        calls = {"n": 0}

        def encode(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] > images:
                raise exception("the worker stopped here")
            return real(*args, **kwargs)

        monkeypatch.setattr(render, "encode", encode)
        return lambda: monkeypatch.setattr(render, "encode", real)

    return arm


def test_a_killed_run_is_never_ready_and_shows_as_stalled_then_processes_again(
    make_stack, dies_after
):
    stack = make_stack(ct_zip(slices=8), process=False)
    disarm = dies_after(images=7)
    with pytest.raises(Killed):
        processing.stack_process(stack.pk)
    stack.refresh_from_db()

    assert stack.status == ImageStack.State.PROCESSING
    assert not stack.is_showable and stack.slices.count() == 0
    assert stored_uploads(), "the upload stays, to process again"
    assert not stack.stalled
    with freeze_time(timezone.now() + timedelta(minutes=6)):
        assert ImageStack.objects.get(pk=stack.pk).stalled

    disarm()
    processing.stack_process(stack.pk)
    stack.refresh_from_db()
    assert stack.status == ImageStack.State.READY
    assert stack.slices.count() == 8
    assert all(default_storage.exists(stack.image_name("bone", i)) for i in range(8))


def test_an_unexpected_error_fails_the_run_keeps_the_upload_and_removes_its_images(
    make_stack, dies_after
):
    stack = make_stack(ct_zip(slices=4), process=False)
    disarm = dies_after(images=3, exception=MemoryError)
    processing.stack_process(stack.pk)
    stack.refresh_from_db()

    assert stack.status == ImageStack.State.FAILED
    assert "unexpected error" in stack.error
    assert files_under(stack.folder(stack.attempt)) == []
    assert stored_uploads()

    disarm()
    processing.stack_process(stack.pk)
    stack.refresh_from_db()
    assert stack.status == ImageStack.State.READY and stack.slice_count == 4


def test_a_run_superseded_by_a_newer_one_stops_and_leaves_the_newer_ones_images(
    make_stack, monkeypatch
):
    stack = make_stack(ct_zip(slices=4), process=False)
    real = render.encode
    started = {"n": 0}

    def encode(*args, **kwargs):
        started["n"] += 1
        if started["n"] == 2:
            # Meanwhile an editor starts it again and another worker takes the new run.
            monkeypatch.setattr(render, "encode", real)
            assert processing.stack_process(stack.pk) == ImageStack.State.READY
        return real(*args, **kwargs)

    monkeypatch.setattr(render, "encode", encode)
    assert processing.stack_process(stack.pk) == "superseded"
    stack.refresh_from_db()
    assert stack.status == ImageStack.State.READY and stack.generation == 2
    assert files_under(stack.folder(1)) == []
