"""Image stacks: CT slices or ultrasound cine frames a learner scrolls through.

An editor uploads a DICOM series (a zip of files, or one multi-frame file) or a zip of PNG/JPEG
frames. A background task (tasks.py, processing.py) de-identifies and reads it, renders one web
image per slice for each display window the editor chose, keeps the geometry needed to measure,
and deletes the upload. Only the rendered images and the numbers below are kept: no DICOM header,
no original file.

Rendered images live in the default storage under ``stacks/<key>/<generation>/<window>/``. The
key is random, so a stack not yet placed in published content cannot be found by counting; the
generation grows each time a stack is processed again, so its images can be cached for good.
"""

import uuid

from django.conf import settings
from django.core.files.storage import default_storage, storages
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import LazyObject, cached_property, empty

from irlearn.stacks import windows as display_windows

UPLOADS_STORAGE = "stack_uploads"
IMAGE_FORMAT = "webp"


class _UploadStorage(LazyObject):
    """``storages["stack_uploads"]``, looked up when first used rather than when the model
    class is built (as a FileField's storage callable is), so it follows STORAGES overrides."""

    def _setup(self):
        self._wrapped = storages[UPLOADS_STORAGE]


_upload_storage = _UploadStorage()


@receiver(setting_changed)
def _storages_changed(*, setting, **kwargs):
    if setting == "STORAGES":
        _upload_storage._wrapped = empty


def upload_storage():
    """Where uploads wait for processing: never served, emptied as they are processed."""
    return _upload_storage


def upload_name(instance, filename):
    # A random name: an uploaded file is often named after the patient.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    extension = extension if extension in ("zip", "dcm") else "bin"
    return f"incoming/{uuid.uuid4().hex}.{extension}"


class ImageStackQuerySet(models.QuerySet):
    def showable(self):
        """Stacks with a complete set of images for learners (perhaps an older set while a
        new upload is processed)."""
        return self.filter(generation__gt=0)


class ImageStack(models.Model):
    class Modality(models.TextChoices):
        CT = "CT", "CT"
        US = "US", "Ultrasound"
        MR = "MR", "MRI"
        XR = "XR", "Radiograph or fluoroscopy"

    class Plane(models.TextChoices):
        AXIAL = "axial", "Axial"
        CORONAL = "coronal", "Coronal"
        SAGITTAL = "sagittal", "Sagittal"
        OBLIQUE = "oblique", "Oblique or free-hand (ultrasound)"

    class State(models.TextChoices):
        QUEUED = "queued", "Waiting to be processed"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    title = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=200,
        unique=True,
        help_text="Place the stack in a lesson with [[stack:this-slug]] on a line of its own.",
    )
    modality = models.CharField(max_length=2, choices=Modality, default=Modality.CT)
    plane = models.CharField(max_length=10, choices=Plane, default=Plane.AXIAL)
    description = models.TextField(
        help_text="What the images show, for people who cannot see them: the anatomy, the "
        "finding, and where in the stack it is (for example 'slices 30 to 45')."
    )
    credit = models.CharField(
        max_length=300, blank=True, help_text="Who made or gave the images, as it should be shown."
    )
    source = models.CharField(
        max_length=300, blank=True, help_text="Where the images come from (a link or a citation)."
    )
    is_synthetic = models.BooleanField(
        "synthetic phantom",
        default=False,
        help_text="Computer-generated, not a patient: learners see the label 'Synthetic phantom'.",
    )

    source_file = models.FileField(
        "upload",
        storage=upload_storage,
        upload_to=upload_name,
        blank=True,
        max_length=200,
        help_text="A zip of DICOM files (one series), one multi-frame DICOM file, or a zip of "
        "PNG/JPEG frames named in order. It is deleted once processed.",
    )
    window_keys = models.JSONField(
        "windows",
        default=list,
        blank=True,
        help_text="CT and MRI: the display windows learners can switch between.",
    )
    burned_in_checked = models.BooleanField(
        "no patient details in the pixels",
        default=False,
        help_text="I have looked at every frame: no name, number or date is written into the "
        "images themselves (de-identification removes header data only).",
    )

    # Set by processing.
    status = models.CharField(max_length=12, choices=State, default=State.QUEUED, db_index=True)
    progress_done = models.PositiveIntegerField(default=0, editable=False)
    progress_total = models.PositiveIntegerField(default=0, editable=False)
    error = models.TextField(blank=True, editable=False)
    warnings = models.JSONField(default=list, blank=True, editable=False)
    deidentification_report = models.JSONField(default=list, blank=True, editable=False)
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The run whose images learners see (0: none yet), and the latest run started.
    generation = models.PositiveIntegerField(default=0, editable=False)
    attempt = models.PositiveIntegerField(default=0, editable=False)
    rendered_windows = models.JSONField(default=list, blank=True, editable=False)
    width = models.PositiveIntegerField(null=True, editable=False)
    height = models.PositiveIntegerField(null=True, editable=False)
    slice_count = models.PositiveIntegerField(default=0, editable=False)
    # Millimetres per pixel of the rendered images (rows, columns), and between slices.
    row_spacing = models.FloatField(null=True, blank=True, editable=False)
    column_spacing = models.FloatField(null=True, blank=True, editable=False)
    slice_spacing = models.FloatField(null=True, blank=True, editable=False)
    frame_time_ms = models.FloatField(null=True, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(null=True, editable=False)
    processed_at = models.DateTimeField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ImageStackQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        verbose_name = "image stack"

    def __str__(self):
        return self.title

    @property
    def is_ready(self):
        return self.status == self.State.READY

    @property
    def is_showable(self):
        return self.generation > 0

    @property
    def is_cine(self):
        return self.modality == self.Modality.US

    @property
    def stalled(self) -> bool:
        """Processing whose worker has not been heard of for a while (stopped or killed)."""
        return (
            self.status == self.State.PROCESSING
            and self.heartbeat_at is not None
            and timezone.now() - self.heartbeat_at > settings.STACK_PROCESSING_STALL
        )

    @property
    def windows(self) -> list[display_windows.Window]:
        return [display_windows.get(key) for key in self.rendered_windows]

    @property
    def default_window(self) -> display_windows.Window | None:
        return self.windows[0] if self.rendered_windows else None

    def image_name(self, window: str, index: int, generation: int | None = None) -> str:
        generation = self.generation if generation is None else generation
        return f"{self.folder(generation)}/{window}/{index:04d}.{IMAGE_FORMAT}"

    def folder(self, generation: int | None = None) -> str:
        generation = self.generation if generation is None else generation
        return f"stacks/{self.key.hex}/{generation}"

    def image_url(self, window: str, index: int) -> str:
        return default_storage.url(self.image_name(window, index))

    @cached_property
    def first_image_url(self) -> str:
        return self.image_url(self.rendered_windows[0], 0)

    def manifest_url(self) -> str:
        return reverse("stacks:manifest", kwargs={"key": self.key, "generation": self.generation})

    @property
    def has_geometry(self) -> bool:
        return bool(self.row_spacing and self.column_spacing)


class StackSlice(models.Model):
    """One slice or frame of a ready stack: its place in the stack and in the body."""

    stack = models.ForeignKey(ImageStack, on_delete=models.CASCADE, related_name="slices")
    index = models.PositiveIntegerField()
    # Millimetres along the stack's normal (CT/MR), from the first slice: for scoring and
    # measurement in depth. None for cine frames and plain images.
    position = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["stack", "index"]
        constraints = [
            models.UniqueConstraint(fields=["stack", "index"], name="stacks_slice_unique_index")
        ]

    def __str__(self):
        return f"{self.stack} slice {self.index + 1}"
