"""Reading an upload: a zip of DICOM files, one (multi-frame) DICOM file, or a zip of PNG/JPEG
frames, into frames in order, their geometry, and what de-identification removed.

Nothing read here is kept but pixels and numbers: the caller renders each frame and stores the
spacing. Headers are de-identified (deidentify.py) as they are read, so no patient attribute
outlives the dataset object it arrived in. Frames are read one at a time, so memory does not grow
with the number of slices.
"""

import io
import math
import re
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pydicom
import pydicom.pixels
from PIL import Image, UnidentifiedImageError
from pydicom.errors import InvalidDicomError

from irlearn.stacks.deidentify import Deidentifier
from irlearn.stacks.errors import StackError

MAX_FILES = 2000
MAX_UNCOMPRESSED_BYTES = 2 * 1024**3
MAX_FILE_BYTES = 256 * 1024**2
# A real DICOM or PNG file compresses a few times at most; a zip bomb, thousands of times.
MAX_COMPRESSION_RATIO = 100
MAX_PIXELS = 4096 * 4096
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
# What operating systems add to a zip: skipped quietly.
JUNK = re.compile(r"(^|/)(__MACOSX/|\.[^/]*$|Thumbs\.db$|desktop\.ini$|DICOMDIR$)", re.IGNORECASE)
GEOMETRY_TAGS = ("ImagePositionPatient", "ImageOrientationPatient")
# Modalities whose pixels often carry burned-in text: ultrasound, secondary captures, others.
BURNED_IN_RISK = {"US", "SC", "OT", "XC", "ES", "DOC", "SM"}


@dataclass
class Frame:
    read: Callable[[], np.ndarray]
    position: float | None = None


@dataclass
class Source:
    kind: str  # "dicom" or "images"
    frames: list[Frame]
    width: int
    height: int
    modality: str | None = None
    row_spacing: float | None = None  # mm per original pixel
    column_spacing: float | None = None
    slice_spacing: float | None = None
    frame_time_ms: float | None = None
    burned_in_risk: bool = False
    burned_in_reason: str = ""
    original_range: tuple[float, float] | None = None
    report: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    close: Callable[[], None] = lambda: None


def ordinal_list(numbers: list[int], limit: int = 5) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")


def natural_key(name: str):
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def open_source(fileobj) -> Source:
    """The frames of an uploaded file (a seekable binary file), or StackError."""
    if zipfile.is_zipfile(fileobj):
        fileobj.seek(0)
        return _open_zip(fileobj)
    fileobj.seek(0)
    try:
        dataset = pydicom.dcmread(fileobj, stop_before_pixels=True)
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError) as error:
        raise StackError(
            "This file is neither a zip nor a DICOM file. Upload a zip of one DICOM series, one "
            "multi-frame DICOM file, or a zip of PNG or JPEG frames."
        ) from error
    return _dicom_source(fileobj=fileobj, headers=[dataset], readers=None)


def _zip_entries(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > MAX_FILES:
        raise StackError(
            f"This zip holds {len(infos):,} files; a stack can have at most {MAX_FILES:,}. "
            "Upload one series, or thin it out (every second slice)."
        )
    total = 0
    entries = []
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", name):
            raise StackError(
                "This zip holds a file whose path leads outside the zip (an absolute path or "
                "'..'). Make the zip again from a folder of images."
            )
        if info.is_dir() or JUNK.search(name):
            continue
        total += info.file_size
        if info.file_size > MAX_FILE_BYTES or total > MAX_UNCOMPRESSED_BYTES:
            raise StackError(
                "This zip unpacks to more than a stack can hold (2 GB in all, 256 MB a file)."
            )
        if info.file_size > 1024**2 and info.file_size > MAX_COMPRESSION_RATIO * max(
            info.compress_size, 1
        ):
            raise StackError(
                "This zip unpacks to far more than it holds (a 'zip bomb'), so it was not opened."
            )
        entries.append(info)
    if not entries:
        raise StackError("This zip holds no files.")
    return entries


def _open_zip(fileobj) -> Source:
    try:
        archive = zipfile.ZipFile(fileobj)
        entries = _zip_entries(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as error:
        raise StackError("This zip is damaged and could not be opened.") from error
    try:
        return _zip_source(archive, entries)
    except BaseException:
        archive.close()
        raise


def _zip_source(archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo]) -> Source:
    images = [info for info in entries if info.filename.lower().endswith(IMAGE_SUFFIXES)]
    if images and len(images) == len(entries):
        source = _image_source(archive, sorted(images, key=lambda i: natural_key(i.filename)))
    elif images:
        raise StackError(
            "This zip mixes PNG/JPEG images with other files. Upload either a DICOM series or a "
            "set of image frames."
        )
    else:
        headers, readers, not_dicom = [], [], []
        for number, info in enumerate(entries, start=1):
            try:
                # Straight from the zip: only the header is read, and the dataset keeps no
                # copy of the file (memory stays flat however many slices there are).
                with archive.open(info) as member:
                    header = pydicom.dcmread(member, stop_before_pixels=True)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as error:
                raise StackError(
                    f"File {number} in the zip could not be unpacked (the zip is damaged or "
                    "uses an encryption or compression method we cannot read)."
                ) from error
            except InvalidDicomError:
                not_dicom.append(number)
                continue
            except (EOFError, OSError, ValueError, KeyError, TypeError, AttributeError) as error:
                raise StackError(
                    f"File {number} in the zip could not be read as DICOM: it may be damaged."
                ) from error
            if "Rows" not in header or "Columns" not in header:
                raise StackError(
                    f"File {number} in the zip could not be read as DICOM: it is damaged (cut "
                    "short), or it is a report or document rather than an image."
                )
            headers.append(header)
            readers.append(_zip_reader(archive, info))
        if not_dicom:
            raise StackError(
                f"{len(not_dicom)} of the {len(entries)} files in this zip are not DICOM (files "
                f"{ordinal_list(not_dicom)}, counting in the zip's order). Upload only the "
                "series' .dcm files."
            )
        source = _dicom_source(fileobj=None, headers=headers, readers=readers)
    close_frames = source.close

    def close():
        close_frames()
        archive.close()

    source.close = close
    return source


def _zip_reader(archive, info):
    def read():
        with archive.open(info) as member:
            return io.BytesIO(member.read())

    return read


# --- PNG/JPEG frames ------------------------------------------------------------------------


def _image_source(archive, infos) -> Source:
    sizes, modes = Counter(), Counter()
    for number, info in enumerate(infos, start=1):
        try:
            with archive.open(info) as member, Image.open(member) as image:
                if image.format not in ("PNG", "JPEG"):
                    raise StackError(f"Frame {number} is not a PNG or JPEG image.")
                if image.width * image.height > MAX_PIXELS:
                    raise StackError(f"Frame {number} is larger than 4096 × 4096 pixels.")
                sizes[image.size] += 1
                modes["RGB" if image.mode in ("RGB", "RGBA", "P", "CMYK", "YCbCr") else "L"] += 1
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
            raise StackError(f"Frame {number} in the zip is not an image we can read.") from error
    if len(sizes) > 1:
        raise StackError(_size_mismatch(sizes))
    ((width, height),) = sizes
    colour = "RGB" if "RGB" in modes else "L"

    def reader(info):
        def read():
            with archive.open(info) as member, Image.open(member) as image:
                return np.asarray(image.convert(colour))

        return read

    return Source(
        kind="images",
        frames=[Frame(read=reader(info)) for info in infos],
        width=width,
        height=height,
        burned_in_risk=True,
        burned_in_reason="Frames uploaded as PNG or JPEG carry no record of what is written "
        "into them.",
        report=["PNG/JPEG frames: no header data is kept; only the pixels are rendered again."],
    )


def _size_mismatch(sizes: Counter) -> str:
    listed = "; ".join(f"{count} of {w} × {h}" for (w, h), count in sizes.most_common(4))
    return (
        f"The frames are not all the same size ({listed} pixels). A stack's slices must match: "
        "upload one series."
    )


# --- DICOM ----------------------------------------------------------------------------------


def _dicom_source(*, fileobj, headers, readers) -> Source:
    deidentifier = Deidentifier()
    for dataset in headers:
        deidentifier.apply(dataset)

    series = Counter(str(getattr(ds, "SeriesInstanceUID", "")) for ds in headers)
    if len(series) > 1:
        numbers = Counter()
        for ds in headers:
            numbers[_series_label(ds)] += 1
        listed = ", ".join(f"{label} ({count} files)" for label, count in sorted(numbers.items()))
        raise StackError(
            f"This zip mixes {len(series)} series: {listed}. A stack is one series: upload "
            "each series in a zip of its own."
        )
    for ds in headers:
        if "Rows" not in ds or "Columns" not in ds:
            raise StackError(
                "This DICOM file holds no image: it is damaged (cut short), or it is a report "
                "or document rather than an image."
            )
    sizes = Counter((int(ds.get("Columns", 0)), int(ds.get("Rows", 0))) for ds in headers)
    if len(sizes) > 1:
        raise StackError(_size_mismatch(sizes))
    ((width, height),) = sizes
    if not width or not height:
        raise StackError("The images do not say how many rows and columns they have.")
    if width * height > MAX_PIXELS:
        raise StackError("The images are larger than 4096 × 4096 pixels.")

    first = headers[0]
    modality = str(first.get("Modality", "")) or None
    frames_in_first = int(first.get("NumberOfFrames", 1) or 1)
    source = Source(
        kind="dicom",
        frames=[],
        width=width,
        height=height,
        modality=modality,
        report=deidentifier.report(len(headers)),
    )
    _burned_in(source, headers, modality)
    if len(headers) == 1 and frames_in_first > 1:
        _multiframe(source, first, fileobj or readers[0])
    else:
        _series(source, headers, readers or [lambda: _rewind(fileobj)])
    return source


def _series_label(ds) -> str:
    number = ds.get("SeriesNumber")
    return f"series {number}" if number not in (None, "") else "a series with no number"


def _rewind(fileobj):
    fileobj.seek(0)
    return fileobj


def _burned_in(source: Source, headers, modality) -> None:
    values = {str(ds.get("BurnedInAnnotation", "")).upper() for ds in headers}
    if "YES" in values:
        source.burned_in_risk = True
        source.burned_in_reason = "The files say that text is burned into the images."
    elif values == {""} and (modality in BURNED_IN_RISK or _is_secondary_capture(headers[0])):
        source.burned_in_risk = True
        source.burned_in_reason = (
            "The files do not say whether text is burned into the images, and this kind of "
            "image (ultrasound or a screen capture) often has the patient's details on it."
        )


def _is_secondary_capture(ds) -> bool:
    return str(ds.get("SOPClassUID", "")).startswith("1.2.840.10008.5.1.4.1.1.7")


def _pixel_spacing(ds) -> tuple[float | None, float | None]:
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        value = ds.get(keyword)
        if value and len(value) == 2 and all(float(v) > 0 for v in value):
            return float(value[0]), float(value[1])
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        measures = shared[0].get("PixelMeasuresSequence")
        if measures and measures[0].get("PixelSpacing"):
            row, column = measures[0].PixelSpacing
            return float(row), float(column)
    regions = ds.get("SequenceOfUltrasoundRegions")
    if regions:
        region = regions[0]
        # Units code 3 is centimetres.
        if (
            region.get("PhysicalUnitsXDirection") == 3
            and region.get("PhysicalUnitsYDirection") == 3
        ):
            return abs(float(region.PhysicalDeltaY)) * 10, abs(float(region.PhysicalDeltaX)) * 10
    return None, None


def _normal(orientation) -> np.ndarray:
    values = np.asarray([float(v) for v in orientation], dtype=float)
    normal = np.cross(values[:3], values[3:])
    length = np.linalg.norm(normal)
    if length < 1e-6:
        raise StackError("The images' orientation (Image Orientation (Patient)) is not valid.")
    return normal / length


def _rescale(ds) -> tuple[float, float]:
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    return slope, intercept


def _decode(read, number: int, transfer_syntax):
    try:
        dataset = pydicom.dcmread(read())
        return dataset.pixel_array, dataset
    except (NotImplementedError, RuntimeError) as error:
        raise StackError(_unsupported(transfer_syntax)) from error
    except (ValueError, EOFError, OSError, AttributeError, KeyError, TypeError) as error:
        raise StackError(
            f"Slice {number} could not be decoded: its pixel data is damaged or incomplete."
        ) from error


def _unsupported(transfer_syntax) -> str:
    name = getattr(transfer_syntax, "name", None) or "an unknown transfer syntax"
    return (
        f"These images are compressed as {name}, which IRLearn cannot decode. Export the series "
        "uncompressed (Explicit VR Little Endian) or as JPEG or JPEG 2000, and upload it again."
    )


def _transfer_syntax(ds):
    meta = getattr(ds, "file_meta", None)
    return getattr(meta, "TransferSyntaxUID", None) if meta is not None else None


def _check_decodable(ds) -> None:
    syntax = _transfer_syntax(ds)
    if syntax is None or not syntax.is_compressed:
        return
    from pydicom.pixels.decoders.base import get_decoder

    try:
        decoder = get_decoder(syntax)
    except (NotImplementedError, ValueError) as error:
        raise StackError(_unsupported(syntax)) from error
    if not decoder.is_available:
        raise StackError(_unsupported(syntax))


def _series(source: Source, headers, readers) -> None:
    first = headers[0]
    _check_decodable(first)
    source.row_spacing, source.column_spacing = _pixel_spacing(first)
    has_geometry = [all(tag in ds for tag in GEOMETRY_TAGS) for ds in headers]
    volumetric = source.modality in ("CT", "MR", "PT", "NM")
    if volumetric and len(headers) > 1 and not all(has_geometry):
        missing = [n for n, ok in enumerate(has_geometry, start=1) if not ok]
        raise StackError(
            f"{len(missing)} of the {len(headers)} files have no position in the body (Image "
            f"Position and Orientation (Patient)): files {ordinal_list(missing)}. Without it "
            "the slices cannot be put in order. Export the series again from the PACS."
        )
    if all(has_geometry):
        normal = _normal(first.ImageOrientationPatient)
        places = [
            float(np.dot(normal, [float(v) for v in ds.ImagePositionPatient])) for ds in headers
        ]
        # In the order radiologists scroll: head first (axial), front first (coronal), right
        # first (sagittal), whichever way the scanner numbered the files.
        axis = int(np.argmax(np.abs(normal)))
        sign = -1 if axis == 2 else 1
        order = sorted(
            range(len(headers)), key=lambda i: sign * float(headers[i].ImagePositionPatient[axis])
        )
        ordered = [places[i] for i in order]
        gaps = np.abs(np.diff(ordered)) if len(ordered) > 1 else np.array([])
        if len(gaps) and np.min(np.abs(gaps)) < 1e-3:
            raise StackError(
                "Two files are at the same position: the upload may hold the same series twice, "
                "or two series. Upload one series."
            )
        if len(gaps):
            source.slice_spacing = float(np.median(gaps))
            if float(np.max(gaps) - np.min(gaps)) > 0.1 * source.slice_spacing + 0.01:
                source.warnings.append(
                    "The gaps between slices are uneven (a slice missing, or a series of mixed "
                    "thickness): distances across slices are approximate."
                )
        positions = [abs(p - ordered[0]) for p in ordered]
    else:
        order = sorted(
            range(len(headers)), key=lambda i: int(headers[i].get("InstanceNumber") or 0)
        )
        positions = [None] * len(headers)
        if len(headers) > 1:
            source.warnings.append(
                "The files carry no position in the body; they are in Instance Number order."
            )
    if source.row_spacing is None:
        source.warnings.append("The files give no pixel spacing: learners cannot measure.")

    for number, index in enumerate(order, start=1):
        header = headers[index]
        source.frames.append(
            Frame(
                read=_slice_reader(readers[index], number, header), position=positions[number - 1]
            )
        )
    source.original_range = _voi_range(first)


def _slice_reader(read, number, header):
    slope, intercept = _rescale(header)
    syntax = _transfer_syntax(header)

    def load():
        pixels, _ = _decode(read, number, syntax)
        if pixels.ndim == 3 and pixels.shape[-1] == 3:
            return pixels
        if pixels.ndim != 2:
            raise StackError(f"Slice {number} holds more than one frame; upload one series.")
        return _in_units(pixels, slope, intercept)

    return load


def _in_units(pixels: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    """Stored values in real units (Hounsfield units for CT). 8-bit greys with no rescale
    (ultrasound, captures) stay as they are: they are display values already."""
    if pixels.dtype == np.uint8 and slope == 1 and intercept == 0:
        return pixels
    return pixels.astype(np.float32) * slope + intercept


def _voi_range(ds) -> tuple[float, float] | None:
    center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if center is None or width is None:
        bits = int(ds.get("BitsStored", 8) or 8)
        if bits <= 8:
            return None
        if int(ds.get("PixelRepresentation", 0) or 0):
            return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        return 0, 2**bits - 1
    center = float(center[0] if isinstance(center, pydicom.multival.MultiValue) else center)
    width = float(width[0] if isinstance(width, pydicom.multival.MultiValue) else width)
    return center - width / 2, center + width / 2


def _multiframe(source: Source, header, opener) -> None:
    _check_decodable(header)
    source.row_spacing, source.column_spacing = _pixel_spacing(header)
    count = int(header.NumberOfFrames)
    frame_time = header.get("FrameTime")
    if frame_time:
        source.frame_time_ms = float(frame_time)
    elif header.get("CineRate"):
        source.frame_time_ms = 1000.0 / float(header.CineRate)
    positions: list[float | None] = [None] * count
    per_frame = header.get("PerFrameFunctionalGroupsSequence")
    orientation = None
    shared = header.get("SharedFunctionalGroupsSequence")
    if shared and shared[0].get("PlaneOrientationSequence"):
        orientation = shared[0].PlaneOrientationSequence[0].ImageOrientationPatient
    if per_frame and orientation is not None and len(per_frame) == count:
        normal = _normal(orientation)
        places = []
        for item in per_frame:
            plane = item.get("PlanePositionSequence")
            places.append(
                float(np.dot(normal, [float(v) for v in plane[0].ImagePositionPatient]))
                if plane
                else math.nan
            )
        if not any(math.isnan(p) for p in places):
            positions = [p - min(places) for p in places]
            if count > 1:
                source.slice_spacing = float(np.median(np.abs(np.diff(sorted(places)))))
    slope, intercept = _rescale(header)
    syntax = _transfer_syntax(header)
    source.original_range = _voi_range(header)
    colour = header.get("SamplesPerPixel", 1) == 3
    state = {}

    def frames():
        if "iterator" not in state:
            fileobj = opener() if callable(opener) else _rewind(opener)
            state["iterator"] = pydicom.pixels.iter_pixels(fileobj)
        return state["iterator"]

    order = sorted(range(count), key=lambda i: (positions[i] is None, positions[i] or 0, i))
    if order != list(range(count)):
        # Frames stored out of order: rare; read them all, in memory.
        raise StackError(
            "The frames of this multi-frame file are not stored in order of position; export "
            "the series as separate files instead."
        )

    def reader(number):
        def load():
            try:
                pixels = next(frames())
            except StopIteration as error:
                raise StackError(f"Frame {number} is missing from the file.") from error
            except (NotImplementedError, RuntimeError) as error:
                raise StackError(_unsupported(syntax)) from error
            except (ValueError, EOFError, OSError) as error:
                raise StackError(
                    f"Frame {number} could not be decoded: the pixel data is damaged."
                ) from error
            if colour:
                return pixels
            return _in_units(pixels, slope, intercept)

        return load

    source.frames = [Frame(read=reader(n), position=positions[n - 1]) for n in range(1, count + 1)]

    def close_frames():
        # pydicom's frame iterator puts the file position back when it ends: end it while the
        # file is still open.
        if "iterator" in state:
            state["iterator"].close()

    source.close = close_frames
