"""Every demo procedure is illustrated: each has a diagram with a text alternative on its page.

The diagrams (procedures/demo/figures/*.svg) are drawn for IRLearn; lessons may use them too
(courses/demo/*/NN-*.toml [[lesson.figure]]), so a file either kind names must be a valid figure.
"""

import io
import re
import tomllib
from html.parser import HTMLParser

import pytest
from defusedxml import ElementTree
from django.core.files import File
from django.core.management import call_command

from courses.models import Lesson
from irlearn.figures import validate_figure_file
from procedures.demo import DEMO_DIR, FIGURES_DIR
from procedures.models import Figure, Procedure

COURSES_DEMO_DIR = DEMO_DIR.parent.parent / "courses" / "demo"
SVG_NS = "{http://www.w3.org/2000/svg}"
# FORMAT.md: "Keep it under 20 KB".
MAX_SVG_BYTES = 20 * 1024


def demo_procedures():
    return [
        procedure
        for path in sorted(DEMO_DIR.glob("*.toml"))
        if path.name != "categories.toml"
        for procedure in tomllib.loads(path.read_text())["procedure"]
    ]


def lesson_figures():
    return [
        figure
        for path in sorted(COURSES_DEMO_DIR.glob("*/[0-9][0-9]-*.toml"))
        for lesson in tomllib.loads(path.read_text()).get("lesson", [])
        for figure in lesson.get("figure", [])
    ]


def lesson_figure_files():
    return {figure["file"] for figure in lesson_figures()}


# The columns' lengths: SQLite lets a longer text through, PostgreSQL refuses the whole seed.
ALT_MAX = Figure._meta.get_field("alt_text").max_length
CAPTION_MAX = Figure._meta.get_field("caption").max_length


class Figures(HTMLParser):
    """The <img> inside each <figure> of a page, as (alt, src) pairs."""

    def __init__(self):
        super().__init__()
        self.depth = 0
        self.images = []

    def handle_starttag(self, tag, attrs):
        if tag == "figure":
            self.depth += 1
        elif tag == "img" and self.depth:
            attrs = dict(attrs)
            self.images.append((attrs.get("alt") or "", attrs.get("src") or ""))

    def handle_endtag(self, tag):
        if tag == "figure":
            self.depth -= 1


def figures_on(html: str):
    parser = Figures()
    parser.feed(html)
    return parser.images


@pytest.mark.parametrize("procedure", demo_procedures(), ids=lambda p: p["slug"])
def test_every_demo_procedure_declares_a_figure_with_alt_text_and_caption(procedure):
    figures = procedure.get("figure", [])
    assert figures, f"{procedure['slug']} has no [[procedure.figure]]"
    for figure in figures:
        assert figure.get("alt", "").strip(), figure["file"]
        assert figure.get("caption", "").strip(), figure["file"]
        assert len(figure["alt"]) <= ALT_MAX, figure["file"]
        assert len(figure["caption"]) <= CAPTION_MAX, figure["file"]
        assert (FIGURES_DIR / figure["file"]).is_file(), figure["file"]


def test_demo_lesson_figures_have_alt_text_and_captions_that_fit():
    for figure in lesson_figures():
        assert 0 < len(figure["alt"].strip()) <= ALT_MAX, figure["file"]
        assert len(figure.get("caption", "")) <= CAPTION_MAX, figure["file"]


@pytest.mark.parametrize("name", sorted(p.name for p in FIGURES_DIR.glob("*.svg")))
def test_every_demo_diagram_is_a_small_safe_svg_with_a_title_and_a_viewbox(name):
    path = FIGURES_DIR / name
    data = path.read_bytes()
    assert len(data) < MAX_SVG_BYTES
    with open(path, "rb") as image:
        validate_figure_file(File(image, name=name))  # raises on scripts, styles, links...
    root = ElementTree.fromstring(data)
    assert re.fullmatch(r"0 0 \d+ \d+", root.get("viewBox", ""))
    title = root.find(f"{SVG_NS}title")
    assert title is not None and title.text.strip()
    assert root.find(f".//{SVG_NS}text") is not None, "labels are real text"


def test_every_demo_diagram_is_used_by_a_procedure_or_a_lesson():
    used = {f["file"] for p in demo_procedures() for f in p.get("figure", [])}
    used |= lesson_figure_files()
    on_disk = {p.name for p in FIGURES_DIR.glob("*.svg")}
    assert on_disk - used == set(), "diagrams no demo procedure or lesson shows"


def test_lesson_figures_name_files_that_exist():
    for name in lesson_figure_files():
        assert (FIGURES_DIR / name).is_file() or any(COURSES_DEMO_DIR.glob(f"*/{name}")), name


@pytest.mark.django_db
def test_every_published_demo_procedure_page_shows_a_figure_with_alt_text(
    client, settings, django_assert_max_num_queries
):
    settings.DEBUG = True
    call_command("seed_demo", "--no-accounts", stdout=io.StringIO())
    procedures = list(Procedure.objects.published().order_by("slug"))
    assert {p.slug for p in procedures} >= {p["slug"] for p in demo_procedures()}

    for procedure in procedures:
        with django_assert_max_num_queries(12):
            response = client.get(procedure.get_absolute_url())
        assert response.status_code == 200, procedure.slug
        images = figures_on(response.content.decode())
        assert images, f"{procedure.slug}: no <figure> with an <img>"
        assert all(alt.strip() for alt, _src in images), procedure.slug
        assert any(src.endswith(".svg") for _alt, src in images), procedure.slug


@pytest.mark.django_db
def test_lessons_given_figures_in_the_demo_show_them(client, settings):
    settings.DEBUG = True
    call_command("seed_demo", "--no-accounts", stdout=io.StringIO())
    lessons = Lesson.objects.filter(figures__isnull=False).distinct()
    assert lessons.count() >= 5
    for lesson in lessons:
        assert all(figure.alt_text.strip() for figure in lesson.figures.all()), lesson.slug
