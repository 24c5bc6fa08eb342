from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from irlearn.stacks import windows
from irlearn.stacks.models import ImageStack

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def looks_like_upload(upload) -> bool:
    """A zip, or a DICOM file (its 'DICM' marker at byte 128): the cheap check made while the
    editor waits; processing checks everything else."""
    upload.seek(0)
    head = upload.read(132)
    upload.seek(0)
    return head.startswith(ZIP_MAGIC) or head[128:132] == b"DICM"


class ImageStackForm(forms.ModelForm):
    window_keys = forms.MultipleChoiceField(
        label="CT windows",
        choices=windows.PRESET_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Rendered when the upload is processed: choose them before uploading (the "
        "upload is not kept, so changing them later means uploading again). Soft tissue if none.",
    )

    class Meta:
        model = ImageStack
        fields = [
            "title", "slug", "modality", "plane", "description", "credit", "source",
            "is_synthetic", "source_file", "window_keys", "burned_in_checked",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.pk:
            self.fields["source_file"].required = True
        self.fields["source_file"].widget = forms.FileInput(
            attrs={"accept": ".zip,.dcm,application/zip,application/dicom"}
        )
        self.initial.setdefault("window_keys", [windows.SOFT_TISSUE.key])

    def clean_source_file(self):
        upload = self.cleaned_data.get("source_file")
        if not upload or not hasattr(upload, "content_type"):
            return upload  # unchanged
        if upload.size > settings.STACK_UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                f"This file is {filesizeformat(upload.size)}; an upload can be at most "
                f"{filesizeformat(settings.STACK_UPLOAD_MAX_BYTES)}."
            )
        if not looks_like_upload(upload):
            raise forms.ValidationError(
                "This is neither a zip nor a DICOM file. Upload a zip of one DICOM series, one "
                "multi-frame DICOM file, or a zip of PNG or JPEG frames."
            )
        return upload
