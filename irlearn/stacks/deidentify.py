"""De-identification of DICOM headers as they are read.

dicognito (a maintained implementation of the DICOM PS3.15 Basic Application Level
Confidentiality Profile) replaces names, identifiers, dates, institutions and UIDs; private
attributes are removed outright, since no profile knows what they hold. Processing then keeps
nothing of a header but pixel sizes and positions, so this is a second wall, not the only one:
what it is for is the report, telling the editor what the upload carried.
"""

from collections import Counter

from dicognito.anonymizer import Anonymizer
from dicognito.unwantedelements import UnwantedElementsStripper
from pydicom.datadict import dictionary_description

# Free text and patient characteristics the profile removes (PS3.15 Table E.1-1, action X or Z)
# and dicognito leaves: descriptions and comments can hold anything an operator typed.
FREE_TEXT = (
    "AdditionalPatientHistory", "AdmittingDiagnosesDescription", "Allergies",
    "DerivationDescription", "EthnicGroup", "ImageComments", "MedicalAlerts",
    "PatientAge", "PatientComments", "PatientSex", "PatientSize", "PatientWeight",
    "PerformedProcedureStepDescription", "PregnancyStatus", "ProtocolName",
    "ReasonForStudy", "RequestAttributesSequence", "RequestedProcedureDescription",
    "SeriesDescription", "SmokingStatus", "StudyComments", "StudyDescription",
    "InstitutionalDepartmentName", "PatientState", "SpecialNeeds",
)  # fmt: skip


class Deidentifier:
    def __init__(self):
        self._anonymizer = Anonymizer()
        self._anonymizer.add_element_handler(UnwantedElementsStripper(*FREE_TEXT))
        self._replaced = Counter()
        self._removed = Counter()
        self._private = 0

    def apply(self, dataset) -> None:
        before = _values(dataset)
        private = sum(1 for element in dataset.iterall() if element.tag.is_private)
        dataset.remove_private_tags()
        self._private += private
        self._anonymizer.anonymize(dataset)
        after = _values(dataset)
        for tag, value in before.items():
            if tag not in after:
                self._removed[tag] += 1
            elif after[tag] != value:
                self._replaced[tag] += 1

    def report(self, files: int) -> list[str]:
        """Lines for the editor: each attribute found, and in how many files."""
        lines = []
        for tag, count in sorted(self._replaced.items(), key=lambda item: _name(item[0])):
            lines.append(f"{_name(tag)}: replaced ({_files(count, files)})")
        for tag, count in sorted(self._removed.items(), key=lambda item: _name(item[0])):
            lines.append(f"{_name(tag)}: removed ({_files(count, files)})")
        if self._private:
            lines.append(f"Private (manufacturer) attributes: {self._private} removed")
        if not lines:
            lines.append("No identifying attributes were found in the headers.")
        lines.append(
            "No header is kept: only the pixels (rendered again as web images) and the pixel and "
            "slice spacing are stored. The uploaded file is deleted after processing."
        )
        return lines


def _values(dataset) -> dict:
    values = {}
    for element in dataset.iterall():
        if element.VR == "SQ" or element.tag.group in (0x7FE0,):
            continue
        values[element.tag] = repr(element.value)
    return values


def _name(tag) -> str:
    try:
        return dictionary_description(tag)
    except KeyError:
        return str(tag)


def _files(count: int, files: int) -> str:
    if files == 1:
        return "1 file" if count == 1 else f"{count} places in the file"
    return f"{count} of {files} files" if count <= files else f"{count} places in {files} files"
