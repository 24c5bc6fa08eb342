"""Processing a stack's upload into web images: the work of the background task.

Each run writes into a folder of its own (the stack's next ``attempt``). Only when every slice of
every window is stored does one transaction make that folder the stack's images, record the
slices and mark the stack ready; until then learners keep seeing the previous images, if any.
A run that fails marks the stack failed and removes what it wrote; a run that is killed leaves
the stack "processing" with a heartbeat that stops, which the admin shows as stalled, and the
editor processes it again. Either way a stack is never ready with slices missing.
"""

import logging

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from irlearn.stacks import render, windows
from irlearn.stacks.errors import NeedsConfirmation, StackError
from irlearn.stacks.models import ImageStack, StackSlice, upload_storage
from irlearn.stacks.sources import open_source

logger = logging.getLogger(__name__)

MAX_SIDE = {"CT": 512, "MR": 512}
MAX_SIDE_OTHER = 720
HEARTBEAT_EVERY = 5  # slices


class Superseded(Exception):
    """Another run of the same stack started after this one: this one stops."""


def stack_process(stack_id: int) -> str:
    """Process the stack's upload; returns the stack's status."""
    with transaction.atomic():
        stack = ImageStack.objects.select_for_update().filter(pk=stack_id).first()
        if stack is None or not stack.source_file:
            return "gone" if stack is None else stack.status
        stack.attempt = F("attempt") + 1
        stack.status = ImageStack.State.PROCESSING
        stack.heartbeat_at = timezone.now()
        stack.progress_done = stack.progress_total = 0
        stack.error = ""
        stack.save(
            update_fields=[
                "attempt",
                "status",
                "heartbeat_at",
                "progress_done",
                "progress_total",
                "error",
            ]
        )
        stack.refresh_from_db(fields=["attempt"])
    attempt = stack.attempt
    try:
        _run(stack, attempt)
    except Superseded:
        remove_folder(stack.folder(attempt))
        return "superseded"
    except NeedsConfirmation as error:
        _fail(stack, attempt, str(error), keep_upload=True)
    except StackError as error:
        _fail(stack, attempt, str(error), keep_upload=False)
    except Exception:
        logger.exception("Processing image stack %s failed", stack_id)
        _fail(
            stack,
            attempt,
            "Processing stopped on an unexpected error (it has been logged). Choose 'Process "
            "again'; if it fails again, export the series again and upload it anew.",
            keep_upload=True,
        )
    return ImageStack.objects.filter(pk=stack_id).values_list("status", flat=True).first()


def _run(stack: ImageStack, attempt: int) -> None:
    with upload_storage().open(stack.source_file.name, "rb") as upload:
        source = open_source(upload)
        try:
            _render_all(stack, attempt, source)
        finally:
            source.close()


def _render_all(stack, attempt, source) -> None:
    if source.burned_in_risk and not stack.burned_in_checked:
        raise NeedsConfirmation(
            f"{source.burned_in_reason} Look at every frame: if no name, number or date is "
            "written on the images, tick 'no patient details in the pixels' and save to process "
            "it again. If there is, crop or mask it before uploading."
        )
    modality = source.modality if source.modality in ImageStack.Modality.values else stack.modality
    if source.kind == "dicom" and modality in ("CT",):
        keys = [k for k in stack.window_keys if k in windows.PRESETS] or [windows.SOFT_TISSUE.key]
    else:
        keys = [windows.ORIGINAL.key]
    size = render.target_size(source.width, source.height, MAX_SIDE.get(modality, MAX_SIDE_OTHER))
    scale_rows, scale_columns = source.height / size[1], source.width / size[0]
    total = len(source.frames)
    _update(stack, attempt, progress_total=total)

    for index, frame in enumerate(source.frames):
        pixels = frame.read()
        for key in keys:
            display = render.to_display(pixels, windows.get(key), source.original_range)
            default_storage.save(
                stack.image_name(key, index, attempt), ContentFile(render.encode(display, size))
            )
        if (index + 1) % HEARTBEAT_EVERY == 0 or index + 1 == total:
            _update(stack, attempt, progress_done=index + 1, heartbeat_at=timezone.now())

    with transaction.atomic():
        current = ImageStack.objects.select_for_update().get(pk=stack.pk)
        if current.attempt != attempt:
            raise Superseded
        previous = current.generation
        upload = current.source_file.name
        current.slices.all().delete()
        StackSlice.objects.bulk_create(
            StackSlice(stack=current, index=i, position=frame.position)
            for i, frame in enumerate(source.frames)
        )
        current.generation = attempt
        current.status = ImageStack.State.READY
        current.modality = modality
        current.rendered_windows = keys
        current.width, current.height = size
        current.slice_count = total
        current.row_spacing = source.row_spacing and source.row_spacing * scale_rows
        current.column_spacing = source.column_spacing and source.column_spacing * scale_columns
        current.slice_spacing = source.slice_spacing
        current.frame_time_ms = source.frame_time_ms
        current.deidentification_report = source.report
        current.warnings = source.warnings
        current.progress_done = total
        current.processed_at = timezone.now()
        current.source_file = ""
        current.save()
    # Committed: the upload and the images learners saw until now go.
    delete_upload(upload)
    if previous:
        remove_folder(current.folder(previous))


def _update(stack, attempt, **fields) -> None:
    updated = ImageStack.objects.filter(
        pk=stack.pk, attempt=attempt, status=ImageStack.State.PROCESSING
    ).update(**fields)
    if not updated:
        raise Superseded


def _fail(stack, attempt, message: str, *, keep_upload: bool) -> None:
    with transaction.atomic():
        current = ImageStack.objects.select_for_update().filter(pk=stack.pk).first()
        if current is None or current.attempt != attempt:
            return
        upload = current.source_file.name
        current.status = ImageStack.State.FAILED
        current.error = message
        current.heartbeat_at = None
        if not keep_upload:
            current.source_file = ""
        current.save(update_fields=["status", "error", "heartbeat_at", "source_file", "updated_at"])
    if not keep_upload and upload:
        delete_upload(upload)
    remove_folder(stack.folder(attempt))


def delete_upload(name: str) -> None:
    """Delete an upload waiting for processing (it may hold patient data)."""
    storage = upload_storage()
    if name and storage.exists(name):
        storage.delete(name)


def remove_folder(folder: str) -> None:
    """Delete every file under ``folder`` of the default storage, however deep."""
    try:
        directories, files = default_storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        default_storage.delete(f"{folder}/{name}")
    for directory in directories:
        remove_folder(f"{folder}/{directory}")
