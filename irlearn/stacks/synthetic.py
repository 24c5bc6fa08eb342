"""Writing synthetic images as real DICOM, so demo cases and tests go through the same upload
pipeline as an editor's files.

Nothing here is a patient: the phantoms (phantoms.py) are drawn in code. The files say so
(Patient's Name "SYNTHETIC^PHANTOM", and the series description), and carry the attributes a
scanner would write so that sorting, rescaling and de-identification are exercised for real.
"""

import io
import random
import zipfile
from collections.abc import Iterable

import numpy as np
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    UltrasoundMultiFrameImageStorage,
    generate_uid,
)

SYNTHETIC_NAME = "SYNTHETIC^PHANTOM"


def _base(sop_class, *, patient: dict | None, modality: str) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.preamble = b"\0" * 128
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.PatientName = SYNTHETIC_NAME
    ds.PatientID = "PHANTOM"
    ds.SeriesDescription = "Synthetic phantom (computer-generated, not a patient)"
    for keyword, value in (patient or {}).items():
        setattr(ds, keyword, value)
    return ds


def ct_series(
    slices: Iterable[np.ndarray],
    *,
    pixel_spacing: float = 0.75,
    slice_spacing: float = 2.5,
    patient: dict | None = None,
    series_uid: str | None = None,
    series_number: int = 2,
    slope: float = 1.0,
    intercept: float = -1024.0,
    signed: bool = False,
    modality: str = "CT",
    orientation=(1, 0, 0, 0, 1, 0),
    with_geometry: bool = True,
):
    """One DICOM dataset per slice (values in Hounsfield units, stored as 16-bit integers
    through the rescale), head to foot as a scanner numbers them."""
    study_uid, series_uid = generate_uid(), series_uid or generate_uid()
    for number, hu in enumerate(slices, start=1):
        ds = _base(CTImageStorage, patient=patient, modality=modality)
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.SeriesNumber, ds.InstanceNumber = series_number, number
        ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
        ds.BurnedInAnnotation = "NO"
        rows, columns = hu.shape
        ds.Rows, ds.Columns = rows, columns
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16 if signed else 12, 15 if signed else 11
        ds.PixelRepresentation = 1 if signed else 0
        ds.RescaleSlope, ds.RescaleIntercept = slope, (0.0 if signed else intercept)
        ds.RescaleType = "HU"
        ds.PixelSpacing = [pixel_spacing, pixel_spacing]
        ds.SliceThickness = slice_spacing
        if with_geometry:
            ds.ImageOrientationPatient = list(orientation)
            ds.ImagePositionPatient = [
                -columns * pixel_spacing / 2,
                -rows * pixel_spacing / 2,
                -(number - 1) * slice_spacing,
            ]
            ds.SliceLocation = -(number - 1) * slice_spacing
        ds.WindowCenter, ds.WindowWidth = 40, 400
        offset = ds.RescaleIntercept
        stored = np.round((np.asarray(hu, dtype=np.float32) - offset) / slope)
        if signed:
            ds.PixelData = np.clip(stored, -32768, 32767).astype("<i2").tobytes()
        else:
            ds.PixelData = np.clip(stored, 0, 4095).astype("<u2").tobytes()
        yield ds


def ultrasound_cine(
    frames: list[np.ndarray],
    *,
    frame_time_ms: float = 40.0,
    pixel_spacing_mm: float | None = 0.3,
    patient: dict | None = None,
    burned_in: str | None = "NO",
) -> Dataset:
    """One multi-frame ultrasound file of 8-bit grey frames."""
    ds = _base(UltrasoundMultiFrameImageStorage, patient=patient, modality="US")
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    if burned_in is not None:
        ds.BurnedInAnnotation = burned_in
    rows, columns = frames[0].shape
    ds.Rows, ds.Columns = rows, columns
    ds.NumberOfFrames = len(frames)
    ds.FrameTime = frame_time_ms
    ds.FrameIncrementPointer = (0x0018, 0x1063)
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    if pixel_spacing_mm:
        region = Dataset()
        region.RegionSpatialFormat, region.RegionDataType, region.RegionFlags = 1, 1, 0
        region.RegionLocationMinX0, region.RegionLocationMinY0 = 0, 0
        region.RegionLocationMaxX1, region.RegionLocationMaxY1 = columns - 1, rows - 1
        region.PhysicalUnitsXDirection = region.PhysicalUnitsYDirection = 3  # cm
        region.PhysicalDeltaX = region.PhysicalDeltaY = pixel_spacing_mm / 10
        ds.SequenceOfUltrasoundRegions = [region]
    ds.PixelData = np.stack([np.asarray(f, dtype=np.uint8) for f in frames]).tobytes()
    return ds


def to_bytes(ds: Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def zip_of(
    datasets: Iterable[Dataset], *, shuffle: bool = True, seed: int = 7, names: str = "IM{:04d}.dcm"
) -> bytes:
    """A zip of one file per dataset, in shuffled order (as exports often are: processing must
    sort by position, not by name)."""
    files = [to_bytes(ds) for ds in datasets]
    order = list(range(len(files)))
    if shuffle:
        random.Random(seed).shuffle(order)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for place, index in enumerate(order):
            archive.writestr(names.format(place + 1), files[index])
    return out.getvalue()
