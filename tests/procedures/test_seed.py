"""The demo library (procedures/demo/*.toml), checked file by file and loaded with seed_demo.

The checks read whichever category files exist, so a new file is covered as soon as it lands.
"""

import datetime
import io
import tomllib

import pytest
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management import call_command
from django.urls import reverse

from irlearn.figures import validate_figure_file
from procedures.demo import DEMO_DIR, FIGURES_DIR, PROCEDURE_FIELDS, stored_file_name
from procedures.models import Category, Figure, ImagingModality, Procedure

CATEGORY_FILES = sorted(p.name for p in DEMO_DIR.glob("*.toml") if p.name != "categories.toml")
# What a [[procedure]] may hold: a key outside this list would be dropped without a word.
PROCEDURE_KEYS = {*PROCEDURE_FIELDS, "slug", "guidance", "related", "figure", "image_stacks"}
FIGURE_KEYS = {"file", "alt", "caption", "credit"}
# The modalities migration 0002 creates on every site.
MODALITIES = {"ultrasound", "ct", "fluoroscopy", "mri"}
SECTIONS = [name for name, _heading in Procedure.SECTIONS]


def load(name):
    with open(DEMO_DIR / name, "rb") as file:
        return tomllib.load(file)


def demo_categories():
    return load("categories.toml")["category"]


def demo_procedures(name):
    return load(name).get("procedure", [])


def all_demo_procedures():
    return [p for name in CATEGORY_FILES for p in demo_procedures(name)]


def seed(**options):
    out = io.StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def row_counts():
    return {
        "categories": Category.objects.count(),
        "procedures": Procedure.objects.count(),
        "figures": Figure.objects.count(),
        "related": Procedure.related.through.objects.count(),
        "guidance": Procedure.guidance.through.objects.count(),
        "history": Procedure.history.count(),
    }


def test_there_are_demo_category_files():
    assert CATEGORY_FILES


# Each file on its own.


@pytest.mark.parametrize("name", CATEGORY_FILES)
def test_demo_file_is_named_after_a_demo_category(name):
    # The seed looks for <category slug>.toml and skips anything else without a word.
    assert name.removesuffix(".toml") in {c["slug"] for c in demo_categories()}


@pytest.mark.parametrize("name", CATEGORY_FILES)
def test_demo_file_has_procedures(name):
    assert demo_procedures(name)


@pytest.mark.parametrize("name", CATEGORY_FILES)
def test_every_demo_procedure_has_every_section_a_summary_and_guidance(name):
    problems = []
    for procedure in demo_procedures(name):
        slug = procedure.get("slug", "?")
        for field in ["title", "slug", "summary", *SECTIONS]:
            if not str(procedure.get(field, "")).strip():
                problems.append(f"{slug}: {field} is empty")
        if not procedure.get("guidance"):
            problems.append(f"{slug}: no imaging guidance")
        if unknown := set(procedure.get("guidance", [])) - MODALITIES:
            problems.append(f"{slug}: unknown imaging guidance {sorted(unknown)}")
        if unknown := set(procedure) - PROCEDURE_KEYS:
            problems.append(f"{slug}: keys the seed ignores {sorted(unknown)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", CATEGORY_FILES)
@pytest.mark.django_db
def test_every_demo_procedure_passes_the_models_validation(name):
    problems = []
    for data in demo_procedures(name):
        procedure = Procedure(
            **{field: data[field] for field in PROCEDURE_FIELDS if field in data},
            slug=data.get("slug", ""),
        )
        if "last_reviewed" in data and not isinstance(data["last_reviewed"], datetime.date):
            problems.append(f"{procedure.slug}: last_reviewed is not a TOML date")
        try:
            procedure.full_clean(exclude=["category"], validate_unique=False)
        except ValidationError as error:
            problems.append(f"{procedure.slug}: {error}")
        for figure in data.get("figure", []):
            if unknown := set(figure) - FIGURE_KEYS:
                problems.append(f"{procedure.slug}: figure keys the seed ignores {unknown}")
            if not figure.get("alt", "").strip():
                problems.append(f"{procedure.slug}: figure {figure.get('file')} has no alt text")
            for key, field in [("alt", "alt_text"), ("caption", "caption"), ("credit", "credit")]:
                limit = Figure._meta.get_field(field).max_length
                if len(figure.get(key, "")) > limit:
                    problems.append(f"{procedure.slug}: figure {key} is over {limit} characters")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", CATEGORY_FILES)
def test_each_demo_category_has_a_procedure_with_a_valid_svg_figure(name):
    figures = [f["file"] for p in demo_procedures(name) for f in p.get("figure", [])]
    assert any(file.endswith(".svg") for file in figures), f"{name} has no SVG figure"
    problems = []
    for file in figures:
        path = FIGURES_DIR / file
        if not path.is_file():
            problems.append(f"{file}: no such file in {FIGURES_DIR}")
            continue
        with open(path, "rb") as image:
            try:
                validate_figure_file(File(image, name=file))
            except ValidationError as error:
                problems.append(f"{file}: {error}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", CATEGORY_FILES)
def test_related_slugs_in_the_demo_all_exist(name):
    slugs = {p["slug"] for p in all_demo_procedures()}
    problems = [
        f"{procedure['slug']} -> {related}"
        for procedure in demo_procedures(name)
        for related in procedure.get("related", [])
        if related not in slugs or related == procedure["slug"]
    ]
    assert not problems, "related slugs with no procedure (or itself):\n" + "\n".join(problems)


def test_demo_slugs_are_unique_across_files():
    slugs = [p["slug"] for p in all_demo_procedures()]
    assert sorted({s for s in slugs if slugs.count(s) > 1}) == []


def test_demo_abbreviations_are_unique():
    abbreviations = [p["abbreviation"] for p in all_demo_procedures() if p.get("abbreviation")]
    assert sorted({a for a in abbreviations if abbreviations.count(a) > 1}) == []


# Loading it.


@pytest.mark.django_db
def test_seed_demo_loads_every_demo_category_and_procedure(settings):
    settings.DEBUG = True

    output = seed()

    assert set(Category.objects.values_list("slug", flat=True)) == {
        c["slug"] for c in demo_categories()
    }
    demo = all_demo_procedures()
    assert set(Procedure.objects.published().values_list("slug", flat=True)) == {
        p["slug"] for p in demo
    }
    assert Figure.objects.count() == sum(len(p.get("figure", [])) for p in demo)
    assert f"{len(demo_categories())} categories and {len(demo)} procedures added" in output
    for name in CATEGORY_FILES:
        category = Category.objects.get(slug=name.removesuffix(".toml"))
        assert {p.slug for p in category.procedures.all()} == {
            p["slug"] for p in demo_procedures(name)
        }
    for data in demo:
        procedure = Procedure.objects.get(slug=data["slug"])
        assert set(procedure.guidance.values_list("slug", flat=True)) == set(data["guidance"])
        assert set(procedure.related.values_list("slug", flat=True)) >= set(data["related"])
        assert all(procedure.rendered[section] for section in SECTIONS), data["slug"]


@pytest.mark.django_db
def test_seed_demo_a_second_time_creates_nothing_and_changes_no_counts(settings):
    settings.DEBUG = True
    seed()
    first = row_counts()

    output = seed()

    assert row_counts() == first
    assert "0 categories and 0 procedures added" in output


@pytest.mark.django_db
def test_seed_demo_leaves_an_editors_changes_to_demo_procedures_alone(settings):
    settings.DEBUG = True
    seed()
    procedure = Procedure.objects.order_by("pk").first()
    procedure.summary = "Rewritten by an editor."
    procedure.save()

    seed()

    procedure.refresh_from_db()
    assert procedure.summary == "Rewritten by an editor."


@pytest.mark.django_db
def test_every_seeded_procedure_page_opens_with_its_figures(client, settings):
    settings.DEBUG = True
    seed()

    for procedure in Procedure.objects.prefetch_related("figures"):
        response = client.get(procedure.get_absolute_url())
        assert response.status_code == 200, procedure.slug
        for figure in procedure.figures.all():
            assert f'src="{figure.image.url}"' in response.content.decode(), procedure.slug
    for category in Category.objects.all():
        assert client.get(category.get_absolute_url()).status_code == 200
    assert client.get(reverse("procedures:index")).status_code == 200


@pytest.mark.django_db
def test_searching_a_seeded_abbreviation_finds_that_procedure_first(client, settings):
    settings.DEBUG = True
    seed()

    for procedure in Procedure.objects.exclude(abbreviation=""):
        response = client.get(reverse("pages:search"), {"q": procedure.abbreviation})
        found = [p.slug for p in response.context["procedures"]]
        assert found[:1] == [procedure.slug], procedure.abbreviation


@pytest.mark.django_db
def test_the_demo_guidance_modalities_exist_on_every_site():
    assert set(ImagingModality.objects.values_list("slug", flat=True)) >= MODALITIES


@pytest.mark.django_db
def test_seed_demo_gives_an_existing_demo_procedure_the_demo_figures_it_lacks(settings):
    # A database seeded before a diagram was drawn: the procedure exists, its figure does not.
    settings.DEBUG = True
    seed()
    demo = {p["slug"]: p for p in all_demo_procedures()}
    bare, edited = Procedure.objects.filter(slug__in=demo).order_by("slug")[:2]
    bare.figures.all().delete()
    figure = edited.figures.order_by("order").first()
    figure.caption = "An editor's caption."
    figure.alt_text = "An editor's alt text."
    figure.save()
    counts = row_counts()

    output = seed()

    assert [stored_file_name(f.image.name) for f in bare.figures.order_by("order")] == [
        f["file"] for f in demo[bare.slug]["figure"]
    ]
    assert Figure.objects.count() == counts["figures"] + len(demo[bare.slug]["figure"])
    figure.refresh_from_db()
    assert (figure.caption, figure.alt_text) == ("An editor's caption.", "An editor's alt text.")
    assert edited.figures.count() == len(demo[edited.slug]["figure"])
    assert f"({len(demo[bare.slug]['figure'])} figures added to existing procedures)" in output

    seed()

    assert row_counts() == {**counts, "figures": Figure.objects.count()}
    assert Figure.objects.count() == counts["figures"] + len(demo[bare.slug]["figure"])


@pytest.mark.django_db
def test_seed_demo_counts_a_figure_stored_under_a_clash_suffixed_name_as_present(settings):
    # Storage renames "ptc.svg" to "ptc_Ab3dE9z.svg" when media already holds a ptc.svg.
    settings.DEBUG = True
    seed()
    figure = Figure.objects.order_by("pk").first()
    name = stored_file_name(figure.image.name)
    stem, suffix = name.rsplit(".", 1)
    Figure.objects.filter(pk=figure.pk).update(image=f"procedures/figures/{stem}_Ab3dE9z.{suffix}")
    count = Figure.objects.count()

    seed()

    assert Figure.objects.count() == count


def test_stored_file_name_drops_the_folder_and_the_storage_clash_suffix():
    assert stored_file_name("procedures/figures/ptc_Ab3dE9z.svg") == "ptc.svg"
    assert stored_file_name("procedures/figures/ct-guided-lung-biopsy.svg") == (
        "ct-guided-lung-biopsy.svg"
    )
    assert stored_file_name("procedures/figures/my_scan.png") == "my_scan.png"
