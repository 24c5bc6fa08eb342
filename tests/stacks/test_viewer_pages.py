"""The viewer's HTML on the pages that show stacks (lessons, procedures, questions), what it costs,
and the manifest the viewer's script loads after the page. The browser side is in
tests/browser/test_stacks.py."""

import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from courses import services
from tests.factories import (
    EnrolmentFactory,
    ImageStackFactory,
    LessonFactory,
    ProcedureFactory,
    QuestionFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db

VIEWER = 'class="stack-viewer"'
EDITOR_NOTE = "Only editors see this note."


def lesson_naming(slug):
    return LessonFactory(body=f"Before the case.\n\n[[stack:{slug}]]\n\nAfter the case.")


@pytest.fixture
def enrolled(learner_client, learner):
    """The learner's client, enrolled on each course it is given."""

    def enrol(*courses):
        for course in courses:
            EnrolmentFactory(user=learner, course=course)
        return learner_client

    return enrol


def get_ok(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def assert_shows_viewer(html, stack):
    assert html.count(VIEWER) == 1
    assert f'data-manifest="{stack.manifest_url()}"' in html
    assert f'src="{stack.first_image_url}" width="512" height="512"' in html
    assert f"{stack.title}: slice 1 of {stack.slice_count}" in html
    assert f'aria-label="CT stack viewer: {stack.title}. Use arrow keys to scroll"' in html
    assert f'aria-valuetext="Slice 1 of {stack.slice_count}"' in html
    assert stack.description in html
    assert "Synthetic phantom" in html
    assert "needs JavaScript" in html
    # Every id inside the figure starts with the figure's own.
    uid = re.search(r'<figure class="stack-viewer" id="([^"]+)"', html).group(1)
    figure = html[html.index(f'id="{uid}"') : html.index("</figure>", html.index(f'id="{uid}"'))]
    ids = re.findall(r'\bid="([^"]+)"', figure)
    assert ids[0] == uid and all(i.startswith(f"{uid}-") for i in ids[1:])
    assert f'aria-describedby="{uid}-description"' in figure


# Where stacks are shown


def test_a_lesson_shows_the_viewer_where_its_shortcode_is(enrolled):
    stack = ImageStackFactory(title="Kidney CT")
    lesson = lesson_naming(stack.slug)
    html = get_ok(enrolled(lesson.module.course), lesson.get_absolute_url())
    assert_shows_viewer(html, stack)
    assert html.index("Before the case.") < html.index(VIEWER) < html.index("After the case.")
    assert "[[stack:" not in html


def test_a_procedure_shows_its_stacks_under_imaging_guidance(client):
    stack = ImageStackFactory(title="Kidney CT")
    procedure = ProcedureFactory()
    procedure.image_stacks.add(stack)
    html = get_ok(client, procedure.get_absolute_url())
    assert_shows_viewer(html, stack)
    assert html.index('id="imaging-guidance"') < html.index(VIEWER)


def test_a_question_shows_its_stem_stack_during_an_attempt(enrolled, learner):
    stack = ImageStackFactory(title="Kidney CT")
    question = QuestionFactory(stem_stack=stack)
    client = enrolled(question.module.course)
    attempt = services.attempt_start(user=learner, module=question.module)
    html = get_ok(client, reverse("courses:attempt-question", args=[attempt.pk, 1]))
    assert_shows_viewer(html, stack)


def test_stacks_without_images_are_shown_nowhere(client, enrolled, learner):
    stack = ImageStackFactory(generation=0, status="processing")
    lesson = lesson_naming(stack.slug)
    procedure = ProcedureFactory()
    procedure.image_stacks.add(stack)
    question = QuestionFactory(module=lesson.module, stem_stack=stack)
    learner_client = enrolled(lesson.module.course)
    attempt = services.attempt_start(user=learner, module=question.module)

    for page_client, url in [
        (learner_client, lesson.get_absolute_url()),
        (client, procedure.get_absolute_url()),
        (learner_client, reverse("courses:attempt-question", args=[attempt.pk, 1])),
    ]:
        html = get_ok(page_client, url)
        assert VIEWER not in html
        assert stack.title not in html
        assert "[[stack:" not in html
        assert EDITOR_NOTE not in html


def test_a_shortcode_naming_no_shown_stack_gives_staff_a_note_and_learners_nothing(
    client, enrolled
):
    processing = ImageStackFactory(slug="still-processing", generation=0, status="processing")
    missing = lesson_naming("no-such-stack")
    unprocessed = lesson_naming(processing.slug)
    learner_client = enrolled(missing.module.course, unprocessed.module.course)

    for lesson in (missing, unprocessed):
        html = get_ok(learner_client, lesson.get_absolute_url())
        assert VIEWER not in html and EDITOR_NOTE not in html and "[[stack:" not in html
        assert "Before the case." in html and "After the case." in html

    client.force_login(StaffFactory())
    html = get_ok(client, missing.get_absolute_url())
    assert "Image stack “no-such-stack” is not shown: no such stack." in html
    assert EDITOR_NOTE in html
    html = get_ok(client, unprocessed.get_absolute_url())
    assert "“still-processing” is not shown: its images are not processed yet." in html


def test_an_ultrasound_cine_has_frames_a_play_button_and_no_window_buttons(client):
    stack = ImageStackFactory(
        modality="US",
        plane="oblique",
        rendered_windows=["original"],
        frame_time_ms=40,
        row_spacing=None,
        column_spacing=None,
        is_synthetic=False,
    )
    procedure = ProcedureFactory()
    procedure.image_stacks.add(stack)
    html = get_ok(client, procedure.get_absolute_url())
    assert "Frame 1 of 10" in html
    assert 'aria-label="Ultrasound stack viewer: ' in html
    assert ">Play</button>" in html
    assert "data-window=" not in html
    # No pixel spacing: nothing to measure with.
    assert ">Measure</button>" not in html and "stack-overlay" not in html
    assert "Synthetic phantom" not in html


def test_a_ct_stack_has_a_button_per_window_the_first_pressed(client):
    stack = ImageStackFactory(rendered_windows=["soft-tissue", "lung", "bone"])
    procedure = ProcedureFactory()
    procedure.image_stacks.add(stack)
    html = get_ok(client, procedure.get_absolute_url())
    buttons = re.findall(r'data-window="([^"]+)"[^>]*aria-pressed="(\w+)">([^<]+)<', html)
    assert buttons == [
        ("soft-tissue", "true", "Soft tissue"),
        ("lung", "false", "Lung"),
        ("bone", "false", "Bone"),
    ]
    assert ">Measure</button>" in html and ">Play</button>" not in html


# What a stack costs a page: the same for 10 slices as for 300.


def measure(client, url):
    with CaptureQueriesContext(connection) as queries:
        html = get_ok(client, url)
    return len(queries), html


def test_a_lesson_costs_the_same_queries_and_html_for_300_slices_as_for_10(enrolled):
    small = ImageStackFactory(title="Case", slug="case", slice_count=10)
    lesson = lesson_naming("case")
    client = enrolled(lesson.module.course)
    url = lesson.get_absolute_url()
    # Each first request after a content change fills the course outline's cache: compare the
    # second ones.
    measure(client, url)
    small_queries, small_html = measure(client, url)

    small.slug = "old-case"
    small.save()
    large = ImageStackFactory(title="Case", slug="case", slice_count=300)
    measure(client, url)
    large_queries, large_html = measure(client, url)

    assert large_queries == small_queries
    assert_costs_nothing_per_slice(small_html, small, large_html, large)


def test_a_procedure_costs_the_same_queries_and_html_for_300_slices_as_for_10(
    learner_client,
):
    small = ImageStackFactory(title="Case", slug="case", slice_count=10)
    large = ImageStackFactory(title="Case", slug="other-case", slice_count=300)
    procedure = ProcedureFactory()
    url = procedure.get_absolute_url()
    procedure.image_stacks.set([small])
    measure(learner_client, url)
    small_queries, small_html = measure(learner_client, url)

    procedure.image_stacks.set([large])
    measure(learner_client, url)
    large_queries, large_html = measure(learner_client, url)

    assert large_queries == small_queries
    assert_costs_nothing_per_slice(small_html, small, large_html, large)


def assert_costs_nothing_per_slice(small_html, small, large_html, large):
    # The page names the first slice's image only; the manifest holds the rest.
    for html, stack in ((small_html, small), (large_html, large)):
        assert html.count(f"/stacks/{stack.key.hex}/") == 1
        assert html.count(".webp") == 1
    # "10" becomes "300" in a few places, and the viewer's id may grow by a digit.
    assert abs(len(large_html) - len(small_html)) < 40


# The manifest


def test_the_manifest_lists_every_slice_of_every_window_with_the_geometry(client):
    stack = ImageStackFactory(slice_count=3, rendered_windows=["soft-tissue", "bone"])
    response = client.get(stack.manifest_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "count": 3,
        "width": 512,
        "height": 512,
        "spacing": {"row": 0.7, "column": 0.7, "slice": 2.5},
        "frameTimeMs": None,
        "positions": [0.0, 2.5, 5.0],
        "windows": [
            {
                "key": "soft-tissue",
                "label": "Soft tissue",
                "urls": [stack.image_url("soft-tissue", i) for i in range(3)],
            },
            {
                "key": "bone",
                "label": "Bone",
                "urls": [stack.image_url("bone", i) for i in range(3)],
            },
        ],
    }
    assert response.json()["windows"][1]["urls"][2] == (
        f"/media/stacks/{stack.key.hex}/1/bone/0002.webp"
    )
    assert stack.first_image_url == response.json()["windows"][0]["urls"][0]


def test_the_manifest_of_a_generation_is_cached_for_good(client):
    stack = ImageStackFactory()
    cache_control = client.get(stack.manifest_url())["Cache-Control"]
    assert set(re.split(r",\s*", cache_control)) == {"public", "max-age=31536000", "immutable"}


@pytest.mark.parametrize("case", ["unknown key", "no images yet", "old generation"])
def test_the_manifest_is_404_for_a_stack_it_cannot_show(client, case):
    if case == "unknown key":
        ImageStackFactory()
        url = reverse("stacks:manifest", kwargs={"key": uuid.uuid4(), "generation": 1})
    elif case == "no images yet":
        stack = ImageStackFactory(generation=0, status="processing")
        url = reverse("stacks:manifest", kwargs={"key": stack.key, "generation": 0})
    else:
        stack = ImageStackFactory(generation=2, attempt=2)
        url = reverse("stacks:manifest", kwargs={"key": stack.key, "generation": 1})
    assert client.get(url).status_code == 404
