"""Questions answered on image stacks ("mark the target", "plan the route"): scoring against the
expert's regions, bad and tampered marks, image questions in the same attempts and scores as
single best answers, the question page's queries whatever the stack's size, and the regions
kept from the browser until the learner has answered."""

import json
import re
from html import unescape
from urllib.parse import urlsplit

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from courses import scoring, services
from courses.models import Answer, Certificate, ModuleCompletion
from irlearn.stacks import processing
from irlearn.stacks.geometry import Geometry, Point
from irlearn.stacks.models import ImageStack
from tests.factories import (
    EnrolmentFactory,
    ImageQuestionFactory,
    ImageStackFactory,
    ModuleFactory,
    QuestionFactory,
    QuestionRegionFactory,
    UserFactory,
)
from tests.races import at_once
from tests.stacks.conftest import ct_zip

# Distinctive numbers and labels, so that finding them anywhere means a region leaked.
TARGET = {"cx": 0.6173, "cy": 0.5821, "rx": 0.0437, "ry": 0.0392}
COLON = [[0.4013, 0.5219], [0.4791, 0.5219], [0.4791, 0.6347], [0.4013, 0.6347]]
TARGET_LABEL = "posterior lower-pole calyx"
COLON_LABEL = "descending colon"
VESSEL_LABEL = "segmental artery"
TARGET_SLICES = (4, 5, 6)
COLON_SLICES = (3, 4, 5, 6, 7)
VESSEL_SLICE = 2


def target_shapes(slices=TARGET_SLICES):
    return [{"slice": i, "kind": "ellipse", **TARGET} for i in slices]


def colon_shapes(slices=COLON_SLICES):
    return [{"slice": i, "kind": "polygon", "points": COLON} for i in slices]


def vessel_shapes():
    # Only on slice 2, right over the target's centre: a path down the stack meets it between
    # its ends, never on the slices the marks are on.
    return [{"slice": VESSEL_SLICE, "kind": "ellipse", "cx": 0.6173, "cy": 0.5821, "rx": 0.02,
             "ry": 0.02}]  # fmt: skip


def image_question(*, kind="route", stack=None, module=None, vessel=False, **fields):
    """A question on a 10-slice stack (512 px, 0.7 mm pixels, slices 2.5 mm apart) with the
    target on slices 5 to 7 and, for routes, the colon beside it on slices 4 to 8."""
    if stack is not None:
        fields["stem_stack"] = stack
    if module is not None:
        fields["module"] = module
    question = ImageQuestionFactory(kind=kind, **fields)
    QuestionRegionFactory(question=question, label=TARGET_LABEL, shapes=target_shapes())
    if kind == "route":
        QuestionRegionFactory(
            question=question, role="avoid", label=COLON_LABEL, shapes=colon_shapes()
        )
        if vessel:
            QuestionRegionFactory(
                question=question, role="avoid", label=VESSEL_LABEL, shapes=vessel_shapes()
            )
    return question


# Marks, as the form posts them: (slice index, x, y).
ON_TARGET = (5, 0.6173, 0.5821)
OFF_TARGET = (5, 0.30, 0.30)
ON_TARGET_OTHER_SLICE = (1, 0.6173, 0.5821)
FROM_THE_SIDE = (5, 0.20, 0.58)  # the path to the target runs through the colon
FROM_BELOW = (5, 0.6173, 0.95)  # straight up to the target, clear of the colon
FROM_THE_FIRST_SLICE = (0, 0.6173, 0.5821)  # down the stack, through slice 2


def form(target, entry=None):
    data = {}
    for name, mark in (("entry", entry), ("target", target)):
        if mark is not None:
            data.update({f"{name}_slice": str(mark[0]), f"{name}_x": str(mark[1]),
                         f"{name}_y": str(mark[2])})  # fmt: skip
    return data


# Scoring, without the database.

GEOMETRY = Geometry(
    width_mm=512 * 0.7, height_mm=512 * 0.7, positions=tuple(i * 2.5 for i in range(10))
)
STACK_ID = 1


def rows(*regions, stack_id=STACK_ID):
    return [scoring.RegionRow(stack_id, role, label, shapes) for role, label, shapes in regions]


ROUTE_REGIONS = rows(
    ("target", TARGET_LABEL, target_shapes()),
    ("avoid", COLON_LABEL, colon_shapes()),
    ("avoid", VESSEL_LABEL, vessel_shapes()),
)


def score(kind, target, entry=None, regions=ROUTE_REGIONS):
    marks = scoring.parse_marks(form(target, entry), kind=kind, slice_count=10)
    usable = scoring.usable_regions(regions, stack_id=STACK_ID, slice_count=10)
    return scoring.score(kind=kind, marks=marks, regions=usable, geometry=GEOMETRY)


def test_a_mark_inside_the_target_on_its_slice_is_right():
    result = score("target", ON_TARGET)

    assert result.hit and result.is_correct
    assert result.as_json() == {"hit": True, "crossed": [], "crossings": []}


@pytest.mark.parametrize("mark", [OFF_TARGET, ON_TARGET_OTHER_SLICE], ids=["beside", "slice"])
def test_a_mark_beside_the_target_or_on_a_slice_without_it_is_wrong(mark):
    result = score("target", mark)

    assert not result.hit and not result.is_correct


def test_a_route_to_the_target_that_misses_every_structure_is_right():
    result = score("route", ON_TARGET, FROM_BELOW)

    assert result.as_json() == {"hit": True, "crossed": [], "crossings": []}
    assert result.is_correct


def test_a_route_through_the_colon_on_one_slice_is_wrong_and_names_it():
    result = score("route", ON_TARGET, FROM_THE_SIDE)

    assert result.hit and not result.is_correct
    assert result.crossed == [COLON_LABEL]
    (crossing,) = result.as_json()["crossings"]
    assert crossing["slice"] == 5 and COLON[0][0] <= crossing["x"] <= COLON[1][0]


def test_a_route_through_a_structure_between_the_slices_of_its_ends_is_wrong():
    result = score("route", ON_TARGET, FROM_THE_FIRST_SLICE)

    assert result.hit
    assert result.crossed == [VESSEL_LABEL]
    assert result.crossings[0].point.slice == VESSEL_SLICE


def test_a_route_that_misses_the_target_is_wrong_even_clear_of_everything():
    result = score("route", (5, 0.6173, 0.75), (5, 0.6173, 0.95))

    assert result.as_json()["hit"] is False and result.crossed == []
    assert not result.is_correct


def test_regions_drawn_on_another_stack_are_never_scored():
    regions = rows(("avoid", COLON_LABEL, colon_shapes())) + rows(
        ("target", "old target", target_shapes()),
        ("avoid", "old colon", colon_shapes()),
        stack_id=STACK_ID + 1,
    )
    regions += rows(("target", TARGET_LABEL, target_shapes()))

    assert score("route", ON_TARGET, FROM_THE_SIDE, regions).crossed == [COLON_LABEL]
    # Only the other stack's target: nothing to hit, so nothing is right.
    other_only = rows(("target", TARGET_LABEL, target_shapes()), stack_id=STACK_ID + 1)
    assert not score("target", ON_TARGET, regions=other_only).is_correct
    assert not score("route", ON_TARGET, FROM_BELOW, regions=other_only).is_correct


def test_a_question_without_a_target_region_is_never_right():
    assert not score("target", ON_TARGET, regions=[]).is_correct
    avoid_only = rows(("avoid", COLON_LABEL, colon_shapes()))
    assert not score("route", ON_TARGET, FROM_BELOW, regions=avoid_only).is_correct


@pytest.mark.parametrize(
    ("kind", "data", "reason"),
    [
        ("target", {}, "missing"),
        ("target", {"target_slice": "5", "target_x": "0.5"}, "missing"),
        ("target", form((9999, 0.5, 0.5)), "slice the stack does not have"),
        ("target", form((10, 0.5, 0.5)), "slice the stack does not have"),
        ("target", form((-1, 0.5, 0.5)), "slice the stack does not have"),
        ("target", form((2.5, 0.5, 0.5)), "slice the stack does not have"),
        ("target", form((5, 1.5, 0.5)), "outside the image"),
        ("target", form((5, 0.5, -0.01)), "outside the image"),
        ("target", form((5, "abc", 0.5)), "not a number"),
        ("target", form((5, "nan", 0.5)), "not a number"),
        ("target", form((5, 0.5, "inf")), "not a number"),
        ("target", form(("five", 0.5, 0.5)), "not a number"),
        ("target", form((5, "0." + "1" * 40, 0.5)), "not a number"),
        ("target", form(ON_TARGET, FROM_BELOW), "does not ask for a skin entry point"),
        ("route", form(ON_TARGET), "skin entry point is missing"),
        ("sba", form(ON_TARGET), "not answered on an image"),
        ("target", {"target": {"slice": True, "x": 0.5, "y": 0.5}}, "not a number"),
    ],
)
def test_marks_that_no_honest_form_sends_are_refused(kind, data, reason):
    with pytest.raises(scoring.MarkError, match=reason):
        scoring.parse_marks(data, kind=kind, slice_count=10)


def test_marks_read_back_as_stored():
    marks = scoring.parse_marks(form(ON_TARGET, FROM_BELOW), kind="route", slice_count=10)
    stored = marks.as_json()

    assert stored == {"entry": {"slice": 5, "x": 0.6173, "y": 0.95},
                      "target": {"slice": 5, "x": 0.6173, "y": 0.5821}}  # fmt: skip
    assert scoring.parse_marks(stored, kind="route", slice_count=10) == marks


def test_the_feedback_shows_the_target_slice_the_experts_and_where_the_route_met_the_colon():
    marks = scoring.parse_marks(
        form((1, 0.6173, 0.5821), (1, 0.2, 0.58)), kind="route", slice_count=10
    )
    usable = scoring.usable_regions(ROUTE_REGIONS, stack_id=STACK_ID, slice_count=10)
    result = scoring.Result(
        hit=False, crossings=(scoring.Crossing(COLON_LABEL, Point(3, 0.44, 0.58)),)
    )

    panels = scoring.feedback_panels(
        marks=marks, result=result, regions=usable, width=512, height=512
    )

    assert [(p.number, p.reasons) for p in panels] == [
        (2, ("your target",)),
        (4, ("your route enters the descending colon",)),
        (5, ("the target",)),
    ]
    assert [r["label"] for r in panels[2].regions] == [TARGET_LABEL, COLON_LABEL]
    assert panels[2].regions[0]["cx"] == round(0.6173 * 512, 2)
    assert panels[1].crossings == ({"label": COLON_LABEL, "x": 225.28, "y": 296.96},)
    assert [m["here"] for m in panels[0].marks] == [True, True]
    assert [m["here"] for m in panels[2].marks] == [False, False]


# The service: image questions in the same attempts, scores and certificates.


def test_image_answers_count_in_the_attempt_with_single_best_answers(learner):
    module = ModuleFactory(pass_mark=60)
    QuestionFactory(module=module, order=1)
    image_question(kind="target", module=module, order=2)
    image_question(kind="route", module=module, order=3)
    EnrolmentFactory(user=learner, course=module.course)
    attempt = services.attempt_start(user=learner, module=module)
    sba, target, route = attempt.question_ids

    services.answer_submit(attempt=attempt, question_id=sba, choice="b")
    marked = services.answer_submit(attempt=attempt, question_id=target, marks=form(ON_TARGET))
    routed = services.answer_submit(
        attempt=attempt, question_id=route, marks=form(ON_TARGET, FROM_THE_SIDE)
    )

    assert marked.is_correct and marked.choice == ""
    assert marked.marks == {"target": {"slice": 5, "x": 0.6173, "y": 0.5821}}
    assert routed.is_correct is False
    assert routed.result["hit"] is True and routed.result["crossed"] == [COLON_LABEL]
    attempt.refresh_from_db()
    assert (attempt.score, attempt.total, attempt.passed) == (2, 3, True)
    assert ModuleCompletion.objects.filter(user=learner, module=module).exists()
    assert Certificate.objects.filter(user=learner, course=module.course).exists()


def test_an_image_question_answered_wrong_fails_the_attempt_and_a_new_one_can_pass(learner):
    question = image_question(module=ModuleFactory(pass_mark=80))
    attempt = services.attempt_start(user=learner, module=question.module)
    services.answer_submit(
        attempt=attempt, question_id=question.pk, marks=form(ON_TARGET, FROM_THE_SIDE)
    )
    attempt.refresh_from_db()
    assert (attempt.score, attempt.passed) == (0, False)

    again = services.attempt_start(user=learner, module=question.module)
    services.answer_submit(
        attempt=again, question_id=question.pk, marks=form(ON_TARGET, FROM_BELOW)
    )

    again.refresh_from_db()
    assert again.pk != attempt.pk
    assert (again.score, again.passed) == (1, True)


def test_answering_an_image_question_again_keeps_the_first_marks(learner):
    question = image_question()
    attempt = services.attempt_start(user=learner, module=question.module)
    first = services.answer_submit(
        attempt=attempt, question_id=question.pk, marks=form(ON_TARGET, FROM_THE_SIDE)
    )

    second = services.answer_submit(
        attempt=attempt, question_id=question.pk, marks=form(ON_TARGET, FROM_BELOW)
    )

    assert second.pk == first.pk and second.is_correct is False
    assert Answer.objects.count() == 1


@pytest.mark.parametrize(
    "wrong", ["choice for an image question", "marks for a single best answer question"]
)
def test_an_answer_of_the_wrong_kind_is_rejected(learner, wrong):
    module = ModuleFactory()
    sba = QuestionFactory(module=module)
    image = image_question(module=module)
    attempt = services.attempt_start(user=learner, module=module)

    with pytest.raises(services.AnswerRejected):
        if wrong == "choice for an image question":
            services.answer_submit(
                attempt=attempt, question_id=image.pk, choice="b", marks=form(ON_TARGET)
            )
        else:
            services.answer_submit(
                attempt=attempt, question_id=sba.pk, choice="b", marks=form(ON_TARGET)
            )
    assert not Answer.objects.exists()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="threads cannot share SQLite's in-memory test database",
)
@pytest.mark.django_db(transaction=True)
def test_two_tabs_answering_the_last_image_question_at_once_score_the_attempt_once():
    learner = UserFactory()
    question = image_question(module=ModuleFactory(pass_mark=80))
    attempt = services.attempt_start(user=learner, module=question.module)

    first, second = at_once(
        lambda: services.answer_submit(
            attempt=attempt, question_id=question.pk, marks=form(ON_TARGET, FROM_BELOW)
        )
    )

    assert first.pk == second.pk
    attempt.refresh_from_db()
    assert (attempt.score, attempt.total, attempt.passed) == (1, 1, True)
    assert ModuleCompletion.objects.filter(user=learner, module=question.module).count() == 1


def test_scoring_a_route_runs_one_query_for_regions_and_one_for_positions(learner):
    question = image_question(stack=ImageStackFactory(slice_count=300))
    attempt = services.attempt_start(user=learner, module=question.module)

    with CaptureQueriesContext(connection) as queries:
        services.answer_submit(
            attempt=attempt, question_id=question.pk, marks=form(ON_TARGET, FROM_BELOW)
        )

    sql = [q["sql"] for q in queries]
    assert sum("courses_questionregion" in s for s in sql) == 1
    assert sum('FROM "stacks_stackslice"' in s for s in sql) == 1


# The pages.


def question_url(attempt, number=1):
    return reverse("courses:attempt-question", args=[attempt.pk, number])


@pytest.fixture
def route_attempt(learner):
    question = image_question(stem="Plan a nephrostomy route to the lower-pole calyx.")
    EnrolmentFactory(user=learner, course=question.module.course)
    return services.attempt_start(user=learner, module=question.module)


def post_marks(client, attempt, data, number=1):
    question_id = attempt.question_ids[number - 1]
    return client.post(question_url(attempt, number), {"question": question_id, **data})


def test_the_question_page_asks_for_the_marks_in_the_viewers_marking_mode(
    learner_client, route_attempt
):
    response = learner_client.get(question_url(route_attempt))

    assertContains(response, "Plan a nephrostomy route to the lower-pole calyx.")
    assertContains(response, "click the skin entry point, then the target")
    assertContains(response, 'data-mark="route"')
    assertContains(response, "Marking the image needs JavaScript")
    assertContains(response, "Clear marks")
    for name in scoring.field_names("route"):
        assertContains(response, f'<input type="hidden" name="{name}" value="">', html=True)
    assertContains(response, "Check my answer")
    assertNotContains(response, 'name="choice"')


def test_a_route_through_the_colon_is_wrong_and_the_feedback_shows_why(
    learner_client, route_attempt
):
    response = post_marks(learner_client, route_attempt, form(ON_TARGET, FROM_THE_SIDE))

    assertRedirects(response, question_url(route_attempt), fetch_redirect_response=False)
    answer = Answer.objects.get()
    assert answer.is_correct is False and answer.result["crossed"] == [COLON_LABEL]
    response = learner_client.get(question_url(route_attempt))
    assertContains(response, "Not quite.")
    assertContains(response, "Your route crossed the descending colon.")
    assertContains(response, "Your target mark is inside the posterior lower-pole calyx.")
    # The overlay: the slice marked on, the expert's regions and the learner's marks over it.
    assertContains(response, "<strong>Slice 6</strong>: your target; your route enters the")
    assertContains(response, 'class="region-target"')
    assertContains(response, 'class="region-avoid"')
    assertContains(response, 'class="learner-path"')
    assertContains(response, 'class="learner-crossing"')
    assertContains(response, "The descending colon (to avoid) is drawn on this slice.")
    assertContains(response, ImageQuestionFactory.explanation)
    assertContains(response, "Learning point")
    assertContains(response, "See your score")


def test_a_route_clear_of_the_colon_is_right(learner_client, route_attempt):
    post_marks(learner_client, route_attempt, form(ON_TARGET, FROM_BELOW))

    response = learner_client.get(question_url(route_attempt))

    assert Answer.objects.get().is_correct
    assertContains(response, "Correct.")
    assertContains(
        response,
        "Your target mark is inside the posterior lower-pole calyx, and the route misses the "
        "descending colon.",
    )


def test_a_target_mark_on_the_wrong_slice_shows_the_experts_slice_too(learner_client, learner):
    question = image_question(kind="target")
    EnrolmentFactory(user=learner, course=question.module.course)
    attempt = services.attempt_start(user=learner, module=question.module)

    post_marks(learner_client, attempt, form(ON_TARGET_OTHER_SLICE))
    response = learner_client.get(question_url(attempt))

    assertContains(response, "Your mark on slice 2 is not inside the posterior lower-pole calyx.")
    assertContains(response, "<strong>Slice 2</strong>: your target.")
    assertContains(response, "<strong>Slice 5</strong>: the target.")


def test_checking_before_marking_asks_for_the_marks_and_stores_nothing(
    learner_client, route_attempt
):
    blank = dict.fromkeys(scoring.field_names("route"), "")
    blank.update(form(ON_TARGET))

    response = post_marks(learner_client, route_attempt, blank)

    assert response.status_code == 200
    assertContains(response, "Mark the skin entry point and the target before you check")
    assert not Answer.objects.exists()


@pytest.mark.parametrize(
    ("tamper", "data"),
    [
        ("slice 9999", form(ON_TARGET, (9999, 0.2, 0.58))),
        ("x 1.5", form((5, 1.5, 0.58), FROM_BELOW)),
        ("y below zero", form((5, 0.5, -0.2), FROM_BELOW)),
        ("text", form((5, "<script>", 0.58), FROM_BELOW)),
        ("not a number", form((5, "NaN", 0.58), FROM_BELOW)),
        ("infinity", form((5, "Infinity", 0.58), FROM_BELOW)),
        ("slice not whole", form(("5.5", 0.6, 0.58), FROM_BELOW)),
        ("fields missing", form(ON_TARGET)),
        ("no marks at all", {}),
        ("an option as well", {**form(ON_TARGET, FROM_BELOW), "choice": "b"}),
    ],
)
def test_tampered_marks_are_a_bad_request_and_never_count(
    learner_client, route_attempt, tamper, data
):
    response = post_marks(learner_client, route_attempt, data)

    assert response.status_code == 400
    assert not Answer.objects.exists()
    route_attempt.refresh_from_db()
    assert route_attempt.score is None


def test_an_entry_point_on_a_mark_the_target_question_is_a_bad_request(learner_client, learner):
    question = image_question(kind="target")
    EnrolmentFactory(user=learner, course=question.module.course)
    attempt = services.attempt_start(user=learner, module=question.module)

    response = post_marks(learner_client, attempt, form(ON_TARGET, FROM_BELOW))

    assert response.status_code == 400
    assert not Answer.objects.exists()


def test_the_score_page_lists_image_answers(learner_client, learner):
    module = ModuleFactory()
    QuestionFactory(module=module, order=1)
    image_question(module=module, order=2)
    EnrolmentFactory(user=learner, course=module.course)
    attempt = services.attempt_start(user=learner, module=module)
    services.answer_submit(attempt=attempt, question_id=attempt.question_ids[0], choice="b")
    post_marks(learner_client, attempt, form(ON_TARGET, FROM_THE_SIDE), number=2)

    response = learner_client.get(reverse("courses:attempt-result", args=[attempt.pk]))

    assertContains(response, "You scored 1 out of 2 (50%).")
    assertContains(response, "Marked on the image")


# Queries: the same for a stack of 300 slices as for one of 10.

# Session, user, attempt, the question with its stack, the answers and the footer's subscriber
# count (a cold cache); after answering, the regions too (the footer's count is cached by then).
QUESTION_PAGE_QUERIES = 6
FEEDBACK_PAGE_QUERIES = 6


@pytest.mark.parametrize("slices", [10, 300])
def test_the_question_page_costs_the_same_queries_for_10_or_300_slices(
    learner_client, learner, slices
):
    question = image_question(stack=ImageStackFactory(slice_count=slices))
    EnrolmentFactory(user=learner, course=question.module.course)
    attempt = services.attempt_start(user=learner, module=question.module)
    url = question_url(attempt)

    with CaptureQueriesContext(connection) as queries:
        response = learner_client.get(url)
    # (Read now: the next request empties the connection's log the context reads from.)
    before = [q["sql"] for q in queries]
    assertContains(response, "Check my answer")
    post_marks(learner_client, attempt, form(ON_TARGET, FROM_THE_SIDE))
    with CaptureQueriesContext(connection) as queries:
        response = learner_client.get(url)
    after = [q["sql"] for q in queries]

    assertContains(response, "Your route crossed")
    assert len(before) == QUESTION_PAGE_QUERIES, before
    assert len(after) == FEEDBACK_PAGE_QUERIES, after
    assert not any("stacks_stackslice" in sql for sql in before + after)


# The answer stays on the server until the learner has answered.

DYNAMIC = ("text/html", "application/json")  # what the site writes per request
ATTRIBUTE_URL = re.compile(r'(?:src|href|action|data-manifest)="([^"]+)"')


def needles(stack, *, short=True):
    """Every way a region could show: its labels, its numbers as stored and, with ``short``,
    their digits alone and in the stack's pixels as an overlay would draw them (short strings,
    which the site's own stylesheets may hold by chance: looked for in pages and JSON)."""
    numbers = [*TARGET.values(), *(n for point in COLON for n in point)]
    found = {TARGET_LABEL, COLON_LABEL, VESSEL_LABEL, *(str(number) for number in numbers)}
    if short:
        for number in numbers:
            found.add(str(number)[2:])  # "6173": the digits, however they are formatted
            for side in (stack.width, stack.height):
                found.add(f"{number * side:.2f}")
    return found


def body_of(response):
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def everything_received(client, url):
    """The page at ``url`` and everything it leads the browser to fetch or follow: the links,
    scripts, styles and images in it, the viewer's manifest and every image it lists. Returns
    {url: (content type, text or None for binary)}."""
    seen, queue = {}, [url]
    while queue:
        current = queue.pop(0)
        if current in seen:
            continue
        response = client.get(current)
        content_type = response.get("Content-Type", "")
        body = body_of(response) if response.status_code == 200 else b""
        is_text = content_type.startswith(("text/", "application/json", "application/javascript"))
        text = body.decode() if is_text else None
        seen[current] = (content_type, text)
        if current == url:
            found = [unescape(u) for u in ATTRIBUTE_URL.findall(text)]
        elif current.endswith("manifest.json"):
            manifest = json.loads(text)
            found = [u for window in manifest["windows"] for u in window["urls"]]
        else:
            found = []
        queue += [u for u in found if urlsplit(u).netloc in ("", "testserver")]
    return seen


def test_no_region_reaches_the_browser_before_the_answer(learner_client, learner):
    stack = ImageStack(title="Kidney CT", slug="kidney-ct", description="A test series.",
                       window_keys=["soft-tissue"], burned_in_checked=True)  # fmt: skip
    stack.source_file.save("series.zip", ContentFile(ct_zip(10, 32)), save=False)
    stack.save()
    assert processing.stack_process(stack.pk) == "ready"
    stack.refresh_from_db()
    question = image_question(stack=stack, vessel=True, stem="Plan a route to the kidney.")
    EnrolmentFactory(user=learner, course=question.module.course)
    attempt = services.attempt_start(user=learner, module=question.module)
    url = question_url(attempt)

    received = everything_received(learner_client, url)

    assert stack.manifest_url() in received
    assert stack.image_url("soft-tissue", 9) in received
    assert any(u.startswith("/static/stacks/viewer.js") for u in received)
    leaks = [
        (where, needle)
        for where, (content_type, text) in received.items()
        for needle in needles(stack, short=content_type.startswith(DYNAMIC))
        if needle in where or (text is not None and needle in text)
    ]
    assert not leaks
    # The needles are real: once answered, the same page draws the regions.
    post_marks(learner_client, attempt, form(ON_TARGET, FROM_THE_SIDE))
    page = learner_client.get(url).content.decode()
    assert TARGET_LABEL in page and COLON_LABEL in page
    assert f"{0.6173 * stack.width:.2f}" in page


def test_staff_previewing_see_no_regions_before_answering_either(client, learner):
    staff = UserFactory(is_staff=True)
    question = image_question()
    attempt = services.attempt_start(user=staff, module=question.module)
    client.force_login(staff)

    response = client.get(question_url(attempt))

    assert response.status_code == 200
    for needle in needles(question.stem_stack):
        assertNotContains(response, needle)


def test_download_my_data_includes_the_marks_and_what_they_met(learner):
    question = image_question()
    attempt = services.attempt_start(user=learner, module=question.module)
    services.answer_submit(
        attempt=attempt, question_id=question.pk, marks=form(ON_TARGET, FROM_THE_SIDE)
    )

    (given,) = services.learner_data(learner)["attempts"][0]["answers"]

    assert given["marks"]["target"] == {"slice": 5, "x": 0.6173, "y": 0.5821}
    assert given["result"]["crossed"] == [COLON_LABEL]


def test_the_questions_page_says_how_many_questions_are_answered_on_the_images(db, client):
    from tests.factories import (
        EnrolmentFactory,
        ImageQuestionFactory,
        ModuleFactory,
        QuestionFactory,
        QuestionRegionFactory,
        UserFactory,
    )

    module = ModuleFactory()
    QuestionFactory.create_batch(2, module=module)
    QuestionRegionFactory(question=ImageQuestionFactory(module=module))
    learner = UserFactory()
    EnrolmentFactory(user=learner, course=module.course)
    client.force_login(learner)

    page = client.get(reverse("courses:quiz", args=[module.course.slug, module.slug]))

    assert "3 questions, one at a time: 2 single best answer and 1 answered on the images" in (
        " ".join(page.content.decode().split())
    )


def test_an_image_question_without_a_target_is_not_served_until_one_is_drawn(db):
    from courses.services import attempt_start
    from tests.factories import ImageQuestionFactory, ModuleFactory, QuestionFactory, UserFactory

    module = ModuleFactory()
    asked = QuestionFactory(module=module)
    untargeted = ImageQuestionFactory(module=module)
    attempt = attempt_start(user=UserFactory(), module=module)
    assert attempt.question_ids == [asked.pk]

    QuestionRegionFactory(question=untargeted)
    later = attempt_start(user=UserFactory(), module=module)
    assert set(later.question_ids) == {asked.pk, untargeted.pk}
