"""The demo questions answered on the phantoms' images (courses/demo/ultrasound-and-ct/
03-planning-from-images.toml) and their keyed regions, traced from each phantom's geometry by
phantoms.phantom_regions.

The regions lie on the images and where the anatomy is (the Hounsfield units, or the echoes,
under each are those of the structure it names, read from the phantom's own upload in the
order processing keeps); and, on the phantoms processed for real and seeded as the demo seeds
them, the real scorer (services.answer_submit with marks) agrees with an expert: an expert's
route is right, a route through the colon, the lung base or the fissure is wrong and says so.
"""

import io
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from courses import services
from courses.demo import course_catalogue_seed
from courses.models import Question
from irlearn.stacks import phantoms
from irlearn.stacks.geometry import clean_shapes
from irlearn.stacks.models import ImageStack
from tests.factories import ImageStackFactory, UserFactory
from tests.stacks.test_phantoms import datasets, hu, rendered

MODULE = (
    Path(__file__).resolve().parents[2]
    / "courses/demo/ultrasound-and-ct/03-planning-from-images.toml"
)
CT = ["nephrostomy-ct", "liver-abscess-ct", "lung-nodule-ct"]


def image(slug: str) -> np.ndarray:
    """The phantom's slices (Hounsfield units) or frames (grey levels), as learners scroll
    them."""
    if slug in CT:
        return hu(slug)
    (ds,) = datasets(slug)
    return ds.pixel_array.astype(np.float32)


def mask(shapes, index: int, width: int, height: int) -> np.ndarray:
    """The pixels of slice ``index`` whose centres the shapes contain (geometry.py's test)."""
    rows, columns = np.mgrid[:height, :width]
    x, y = (columns + 0.5) / width, (rows + 0.5) / height
    inside = np.zeros((height, width), dtype=bool)
    for shape in shapes:
        if shape["slice"] != index:
            continue
        if shape["kind"] == "ellipse":
            inside |= ((x - shape["cx"]) / shape["rx"]) ** 2 + (
                (y - shape["cy"]) / shape["ry"]
            ) ** 2 <= 1
            continue
        points = shape["points"]
        odd = np.zeros_like(inside)
        with np.errstate(divide="ignore", invalid="ignore"):
            for (x0, y0), (x1, y1) in zip(points, points[-1:] + points[:-1], strict=True):
                odd ^= ((y0 > y) != (y1 > y)) & (x < (x1 - x0) * (y - y0) / (y1 - y0) + x0)
        inside |= odd
    return inside


def under(slug: str, name: str) -> dict[int, np.ndarray]:
    """{slice index: the values of the pixels under the region}."""
    volume = image(slug)
    shapes = phantoms.phantom_regions(slug)[name]
    height, width = volume.shape[1:]
    return {
        index: volume[index][mask(shapes, index, width, height)]
        for index in sorted({shape["slice"] for shape in shapes})
    }


def numbers(slug: str, name: str) -> list[int]:
    """The slice numbers learners see that the region is drawn on."""
    return sorted({shape["slice"] + 1 for shape in phantoms.phantom_regions(slug)[name]})


# The regions: on the image, on the slices the descriptions name, over the anatomy.


@pytest.mark.parametrize("slug", list(phantoms.PHANTOMS))
def test_every_region_is_on_the_image_and_on_slices_the_stack_has(slug):
    regions = phantoms.phantom_regions(slug)
    count = phantoms.phantom_slice_count(slug)
    data = phantoms.PHANTOMS[slug].build()
    if zipfile.is_zipfile(io.BytesIO(data)):
        assert count == len(datasets(slug))
    else:
        assert count == int(datasets(slug)[0].NumberOfFrames)
    for name, shapes in regions.items():
        assert shapes, name
        assert clean_shapes(shapes, slice_count=count) == shapes, name
        for index, values in under(slug, name).items():
            assert values.size > 0, (name, index)
    # A fresh copy each time: the seed may keep what it is given.
    regions["extra"] = regions.popitem()[1]
    assert "extra" not in phantoms.phantom_regions(slug)


def test_the_targets_are_on_the_slices_the_descriptions_and_lessons_name():
    assert numbers("nephrostomy-ct", "calyx") == [35, 36, 37, 38, 39]
    assert numbers("liver-abscess-ct", "abscess") == list(range(6, 18))
    assert numbers("lung-nodule-ct", "nodule") == [37, 38, 39, 40]
    assert numbers("gallbladder-us", "neck") == list(range(1, 41))  # every frame: it moves
    # The avoid regions too, as the lesson and the explanations give them.
    assert set(range(34, 46)) <= set(numbers("nephrostomy-ct", "colon"))
    assert numbers("nephrostomy-ct", "lung")[-1] in (14, 15)  # "slices 1 to 14"
    assert numbers("nephrostomy-ct", "spleen")[-1] in (21, 22)
    assert numbers("liver-abscess-ct", "gallbladder")[:2] == [15, 16]
    # The lung bases, traced only above LUNG_BASES_LOWEST, end well above it.
    for abdomen in (phantoms.nephrostomy_abdomen(), phantoms.liver_abscess_abdomen()):
        for z in np.arange(phantoms.LUNG_BASES_LOWEST + 10, -230, -4.0):
            s = phantoms.Slab(256, 1.4, float(z))
            s.cavity = abdomen.outline(s)[2]
            lung = abdomen.lung_bases(s)
            assert lung is None or lung.min() > 1.4 / 2, z  # not half a pixel of lung


# What each region should hold: a test on the values under it, pooled over its slices, and one
# on each slice where it covers at least 60 pixels (the ends of a structure are partial volume).
EXPECTED = {
    ("nephrostomy-ct", "calyx"): (
        lambda v: -8 < np.median(v) < 10,
        lambda v: np.mean(abs(v) < 30) > 0.9,
    ),
    ("nephrostomy-ct", "colon"): (lambda v: np.mean(v < -200) > 0.5, lambda v: np.median(v) < 0),
    ("nephrostomy-ct", "spleen"): (lambda v: 35 < np.median(v) < 60, lambda v: np.median(v) > 20),
    ("nephrostomy-ct", "lung"): (lambda v: np.mean(v < -500) > 0.8, lambda v: np.median(v) < -500),
    ("liver-abscess-ct", "abscess"): (
        lambda v: 10 < np.median(v) < 35,
        lambda v: np.median(v) < 70,
    ),
    ("liver-abscess-ct", "lung"): (
        lambda v: np.mean(v < -500) > 0.8,
        lambda v: np.median(v) < -500,
    ),
    ("liver-abscess-ct", "gallbladder"): (
        lambda v: -5 < np.median(v) < 25,
        lambda v: np.median(v) < 50,
    ),
    ("liver-abscess-ct", "portal-vein"): (
        lambda v: np.median(v) > 140,
        lambda v: np.median(v) > 120,
    ),
    ("liver-abscess-ct", "hepatic-veins"): (
        lambda v: np.median(v) > 125,
        lambda v: np.median(v) > 115,
    ),
    ("liver-abscess-ct", "ivc"): (lambda v: 110 < np.median(v) < 140, lambda v: np.median(v) > 100),
    ("liver-abscess-ct", "right-kidney"): (
        lambda v: np.median(v) > 140,
        lambda v: np.median(v) > 120,
    ),
    ("liver-abscess-ct", "colon"): (lambda v: np.mean(v < -200) > 0.5, lambda v: np.median(v) < 0),
    ("lung-nodule-ct", "nodule"): (lambda v: np.median(v) > -50, lambda v: np.median(v) > -100),
    ("lung-nodule-ct", "fissure"): (lambda v: np.mean(v < -500) > 0.75, lambda v: np.max(v) > -650),
    ("lung-nodule-ct", "vessels"): (lambda v: np.median(v) > -300, lambda v: np.median(v) > -400),
    # The neck's bright wall round anechoic bile, on every frame (a thin line of it where the
    # probe cuts the neck off its axis).
    ("gallbladder-us", "neck"): (
        lambda v: np.mean(v < 30) > 0.1,
        lambda v: np.mean(v < 30) > 0.04,
    ),
}


def test_every_structure_of_every_phantom_has_its_expectation():
    assert {
        (slug, name) for slug in phantoms.PHANTOMS for name in phantoms.phantom_regions(slug)
    } == set(EXPECTED)


@pytest.mark.parametrize(("slug", "name"), list(EXPECTED))
def test_each_region_lies_over_the_anatomy_it_names(slug, name):
    pooled, each = EXPECTED[slug, name]
    values = under(slug, name)
    assert pooled(np.concatenate(list(values.values())))
    for index, part in values.items():
        if part.size >= 60:
            assert each(part), (index + 1, part.size, float(np.median(part)))


def test_the_colon_beside_the_kidney_is_gas_where_a_flank_route_would_meet_it():
    volume = hu("nephrostomy-ct")
    shapes = phantoms.phantom_regions("nephrostomy-ct")["colon"]
    for number in range(34, 46):
        left = [
            s for s in shapes if s["slice"] == number - 1 and min(x for x, _ in s["points"]) > 0.75
        ]
        assert len(left) == 1, number  # the descending colon, beside the kidney
        gas = volume[number - 1][mask(left, number - 1, 256, 256)] < -500
        assert gas.mean() > 0.35, number  # the rest faeces, lying at the back, and the wall


# The questions, seeded as the demo seeds them on the phantoms processed for real, and scored.


SERIES = {
    "nephrostomy-ct": phantoms.NEPHROSTOMY_SERIES,
    "liver-abscess-ct": phantoms.LIVER_ABSCESS_SERIES,
    "lung-nodule-ct": phantoms.LUNG_NODULE_SERIES,
}


def drawing(slug: str):
    return {
        "nephrostomy-ct": phantoms.nephrostomy_abdomen,
        "liver-abscess-ct": phantoms.liver_abscess_abdomen,
        "lung-nodule-ct": lambda: phantoms.Chest(seed=3),
    }[slug]()


def mm(slug: str, fraction: float) -> float:
    series = SERIES[slug]
    return (fraction * series.size - series.size / 2 - 0.5) * series.spacing


def at_mm(slug: str, index: int, x: float, y: float) -> dict:
    """A mark at (x, y) mm of a CT phantom's drawing (x to the patient's left, y back)."""
    series = SERIES[slug]
    fraction = lambda mm: (mm / series.spacing + series.size / 2 + 0.5) / series.size  # noqa: E731
    return {"slice": index, "x": fraction(x), "y": fraction(y)}


def entry_on_the_skin(slug: str, target: dict, direction) -> dict:
    """Where a ray from ``target`` (a mark) in ``direction`` (x, y: right and down the image)
    reaches the skin on the target's slice (the phantom's drawn outline of the body)."""
    body, z = drawing(slug), SERIES[slug].z(target["slice"])
    step = np.array(direction, dtype=float) / np.hypot(*direction) * 0.25  # mm
    point = np.array([mm(slug, target["x"]), mm(slug, target["y"])])
    while body.body_sd(point[0] + step[0], point[1] + step[1], z) < 0:
        point = point + step
    return at_mm(slug, target["slice"], *point)


def centre_of(shapes, index=None) -> dict:
    """A mark at the middle of the largest shape (on slice ``index``, or on any)."""

    def area(shape):
        if shape["kind"] == "ellipse":
            return np.pi * shape["rx"] * shape["ry"]
        x, y = np.array(shape["points"]).T
        return abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2

    shape = max((s for s in shapes if index is None or s["slice"] == index), key=area)
    if shape["kind"] == "ellipse":
        return {"slice": shape["slice"], "x": shape["cx"], "y": shape["cy"]}
    x, y = np.array(shape["points"]).T
    cross = x * np.roll(y, -1) - np.roll(x, -1) * y
    return {
        "slice": shape["slice"],
        "x": float(np.sum((x + np.roll(x, -1)) * cross) / (3 * cross.sum())),
        "y": float(np.sum((y + np.roll(y, -1)) * cross) / (3 * cross.sum())),
    }


def demo_question(slug, make_stack) -> Question:
    """The phantom processed for real, the other demo stacks as plain rows, and the demo
    courses seeded: the question answered on the phantom's images."""
    phantom = phantoms.PHANTOMS[slug]
    stack = make_stack(phantom.build(), name=phantom.filename, slug=slug, **phantom.stack_fields())
    assert stack.status == ImageStack.State.READY, stack.error
    for other in phantoms.PHANTOMS:
        if other != slug:
            ImageStackFactory(slug=other, title=other)
    course_catalogue_seed()
    return Question.objects.exclude(kind="sba").get(stem_stack=stack)


def answer(question, **marks):
    attempt = services.attempt_start(user=UserFactory(), module=question.module)
    return services.answer_submit(attempt=attempt, question_id=question.pk, marks=marks)


def target_of(question) -> list:
    return question.regions.get(role="target").shapes


@pytest.mark.django_db
def test_nephrostomy_an_expert_route_is_right_and_one_from_the_flank_crosses_the_colon(make_stack):
    question = demo_question("nephrostomy-ct", make_stack)
    assert question.kind == "route"
    assert sorted(question.regions.values_list("role", "label")) == [
        ("avoid", "colon"), ("avoid", "lung bases and pleura"), ("avoid", "spleen"),
        ("target", "posterior lower-pole calyx")]  # fmt: skip
    calyx = centre_of(target_of(question))
    assert calyx["slice"] + 1 == 37
    # From the back, lateral to the paraspinal muscles, below the twelfth rib (no rib is
    # drawn at slice 37): right.
    back = entry_on_the_skin("nephrostomy-ct", calyx, (0.3, 1))
    assert 65 < mm("nephrostomy-ct", back["x"]) < 130 and mm("nephrostomy-ct", back["y"]) > 80
    expert = answer(question, entry=back, target=calyx)
    assert expert.is_correct and expert.result["crossed"] == [], expert.result
    # Straight in from the side of the flank: through the colon.
    flank = answer(question, entry=entry_on_the_skin("nephrostomy-ct", calyx, (1, 0)), target=calyx)
    assert not flank.is_correct and flank.result["hit"]
    assert flank.result["crossed"] == ["colon"]
    # The renal pelvis at slice 29 is not the target.
    pelvis = at_mm("nephrostomy-ct", 28, *phantoms.PELVIS[:2])
    missed = answer(
        question, entry=entry_on_the_skin("nephrostomy-ct", pelvis, (0, 1)), target=pelvis
    )
    assert not missed.is_correct and not missed.result["hit"]
    # The stack as learners see it: the calyx keyed is dark urine inside the grey kidney, the
    # colon keyed is black gas (soft-tissue window, slice 37).
    stack = question.stem_stack
    slice_37 = rendered(stack, "soft-tissue", 37)
    regions = {r.label: r.shapes for r in question.regions.all()}
    calyx_hu = slice_37[mask(regions["posterior lower-pole calyx"], 36, 256, 256)] * 400 / 255 - 160
    assert -15 < calyx_hu.mean() < 15  # urine; the kidney round it is about 40 HU
    assert slice_37[mask(regions["colon"], 36, 256, 256)].mean() < 40


@pytest.mark.django_db
def test_liver_abscess_a_lateral_route_is_right_and_a_posterior_one_crosses_the_lung_base(
    make_stack,
):
    question = demo_question("liver-abscess-ct", make_stack)
    assert question.kind == "route"
    pus = centre_of(target_of(question))
    assert pus["slice"] + 1 in (11, 12)
    # In the mid-axillary line, into the lower part of the abscess: right.
    lower = centre_of(target_of(question), index=13)  # slice 14
    for target in (pus, lower):
        expert = answer(
            question, entry=entry_on_the_skin("liver-abscess-ct", target, (-1, 0)), target=target
        )
        assert expert.is_correct and expert.result["crossed"] == [], expert.result
    # From behind at slice 9: through the lung base and pleura.
    high = centre_of(target_of(question), index=8)
    posterior = answer(
        question, entry=entry_on_the_skin("liver-abscess-ct", high, (0, 1)), target=high
    )
    assert not posterior.is_correct and posterior.result["hit"]
    assert posterior.result["crossed"] == ["lung bases and pleura"]
    # The pus keyed is darker than the enhanced liver round it (liver window, slice 12).
    shapes = target_of(question)
    slice_12 = rendered(question.stem_stack, "liver", 12)
    assert slice_12[mask(shapes, 11, 256, 256)].mean() + 60 < slice_12[95:105, 80:90].mean()


@pytest.mark.django_db
def test_lung_nodule_a_posterior_route_is_right_and_an_anterior_one_crosses_the_fissure(make_stack):
    question = demo_question("lung-nodule-ct", make_stack)
    assert question.kind == "route"
    nodule = centre_of(target_of(question))
    assert nodule["slice"] + 1 in (38, 39)
    # Prone, from straight behind: right.
    expert = answer(
        question, entry=entry_on_the_skin("lung-nodule-ct", nodule, (0, 1)), target=nodule
    )
    assert expert.is_correct and expert.result["crossed"] == [], expert.result
    # From the front: across the fissure (and the vessels running to the hilum).
    anterior = answer(
        question, entry=entry_on_the_skin("lung-nodule-ct", nodule, (0, -1)), target=nodule
    )
    assert not anterior.is_correct and anterior.result["hit"]
    assert anterior.result["crossed"][0] == "oblique fissure"
    assert set(anterior.result["crossed"]) <= {"oblique fissure", "pulmonary vessels"}
    # The nodule keyed is bright in the dark lung (lung window).
    shapes = target_of(question)
    index = nodule["slice"]
    slice_image = rendered(question.stem_stack, "lung", index + 1)
    inside = mask(shapes, index, 256, 256)
    assert slice_image[inside].mean() > 150 > slice_image[:, :60].mean()


@pytest.mark.django_db
def test_gallbladder_neck_a_mark_on_the_neck_is_right_and_one_on_the_fundus_is_not(make_stack):
    question = demo_question("gallbladder-us", make_stack)
    assert question.kind == "target"
    assert list(question.regions.values_list("role", "label")) == [("target", "gallbladder neck")]
    neck = target_of(question)
    for frame in (0, 13, 27):
        right = answer(question, target=centre_of(neck, index=frame))
        assert right.is_correct, frame
    # The fundus, the wide end on the left of the first frame.
    sector, (gu, gw) = phantoms.Sector(), phantoms.GALLBLADDER["centre"]
    _, drift, slide = phantoms.sweep(0, phantoms.US_FRAMES)
    u, w = gu - 32 - slide, gw + drift
    fundus = {"slice": 0, "x": (u / sector.pixel + sector.width / 2) / sector.width,
              "y": ((w + sector.top) / sector.pixel + 0.5) / sector.height}  # fmt: skip
    wrong = answer(question, target=fundus)
    assert not wrong.is_correct
    frame = rendered(question.stem_stack, "original", 1)
    assert frame[int(fundus["y"] * 360), int(fundus["x"] * 480)] < 30  # it is in the bile
    # On the rendered frames too, the keyed neck holds anechoic bile.
    assert np.percentile(frame[mask(neck, 0, 480, 360)], 10) < 30


def test_the_demo_module_asks_one_question_on_each_phantom_with_its_regions_from_the_phantom():
    with open(MODULE, "rb") as file:
        module = tomllib.load(file)
    on_images = [q for q in module["question"] if q.get("kind", "sba") != "sba"]
    assert sorted(q["stem_stack"] for q in on_images) == sorted(phantoms.PHANTOMS)
    for question in on_images:
        assert question["explanation"].strip() and question["learning_point"].strip()
        assert "References:" in question["explanation"]
        roles = [region["role"] for region in question["region"]]
        assert roles.count("target") == 1
        for region in question["region"]:
            slug, _, name = region["phantom"].partition(":")
            assert slug == question["stem_stack"]
            assert name in phantoms.phantom_regions(slug)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("region", "message"),
    [
        ('role = "target"\nlabel = "calyx"\nphantom = "liver-abscess-ct:calyx"',
         "the phantom 'liver-abscess-ct' has abscess, colon"),
        ('role = "target"\nlabel = "calyx"\nphantom = "nephrostomy-ct:calyx"',
         "is drawn on 'nephrostomy-ct', not on the question's stack 'liver-abscess-ct'"),
        ('role = "avoid"\nlabel = "colon"\nphantom = "liver-abscess-ct:colon"',
         'needs a region with role = "target"'),
        ('role = "target"\nlabel = "abscess"\nshapes = [{ slice = 40, kind = "ellipse", '
         'cx = 0.3, cy = 0.5, rx = 0.1, ry = 0.1 }]',
         "A shape is on slice 40, which the stack does not have"),
    ],
)  # fmt: skip
def test_a_demo_image_question_with_bad_regions_stops_the_seed_naming_it(
    region, message, tmp_path, monkeypatch
):
    course = tmp_path / "a-course"
    course.mkdir()
    (course / "course.toml").write_text(
        'title = "A course"\nslug = "a-course"\nsummary = "S."\naudience = "A."\n'
        'outcomes = ["Plan a drain."]\ncpd_hours = 1.0\n'
    )
    (course / "01-a-module.toml").write_text(
        'title = "A module"\nslug = "a-module"\nsummary = "S."\n\n[[question]]\n'
        'kind = "route"\nstem = "Plan the drain."\nstem_stack = "liver-abscess-ct"\n'
        'explanation = "Why."\nlearning_point = "Remember."\n\n[[question.region]]\n'
        f"{region}\n"
    )
    monkeypatch.setattr("courses.demo.DEMO_DIR", tmp_path)
    ImageStackFactory(slug="liver-abscess-ct", title="Liver abscess", slice_count=36)

    with pytest.raises(ValueError, match="question 1 of 'a-module'") as error:
        course_catalogue_seed()

    assert message in str(error.value)
    assert not Question.objects.exists()
