"""Image questions in the admin: editors draw their regions on the stem stack (target and avoid,
checked against the stack's slices, never on another stack), and the course report shows where
learners marked. Forms are posted as the browser posts them, from the fields the page renders
(the drawing itself is in tests/browser/test_region_editor.py)."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from courses.models import Answer, Attempt, Question, QuestionRegion
from courses.reports import course_report, key_slice
from tests.factories import (
    ContentEditorFactory,
    CourseFactory,
    ImageQuestionFactory,
    ImageStackFactory,
    ModuleFactory,
    QuestionFactory,
    QuestionRegionFactory,
    SubscriberManagerFactory,
    UserFactory,
)
from tests.procedures.test_admin import add_inline_form, admin_form

pytestmark = pytest.mark.django_db

TARGET = [{"slice": 4, "kind": "ellipse", "cx": 0.6173, "cy": 0.55, "rx": 0.05, "ry": 0.04}]
COLON = [{"slice": 5, "kind": "polygon", "points": [[0.2, 0.2], [0.3, 0.2], [0.25, 0.3]]}]


def change_url(question):
    return reverse("admin:courses_question_change", args=[question.pk])


@pytest.fixture
def editor_client(client):
    client.force_login(ContentEditorFactory())
    return client


@pytest.fixture
def question():
    return ImageQuestionFactory(stem="Plan a route to the lower-pole calyx.")


def change_form(client, question):
    """The question's change form as the page renders it: (fields, inline templates)."""
    return admin_form(client.get(change_url(question)), "question_form")


def post_regions(client, question, *regions, **changes):
    """Post the question's change form with ``regions`` ((role, label, shapes), ...) added."""
    data, templates = change_form(client, question)
    # The page offers an empty row to draw the first region in: fill it, then add more.
    total = int(data["regions-TOTAL_FORMS"][0])
    blank = [i for i in range(total) if not data.get(f"regions-{i}-id", [""])[0]]
    for role, label, shapes in regions:
        values = {"role": role, "label": label, "shapes": json.dumps(shapes)}
        if blank:
            row = blank.pop(0)
            data.update({f"regions-{row}-{name}": [value] for name, value in values.items()})
        else:
            add_inline_form(data, templates, "regions", **values)
    for name, value in changes.items():
        data[name] = [value]
    return client.post(change_url(question), {**data, "_continue": "Save"})


def region_errors(response):
    formset = next(
        inline.formset
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.prefix == "regions"
    )
    return formset.non_form_errors(), [form.errors for form in formset.forms]


# Drawing regions.


def test_editor_saves_a_target_and_an_avoid_region_on_the_stem_stack(editor_client, question):
    response = post_regions(
        editor_client, question, ("target", "lower-pole calyx", TARGET), ("avoid", "colon", COLON)
    )

    assert response.status_code == 302
    regions = list(question.regions.order_by("role"))
    assert [(r.role, r.label, r.shapes, r.stack) for r in regions] == [
        ("avoid", "colon", COLON, question.stem_stack),
        ("target", "lower-pole calyx", TARGET, question.stem_stack),
    ]
    page = editor_client.get(change_url(question))
    assertNotContains(page, "Learners cannot answer")
    assertContains(page, "0.6173")


def test_image_question_page_has_the_drawing_panel_and_the_regions_table(editor_client, question):
    QuestionRegionFactory(question=question)

    response = editor_client.get(change_url(question))

    stack = question.stem_stack
    assertContains(response, 'id="regions-group"')
    assertContains(response, f'data-manifest="{stack.manifest_url()}"')
    assertContains(response, f'src="{stack.first_image_url}"')
    assertContains(response, "courses/region-editor.js")
    assertContains(response, "courses/region-editor.css")
    # Without JavaScript the Shapes boxes are typed in: the page says how.
    assertContains(response, "Drawing needs JavaScript")


def test_single_best_answer_questions_have_no_regions(editor_client):
    response = editor_client.get(change_url(QuestionFactory()))

    assertNotContains(response, 'id="regions-group"')
    assertNotContains(response, "region-editor.js")


def test_a_stack_not_processed_yet_is_said_and_shapes_cannot_be_saved(editor_client):
    question = ImageQuestionFactory(stem_stack=ImageStackFactory(status="queued", generation=0))

    response = post_regions(editor_client, question, ("target", "calyx", TARGET))

    assertContains(response, "has no images yet")
    _, errors = region_errors(response)
    assert errors[0]["shapes"] == [
        f"“{question.stem_stack}” has no images yet: draw its regions once it has been processed."
    ]
    assert not question.regions.exists()


# Bad regions: refused next to the field, nothing saved.

BAD_SHAPES = {
    "not-json": ("{oops", "Enter a valid JSON."),
    "empty": ([], "Draw the region on at least one slice."),
    "slice-the-stack-lacks": (
        [{**TARGET[0], "slice": 10}],
        "A shape is on slice 10, which the stack does not have (it has slices 1 to 10).",
    ),
    "off-the-image": ([{**TARGET[0], "cx": 1.2}], "An ellipse's centre must lie on the image"),
    "flat-ellipse": ([{**TARGET[0], "ry": 0}], "An ellipse must have a width and a height."),
    "two-point-polygon": (
        [{"slice": 1, "kind": "polygon", "points": [[0.1, 0.1], [0.2, 0.2]]}],
        "A polygon needs 3 to 200 points.",
    ),
    "unknown-kind": ([{"slice": 1, "kind": "star"}], "A shape is an ellipse or a polygon."),
}


@pytest.mark.parametrize("shapes, message", BAD_SHAPES.values(), ids=BAD_SHAPES)
def test_bad_shapes_are_refused_next_to_the_field(editor_client, question, shapes, message):
    data, templates = change_form(editor_client, question)
    data["regions-0-role"] = ["target"]
    data["regions-0-label"] = ["calyx"]
    data["regions-0-shapes"] = [shapes if isinstance(shapes, str) else json.dumps(shapes)]
    data["stem"] = ["A stem changed in the same save."]

    response = editor_client.post(change_url(question), {**data, "_continue": "Save"})

    assert response.status_code == 200
    _, errors = region_errors(response)
    assert message in " ".join(errors[0]["shapes"])
    assertContains(response, message.replace("'", "&#x27;")[:30])
    # Nothing of the form is saved, the question's own fields neither.
    assert not QuestionRegion.objects.exists()
    question.refresh_from_db()
    assert question.stem == "Plan a route to the lower-pole calyx."


def test_a_region_needs_a_label(editor_client, question):
    response = post_regions(editor_client, question, ("target", "", TARGET))

    _, errors = region_errors(response)
    assert errors[0]["label"] == ["Name the region, as feedback will: 'colon', 'lower-pole calyx'."]
    assert not QuestionRegion.objects.exists()


def test_avoid_regions_without_a_target_are_refused(editor_client, question):
    response = post_regions(editor_client, question, ("avoid", "colon", COLON))

    assert response.status_code == 200
    non_form, _ = region_errors(response)
    assert "Draw at least one target region" in non_form[0]
    assertContains(response, "Draw at least one target region")
    assert not QuestionRegion.objects.exists()


def test_deleting_the_only_target_is_refused(editor_client, question):
    target = QuestionRegionFactory(question=question)
    QuestionRegionFactory(question=question, role="avoid", label="colon", shapes=COLON)
    data, _ = change_form(editor_client, question)
    row = next(k for k, v in data.items() if k.endswith("-id") and v == [str(target.pk)])
    data[row.replace("-id", "-DELETE")] = ["on"]

    response = editor_client.post(change_url(question), {**data, "_continue": "Save"})

    assert response.status_code == 200
    assert "Draw at least one target region" in region_errors(response)[0][0]
    assert question.regions.count() == 2


def test_deleting_every_region_is_refused(editor_client, question):
    target = QuestionRegionFactory(question=question)
    data, _ = change_form(editor_client, question)
    data["regions-0-DELETE"] = ["on"]
    assert data["regions-0-id"] == [str(target.pk)]

    response = editor_client.post(change_url(question), {**data, "_continue": "Save"})

    assert "Draw at least one target region" in region_errors(response)[0][0]
    assert question.regions.get() == target


def test_a_region_drawn_on_another_stack_is_refused(editor_client, question):
    other = QuestionRegionFactory(question=question, stack=ImageStackFactory(title="Other CT"))

    response = post_regions(editor_client, question)

    assert response.status_code == 200
    _, errors = region_errors(response)
    assert errors[0]["__all__"] == [
        "This region was drawn on another stack than the question's "
        f"(“{question.stem_stack}”): delete it and draw it again on this one."
    ]
    # Deleting it (and drawing the target on the question's stack) is accepted.
    data, templates = change_form(editor_client, question)
    data["regions-0-DELETE"] = ["on"]
    add_inline_form(
        data, templates, "regions", role="target", label="calyx", shapes=json.dumps(TARGET)
    )
    response = editor_client.post(change_url(question), {**data, "_continue": "Save"})
    assert response.status_code == 302
    assert not QuestionRegion.objects.filter(pk=other.pk).exists()
    assert question.regions.get().stack == question.stem_stack


def test_a_stack_posted_with_a_region_is_ignored(editor_client, question):
    elsewhere = ImageStackFactory(title="Other CT")
    data, _ = change_form(editor_client, question)
    data.update(
        {
            "regions-0-role": ["target"],
            "regions-0-label": ["calyx"],
            "regions-0-shapes": [json.dumps(TARGET)],
            "regions-0-stack": [str(elsewhere.pk)],
        }
    )

    editor_client.post(change_url(question), {**data, "_continue": "Save"})

    assert question.regions.get().stack == question.stem_stack


# The stem stack of a question with regions.


def test_changing_the_stem_stack_of_a_question_with_regions_is_refused(editor_client, question):
    QuestionRegionFactory(question=question)
    old = question.stem_stack
    new = ImageStackFactory(title="Another CT")

    response = post_regions(editor_client, question, stem_stack=str(new.pk))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["stem_stack"]
    assert errors == [
        f"This question's regions were drawn on “{old}”, so its stack cannot change: delete "
        "the regions and save, then choose the new stack and draw them again on it."
    ]
    question.refresh_from_db()
    assert question.stem_stack == old


def test_changing_the_stem_stack_on_the_module_page_is_refused_too(editor_client, question):
    QuestionRegionFactory(question=question)
    url = reverse("admin:courses_module_change", args=[question.module.pk])
    data, _ = admin_form(editor_client.get(url), "module_form")
    data["questions-0-stem_stack"] = [str(ImageStackFactory().pk)]

    response = editor_client.post(url, {**data, "_continue": "Save"})

    assert response.status_code == 200
    assertContains(response, "so its stack cannot change")
    question.refresh_from_db()
    assert question.regions.get().stack == question.stem_stack


def test_a_question_without_regions_may_change_its_stem_stack(editor_client, question):
    new = ImageStackFactory(title="Another CT")

    post_regions(editor_client, question, stem_stack=str(new.pk))

    question.refresh_from_db()
    assert question.stem_stack == new


# Saved before its regions: allowed, with a warning, and never right meanwhile.


def test_an_image_question_is_added_then_drawn_on_its_own_page(editor_client):
    module = ModuleFactory()
    stack = ImageStackFactory()
    data, _ = admin_form(editor_client.get(reverse("admin:courses_question_add")), "question_form")
    data.update(
        {
            "module": [str(module.pk)],
            "kind": ["target"],
            "stem": ["Mark the gallbladder neck."],
            "stem_stack": [str(stack.pk)],
            "explanation": ["The neck lies where the gallbladder narrows towards the duct."],
            "learning_point": ["Find the neck before the stone."],
        }
    )

    response = editor_client.post(reverse("admin:courses_question_add"), {**data, "_save": "Save"})

    question = Question.objects.get(stem="Mark the gallbladder neck.")
    assert response.status_code == 302
    assert response["Location"] == change_url(question)
    page = editor_client.get(response["Location"])
    assertContains(page, "Learners cannot answer “Mark the gallbladder neck.” until its target")
    assertContains(page, 'id="regions-group"')


def test_saving_an_image_question_with_no_regions_yet_warns(editor_client, question):
    response = post_regions(editor_client, question, stem="Plan a route to the calyx.")

    assert response.status_code == 302
    question.refresh_from_db()
    assert question.stem == "Plan a route to the calyx."
    page = editor_client.get(response["Location"])
    assertContains(page, "Learners cannot answer “Plan a route to the calyx.” until its target")


def test_the_module_page_warns_of_image_questions_without_a_target(editor_client, question):
    url = reverse("admin:courses_module_change", args=[question.module.pk])
    data, _ = admin_form(editor_client.get(url), "module_form")

    response = editor_client.post(url, {**data, "_save": "Save"}, follow=True)

    assertContains(response, "Learners cannot answer")
    assertContains(response, f'href="{change_url(question)}"')


def test_question_list_says_which_image_questions_have_no_target(editor_client, question):
    QuestionRegionFactory(question=ImageQuestionFactory(stem="Drawn"))

    response = editor_client.get(reverse("admin:courses_question_changelist"))

    assertContains(response, "No target yet", count=1)
    assertContains(response, "Target drawn", count=1)


# Who may draw.


def test_subscriber_managers_cannot_see_or_draw_regions(client, question):
    client.force_login(SubscriberManagerFactory())
    data = {
        "regions-TOTAL_FORMS": "1",
        "regions-INITIAL_FORMS": "0",
        "regions-0-role": "target",
        "regions-0-label": "calyx",
        "regions-0-shapes": json.dumps(TARGET),
    }

    assert client.get(change_url(question)).status_code == 403
    assert client.post(change_url(question), data).status_code == 403
    assert not QuestionRegion.objects.exists()


# The course report: where learners marked.


def answered(question, user, *, target, entry=None, hit, crossed=(), finished=True):
    """An answer as scoring records it, in an attempt (finished unless told)."""
    attempt = Attempt.objects.create(
        user=user,
        module=question.module,
        question_ids=[question.pk],
        pass_mark=question.module.pass_mark,
        total=1,
        finished_at=timezone.now() if finished else None,
    )
    marks = {"target": dict(zip(("slice", "x", "y"), target, strict=True))}
    if entry:
        marks["entry"] = dict(zip(("slice", "x", "y"), entry, strict=True))
    right = hit and not crossed
    Answer.objects.create(
        attempt=attempt,
        question=question,
        marks=marks,
        result={"hit": hit, "crossed": list(crossed)},
        is_correct=right,
    )
    if finished:
        attempt.score = int(right)
        attempt.passed = right
        attempt.save()


@pytest.fixture
def route_question(question):
    QuestionRegionFactory(question=question)  # ellipses on slices 4 to 6 at (0.6, 0.6)
    QuestionRegionFactory(
        question=question,
        role="avoid",
        label="colon",
        shapes=[{"slice": 5, "kind": "ellipse", "cx": 0.3, "cy": 0.6, "rx": 0.1, "ry": 0.1}],
    )
    return question


def report_url(question):
    return reverse("admin:courses_course_report", args=[question.module.course.pk])


def test_report_overlays_learners_marks_on_the_key_slice(editor_client, route_question):
    question = route_question
    answered(question, UserFactory(), target=(5, 0.6, 0.6), entry=(5, 0.9, 0.6), hit=True)
    answered(
        question, UserFactory(), target=(5, 0.6, 0.6), entry=(5, 0.1, 0.6), hit=True,
        crossed=["colon"],
    )  # fmt: skip
    answered(question, UserFactory(), target=(2, 0.1, 0.1), entry=(2, 0.5, 0.1), hit=False)
    answered(question, UserFactory(), target=(5, 0.2, 0.9), hit=False, finished=False)

    response = editor_client.get(report_url(question))

    overlay = next(row.overlay for _, rows in response.context["report"].modules for row in rows)
    assert overlay.key_slice == 5
    assert (overlay.answered, overlay.right, overlay.hit) == (3, 1, 2)
    assert overlay.crossed == [("colon", 1)]
    stack = question.stem_stack
    assertContains(response, f'src="{stack.image_url("soft-tissue", 5)}"')
    assertContains(response, f"Slice 6 of {stack.slice_count}")
    html = response.content.decode()
    # Two hits (green dots), one miss (a red cross); the unfinished attempt is not shown.
    assert html.count('class="overlay-mark is-hit"') == 2
    assert html.count('class="overlay-mark is-miss is-elsewhere"') == 1
    # Routes: right (on target, crossing nothing) solid green, others dashed red.
    assert html.count('class="overlay-path is-right"') == 1
    assert html.count('class="overlay-path is-wrong"') == 2
    # In the image's pixels (512 a side): the hit at (0.6, 0.6) of the image.
    assertContains(response, '<circle class="overlay-target" cx="307.2" cy="307.2"', count=2)
    assertContains(response, 'class="overlay-region is-target"')
    assertContains(response, 'class="overlay-region is-avoid"')
    assertContains(response, '<tr><th scope="row">Crossed the colon</th><td>1</td></tr>', html=True)
    assertContains(response, '<tr><th scope="row">Hit the target</th><td>2</td></tr>', html=True)
    assertContains(response, "courses/report.css")


def test_report_says_when_an_image_question_has_no_target(editor_client, question):
    response = editor_client.get(report_url(question))

    assertContains(response, "No target drawn")
    assertContains(response, f'href="{change_url(question)}"')


def test_report_skips_marks_that_are_not_marks(editor_client, route_question):
    answered(route_question, UserFactory(), target=(5, 0.6, 0.6), hit=True)
    answer = Answer.objects.get()
    answer.marks = {"target": {"slice": 99, "x": "left", "y": 2}}
    answer.save()

    response = editor_client.get(report_url(route_question))

    assert response.status_code == 200
    assertNotContains(response, 'class="overlay-mark')


@pytest.mark.parametrize(
    "slices, key",
    [([4, 5, 6], 5), ([4, 5], 4), ([2, 3, 3, 9], 3), ([7], 7), ([], None), ([1, 2, 8, 9], 2)],
)
def test_key_slice_has_the_most_target_shapes_or_is_the_middle(slices, key):
    assert key_slice([{"slice": s} for s in slices]) == key


IMAGE_REPORT_QUERIES = 13


def test_report_overlay_makes_the_same_queries_for_1_or_10_answers(
    editor_client, route_question, django_assert_max_num_queries
):
    course = route_question.module.course
    sba = QuestionFactory(module=route_question.module)
    second = ImageQuestionFactory(module=ModuleFactory(course=course))
    QuestionRegionFactory(question=second)
    answered(route_question, UserFactory(), target=(5, 0.6, 0.6), entry=(5, 0.9, 0.6), hit=True)
    url = report_url(route_question)
    with django_assert_max_num_queries(IMAGE_REPORT_QUERIES) as one:
        editor_client.get(url)
    for user in UserFactory.create_batch(9):
        answered(route_question, user, target=(4, 0.5, 0.5), entry=(4, 0.9, 0.6), hit=False)
        answered(second, user, target=(5, 0.6, 0.6), entry=(5, 0.9, 0.6), hit=True)

    with django_assert_max_num_queries(IMAGE_REPORT_QUERIES) as ten:
        response = editor_client.get(url)

    answers = {
        row.question.pk: row.overlay and row.overlay.answered
        for _, rows in response.context["report"].modules
        for row in rows
    }
    assert answers == {route_question.pk: 10, sba.pk: None, second.pk: 9}
    assert len(ten.captured_queries) == len(one.captured_queries)


def test_report_of_a_course_without_image_questions_reads_no_regions(
    django_assert_num_queries,
):
    course = CourseFactory()
    QuestionFactory(module=ModuleFactory(course=course))

    with django_assert_num_queries(5):
        report = course_report(course)

    assert report.modules[0][1][0].overlay is None


def test_report_shows_answers_as_the_service_scores_them(editor_client, route_question):
    """The overlay reads what courses.services records (not only the hand-made rows above),
    and a question saved before its target was drawn is not served to learners at all."""
    from courses import services

    untargeted = ImageQuestionFactory(module=route_question.module, kind="target")
    user = UserFactory()
    attempt = services.attempt_start(user=user, module=route_question.module)
    assert untargeted.pk not in attempt.question_ids
    # Through the colon (an ellipse at (0.3, 0.6) on slice 5) to the calyx.
    route = {"entry": {"slice": 5, "x": 0.1, "y": 0.6}, "target": {"slice": 5, "x": 0.6, "y": 0.6}}
    services.answer_submit(attempt=attempt, question_id=route_question.pk, marks=route)

    response = editor_client.get(report_url(route_question))

    overlays = {
        row.question.pk: row.overlay
        for _, rows in response.context["report"].modules
        for row in rows
    }
    route_overlay = overlays[route_question.pk]
    assert (route_overlay.answered, route_overlay.right, route_overlay.hit) == (1, 0, 1)
    assert route_overlay.crossed == [("colon", 1)]
    [mark] = route_overlay.marks
    assert (mark.hit, mark.crossed, mark.route_is_right) == (True, ("colon",), False)
    assert (overlays[untargeted.pk].answered, overlays[untargeted.pk].right) == (0, 0)
    assertContains(response, "No target drawn")
