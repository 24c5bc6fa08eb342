"""No patient data is stored or served: an upload carrying identifiers leaves no byte of them in
the database or in any storage folder, and the editor is told what was removed."""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from irlearn.stacks import synthetic
from irlearn.stacks.models import ImageStack
from tests.dump import rows_holding
from tests.factories import ContentEditorFactory
from tests.stacks.conftest import volume

PATIENT = {
    "PatientName": "Featherstonehaugh^Ottoline^Mary",
    "PatientID": "NHS9434765919",
    "PatientBirthDate": "19470312",
    "AccessionNumber": "ACC77123456",
    "InstitutionName": "St Swithunbridge Infirmary",
    "ReferringPhysicianName": "Quackenbush^Horatio",
    "StudyDescription": "CT KUB for Ottoline",
    "OtherPatientIDs": "MRN-5566778",
}
IDENTIFIERS = [
    "Featherstonehaugh", "Ottoline", "9434765919", "19470312", "1947", "ACC77123456",
    "Swithunbridge", "Quackenbush", "MRN-5566778",
]  # fmt: skip


def files_holding(root: Path, values: list[str]) -> list[str]:
    found = []
    for folder, _, names in os.walk(root):
        for name in names:
            data = (Path(folder) / name).read_bytes()
            found += [f"{name}: {v}" for v in values if v.encode() in data or v in name]
    return found


@pytest.mark.django_db
def test_an_upload_with_patient_identifiers_leaves_none_in_the_database_or_storage(
    client, django_capture_on_commit_callbacks, tmp_path
):
    series = synthetic.zip_of(synthetic.ct_series(volume(5, 32), patient=PATIENT))
    for value in IDENTIFIERS:  # the upload really carries them
        assert value.encode() in series or value in str(PATIENT)
    client.force_login(ContentEditorFactory())

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:stacks_imagestack_add"),
            {
                "title": "Left hydronephrosis",
                "slug": "left-hydronephrosis",
                "modality": "CT",
                "plane": "axial",
                "description": "Axial CT: a dilated left collecting system.",
                # The file is named after the patient, as exports often are.
                "source_file": SimpleUploadedFile("Featherstonehaugh_Ottoline.zip", series),
                "window_keys": ["soft-tissue"],
            },
        )
    assert response.status_code == 302, response.content.decode()[:3000]
    stack = ImageStack.objects.get()
    assert stack.status == ImageStack.State.READY, stack.error

    assert rows_holding(*IDENTIFIERS) == []
    storage_roots = [
        settings.MEDIA_ROOT,
        Path(settings.STORAGES["stack_uploads"]["OPTIONS"]["location"]),
    ]
    assert [files_holding(Path(root), IDENTIFIERS) for root in storage_roots] == [[], []]
    assert not any(Path(storage_roots[1]).rglob("*.*")), "the upload is gone"

    page = client.get(reverse("admin:stacks_imagestack_change", args=[stack.pk])).content.decode()
    for line in ["Patient&#x27;s Name: replaced", "Patient&#x27;s Birth Date: replaced",
                 "Accession Number: replaced", "Institution Name: replaced",
                 "Study Description: removed"]:  # fmt: skip
        assert line in page
    for value in IDENTIFIERS:
        assert value not in page
