"""The synthetic phantom cases (irlearn/stacks/phantoms.py) and the demo content that uses them.

Each phantom is real DICOM that the real pipeline turns into a ready stack; its anatomy is where
its description (and the lessons) say, on the slice numbers learners see; its files carry no
identifier but "SYNTHETIC^PHANTOM"; and the demo seed places each one once.

The phantoms' uploads are built once per test run (phantoms.py caches them) and read back here
with pydicom, so the checks are on what an editor's upload would hold.
"""

import io
import zipfile
from functools import cache

import numpy as np
import pydicom
import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image

from courses import services as course_services
from courses.demo import course_catalogue_seed
from courses.models import Course, Lesson, Module, Question
from irlearn.stacks import phantoms
from irlearn.stacks.embed import slugs_in
from irlearn.stacks.models import ImageStack
from procedures.demo import demo_stacks, procedure_library_seed
from procedures.models import Procedure
from tests.factories import ImageStackFactory, UserFactory

SPACING = 1.4  # mm per pixel of every CT phantom


@cache
def datasets(slug: str) -> list[pydicom.Dataset]:
    """The phantom's upload read back: the CT slices in the order learners see them (highest
    first, as processing sorts an axial series), or the one ultrasound file."""
    data = phantoms.PHANTOMS[slug].build()
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return [pydicom.dcmread(io.BytesIO(data))]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = [pydicom.dcmread(io.BytesIO(archive.read(name))) for name in archive.namelist()]
    return sorted(files, key=lambda ds: -float(ds.ImagePositionPatient[2]))


@cache
def hu(slug: str) -> np.ndarray:
    """The CT volume in Hounsfield units: hu(slug)[n - 1] is slice n as learners number it."""
    return np.stack(
        [
            ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
            for ds in datasets(slug)
        ]
    )


def pixel(x: float, y: float) -> tuple[int, int]:
    """(row, column) of the point x, y mm (x to the patient's left, y to the back)."""
    return int(round(y / SPACING + 128)), int(round(x / SPACING + 128))


def patch(image, x, y, half=2) -> float:
    row, column = pixel(x, y)
    return float(image[row - half : row + half + 1, column - half : column + half + 1].mean())


def disc(x, y, radius_mm):
    rows, columns = np.mgrid[:256, :256]
    row, column = pixel(x, y)
    return np.hypot(rows - row, columns - column) * SPACING < radius_mm


def region(x0, x1, y0, y1):
    rows, columns = np.mgrid[:256, :256]
    xs, ys = (columns - 128) * SPACING, (rows - 128) * SPACING
    return (xs > x0) & (xs < x1) & (ys > y0) & (ys < y1)


def rendered(stack, window, number) -> np.ndarray:
    with default_storage.open(stack.image_name(window, number - 1)) as image_file:
        return np.asarray(Image.open(image_file).convert("L"), dtype=np.float32)


# Each phantom through the real pipeline, and what learners then see.


def test_what_learners_see_on_the_named_slices(stack):
    """The rendered images, in the viewer's order: the description's slice numbers hold."""
    if stack.slug == "nephrostomy-ct":
        # Soft tissue (W 400, L 40): 0 HU shows at grey 102, 40 HU at 128. The target calyx at
        # slice 37 is darker than the kidney beside it.
        x, y, _ = phantoms.LEFT_HYDRO.point(*phantoms.HYDRO_CALYCES["lower-posterior"][:3])
        beside = phantoms.LEFT_HYDRO.point(-144.0, 0.85, 0.0)
        image = rendered(stack, "soft-tissue", 37)
        assert patch(image, x, y) < 112 < patch(image, beside[0], beside[1])
    elif stack.slug == "liver-abscess-ct":
        # Liver window (W 150, L 60): pus (20 HU) much darker than enhanced liver (110 HU).
        (cx, cy, _), _ = phantoms.LIVER_ABSCESS
        image = rendered(stack, "liver", 12)
        assert patch(image, cx + 8, cy - 12) + 60 < patch(image, -60, -40)
    elif stack.slug == "lung-nodule-ct":
        # Lung window (W 1500, L -600): the nodule is bright in dark lung at slice 39.
        x, y, _ = phantoms.NODULE
        image = rendered(stack, "lung", 39)
        assert patch(image, x, y, half=1) > patch(image, x - 18, y - 18) + 80
    else:
        # The first frame: black bile in grey liver.
        gu, gw = phantoms.GALLBLADDER["centre"]
        sector = phantoms.Sector()
        row, column = int((gw + sector.top) / sector.pixel), int(gu / sector.pixel + 240)
        image = rendered(stack, "original", 1)
        assert image[row - 8 : row + 8, column - 8 : column + 8].mean() < 30
        assert image[row - 8 : row + 8, column + 122 : column + 138].mean() > 60


@pytest.fixture(params=list(phantoms.PHANTOMS))
def stack(request, make_stack):
    """A phantom uploaded and processed for real, checked as a stack."""
    slug = request.param
    phantom = phantoms.PHANTOMS[slug]
    stack = make_stack(phantom.build(), name=phantom.filename, slug=slug, **phantom.stack_fields())
    assert stack.status == ImageStack.State.READY, stack.error
    assert stack.is_synthetic and stack.credit == "IRLearn synthetic phantom"
    assert stack.warnings == []
    if phantom.modality == "CT":
        assert stack.rendered_windows == list(phantom.window_keys)
        assert stack.slice_count == len(datasets(slug))
        assert stack.row_spacing == pytest.approx(SPACING)
        assert stack.slice_spacing in (4.0, 5.0)
    else:
        assert stack.modality == "US" and stack.rendered_windows == ["original"]
        assert stack.slice_count == 40 and (stack.width, stack.height) == (480, 360)
        assert stack.frame_time_ms == pytest.approx(phantoms.US_FRAME_TIME_MS)
        assert stack.row_spacing == pytest.approx(0.4)
    return stack


# The anatomy, on the slices the descriptions name.


def test_nephrostomy_ct_shows_an_obstructed_left_kidney_and_the_hazards_around_it():
    volume = hu("nephrostomy-ct")
    description = phantoms.PHANTOMS["nephrostomy-ct"].description
    assert volume.shape == (56, 256, 256)
    # The dilated posterior calyx of the lower pole: urine inside the kidney, slices 35 to 39,
    # largest at 37.
    x, y, _ = phantoms.LEFT_HYDRO.point(*phantoms.HYDRO_CALYCES["lower-posterior"][:3])
    near = disc(x, y, 13)
    urine = {
        n: int(((volume[n - 1] > -12) & (volume[n - 1] < 12) & near).sum()) for n in range(30, 46)
    }
    assert all(urine[n] > 100 for n in range(35, 40)), urine
    assert urine[33] < 30 and urine[41] < 30
    assert max(urine, key=urine.get) == 37
    assert "seen from slice 35 to 39 and is largest at slice 37" in description
    assert -10 < patch(volume[37 - 1], x, y) < 12
    lateral = phantoms.LEFT_HYDRO.point(-144.0, 0.85, 0.0)
    assert 28 < patch(volume[37 - 1], lateral[0], lateral[1]) < 55  # parenchyma
    # The dilated renal pelvis at slice 29, and the normal right kidney has no such fluid.
    assert -10 < patch(volume[29 - 1], phantoms.PELVIS[0], phantoms.PELVIS[1]) < 12
    fluid = (volume[29 - 1] > -12) & (volume[29 - 1] < 12)
    left_kidney, right_kidney = (
        disc(k.section(-112.0)[0], k.section(-112.0)[1], 30)
        for k in (phantoms.LEFT_HYDRO, phantoms.RIGHT_NORMAL)
    )
    assert (fluid & left_kidney).sum() > 4 * (fluid & right_kidney).sum()
    # The stone in the ureter at slices 47 and 48, and nowhere else along it.
    stone = disc(phantoms.STONE[0], phantoms.STONE[1], 7)
    assert volume[48 - 1][stone].max() > 400 and volume[47 - 1][stone].max() > 300
    assert volume[43 - 1][stone].max() < 200
    assert "stone at slices 47 and 48" in description
    # Gas in the colon beside and behind the lower pole, slices 34 to 45.
    flank = region(95, 140, 10, 75)
    assert all((volume[n - 1][flank] < -800).sum() > 40 for n in range(34, 46))
    # Lung in the posterior costophrenic recesses on slices 1 to 14, none at slice 19.
    back = region(-110, 110, 20, 85) & ~region(-30, 30, -200, 200)
    assert (volume[11 - 1][back] < -700).sum() > 50 and (volume[1 - 1][back] < -700).sum() > 300
    assert (volume[19 - 1][back & ~region(90, 140, -200, 200)] < -700).sum() == 0
    assert "on slices 1 to 14" in description


def test_liver_abscess_ct_shows_a_walled_collection_below_the_lung_base():
    volume = hu("liver-abscess-ct")
    (cx, cy, _), radius = phantoms.LIVER_ABSCESS
    assert volume.shape == (36, 256, 256)
    inside = disc(cx, cy, radius - 6)
    fluid = {
        n: int(((volume[n - 1] > 0) & (volume[n - 1] < 40) & inside).sum()) for n in range(1, 37)
    }
    assert all(fluid[n] > 100 for n in range(7, 17)), fluid
    assert fluid[19] < 60 and fluid[4] < 20
    assert max(fluid, key=fluid.get) in (11, 12)
    description = phantoms.PHANTOMS["liver-abscess-ct"].description
    assert "from slice 6 to 17 and largest at slices 11 and 12" in description
    # Pus about 20 HU, an enhancing wall brighter than the liver, paler oedema round it.
    middle = volume[11 - 1]
    assert 5 < patch(middle, cx + 8, cy - 12) < 35
    ring = disc(cx, cy, radius + 3) & ~disc(cx, cy, radius - 1)
    liver = patch(middle, -60, -40, half=3)
    assert 85 < liver < 130
    assert np.percentile(middle[ring], 90) > liver + 10
    # The right lung base: behind the liver down to slice 12, round its back and outer side
    # down to 8, in the mid-axillary line down to slice 4 (lung on that slice, none on the next).
    for zone, lowest in [(region(-110, -20, 50, 80), 12), (region(-125, -20, 20, 50), 8),
                         (region(-140, -20, -20, 20), 4)]:  # fmt: skip
        assert (volume[lowest - 1][zone] < -500).sum() > 0, lowest
        assert (volume[lowest][zone] < -500).sum() == 0, lowest
    # The gallbladder's bile in front of and below the abscess, towards the midline.
    assert -10 < patch(volume[22 - 1], -45, -50) < 30


def test_lung_nodule_ct_shows_a_solid_nodule_surrounded_by_lung():
    volume = hu("lung-nodule-ct")
    x, y, _ = phantoms.NODULE
    assert volume.shape == (64, 256, 256)
    solid = {n: int((volume[n - 1][disc(x, y, 12)] > -100).sum()) for n in range(32, 46)}
    assert all(solid[n] > 30 for n in range(37, 41)) and solid[42] < 10 and solid[35] < 10
    assert max(solid, key=solid.get) in (38, 39)
    description = phantoms.PHANTOMS["lung-nodule-ct"].description
    assert "from slice 37 to 40 and largest at slices 38 and 39" in description
    assert 0 < patch(volume[39 - 1], x, y, half=1) < 80
    # Aerated lung all round it (the vessels and spicules take a little).
    ring = disc(x, y, 22) & ~disc(x, y, 15)
    assert (volume[39 - 1][ring] < -600).mean() > 0.75
    assert (volume[38 - 1][ring] < -600).mean() > 0.75
    # Lung at about -850 HU, vessels in it, and the chest wall behind the nodule within 3 cm.
    lung = volume[39 - 1][region(-120, -40, -60, 20)]
    assert -900 < np.median(lung) < -780 and (lung > -500).sum() > 5
    behind = [volume[39 - 1][pixel(x, y + d)] for d in range(12, 32, 2)]
    assert max(behind) > 0


def test_slice_numbers_count_from_the_head_down_as_the_drawing_places_the_anatomy():
    """CTVolume.shown_number (the drawing's heights to the numbers learners see, slice 1 the
    highest) agrees with the numbers checked on the images above."""

    def shown(count, slice_spacing, z, top=0.0):
        volume = phantoms.CTVolume(np.empty((count, 1, 1)), SPACING, slice_spacing, top)
        return volume.shown_number(z)

    calyx = phantoms.LEFT_HYDRO.point(*phantoms.HYDRO_CALYCES["lower-posterior"][:3])
    assert shown(56, 4.0, calyx[2]) == 37
    assert shown(56, 4.0, phantoms.PELVIS[2]) == 29
    assert shown(56, 4.0, phantoms.STONE[2]) in (47, 48)
    assert shown(56, 4.0, 1000.0) == 1 and shown(56, 4.0, -1000.0) == 56
    assert shown(36, 5.0, phantoms.LIVER_ABSCESS[0][2], top=15.0) in (11, 12)
    assert shown(64, 4.0, phantoms.NODULE[2]) in (38, 39)


def test_gallbladder_us_shows_anechoic_bile_with_enhancement_behind_it():
    (ds,) = datasets("gallbladder-us")
    frames = ds.pixel_array
    assert frames.shape == (40, 360, 480) and frames.dtype == np.uint8
    # Every frame spans 0 to 255, so processing's contrast stretch leaves it unchanged.
    assert all(frame.min() == 0 and frame.max() == 255 for frame in frames)
    sector = phantoms.Sector()
    gu, gw = phantoms.GALLBLADDER["centre"]
    column = int(gu / sector.pixel + sector.width / 2)

    def row(depth):
        return int((depth + sector.top) / sector.pixel)

    def box(u, depth, half=12):
        r, c = row(depth), column + int((u - gu) / sector.pixel)
        return frames[:, r - half : r + half, c - half : c + half].mean(axis=(1, 2))

    lumen = box(gu, gw)
    behind = box(gu, gw + 35)
    beside = (box(-80, gw + 35) + box(80, gw + 35)) / 2  # liver at the same depth
    assert (lumen < 25).all()  # anechoic
    assert (beside > 60).all() and (beside < 190).all()
    assert (behind > beside * 1.1).all()  # posterior acoustic enhancement
    # The sweep changes the picture from frame to frame.
    assert np.abs(frames[0].astype(int) - frames[10]).mean() > 5


# No identifiers.


@pytest.mark.parametrize("slug", list(phantoms.PHANTOMS))
def test_phantom_files_carry_no_identifier_but_the_synthetic_name(slug):
    for ds in datasets(slug):
        assert str(ds.PatientName) == "SYNTHETIC^PHANTOM"
        assert ds.PatientID == "PHANTOM"
        assert ds.BurnedInAnnotation == "NO"
        for element in ds.iterall():
            if element.VR == "PN":
                assert str(element.value) == "SYNTHETIC^PHANTOM", element
            assert element.VR not in ("DA", "DT", "TM"), element
            assert not element.tag.is_private, element
        for keyword in ("PatientBirthDate", "PatientSex", "PatientAge", "OtherPatientIDs",
                        "AccessionNumber", "InstitutionName", "InstitutionAddress",
                        "ReferringPhysicianName", "OperatorsName", "StationName",
                        "StudyDate", "DeviceSerialNumber"):  # fmt: skip
            assert keyword not in ds, keyword


# The demo seed and the content that uses the stacks.


@pytest.mark.django_db
def test_seed_demo_twice_creates_each_stack_once_and_the_pages_show_them(client):
    call_command("seed_demo", "--no-accounts", stdout=io.StringIO())
    first = {s.slug: (s.pk, s.generation) for s in ImageStack.objects.all()}
    out = io.StringIO()

    call_command("seed_demo", "--no-accounts", stdout=out)

    assert "Image stacks: 0 synthetic phantoms added." in out.getvalue()
    stacks = {s.slug: s for s in ImageStack.objects.all()}
    assert set(stacks) == set(phantoms.PHANTOMS)
    assert {slug: (s.pk, s.generation) for slug, s in stacks.items()} == first
    assert all(s.is_showable and s.is_synthetic for s in stacks.values())
    # The procedures that use them, and the nephrostomy page shows its viewer.
    nephrostomy = Procedure.objects.get(slug="nephrostomy")
    assert list(nephrostomy.image_stacks.values_list("slug", flat=True)) == ["nephrostomy-ct"]
    for procedure, slug in [("ultrasound-guided-drain", "liver-abscess-ct"),
                            ("ct-guided-biopsy", "lung-nodule-ct"),
                            ("percutaneous-cholecystostomy", "gallbladder-us")]:  # fmt: skip
        assert list(Procedure.objects.get(slug=procedure).image_stacks.all()) == [stacks[slug]]
    page = client.get(nephrostomy.get_absolute_url()).content.decode()
    assert 'class="stack-viewer"' in page
    assert stacks["nephrostomy-ct"].first_image_url in page
    assert "Synthetic phantom" in page
    # Each stack is shown in a lesson of the demo course and has a question answered on its
    # images, its regions on that stack (tests/stacks/test_phantom_questions.py scores them);
    # one single best answer shows a stack too.
    lessons = Lesson.objects.filter(module__slug="planning-from-images")
    assert sorted(slug for lesson in lessons for slug in slugs_in(lesson.body_html)) == sorted(
        phantoms.PHANTOMS
    )
    on_images = Question.objects.exclude(kind="sba").filter(module__slug="planning-from-images")
    assert sorted(question.stem_stack.slug for question in on_images) == sorted(phantoms.PHANTOMS)
    for question in on_images:
        regions = list(question.regions.all())
        assert {region.stack_id for region in regions} == {question.stem_stack_id}
        assert "target" in {region.role for region in regions}
    assert Question.objects.filter(kind="sba", stem_stack=stacks["nephrostomy-ct"]).count() == 1
    learner = UserFactory()
    course_services.enrolment_create(
        user=learner, course=Course.objects.get(slug="ultrasound-and-ct")
    )
    client.force_login(learner)
    lesson = lessons.get(slug="planning-a-nephrostomy")
    page = client.get(lesson.get_absolute_url()).content.decode()
    assert 'class="stack-viewer"' in page and stacks["nephrostomy-ct"].first_image_url in page


@pytest.mark.django_db
def test_seeding_again_adds_stacks_and_modules_missing_from_an_existing_demo():
    # Stacks with these slugs (not processed: the content seeds only link them).
    for slug in phantoms.PHANTOMS:
        ImageStackFactory(slug=slug, title=slug)
    procedure_library_seed()
    course_catalogue_seed()
    # A library seeded before stacks existed, a module added to the demo since, and an editor
    # who chose another stack for the biopsy page.
    Procedure.objects.get(slug="nephrostomy").image_stacks.clear()
    Module.objects.filter(slug="planning-from-images").delete()
    biopsy = Procedure.objects.get(slug="ct-guided-biopsy")
    biopsy.image_stacks.set([ImageStack.objects.get(slug="nephrostomy-ct")])

    procedure_library_seed()
    course_catalogue_seed()

    nephrostomy = Procedure.objects.get(slug="nephrostomy")
    assert list(nephrostomy.image_stacks.values_list("slug", flat=True)) == ["nephrostomy-ct"]
    assert list(biopsy.image_stacks.values_list("slug", flat=True)) == ["nephrostomy-ct"]
    module = Module.objects.get(slug="planning-from-images")
    assert module.course.slug == "ultrasound-and-ct" and module.lessons.count() == 4
    assert list(module.course.modules.values_list("slug", flat=True))[-1] == module.slug


@pytest.mark.django_db
def test_demo_content_naming_a_missing_stack_is_a_clear_error():
    with pytest.raises(ValueError, match="names image stacks that do not exist: no-such-stack"):
        demo_stacks("nephrostomy", ["no-such-stack"])
    with pytest.raises(ValueError, match="lesson 'planning-a-nephrostomy' names image stacks"):
        course_catalogue_seed()  # no stacks at all
