"""Reports for editors: how a course is doing, on its admin report page and as a CSV download.

Reads only, in a fixed number of queries whatever the number of learners and answers. The admin
wires the pages (courses.admin, CourseAdmin.get_urls) and checks who may see them.

Questions answered on images also get an overlay: every learner's marks (from finished attempts)
on the question's key slice, over the expert's regions, so that editors spot a misleading case.
"""

import csv
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Avg, Count, Exists, FloatField, OuterRef, Q
from django.db.models.functions import Cast

from courses.models import (
    Answer,
    Attempt,
    Certificate,
    Course,
    Enrolment,
    LessonProgress,
    Question,
    QuestionRegion,
)
from irlearn.exports import csv_cell
from irlearn.stacks.geometry import RegionError, clean_shapes
from irlearn.stacks.models import ImageStack

# A question fewer than this share of learners answer correctly is worth a second look: the
# stem may be ambiguous, or the keyed answer wrong.
CHECK_BELOW_PERCENT = 40


@dataclass(frozen=True)
class QuestionFigures:
    """How one question fares: every answer given to it, and how many were correct (and, for
    a question answered on images, the overlay of learners' marks)."""

    question: Question
    answers: int
    correct: int
    overlay: "ImageOverlay | None" = None

    @property
    def percent_correct(self) -> int | None:
        return round(100 * self.correct / self.answers) if self.answers else None

    @property
    def needs_checking(self) -> bool:
        return self.answers > 0 and 100 * self.correct < CHECK_BELOW_PERCENT * self.answers


@dataclass(frozen=True)
class CourseReport:
    """One course's figures: its learners, its finished attempts and each of its questions."""

    enrolled: int
    started: int
    completed: int
    finished_attempts: int
    average_score: int | None
    modules: list  # [(module, [QuestionFigures, ...]), ...] in the course's order

    def csv_rows(self):
        """The report as rows of section, module, question, answers, percent correct.

        The summary rows come first and use the same columns: the figure goes under
        "answers" (a count) and, for the attempts, the average score under "percent".
        """
        yield ["section", "module", "question", "answers", "percent correct"]
        yield ["summary", "", "learners enrolled", self.enrolled, ""]
        yield ["summary", "", "learners started", self.started, ""]
        yield ["summary", "", "learners completed (certificates not revoked)", self.completed, ""]
        yield [
            "summary",
            "",
            "finished attempts (average score)",
            self.finished_attempts,
            "" if self.average_score is None else self.average_score,
        ]
        for module, rows in self.modules:
            for row in rows:
                stem = " ".join(row.question.stem.split())
                percent = row.percent_correct
                yield [
                    "question",
                    module.title,
                    stem,
                    row.answers,
                    "" if percent is None else percent,
                ]

    def write_csv(self, file) -> None:
        """Write ``csv_rows()`` to ``file`` (an HttpResponse will do), formulas kept as text."""
        writer = csv.writer(file)
        for row in self.csv_rows():
            writer.writerow([csv_cell(value) for value in row])


# Questions answered on images: where learners marked.

# A learner's mark is drawn this big, as a share of the longer side of the image.
MARK_SIZE = 0.015


@dataclass(frozen=True)
class OverlayShape:
    """A region's shape on the key slice, in the rendered image's pixels."""

    role: str  # "target" or "avoid"
    label: str
    kind: str  # "ellipse" or "polygon"
    cx: float = 0
    cy: float = 0
    rx: float = 0
    ry: float = 0
    points: str = ""  # a polygon's, as SVG wants them: "x,y x,y ..."


@dataclass(frozen=True)
class OverlayMark:
    """One learner's answer, in the rendered image's pixels: the target they marked (on
    ``slice``, perhaps not the key slice) and, for a route, the skin entry point."""

    x: float
    y: float
    slice: int
    hit: bool
    crossed: tuple[str, ...]
    entry: tuple[float, float] | None
    on_key_slice: bool
    miss_path: str  # a cross, drawn for a mark that missed the target

    @property
    def route_is_right(self) -> bool:
        """A route's line is a hit when the whole route is: on target, and crossing nothing."""
        return self.hit and not self.crossed

    @property
    def description(self) -> str:
        what = "hit" if self.hit else "missed"
        crossed = f", crossed {', '.join(self.crossed)}" if self.crossed else ""
        return f"Slice {self.slice + 1}: {what} the target{crossed}"


@dataclass(frozen=True)
class ImageOverlay:
    """Every learner's marks on one image question's key slice, with its figures.

    The key slice is the slice with the most target shapes (the middle one of a tie): the
    slice a learner who found the target most likely marked. Marks made on other slices are
    drawn too, where they were made on their own slice, and told apart (``on_key_slice``).
    """

    stack: ImageStack
    key_slice: int | None  # index; None without a target region
    image_url: str  # "" when the stack has no images
    shapes: list[OverlayShape]
    marks: list[OverlayMark]
    answered: int
    right: int
    hit: int
    crossed: list[tuple[str, int]]  # each avoid region's label (and any other crossed), count
    radius: float
    is_route: bool

    @property
    def key_slice_number(self) -> int | None:
        return None if self.key_slice is None else self.key_slice + 1

    @property
    def marks_on_key_slice(self) -> int:
        return sum(1 for mark in self.marks if mark.on_key_slice)

    @property
    def has_target(self) -> bool:
        return self.key_slice is not None


def key_slice(target_shapes) -> int | None:
    """The slice with the most target shapes; of a tie, the one nearest the middle of the
    target's slices (the lower of two as near)."""
    per_slice = Counter(shape["slice"] for shape in target_shapes)
    if not per_slice:
        return None
    most = max(per_slice.values())
    middle = (min(per_slice) + max(per_slice)) / 2
    return min(
        (index for index, count in per_slice.items() if count == most),
        key=lambda index: (abs(index - middle), index),
    )


def _mark_point(raw, slice_count: int) -> tuple[int, float, float] | None:
    """A stored mark's (slice, x, y), or None if it is not one (answers are checked when
    given, but a report must not fail on one row that is not)."""
    if not isinstance(raw, dict):
        return None
    index, x, y = raw.get("slice"), raw.get("x"), raw.get("y")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < slice_count:
        return None
    for value in (x, y):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if not math.isfinite(value) or not 0 <= value <= 1:
            return None
    return index, float(x), float(y)


@dataclass
class _Tally:
    answered: int = 0
    right: int = 0
    hit: int = 0
    crossed: Counter = field(default_factory=Counter)
    marks: list = field(default_factory=list)  # (marks, result, is_correct) of each answer


def image_overlays(questions) -> dict[int, ImageOverlay]:
    """The overlay of each image question in ``questions`` (Question objects with ``kind``
    and ``stem_stack_id`` loaded), by question id, from finished attempts' answers.

    Three queries whatever the number of questions, learners and answers: the stacks, the
    regions, and the answers of all the questions at once.
    """
    questions = [q for q in questions if q.is_on_image and q.stem_stack_id]
    if not questions:
        return {}
    ids = [question.pk for question in questions]
    stacks = ImageStack.objects.in_bulk({question.stem_stack_id for question in questions})
    regions = defaultdict(list)
    for region in QuestionRegion.objects.filter(question_id__in=ids).order_by("role", "pk"):
        regions[region.question_id].append(region)
    tallies = defaultdict(_Tally)
    answers = (
        Answer.objects.filter(question_id__in=ids, attempt__finished_at__isnull=False)
        .order_by("pk")
        .values_list("question_id", "marks", "result", "is_correct")
    )
    for question_id, marks, result, is_correct in answers:
        tally = tallies[question_id]
        result = result if isinstance(result, dict) else {}
        crossed = result.get("crossed")
        crossed = tuple(str(label) for label in crossed) if isinstance(crossed, list) else ()
        hit = bool(result.get("hit", is_correct))
        tally.answered += 1
        tally.right += is_correct
        tally.hit += hit
        tally.crossed.update(set(crossed))
        tally.marks.append((marks, hit, crossed))
    return {
        question.pk: _overlay(
            question,
            stacks[question.stem_stack_id],
            [r for r in regions[question.pk] if r.stack_id == question.stem_stack_id],
            tallies[question.pk],
        )
        for question in questions
    }


def _overlay(question, stack, regions, tally) -> ImageOverlay:
    width, height = stack.width or 1, stack.height or 1
    radius = MARK_SIZE * max(width, height)
    target_shapes = [
        shape
        for region in regions
        if region.role == QuestionRegion.Role.TARGET
        for shape in _shapes(region, stack)
    ]
    key = key_slice(target_shapes)
    shapes = []
    for region in regions:
        for shape in _shapes(region, stack):
            if shape["slice"] != key:
                continue
            if shape["kind"] == "ellipse":
                drawn = OverlayShape(
                    region.role,
                    region.label,
                    "ellipse",
                    cx=shape["cx"] * width,
                    cy=shape["cy"] * height,
                    rx=shape["rx"] * width,
                    ry=shape["ry"] * height,
                )
            else:
                points = " ".join(f"{x * width:.2f},{y * height:.2f}" for x, y in shape["points"])
                drawn = OverlayShape(region.role, region.label, "polygon", points=points)
            shapes.append(drawn)
    marks = []
    for raw, hit, crossed in tally.marks:
        raw = raw if isinstance(raw, dict) else {}
        target = _mark_point(raw.get("target"), stack.slice_count)
        if target is None:
            continue
        index, x, y = target[0], target[1] * width, target[2] * height
        entry = _mark_point(raw.get("entry"), stack.slice_count)
        r = radius
        marks.append(
            OverlayMark(
                x=x,
                y=y,
                slice=index,
                hit=hit,
                crossed=crossed,
                entry=(entry[1] * width, entry[2] * height) if entry else None,
                on_key_slice=index == key,
                miss_path=f"M{x - r:.2f},{y - r:.2f}L{x + r:.2f},{y + r:.2f}"
                f"M{x + r:.2f},{y - r:.2f}L{x - r:.2f},{y + r:.2f}",
            )
        )
    avoid_labels = [r.label for r in regions if r.role == QuestionRegion.Role.AVOID]
    labels = list(dict.fromkeys([*avoid_labels, *tally.crossed]))
    return ImageOverlay(
        stack=stack,
        key_slice=key,
        image_url=(
            stack.image_url(stack.rendered_windows[0], key)
            if key is not None and stack.is_showable and stack.rendered_windows
            else ""
        ),
        shapes=shapes,
        marks=marks,
        answered=tally.answered,
        right=tally.right,
        hit=tally.hit,
        crossed=[(label, tally.crossed[label]) for label in labels],
        radius=radius,
        is_route=question.kind == Question.Kind.PLAN_ROUTE,
    )


def _shapes(region, stack) -> list[dict]:
    # Checked when drawn; a region the stack no longer fits (processed again with fewer
    # slices) is left out here rather than failing the report.
    try:
        return clean_shapes(region.shapes, slice_count=stack.slice_count)
    except RegionError:
        return []


def course_report(course: Course) -> CourseReport:
    """How ``course`` is doing, in five queries however many learners and questions it has
    (and three more when it has questions answered on images, for their overlays).

    Enrolled and started count active enrolments only; completed counts certificates that are
    not revoked; answers count every answer given, by anyone, to the course's questions.
    """
    did_something = Exists(
        LessonProgress.objects.filter(user=OuterRef("user"), lesson__module__course=course)
    ) | Exists(Attempt.objects.filter(user=OuterRef("user"), module__course=course))
    learners = Enrolment.objects.filter(course=course, is_active=True).aggregate(
        enrolled=Count("pk"), started=Count("pk", filter=did_something)
    )
    attempts = Attempt.objects.filter(
        module__course=course, finished_at__isnull=False, total__gt=0
    ).aggregate(
        finished=Count("pk"),
        average=Avg(Cast("score", FloatField()) * 100 / Cast("total", FloatField())),
    )
    completed = Certificate.objects.filter(course=course, revoked_at__isnull=True).count()
    questions = (
        Question.objects.filter(module__course=course)
        .only("pk", "module_id", "stem", "order", "kind", "stem_stack")
        .annotate(
            answer_total=Count("answers"),
            correct_total=Count("answers", filter=Q(answers__is_correct=True)),
        )
        .order_by("order", "pk")
    )
    questions = list(questions)
    overlays = image_overlays(questions)
    by_module = {}
    for question in questions:
        by_module.setdefault(question.module_id, []).append(
            QuestionFigures(
                question,
                question.answer_total,
                question.correct_total,
                overlays.get(question.pk),
            )
        )
    modules = course.modules.order_by("order", "pk")
    average = attempts["average"]
    return CourseReport(
        enrolled=learners["enrolled"],
        started=learners["started"],
        completed=completed,
        finished_attempts=attempts["finished"],
        average_score=None if average is None else round(float(average)),
        modules=[(module, by_module.get(module.pk, [])) for module in modules],
    )
