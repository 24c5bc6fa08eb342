"""The e-learning in the admin, as content editors use it: forms are posted the way the browser
would post them, starting from the fields the admin page itself renders."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertTemplateUsed

from courses import services
from courses.models import (
    Attempt,
    Certificate,
    Course,
    Enrolment,
    LessonFigure,
    LessonProgress,
    Module,
    ModuleCompletion,
    Question,
)
from tests.factories import (
    ContentEditorFactory,
    CourseFactory,
    LessonFactory,
    ModuleFactory,
    ProcedureFactory,
    QuestionFactory,
    SubscriberManagerFactory,
    SuperuserFactory,
    UserFactory,
    course_with_content,
    png_bytes,
)
from tests.procedures.test_admin import add_inline_form, admin_form

pytestmark = pytest.mark.django_db


def admin_url(name, *args):
    return reverse(f"admin:courses_{name}", args=args)


@pytest.fixture
def editor_client(client):
    client.force_login(ContentEditorFactory())
    return client


def post_action(client, url, action, objects, **extra):
    """Run ``action`` on ``objects`` from a change list (or, with a change page's ``url`` and
    ``form=True``, from that page's own action menu)."""
    field = "CHANGE_FORM-action" if extra.pop("form", False) else "action"
    data = {field: action, "_selected_action": [o.pk for o in objects], "index": 0, **extra}
    return client.post(url, data, follow=True)


def inline_formset(response, prefix):
    assert response.status_code == 200
    return next(
        inline.formset
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.prefix == prefix
    )


# Learners' journeys, through the services as the site's views make them.


def answer_questions(user, module, choices):
    attempt = services.attempt_start(user=user, module=module)
    for question_id, choice in zip(attempt.question_ids, choices, strict=False):
        services.answer_submit(attempt=attempt, question_id=question_id, choice=choice)
    return attempt


def complete_course(user, course):
    services.enrolment_create(user=user, course=course)
    for module in course.modules.all():
        for lesson in module.lessons.all():
            services.lesson_complete(user=user, lesson=lesson)
        answer_questions(user, module, ["b"] * module.questions.count())
    return Certificate.objects.get(user=user, course=course)


# A question as an editor writes it.

GOOD_QUESTION = {
    "stem": "A 70-year-old has an obstructed, infected kidney. What is the best next step?",
    "option_a": "Oral antibiotics at home",
    "explanation_a": "Infection behind an obstruction needs drainage.",
    "option_b": "Urgent nephrostomy",
    "explanation_b": "Drainage decompresses the kidney.",
    "option_c": "Elective ureteroscopy next month",
    "explanation_c": "Too late for an infected system.",
    "option_d": "Repeat the ultrasound in a week",
    "explanation_d": "Delays treatment.",
    "option_e": "",
    "explanation_e": "",
    "correct": "b",
    "learning_point": "An obstructed, infected kidney is drained urgently.",
}

# Questions an editor must not be able to save: (changes, the field in error, the message).
BAD_QUESTIONS = {
    "no-correct-answer": ({"correct": None}, "correct", "Choose the correct answer."),
    "correct-answer-not-among-the-options": (
        {"correct": "e"},
        "correct",
        "Option E is empty, so it cannot be the correct answer.",
    ),
    "three-options": (
        {"option_d": "", "explanation_d": ""},
        "option_d",
        "Give options A to D.",
    ),
    "option-without-explanation": (
        {"explanation_c": ""},
        "explanation_c",
        "Explain why this option is right or wrong.",
    ),
    "option-e-without-explanation": (
        {"option_e": "Nephrectomy", "explanation_e": ""},
        "explanation_e",
        "Explain why this option is right or wrong.",
    ),
    "explanation-without-option-e": (
        {"explanation_e": "Far too drastic."},
        "option_e",
        "Give option E, or clear its explanation.",
    ),
}


def fill(data, prefix="", **changes):
    """Put a question into posted form ``data`` (an inline's fields start with ``prefix``)."""
    for field, value in {**GOOD_QUESTION, **changes}.items():
        if value is None:
            data.pop(f"{prefix}{field}", None)
        else:
            data[f"{prefix}{field}"] = value
    return data


# Courses.


def test_course_changelist_lists_courses_in_order_with_module_counts(editor_client):
    second = course_with_content(modules=2, lessons=0, questions=0, title="Embolisation", order=2)
    first = course_with_content(modules=3, lessons=0, questions=0, title="Drainage", order=1)

    response = editor_client.get(admin_url("course_changelist"))

    assert response.status_code == 200
    assert [c.title for c in response.context["cl"].result_list] == ["Drainage", "Embolisation"]
    assert [c.module_total for c in response.context["cl"].result_list] == [3, 2]
    assertContains(response, 'class="drag handle"', count=2)
    for course in [first, second]:
        assertContains(
            response, f'<a href="{admin_url("course_report", course.pk)}">Report</a>', html=True
        )


def test_dragging_a_course_saves_the_new_order(editor_client):
    drainage = CourseFactory(title="Drainage", order=1)
    embolisation = CourseFactory(title="Embolisation", order=2)

    response = editor_client.post(
        admin_url("course_sortable_update"),
        {"updatedItems": [[embolisation.pk, 1], [drainage.pk, 2]]},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert list(Course.objects.values_list("title", flat=True)) == ["Embolisation", "Drainage"]


def test_editor_adds_a_course_as_a_draft(editor_client):
    data, _ = admin_form(editor_client.get(admin_url("course_add")), "course_form")
    data.update(
        title=["Nephrostomy for foundation doctors"],
        slug=["nephrostomy-for-foundation-doctors"],
        summary=["What a nephrostomy is and how to look after one."],
        audience=["Foundation doctors."],
        outcomes=["Explain what a nephrostomy is"],
        cpd_hours=["1.5"],
    )

    response = editor_client.post(admin_url("course_add"), {**data, "_save": "Save"})

    assert response.status_code == 302, response.context["errors"]
    course = Course.objects.get()
    assert (course.status, course.published_at) == ("draft", None)


def test_publish_and_unpublish_actions_change_the_status_and_keep_the_first_date(editor_client):
    draft = CourseFactory(status="draft", published_at=None)
    untouched = CourseFactory(status="draft", published_at=None)

    response = post_action(editor_client, admin_url("course_changelist"), "publish", [draft])

    assertContains(response, "Published 1 course(s).")
    draft.refresh_from_db()
    first_published = draft.published_at
    assert draft.is_published and first_published is not None
    assert draft.history.first().status == "published"
    untouched.refresh_from_db()
    assert not untouched.is_published

    response = post_action(editor_client, admin_url("course_changelist"), "unpublish", [draft])

    assertContains(response, "Returned 1 course(s) to draft.")
    draft.refresh_from_db()
    assert draft.status == "draft"
    post_action(editor_client, admin_url("course_changelist"), "publish", [draft])
    draft.refresh_from_db()
    assert draft.published_at == first_published


def test_course_change_form_links_to_the_report_and_to_adding_a_module(editor_client):
    course = course_with_content(modules=2, lessons=0, questions=0)

    response = editor_client.get(admin_url("course_change", course.pk))

    assertContains(
        response, f'<a href="{admin_url("course_report", course.pk)}">Report</a>', html=True
    )
    assertContains(response, f'href="{admin_url("module_add")}?course={course.pk}"')
    modules = inline_formset(response, "modules")
    assert [form.instance.title for form in modules.forms] == [
        m.title for m in course.modules.all()
    ]
    # Modules are added on their own page, where their summary goes.
    assertContains(response, 'name="modules-MAX_NUM_FORMS" value="0"')


def test_module_add_form_starts_with_the_course_of_the_link(editor_client):
    course = CourseFactory()

    response = editor_client.get(admin_url("module_add"), {"course": course.pk})

    assert response.context["adminform"].form.initial["course"] == str(course.pk)


def test_reordering_modules_on_the_course_form_saves_their_order(editor_client):
    course = CourseFactory()
    first = ModuleFactory(course=course, title="First", order=1)
    second = ModuleFactory(course=course, title="Second", order=2)
    data, _ = admin_form(editor_client.get(admin_url("course_change", course.pk)), "course_form")
    assert data["modules-0-id"] == [str(first.pk)]
    data["modules-0-order"], data["modules-1-order"] = ["2"], ["1"]
    data["modules-1-status"] = ["draft"]

    response = editor_client.post(admin_url("course_change", course.pk), {**data, "_save": "Save"})

    assert response.status_code == 302, response.context["errors"]
    assert [m.title for m in course.modules.all()] == ["Second", "First"]
    second.refresh_from_db()
    assert second.status == "draft"


# Modules.


def test_module_changelist_counts_lessons_and_questions_and_filters_by_course(editor_client):
    course = CourseFactory(title="Drainage")
    module = ModuleFactory(course=course, title="Nephrostomy")
    LessonFactory.create_batch(2, module=module)
    QuestionFactory.create_batch(3, module=module)
    ModuleFactory(title="Elsewhere")

    response = editor_client.get(admin_url("module_changelist"), {"course__id__exact": course.pk})

    [row] = response.context["cl"].result_list
    assert (row.title, row.lesson_total, row.question_total) == ("Nephrostomy", 2, 3)
    assertContains(response, '<td class="field-lesson_count">2</td>', html=True)
    assertContains(response, '<td class="field-question_count">3</td>', html=True)


def test_module_form_saved_unchanged_keeps_its_lessons_and_questions_in_order(editor_client):
    module = ModuleFactory()
    lessons = [LessonFactory(module=module, order=n) for n in (1, 2)]
    questions = [QuestionFactory(module=module, order=n) for n in (1, 2, 3)]
    page = editor_client.get(admin_url("module_change", module.pk))
    data, _ = admin_form(page, "module_form")

    response = editor_client.post(admin_url("module_change", module.pk), {**data, "_save": "Save"})

    assertContains(page, 'name="questions-0-correct" value="b" class="radiolist inline"')
    assert data["questions-0-correct"] == ["b"]
    assert response.status_code == 302, response.context["errors"]
    assert list(module.lessons.all()) == lessons
    assert list(module.questions.all()) == questions
    assert [q.correct for q in module.questions.all()] == ["b", "b", "b"]


def test_reordering_questions_on_the_module_form_saves_their_order(editor_client):
    module = ModuleFactory()
    first = QuestionFactory(module=module, order=1)
    second = QuestionFactory(module=module, order=2)
    data, _ = admin_form(editor_client.get(admin_url("module_change", module.pk)), "module_form")
    data["questions-0-order"], data["questions-1-order"] = ["2"], ["1"]

    response = editor_client.post(admin_url("module_change", module.pk), {**data, "_save": "Save"})

    assert response.status_code == 302, response.context["errors"]
    assert list(module.questions.all()) == [second, first]


def test_editor_adds_a_question_on_the_module_form(editor_client):
    module = ModuleFactory()
    existing = QuestionFactory(module=module, order=5)
    data, templates = admin_form(
        editor_client.get(admin_url("module_change", module.pk)), "module_form"
    )
    add_inline_form(data, templates, "questions")
    fill(data, "questions-1-")

    response = editor_client.post(admin_url("module_change", module.pk), {**data, "_save": "Save"})

    assert response.status_code == 302, response.context["errors"]
    added = module.questions.exclude(pk=existing.pk).get()
    assert (added.correct, added.option_b) == ("b", "Urgent nephrostomy")
    assert list(module.questions.all()) == [existing, added]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_QUESTIONS.values(), ids=BAD_QUESTIONS)
def test_module_form_refuses_a_question_that_breaks_the_format(
    editor_client, changes, field, message
):
    module = ModuleFactory(title="Nephrostomy")
    data, templates = admin_form(
        editor_client.get(admin_url("module_change", module.pk)), "module_form"
    )
    add_inline_form(data, templates, "questions")
    fill(data, "questions-0-", **changes)
    data["title"] = ["Renamed on the same form"]

    response = editor_client.post(admin_url("module_change", module.pk), {**data, "_save": "Save"})

    formset = inline_formset(response, "questions")
    assert formset.errors[0][field] == [message]
    # The message is next to the field, not (also) a general one at the top of the question.
    assert formset.forms[0].non_field_errors() == []
    assertContains(response, message)
    assert not Question.objects.exists()
    module.refresh_from_db()
    assert module.title == "Nephrostomy"


def test_module_form_refuses_an_existing_question_edited_into_three_options(editor_client):
    question = QuestionFactory(option_e="", explanation_e="")
    module = question.module
    data, _ = admin_form(editor_client.get(admin_url("module_change", module.pk)), "module_form")
    data["questions-0-option_c"] = [""]

    response = editor_client.post(admin_url("module_change", module.pk), {**data, "_save": "Save"})

    errors = inline_formset(response, "questions").errors[0]
    assert errors["option_c"] == ["Give options A to D."]
    question.refresh_from_db()
    assert question.option_c == "Option C"


def test_duplicate_action_makes_draft_copies_with_lessons_and_questions(editor_client):
    course = course_with_content(modules=2, lessons=2, questions=3)
    first, second = course.modules.all()

    response = post_action(
        editor_client, admin_url("module_changelist"), "duplicate", [first, second]
    )

    assertContains(response, "Created 2 draft copies.")
    copies = Module.objects.filter(title__endswith="(copy)")
    assert copies.count() == 2
    for copy in copies:
        assert copy.status == "draft"
        assert copy.lessons.count() == 2
        assert copy.questions.count() == 3


def test_duplicate_action_works_from_the_module_page(editor_client):
    module = ModuleFactory(title="Nephrostomy")
    url = admin_url("module_change", module.pk)

    response = post_action(editor_client, url, "duplicate", [module], form=True)

    assertContains(response, "Created 1 draft copy.")
    assert Module.objects.filter(title="Nephrostomy (copy)", status="draft").exists()


def test_module_page_links_to_its_preview_and_to_adding_a_lesson(editor_client):
    draft = ModuleFactory(status="draft")
    live = ModuleFactory()

    draft_page = editor_client.get(admin_url("module_change", draft.pk))
    live_page = editor_client.get(admin_url("module_change", live.pk))

    assertContains(
        draft_page,
        f'<a href="{draft.get_absolute_url()}">Preview the draft as learners will see it</a>',
        html=True,
    )
    assertContains(
        live_page, f'<a href="{live.get_absolute_url()}">Open the live page</a>', html=True
    )
    assertContains(draft_page, f'href="{admin_url("lesson_add")}?module={draft.pk}"')


def test_new_module_goes_to_the_end_of_its_course(editor_client):
    course = CourseFactory()
    last = ModuleFactory(course=course, order=7)
    data, _ = admin_form(
        editor_client.get(admin_url("module_add"), {"course": course.pk}), "module_form"
    )
    data.update(title=["Aftercare"], slug=["aftercare"], summary=["Looking after the tube."])

    response = editor_client.post(admin_url("module_add"), {**data, "_save": "Save"})

    assert response.status_code == 302, response.context["errors"]
    assert list(course.modules.values_list("title", flat=True)) == [last.title, "Aftercare"]


def test_procedures_field_finds_procedures_as_the_editor_types(editor_client):
    module = ModuleFactory()
    ProcedureFactory(title="Percutaneous nephrostomy")
    ProcedureFactory(title="Biliary drainage")

    response = editor_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "courses",
            "model_name": "module",
            "field_name": "procedures",
            "term": "nephro",
        },
        headers={"referer": admin_url("module_change", module.pk)},
    )

    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["Percutaneous nephrostomy"]


# Lessons.


def test_editor_adds_a_lesson_with_a_figure_at_the_end_of_the_module(editor_client):
    module = ModuleFactory()
    earlier = LessonFactory(module=module, order=3)
    page = editor_client.get(admin_url("lesson_add"), {"module": module.pk})
    data, templates = admin_form(page, "lesson_form")
    assert data["module"] == [str(module.pk)]
    data.update(title=["Aftercare"], slug=["aftercare"], body=["## Flushing\n\nFlush daily."])
    upload = SimpleUploadedFile("tube.png", png_bytes(), content_type="image/png")
    add_inline_form(data, templates, "figures", image=upload, alt_text="A nephrostomy tube")

    response = editor_client.post(admin_url("lesson_add"), {**data, "_save": "Save"})

    assert response.status_code == 302, response.context["errors"]
    lesson = module.lessons.get(slug="aftercare")
    assert list(module.lessons.all()) == [earlier, lesson]
    assert "<p>Flush daily.</p>" in lesson.body_html
    assert LessonFigure.objects.get(lesson=lesson).alt_text == "A nephrostomy tube"


def test_lesson_page_links_to_the_draft_preview(editor_client):
    lesson = LessonFactory(status="draft")

    response = editor_client.get(admin_url("lesson_change", lesson.pk))

    assertContains(
        response,
        f'<a href="{lesson.get_absolute_url()}">Preview the draft as learners will see it</a>',
        html=True,
    )


def test_lesson_module_menu_names_the_course_of_each_module(editor_client):
    ModuleFactory(course=CourseFactory(title="Drainage"), title="Introduction")
    ModuleFactory(course=CourseFactory(title="Embolisation"), title="Introduction")

    response = editor_client.get(admin_url("lesson_add"))

    assertContains(response, "Drainage: Introduction")
    assertContains(response, "Embolisation: Introduction")


def test_lesson_changelist_filters_by_course_and_status(editor_client):
    course = CourseFactory()
    LessonFactory(module=ModuleFactory(course=course), title="Wanted", status="draft")
    LessonFactory(module=ModuleFactory(course=course), title="Published one")
    LessonFactory(title="Other course", status="draft")

    response = editor_client.get(
        admin_url("lesson_changelist"),
        {"module__course__id__exact": course.pk, "status__exact": "draft"},
    )

    assert [lesson.title for lesson in response.context["cl"].result_list] == ["Wanted"]


# Questions on their own page.


def question_form(client, url):
    return admin_form(client.get(url), "question_form")[0]


def test_question_form_offers_the_answer_as_radio_buttons(editor_client):
    response = editor_client.get(admin_url("question_add"))

    for letter in "abcde":
        assertContains(response, f'type="radio" name="correct" value="{letter}"')
    for legend in ["Question", "Options", "Answer"]:
        assertContains(response, legend)


def test_editor_adds_a_question_at_the_end_of_the_module(editor_client):
    module = ModuleFactory()
    earlier = QuestionFactory(module=module, order=4)
    data = fill(question_form(editor_client, admin_url("question_add")), module=str(module.pk))

    response = editor_client.post(admin_url("question_add"), {**data, "_save": "Save"})

    assert response.status_code == 302, response.context["errors"]
    added = module.questions.exclude(pk=earlier.pk).get()
    assert list(module.questions.all()) == [earlier, added]
    assert added.letters == ["a", "b", "c", "d"]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_QUESTIONS.values(), ids=BAD_QUESTIONS)
def test_question_form_refuses_a_question_that_breaks_the_format(
    editor_client, changes, field, message
):
    module = ModuleFactory()
    data = question_form(editor_client, admin_url("question_add"))
    fill(data, module=str(module.pk), **changes)

    response = editor_client.post(admin_url("question_add"), {**data, "_save": "Save"})

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors[field] == [message]
    assert form.non_field_errors() == []
    assertContains(response, message)
    assert not Question.objects.exists()


def test_question_form_refuses_to_make_an_empty_option_e_correct_on_an_existing_question(
    editor_client,
):
    question = QuestionFactory(option_e="", explanation_e="")
    url = admin_url("question_change", question.pk)
    data = question_form(editor_client, url)
    data["correct"] = ["e"]

    response = editor_client.post(url, {**data, "_save": "Save"})

    assert response.context["adminform"].form.errors["correct"] == [
        "Option E is empty, so it cannot be the correct answer."
    ]
    question.refresh_from_db()
    assert question.correct == "b"


def test_question_with_an_image_needs_its_description(editor_client):
    module = ModuleFactory()
    data = fill(question_form(editor_client, admin_url("question_add")), module=str(module.pk))
    upload = SimpleUploadedFile("scan.png", png_bytes(), content_type="image/png")

    response = editor_client.post(
        admin_url("question_add"), {**data, "image": upload, "_save": "Save"}
    )

    assert response.context["adminform"].form.errors["image_alt"] == ["Describe the image."]
    assert not Question.objects.exists()


def test_question_history_lists_each_change(editor_client):
    question = QuestionFactory(learning_point="The first learning point.")
    url = admin_url("question_change", question.pk)
    data = question_form(editor_client, url)
    data["learning_point"] = ["A clearer learning point."]
    assert editor_client.post(url, {**data, "_save": "Save"}).status_code == 302

    history = editor_client.get(admin_url("question_history", question.pk))

    assert history.status_code == 200
    assert question.history.count() == 2
    assertContains(history, "A clearer learning point.")


# What learners did: read-only.

READ_ONLY = {
    "enrolment": Enrolment,
    "lessonprogress": LessonProgress,
    "attempt": Attempt,
    "modulecompletion": ModuleCompletion,
}


@pytest.fixture
def two_learners_records():
    course = course_with_content(modules=1, lessons=1, questions=1)
    wanted = UserFactory(email="wanted@example.org")
    complete_course(wanted, course)
    complete_course(UserFactory(email="other@example.org"), course)
    return wanted


@pytest.mark.parametrize("model_name", READ_ONLY)
def test_learner_records_are_listed_and_found_by_email(
    editor_client, two_learners_records, model_name
):
    url = admin_url(f"{model_name}_changelist")

    everyone = editor_client.get(url)
    found = editor_client.get(url, {"q": "wanted@"})

    assert everyone.status_code == 200
    assert len(everyone.context["cl"].result_list) == 2
    assert [row.user for row in found.context["cl"].result_list] == [two_learners_records]


@pytest.mark.parametrize(("model_name", "model"), READ_ONLY.items(), ids=READ_ONLY)
def test_learner_records_cannot_be_added_changed_or_deleted(
    editor_client, two_learners_records, model_name, model
):
    record = model.objects.filter(user=two_learners_records).first()
    change = admin_url(f"{model_name}_change", record.pk)

    page = editor_client.get(change)

    assert page.status_code == 200
    assertNotContains(page, 'name="_save"')
    assert editor_client.get(admin_url(f"{model_name}_add")).status_code == 403
    assert editor_client.post(change, {"_save": "Save"}).status_code == 403
    assert editor_client.post(admin_url(f"{model_name}_delete", record.pk)).status_code == 403
    assert model.objects.filter(pk=record.pk).exists()


def test_attempts_show_their_score_and_answers(editor_client):
    module = ModuleFactory()
    QuestionFactory(module=module, stem="Which tube drains the kidney?")
    attempt = answer_questions(UserFactory(), module, ["c"])

    listed = editor_client.get(admin_url("attempt_changelist"))
    page = editor_client.get(admin_url("attempt_change", attempt.pk))

    assertContains(listed, "0/1 (0%)")
    answers = inline_formset(page, "answers")
    assert [(a.question.stem, a.choice) for a in answers.queryset] == [
        ("Which tube drains the kidney?", "c")
    ]
    assertContains(page, "Which tube drains the kidney?")


# Certificates.


@pytest.fixture
def certificate():
    course = course_with_content(modules=1, lessons=1, questions=1, title="Drainage")
    return complete_course(UserFactory(email="ada@example.org", full_name="Ada Lovelace"), course)


@pytest.mark.parametrize("query", ["code", "Lovelace", "ada@example"])
def test_certificates_are_found_by_code_name_or_email(editor_client, certificate, query):
    other_course = course_with_content(modules=1, lessons=0, questions=1)
    complete_course(UserFactory(full_name="Someone Else"), other_course)
    query = certificate.code if query == "code" else query

    response = editor_client.get(admin_url("certificate_changelist"), {"q": query})

    assert list(response.context["cl"].result_list) == [certificate]


def test_certificate_page_shows_the_facts_and_the_verification_link(editor_client, certificate):
    response = editor_client.get(admin_url("certificate_change", certificate.pk))

    assertContains(response, certificate.code)
    assertContains(response, "Ada Lovelace")
    assertContains(
        response,
        f'<a href="{certificate.get_absolute_url()}">Open the public verification page</a>',
        html=True,
    )
    assertNotContains(response, 'name="_save"')
    assert editor_client.get(admin_url("certificate_add")).status_code == 403
    delete = editor_client.post(admin_url("certificate_delete", certificate.pk), {"post": "yes"})
    assert delete.status_code == 403


def test_revoking_asks_for_a_reason_before_anything_changes(editor_client, certificate):
    response = post_action(
        editor_client, admin_url("certificate_changelist"), "revoke", [certificate]
    )

    assertTemplateUsed(response, "admin/courses/certificate/revoke_confirmation.html")
    assertContains(response, certificate.code)
    assertContains(response, 'name="reason"')
    certificate.refresh_from_db()
    assert not certificate.is_revoked


def test_revoking_with_a_reason_revokes_the_certificate(editor_client, certificate):
    before = timezone.now()

    response = post_action(
        editor_client,
        admin_url("certificate_changelist"),
        "revoke",
        [certificate],
        post="yes",
        reason="Issued in error.",
    )

    assertContains(response, "Revoked 1 certificate(s)")
    certificate.refresh_from_db()
    assert certificate.revoked_at >= before
    assert certificate.revoked_reason == "Issued in error."
    revoked_list = editor_client.get(admin_url("certificate_changelist"), {"revoked": "yes"})
    assert list(revoked_list.context["cl"].result_list) == [certificate]


def test_revoking_without_a_reason_asks_again(editor_client, certificate):
    response = post_action(
        editor_client,
        admin_url("certificate_changelist"),
        "revoke",
        [certificate],
        post="yes",
        reason="  ",
    )

    assert response.status_code == 200
    assertContains(response, "Give the reason for revoking.")
    certificate.refresh_from_db()
    assert not certificate.is_revoked


def test_revoking_from_the_certificate_page(editor_client, certificate):
    url = admin_url("certificate_change", certificate.pk)

    ask = post_action(editor_client, url, "revoke", [certificate], form=True)
    response = post_action(
        editor_client, url, "revoke", [certificate], form=True, post="yes", reason="Fraud."
    )

    assertContains(ask, 'name="CHANGE_FORM-action" value="revoke"')
    assert response.redirect_chain[-1][0] == url
    assertContains(response, "Revoked 1 certificate(s)")
    certificate.refresh_from_db()
    assert certificate.revoked_reason == "Fraud."


def test_reinstating_clears_the_revocation(editor_client, certificate):
    services.certificate_revoke(
        certificates=Certificate.objects.filter(pk=certificate.pk), reason="Mistake."
    )

    response = post_action(
        editor_client, admin_url("certificate_changelist"), "reinstate", [certificate]
    )

    assertContains(response, "Reinstated 1 certificate(s).")
    certificate.refresh_from_db()
    assert (certificate.revoked_at, certificate.revoked_reason) == (None, "")


def test_subscriber_managers_cannot_see_or_revoke_certificates(client, certificate):
    client.force_login(SubscriberManagerFactory())

    response = post_action(
        client,
        admin_url("certificate_changelist"),
        "revoke",
        [certificate],
        post="yes",
        reason="No.",
    )

    assert response.status_code == 403
    certificate.refresh_from_db()
    assert not certificate.is_revoked


# The course report.


@pytest.fixture
def reported_course():
    """Two modules (two questions, then one), and learners at every stage:

    alice completes the course; frank too, but his certificate is revoked; bob has done a
    lesson; carol failed the first module's questions (one of two right); dave only enrolled;
    erin answered one question and then unenrolled. Someone on another course counts nowhere.
    """
    course = CourseFactory(title="Drainage")
    first = ModuleFactory(course=course, title="Indications", order=1)
    second = ModuleFactory(course=course, title="Aftercare", order=2)
    lesson = LessonFactory(module=first)
    LessonFactory(module=second)
    QuestionFactory(module=first, order=1, stem="Which patient needs drainage?")
    QuestionFactory(module=first, order=2, stem="=Which tube?")
    QuestionFactory(module=second, order=1, stem="How often is the tube flushed?")

    complete_course(UserFactory(), course)
    frank = complete_course(UserFactory(), course)
    services.certificate_revoke(certificates=Certificate.objects.filter(pk=frank.pk))
    bob = UserFactory()
    services.enrolment_create(user=bob, course=course)
    services.lesson_complete(user=bob, lesson=lesson)
    carol = UserFactory()
    services.enrolment_create(user=carol, course=course)
    answer_questions(carol, first, ["a", "b"])
    services.enrolment_create(user=UserFactory(), course=course)
    erin = UserFactory()
    services.enrolment_create(user=erin, course=course)
    answer_questions(erin, first, ["c"])
    services.enrolment_cancel(user=erin, course=course)
    complete_course(UserFactory(), course_with_content(modules=1, lessons=1, questions=1))
    return course


def test_report_counts_learners_attempts_and_answers(editor_client, reported_course):
    response = editor_client.get(admin_url("course_report", reported_course.pk))

    assert response.status_code == 200
    assertTemplateUsed(response, "admin/courses/course/report.html")
    report = response.context["report"]
    assert (report.enrolled, report.started, report.completed) == (5, 4, 1)
    # alice and frank 100% on both modules, carol 50% on the first.
    assert (report.finished_attempts, report.average_score) == (5, 90)
    assert [
        (module.title, [(r.question.stem, r.answers, r.percent_correct) for r in rows])
        for module, rows in report.modules
    ] == [
        (
            "Indications",
            [("Which patient needs drainage?", 4, 50), ("=Which tube?", 3, 100)],
        ),
        ("Aftercare", [("How often is the tube flushed?", 2, 100)]),
    ]
    assertContains(response, '<th scope="row">Enrolled</th><td>5</td>', html=True)
    assertContains(response, "<td>90%</td>", html=True)
    assertNotContains(response, "Check this question")


def test_report_flags_questions_fewer_than_40_percent_answer_correctly(editor_client):
    course = CourseFactory()
    at_40 = QuestionFactory(module=ModuleFactory(course=course, order=1), stem="Two in five")
    below = QuestionFactory(module=ModuleFactory(course=course, order=2), stem="One in three")
    for choice in ["b", "b", "a", "c", "d"]:
        answer_questions(UserFactory(), at_40.module, [choice])
    for choice in ["b", "a", "a"]:
        answer_questions(UserFactory(), below.module, [choice])

    response = editor_client.get(admin_url("course_report", course.pk))

    rows = {
        row.question.stem: row for _, rows in response.context["report"].modules for row in rows
    }
    assert (rows["Two in five"].percent_correct, rows["Two in five"].needs_checking) == (40, False)
    assert (rows["One in three"].percent_correct, rows["One in three"].needs_checking) == (33, True)
    assertContains(response, "Check this question", count=1)


def test_report_of_a_course_without_learners_or_questions(editor_client):
    course = CourseFactory(status="draft", published_at=None)
    ModuleFactory(course=course, title="Empty module")

    response = editor_client.get(admin_url("course_report", course.pk))

    report = response.context["report"]
    assert (report.enrolled, report.started, report.completed, report.average_score) == (
        0,
        0,
        0,
        None,
    )
    assertContains(response, "No questions.")


def test_report_downloads_as_csv(editor_client, reported_course):
    response = editor_client.get(admin_url("course_report_csv", reported_course.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="drainage-report-')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["section", "module", "question", "answers", "percent correct"],
        ["summary", "", "learners enrolled", "5", ""],
        ["summary", "", "learners started", "4", ""],
        ["summary", "", "learners completed (certificates not revoked)", "1", ""],
        ["summary", "", "finished attempts (average score)", "5", "90"],
        ["question", "Indications", "Which patient needs drainage?", "4", "50"],
        # A stem a spreadsheet would take for a formula is kept as text.
        ["question", "Indications", "'=Which tube?", "3", "100"],
        ["question", "Aftercare", "How often is the tube flushed?", "2", "100"],
    ]


def test_report_page_links_to_the_csv(editor_client):
    course = CourseFactory()

    response = editor_client.get(admin_url("course_report", course.pk))

    assertContains(response, f'href="{admin_url("course_report_csv", course.pk)}"')


def test_report_of_an_unknown_course_is_404(editor_client):
    assert editor_client.get(admin_url("course_report", 999)).status_code == 404


@pytest.mark.parametrize("name", ["course_report", "course_report_csv"])
def test_report_is_refused_to_subscriber_managers(client, name):
    client.force_login(SubscriberManagerFactory())

    assert client.get(admin_url(name, CourseFactory().pk)).status_code == 403


@pytest.mark.parametrize("name", ["course_report", "course_report_csv"])
def test_report_sends_learners_to_the_admin_login(client, name):
    client.force_login(UserFactory())
    url = admin_url(name, CourseFactory().pk)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_superusers_see_the_report(client):
    client.force_login(SuperuserFactory())

    assert client.get(admin_url("course_report", CourseFactory().pk)).status_code == 200


REPORT_QUERIES = 10


def test_report_makes_the_same_queries_for_1_or_10_learners(
    editor_client, django_assert_max_num_queries
):
    course = course_with_content(modules=2, lessons=1, questions=1)
    complete_course(UserFactory(), course)
    url = admin_url("course_report", course.pk)
    with django_assert_max_num_queries(REPORT_QUERIES) as one_learner:
        editor_client.get(url)
    for module in course.modules.all():
        QuestionFactory.create_batch(4, module=module)
    for user in UserFactory.create_batch(9):
        complete_course(user, course)

    with django_assert_max_num_queries(REPORT_QUERIES) as ten_learners:
        response = editor_client.get(url)

    assert response.context["report"].completed == 10
    assert len(ten_learners.captured_queries) == len(one_learner.captured_queries)


# Who may use it.


@pytest.mark.parametrize(
    "name",
    [
        "course_changelist",
        "course_add",
        "module_changelist",
        "module_add",
        "lesson_changelist",
        "question_changelist",
        "enrolment_changelist",
        "attempt_changelist",
        "certificate_changelist",
    ],
)
def test_subscriber_managers_are_refused_the_course_admin(client, name):
    client.force_login(SubscriberManagerFactory())

    assert client.get(admin_url(name)).status_code == 403


def test_subscriber_managers_cannot_publish_courses(client):
    client.force_login(SubscriberManagerFactory())
    course = CourseFactory(status="draft", published_at=None)

    response = post_action(client, admin_url("course_changelist"), "publish", [course])

    assert response.status_code == 403
    course.refresh_from_db()
    assert not course.is_published
