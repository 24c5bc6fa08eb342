"""Demo e-learning: one folder per course (see FORMAT.md), loaded by `manage.py seed_demo`.

`course_catalogue_seed()` (registered for `manage.py seed_demo` in CoursesConfig.ready()) creates
what is missing and never overwrites what exists: running it again changes nothing, and editors'
changes to demo courses survive. A demo module missing from an existing demo course (one added to
the demo since the course was seeded) is added to it; existing modules are left as they are,
except that a demo lesson figure an existing lesson lacks (none of its figures has that file
name) is added to it. Existing figures are never touched, so an editor's stay, and a diagram
redrawn since keeps its old copy in an existing database.
Modules link to the demo procedures and lessons and questions show the demo image stacks, whose
seeds run first (irlearn.stacks and procedures come before courses in INSTALLED_APPS). Questions
answered on a phantom's images take their regions from the phantom's own geometry
(irlearn.stacks.phantoms.phantom_regions), so the keyed target and the structures to avoid are
where the images show them.
"""

import tomllib
from decimal import Decimal
from pathlib import Path

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from courses.models import Course, Lesson, LessonFigure, Module, Question, QuestionRegion
from irlearn.content import Status
from irlearn.markup import render_markdown
from irlearn.stacks import phantoms
from irlearn.stacks.embed import slugs_in
from irlearn.stacks.geometry import RegionError, clean_shapes
from irlearn.stacks.models import ImageStack
from procedures.demo import figure_seed, missing_demo_figures
from procedures.models import Procedure

DEMO_DIR = Path(__file__).resolve().parent
PROCEDURE_FIGURES_DIR = DEMO_DIR.parent.parent / "procedures" / "demo" / "figures"


def _load(path: Path) -> dict:
    with open(path, "rb") as file:
        return tomllib.load(file)


def _figure_path(course_dir: Path, name: str) -> Path:
    local = course_dir / name
    return local if local.exists() else PROCEDURE_FIGURES_DIR / name


def course_catalogue_seed() -> str:
    """Load the demo courses; returns how many courses, modules, lessons and questions were new."""
    created = {"courses": 0, "modules": 0, "lessons": 0, "questions": 0, "figures": 0}
    procedures = {p.slug: p for p in Procedure.objects.all()}
    with transaction.atomic():
        for course_dir in sorted(p for p in DEMO_DIR.iterdir() if (p / "course.toml").exists()):
            data = _load(course_dir / "course.toml")
            course = Course.objects.filter(slug=data["slug"]).first()
            if course is not None:
                existing = set(course.modules.values_list("slug", flat=True))
                for order, path in enumerate(sorted(course_dir.glob("[0-9][0-9]-*.toml"))):
                    module = _load(path)
                    if module["slug"] not in existing:
                        _module_seed(course, course_dir, module, order, procedures, created)
                    else:
                        _lesson_figures_add(course, course_dir, module, created)
                continue
            course = Course(
                title=data["title"],
                slug=data["slug"],
                order=data.get("order", 0),
                summary=data["summary"],
                audience=data["audience"],
                outcomes="\n".join(data["outcomes"]),
                cpd_hours=Decimal(str(data["cpd_hours"])),
                cover_alt=data.get("cover_alt", ""),
                status=Status.PUBLISHED,
                published_at=timezone.now(),
            )
            if data.get("cover"):
                with open(course_dir / data["cover"], "rb") as image:
                    course.cover.save(data["cover"], File(image), save=False)
            course.save()
            created["courses"] += 1
            for order, path in enumerate(sorted(course_dir.glob("[0-9][0-9]-*.toml"))):
                _module_seed(course, course_dir, _load(path), order, procedures, created)
    added = f" ({created['figures']} figures added to existing lessons)"
    return (
        f"E-learning: {created['courses']} courses, {created['modules']} modules, "
        f"{created['lessons']} lessons and {created['questions']} questions added"
        f"{added if created['figures'] else ''}."
    )


def _lesson_figures_add(course, course_dir, data, created):
    """Add the demo figures an existing lesson of an existing demo module lacks."""
    wanted = {item["slug"]: item.get("figure", []) for item in data.get("lesson", [])}
    lessons = Lesson.objects.filter(
        module__course=course,
        module__slug=data["slug"],
        slug__in=[s for s, f in wanted.items() if f],
    ).prefetch_related("figures")
    for lesson in lessons:
        existing = [figure.image.name for figure in lesson.figures.all()]
        for order, figure in missing_demo_figures(wanted[lesson.slug], existing):
            _lesson_figure_seed(lesson, course_dir, order, figure)
            created["figures"] += 1


def _lesson_figure_seed(lesson, course_dir, order, figure):
    path = _figure_path(course_dir, figure["file"])
    figure_seed(LessonFigure, path=path, order=order, figure=figure, lesson=lesson)


def _module_seed(course, course_dir, data, order, procedures, created):
    module = Module.objects.create(
        course=course,
        title=data["title"],
        slug=data["slug"],
        summary=data["summary"],
        estimated_minutes=data.get("minutes", 20),
        pass_mark=data.get("pass_mark", 80),
        status=Status.PUBLISHED,
        order=order,
    )
    module.procedures.set(
        [procedures[slug] for slug in data.get("procedures", []) if slug in procedures]
    )
    created["modules"] += 1
    for lesson_order, item in enumerate(data.get("lesson", [])):
        _demo_stacks(f"lesson '{item['slug']}'", slugs_in(render_markdown(item["body"])))
        lesson = Lesson.objects.create(
            module=module,
            title=item["title"],
            slug=item["slug"],
            body=item["body"].strip(),
            estimated_minutes=item.get("minutes", 5),
            status=Status.PUBLISHED,
            order=lesson_order,
        )
        created["lessons"] += 1
        for figure_order, figure in enumerate(item.get("figure", [])):
            _lesson_figure_seed(lesson, course_dir, figure_order, figure)
    for question_order, item in enumerate(data.get("question", [])):
        _question_seed(module, item, question_order)
        created["questions"] += 1


def _question_seed(module, item, order) -> Question:
    """One question of a module file: a single best answer, or a question answered on the
    stem stack's images with its regions."""
    where = f"question {order + 1} of '{module.slug}'"
    kind = item.get("kind", Question.Kind.SBA)
    if kind not in Question.Kind.values:
        raise ValueError(f"The demo {where} has kind {kind!r}; use one of {Question.Kind.values}.")
    stem_stack = item.get("stem_stack")
    stack = _demo_stacks(where, [stem_stack])[0] if stem_stack else None
    fields = {
        "module": module,
        "kind": kind,
        "stem": item["stem"].strip(),
        "stem_stack": stack,
        "learning_point": item["learning_point"].strip(),
        "order": order,
    }
    if kind == Question.Kind.SBA:
        options = dict(zip(Question.LETTERS, item["options"], strict=False))
        explanations = dict(zip(Question.LETTERS, item["explanations"], strict=False))
        fields["correct"] = Question.LETTERS[item["correct"] - 1]
        fields.update({f"option_{letter}": text for letter, text in options.items()})
        fields.update({f"explanation_{letter}": text for letter, text in explanations.items()})
        return Question.objects.create(**fields)
    if stack is None:
        raise ValueError(f"The demo {where} is answered on images: give it a stem_stack.")
    regions = [_region(where, stack, region) for region in item.get("region", [])]
    if not any(region.role == QuestionRegion.Role.TARGET for region in regions):
        raise ValueError(f'The demo {where} needs a region with role = "target".')
    fields["explanation"] = item["explanation"].strip()
    question = Question.objects.create(**fields)
    for region in regions:
        region.question = question
    QuestionRegion.objects.bulk_create(regions)
    return question


def _region(where: str, stack: ImageStack, data: dict) -> QuestionRegion:
    """A region of an image question (not saved): its shapes are a phantom's structure
    (``phantom = "<stack slug>:<structure>"``, traced from the phantom's geometry) or given
    (``shapes``, as the admin stores them)."""
    role = data.get("role")
    if role not in QuestionRegion.Role.values:
        raise ValueError(f"A region of the demo {where} has role {role!r}: target or avoid.")
    label = data.get("label", "").strip()
    if not label:
        raise ValueError(f"A region of the demo {where} has no label (feedback names it).")
    if "phantom" in data:
        slug, _, name = data["phantom"].partition(":")
        if slug != stack.slug:
            raise ValueError(
                f"The region '{label}' of the demo {where} is drawn on {slug!r}, not on the "
                f"question's stack {stack.slug!r}."
            )
        structures = phantoms.phantom_regions(slug)
        if name not in structures:
            raise ValueError(
                f"The region '{label}' of the demo {where} names {name!r}; the phantom "
                f"{slug!r} has {', '.join(sorted(structures))}."
            )
        # Checked against the phantom's own slices: a stack that is not processed yet (or an
        # editor's stack in its place) is no reason to refuse the demo; scoring skips regions
        # that do not fit the stack they are on.
        shapes, slice_count = structures[name], phantoms.phantom_slice_count(slug)
    else:
        shapes, slice_count = data.get("shapes"), stack.slice_count
    try:
        shapes = clean_shapes(shapes, slice_count=slice_count)
    except RegionError as error:
        raise ValueError(f"The region '{label}' of the demo {where}: {error}") from None
    return QuestionRegion(stack=stack, role=role, label=label, shapes=shapes)


def _demo_stacks(where: str, slugs: list[str]) -> list[ImageStack]:
    """The image stacks demo content names, or an error naming those that do not exist."""
    stacks = {stack.slug: stack for stack in ImageStack.objects.filter(slug__in=slugs)}
    missing = sorted(set(slugs) - set(stacks))
    if missing:
        raise ValueError(
            f"The demo {where} names image stacks that do not exist: {', '.join(missing)}. The "
            "image stacks seed (irlearn/stacks/demo.py) creates the demo stacks and must run "
            "first; check the slugs against irlearn/stacks/phantoms.py."
        )
    return [stacks[slug] for slug in slugs]
