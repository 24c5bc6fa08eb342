from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import BadRequest
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django.views.generic import DetailView, TemplateView

from courses import scoring, services
from courses.certificates import certificate_pdf_bytes, cpd_records, normalise_code
from courses.models import Attempt, Certificate, Course, Lesson, Module, Question
from courses.progress import course_outline, course_outlines, enrolled_outlines
from procedures.models import Procedure


class CatalogueView(TemplateView):
    """Published courses with their size, and the learner's progress in those they took."""

    template_name = "courses/catalogue.html"

    def get_context_data(self, **kwargs):
        courses = list(Course.objects.visible_to(self.request.user).with_totals())
        outlines = course_outlines(user=self.request.user, courses=courses, enrolled_only=True)
        return super().get_context_data(
            entries=[(course, outlines.get(course.pk)) for course in courses], **kwargs
        )


class DashboardView(LoginRequiredMixin, TemplateView):
    """ "My learning": courses in progress with Resume, completed courses with certificates."""

    template_name = "courses/dashboard.html"

    def get_context_data(self, **kwargs):
        outlines = enrolled_outlines(user=self.request.user)
        return super().get_context_data(
            in_progress=[o for o in outlines if not o.is_complete and o.is_enrolled],
            completed=[o for o in outlines if o.is_complete],
            left=[o for o in outlines if not o.is_complete and not o.is_enrolled],
            **kwargs,
        )


class CourseDetailView(DetailView):
    """The public course page: outcomes and syllabus, and Enrol or Continue."""

    template_name = "courses/course_detail.html"
    context_object_name = "course"

    def get_queryset(self):
        return Course.objects.visible_to(self.request.user)

    def get_context_data(self, **kwargs):
        outline = course_outline(
            user=self.request.user, course=self.object, include_drafts=self.request.user.is_staff
        )
        return super().get_context_data(outline=outline, **kwargs)


def _learner_outline(request, slug):
    """The learner's outline of the course, or a redirect when they may not open its lessons.

    Staff open any lesson, draft or not, without enrolling: that is how they preview.
    """
    course = get_object_or_404(Course.objects.visible_to(request.user), slug=slug)
    outline = course_outline(user=request.user, course=course, include_drafts=request.user.is_staff)
    if not outline.is_enrolled and not request.user.is_staff:
        messages.info(request, "Enrol on the course to open its lessons and questions.")
        return outline, redirect(course)
    return outline, None


@login_required
@require_POST
def enrol(request, slug):
    course = get_object_or_404(Course.objects.published(), slug=slug)
    services.enrolment_create(user=request.user, course=course)
    outline = course_outline(user=request.user, course=course)
    if outline.has_started:
        messages.success(
            request, f"Welcome back to {course.title}: your progress is as you left it."
        )
    else:
        messages.success(request, f"You are enrolled on {course.title}.")
    return redirect(outline.resume_url())


@login_required
@require_POST
def unenrol(request, slug):
    course = get_object_or_404(Course, slug=slug)
    services.enrolment_cancel(user=request.user, course=course)
    messages.success(
        request,
        f"You have left {course.title}. Your progress is kept if you enrol again.",
    )
    return redirect("courses:dashboard")


@login_required
def resume(request, slug):
    outline, refusal = _learner_outline(request, slug)
    return refusal or redirect(outline.resume_url())


@login_required
def module_detail(request, course, module):
    outline, refusal = _learner_outline(request, course)
    if refusal:
        return refusal
    state = outline.module_state(module)
    return render(
        request,
        "courses/module_detail.html",
        {
            "course": outline.course,
            "outline": outline,
            "state": state,
            "module": state.module,
            "procedures": Procedure.objects.filter(modules=state.module.pk),
        },
    )


@login_required
def lesson_detail(request, course, module, lesson):
    outline, refusal = _learner_outline(request, course)
    if refusal:
        return refusal
    place = outline.lesson_place(module, lesson)
    return render(
        request,
        "courses/lesson_detail.html",
        {
            "course": outline.course,
            "outline": outline,
            "state": place.state,
            "module": place.module,
            # The outline holds titles and links; the page needs this one lesson's body.
            "lesson": Lesson.objects.prefetch_related("figures").get(pk=place.lesson.pk),
            "position": place.number,
            "is_done": place.is_done,
            "previous": place.previous,
            "next": place.next,
        },
    )


@login_required
@require_POST
def lesson_mark(request, course, module, lesson):
    """Mark a lesson complete (or, with ``undo``, not complete) and go on to the next step."""
    outline, refusal = _learner_outline(request, course)
    if refusal:
        return refusal
    place = outline.lesson_place(module, lesson)
    if not place.lesson.is_published:
        raise Http404("No such lesson in this module.")
    current = Lesson.objects.select_related("module__course").get(pk=place.lesson.pk)
    if request.POST.get("undo"):
        services.lesson_uncomplete(user=request.user, lesson=current)
        messages.info(request, f"“{current.title}” is no longer marked complete.")
        return redirect(place.lesson.url)
    had_certificate = outline.is_complete
    services.lesson_complete(user=request.user, lesson=current)
    if (
        not had_certificate
        and Certificate.objects.filter(user=request.user, course=outline.course).exists()
    ):
        return redirect("courses:course-complete", slug=outline.course.slug)
    messages.success(request, f"“{current.title}” marked complete.")
    return redirect(outline.after_completing(place))


@login_required
def quiz(request, course, module):
    """A module's questions: what to expect and earlier attempts; POST starts (or resumes) one."""
    outline, refusal = _learner_outline(request, course)
    if refusal:
        return refusal
    place = outline.questions_place(module)
    if request.method == "POST":
        if not place.module.is_published:
            messages.info(request, "Questions of a draft module can be read here but not taken.")
            return redirect(place.module.quiz_url)
        attempt = services.attempt_start(
            user=request.user, module=Module.objects.get(pk=place.module.pk)
        )
        return redirect(
            "courses:attempt-question", pk=attempt.pk, number=_first_unanswered(attempt)
        )
    attempts = list(Attempt.objects.filter(user=request.user, module=place.module.pk))
    return render(
        request,
        "courses/quiz.html",
        {
            "course": outline.course,
            "outline": outline,
            "state": place.state,
            "module": place.module,
            "attempts": attempts,
            "open_attempt": next((a for a in attempts if not a.is_finished), None),
            "previous": place.previous,
            "next": place.next,
        },
    )


def _own_attempt(request, pk):
    """The learner's own attempt; anyone else's is a 404, as if it did not exist."""
    return get_object_or_404(
        Attempt.objects.select_related("module__course"), pk=pk, user=request.user
    )


def _first_unanswered(attempt) -> int:
    """The number (1-based) of the attempt's first question without an answer."""
    answered = set(attempt.answers.values_list("question_id", flat=True))
    for number, question_id in enumerate(attempt.question_ids, start=1):
        if question_id not in answered:
            return number
    return len(attempt.question_ids)


@login_required
def attempt_question(request, pk, number):
    """Question ``number`` of an attempt: the form, then (after answering) the feedback.

    Questions on images are answered by marking the stem stack in the viewer; until the
    learner has answered, nothing of the regions they are scored against reaches the page."""
    attempt = _own_attempt(request, pk)
    if not 1 <= number <= len(attempt.question_ids):
        raise Http404("No such question in this attempt.")
    question = (
        Question.objects.select_related("stem_stack")
        .filter(pk=attempt.question_ids[number - 1], module=attempt.module)
        .first()
    )
    error = None
    if request.method == "POST":
        if question is None or str(request.POST.get("question")) != str(question.pk):
            raise BadRequest("The answer does not belong to this question.")
        if question.is_on_image:
            answer_given = not scoring.marks_are_blank(request.POST, kind=question.kind)
            # An option sent as well is passed on, for the service to refuse.
            arguments = {"marks": request.POST, "choice": request.POST.get("choice")}
            error = (
                "Mark the skin entry point and the target before you check your answer."
                if question.kind == Question.Kind.PLAN_ROUTE
                else "Mark the target before you check your answer."
            )
        else:
            choice = request.POST.get("choice")
            answer_given, arguments = bool(choice), {"choice": choice}
            error = "Choose an answer before you check it."
        if answer_given:
            try:
                services.answer_submit(
                    attempt=attempt, question_id=request.POST.get("question"), **arguments
                )
            except services.AnswerRejected as rejected:
                raise BadRequest(str(rejected)) from None
            return redirect("courses:attempt-question", pk=attempt.pk, number=number)
    answers = {a.question_id: a for a in attempt.answers.all()}
    answer = answers.get(question.pk) if question else None
    total = len(attempt.question_ids)
    return render(
        request,
        "courses/attempt_question.html",
        {
            "attempt": attempt,
            "module": attempt.module,
            "course": attempt.module.course,
            "question": question,
            "answer": answer,
            "number": number,
            "total": total,
            "is_last": number == total,
            "answered_percent": round(100 * len(answers) / total),
            "error": error if request.method == "POST" else None,
            **(_image_feedback(question, answer) if answer and question.is_on_image else {}),
        },
    )


def _image_feedback(question, answer) -> dict:
    """What the page shows after an image question is answered: the result in words and the
    slices that matter, with the expert's regions and the learner's marks drawn over them."""
    stack = question.stem_stack
    regions = services.question_regions(question)
    result = scoring.stored_result(answer.result)
    targets = sorted({r.label for r in regions if r.role == "target"})
    avoided = sorted({r.label for r in regions if r.role == "avoid"} - set(result.crossed))
    try:
        marks = scoring.parse_marks(answer.marks, kind=question.kind, slice_count=stack.slice_count)
    except scoring.MarkError:
        # Marks that no longer fit the stack (processed again since, with fewer slices): the
        # result stands, but there is nothing to draw them on.
        marks, panels = None, []
    else:
        panels = scoring.feedback_panels(
            marks=marks, result=result, regions=regions, width=stack.width, height=stack.height
        )
    window = stack.rendered_windows[0] if stack.rendered_windows else None
    return {
        "marks": marks,
        "result": result,
        "target_words": scoring.the_list(targets) if targets else "",
        "crossed_words": scoring.the_list(result.crossed) if result.crossed else "",
        "avoided_words": scoring.the_list(avoided) if avoided else "",
        "panels": [
            (panel, stack.image_url(window, panel.index) if window else "") for panel in panels
        ],
        "stack": stack,
    }


@login_required
def attempt_result(request, pk):
    """The score of a finished attempt, pass or fail, each answer beside the correct one."""
    attempt = _own_attempt(request, pk)
    if not attempt.is_finished:
        messages.info(request, "Answer every question to see your score.")
        return redirect(
            "courses:attempt-question", pk=attempt.pk, number=_first_unanswered(attempt)
        )
    positions = {question_id: n for n, question_id in enumerate(attempt.question_ids, start=1)}
    answers = sorted(
        ((positions[a.question_id], a) for a in attempt.answers.select_related("question")),
        key=lambda pair: pair[0],
    )
    outline = course_outline(user=request.user, course=attempt.module.course)
    return render(
        request,
        "courses/attempt_result.html",
        {
            "attempt": attempt,
            "module": attempt.module,
            "course": attempt.module.course,
            "answers": answers,
            "outline": outline,
            "next_url": outline.resume_url(),
        },
    )


def certificate_verify(request, code):
    """Public: the facts of a certificate found by its code, or that it was revoked; for a code
    that matches none, a 404 page that says so and offers to type the code again."""
    certificate = Certificate.objects.filter(code=normalise_code(code)).first()
    if certificate is None:
        return _certificate_not_found(request, code)
    return render(request, "courses/certificate_verify.html", {"certificate": certificate})


def certificate_lookup(request):
    """Public: the form to type a certificate's code (GET). A code found goes to its page."""
    typed = request.GET.get("code", "").strip()
    if not typed:
        return render(request, "courses/certificate_verify.html", {"certificate": None})
    certificate = Certificate.objects.filter(code=normalise_code(typed)).first()
    if certificate is None:
        return _certificate_not_found(request, typed)
    return redirect(certificate)


def _certificate_not_found(request, typed):
    return render(
        request,
        "courses/certificate_verify.html",
        {"certificate": None, "typed": typed[:40]},
        status=404,
    )


@login_required
def course_complete(request, slug):
    """The learner's moment of finishing a course: the certificate, how to share it, and what
    to learn next. Reached after the last step of the course, and from My learning."""
    course = get_object_or_404(Course, slug=slug)
    certificate = Certificate.objects.filter(user=request.user, course=course).first()
    if certificate is None:
        messages.info(request, f"Finish every module of {course.title} to earn its certificate.")
        return redirect(course)
    verify_url = request.build_absolute_uri(certificate.get_absolute_url())
    return render(
        request,
        "courses/course_complete.html",
        {
            "course": course,
            "certificate": certificate,
            "verify_url": verify_url,
            "cpd_records": cpd_records(certificate),
            "suggestions": list(Course.objects.to_suggest_to(request.user).with_totals()[:3]),
        },
    )


@login_required
def certificate_pdf(request, code):
    """The learner's own certificate as a PDF, with a QR code of its verification page."""
    certificate = get_object_or_404(Certificate, code=normalise_code(code))
    if certificate.user_id != request.user.pk and not request.user.has_perm(
        "courses.view_certificate"
    ):
        raise Http404("No such certificate.")
    if certificate.is_revoked:
        messages.error(request, "This certificate has been revoked, so it cannot be downloaded.")
        return redirect(certificate)
    verify_url = request.build_absolute_uri(certificate.get_absolute_url())
    response = HttpResponse(
        certificate_pdf_bytes(certificate, verify_url=verify_url), content_type="application/pdf"
    )
    filename = f"irlearn-certificate-{certificate.code}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
