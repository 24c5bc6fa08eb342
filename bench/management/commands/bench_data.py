"""The large data set of the benchmarks: procedures, courses, learners with their progress, and
newsletter subscribers, on top of whatever is there (normally the demo content).

    DJANGO_BENCH=1 python manage.py bench_data [--learners 10000 --progress 200000 ...]

The text comes from the demo content in procedures/demo/ and courses/demo/ (read from the TOML
files, so the demo need not be loaded), shuffled, so pages weigh what real ones do. Rows go in
with bulk_create (the big tables by COPY on PostgreSQL), which skips save(): the Markdown is
rendered here the way save() renders it, and on PostgreSQL the trigger of procedures' migration
0003 fills search_vector on INSERT. No history (simple_history) rows are made.

Everything is one transaction, so the data set is either all there or not at all; a second run
finds the marker (procedures, courses, learners or subscribers of the bench) and changes nothing.
The same --seed on the same starting database gives the same data.
"""

import json
import random
import time
import tomllib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.utils import timezone
from django.utils.text import slugify

from courses.models import (
    Answer,
    Attempt,
    Certificate,
    Course,
    Enrolment,
    Lesson,
    LessonFigure,
    LessonProgress,
    Module,
    ModuleCompletion,
    Question,
    Status,
)
from irlearn.accounts.models import User
from irlearn.markup import render_markdown
from irlearn.newsletter.models import ConsentRecord, Subscriber
from irlearn.newsletter.services import CONFIRM_WORDING, CONSENT_WORDING
from irlearn.pages.models import PrivacyPolicy
from procedures.models import Category, Figure, ImagingModality, Procedure

SLUG_PREFIX = "bench-"
EMAIL_DOMAIN = "bench.irlearn.localhost"
# Every generated learner has this password (hashed once, shared), for logged-in load tests.
BENCH_PASSWORD = "irlearn-bench-2026"  # noqa: S105 (bench data only)
BATCH_SIZE = 5000

BASE_DIR = Path(settings.BASE_DIR)
PROCEDURES_DEMO = BASE_DIR / "procedures" / "demo"
COURSES_DEMO = BASE_DIR / "courses" / "demo"

# name, default, help: the sizes.
SIZES = [
    ("procedures", 200, "published procedures"),
    ("courses", 20, "published courses"),
    ("modules", 8, "modules per course"),
    ("lessons", 8, "lessons per module"),
    ("questions", 5, "questions per module"),
    ("learners", 10_000, "learners (verified accounts)"),
    ("progress", 200_000, "lessons marked complete, over all learners"),
    ("subscribers", 100_000, "confirmed newsletter subscribers"),
]
# Share of enrolments that finish their course (lessons, questions, certificate).
FINISHER_SHARE = 0.012

QUALIFIERS = [
    "in children", "in older and frail patients", "revision and exchange",
    "in the emergency setting", "day-case pathway", "complex anatomy", "after previous surgery",
    "in pregnancy", "in patients with cancer", "with kidney impairment",
]  # fmt: skip
COURSE_LEVELS = [
    "the essentials", "referral and ward care", "complications and emergencies",
    "consent and shared decisions", "for radiographers and nurses",
]  # fmt: skip
FIRST_NAMES = [
    "Amara", "Ben", "Chloe", "Daniel", "Ella", "Farhan", "Grace", "Harry", "Isla", "Jack",
    "Kavya", "Liam", "Maya", "Noah", "Olivia", "Priya", "Qasim", "Rosie", "Samuel", "Tara",
    "Usman", "Violet", "William", "Xin", "Yusuf", "Zara", "Aoife", "Callum", "Niamh", "Rhys",
]  # fmt: skip
SURNAMES = [
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Johnson", "Roberts", "Patel", "Khan", "Robinson", "Wright", "Thompson", "Walker", "White",
    "Edwards", "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Ahmed", "Murphy", "Kelly",
    "Okafor", "Nguyen",
]  # fmt: skip
SPECIALTIES = [
    "", "", "Acute medicine", "General surgery", "Radiology", "Emergency medicine", "Urology",
    "Gastroenterology", "Oncology", "Vascular surgery", "General practice", "Anaesthetics",
]  # fmt: skip
GRADES = [value for value, _label in User.Grade.choices]
CERTIFICATE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def _load_toml(path: Path) -> dict:
    with open(path, "rb") as file:
        return tomllib.load(file)


def demo_procedures() -> list[dict]:
    """Every demo procedure in procedures/demo/*.toml, with its category slug (the file name)."""
    found = []
    for path in sorted(PROCEDURES_DEMO.glob("*.toml")):
        if path.name == "categories.toml":
            continue
        for data in _load_toml(path).get("procedure", []):
            found.append({**data, "category": path.stem})
    return found


def demo_courses() -> list[tuple[dict, list[dict]]]:
    """(course, [modules]) of every demo course in courses/demo/."""
    found = []
    for course_dir in sorted(p for p in COURSES_DEMO.iterdir() if (p / "course.toml").exists()):
        modules = [_load_toml(p) for p in sorted(course_dir.glob("[0-9][0-9]-*.toml"))]
        found.append((_load_toml(course_dir / "course.toml"), modules))
    return found


def learner_email(number: int) -> str:
    return f"learner{number:05d}@{EMAIL_DOMAIN}"


def subscriber_email(number: int) -> str:
    return f"reader{number:06d}@{EMAIL_DOMAIN}"


def already_generated() -> bool:
    return (
        Procedure.objects.filter(slug__startswith=SLUG_PREFIX).exists()
        or Course.objects.filter(slug__startswith=SLUG_PREFIX).exists()
        or User.objects.filter(email__endswith="@" + EMAIL_DOMAIN).exists()
        or Subscriber.objects.filter(email__endswith="@" + EMAIL_DOMAIN).exists()
    )


def row_counts() -> dict:
    tables = {
        "categories": Category,
        "procedures": Procedure,
        "procedure_figures": Figure,
        "courses": Course,
        "modules": Module,
        "lessons": Lesson,
        "questions": Question,
        "users": User,
        "email_addresses": EmailAddress,
        "enrolments": Enrolment,
        "lesson_progress": LessonProgress,
        "attempts": Attempt,
        "answers": Answer,
        "module_completions": ModuleCompletion,
        "certificates": Certificate,
        "subscribers": Subscriber,
        "consent_records": ConsentRecord,
    }
    return {name: model.objects.count() for name, model in tables.items()}


@contextmanager
def own_timestamps(fields):
    """Let bulk_create keep the created_at values given instead of stamping every row "now"
    (auto_now_add applies at insert time): the bench data spans months, like real data."""
    for model_field in fields:
        model_field.auto_now_add = False
    try:
        yield
    finally:
        for model_field in fields:
            model_field.auto_now_add = True


def insert_rows(model, rows: list[dict]) -> None:
    """Insert ``rows`` (dicts of attname: value, all with the same keys) into ``model``'s table
    and set each row's primary key, like bulk_create, but without building a model instance
    per row, which is most of the cost at these sizes. On PostgreSQL the rows go in by COPY,
    several times faster than INSERT; elsewhere (SQLite) by bulk_create. Values given for
    auto_now_add fields are kept. Fields left out get their default, as on save()."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy_rows(model, rows)
        return
    opts = model._meta
    objects = [model(**row) for row in rows]
    stamped = [f for f in opts.concrete_fields if getattr(f, "auto_now_add", False)]
    with own_timestamps([f for f in stamped if f.attname in rows[0]]):
        model.objects.bulk_create(objects, batch_size=BATCH_SIZE)
    for row, obj in zip(rows, objects, strict=True):
        row[opts.pk.attname] = obj.pk


def _copy_rows(model, rows: list[dict]) -> None:
    opts = model._meta
    db = connections[DEFAULT_DB_ALIAS]  # not the proxy: that costs a lookup per attribute
    quote = db.ops.quote_name
    given = rows[0].keys()
    with db.cursor() as cursor:
        if opts.pk.attname not in given:
            # Primary keys from the table's own sequence, so that later rows can refer to them.
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [opts.db_table, opts.pk.column, len(rows)],
            )
            for row, (pk,) in zip(rows, cursor.fetchall(), strict=True):
                row[opts.pk.attname] = pk
        now = timezone.now()
        # Per column: the row's key, or a default (a constant, or a callable called per row).
        spec, prepared = [], []
        for index, f in enumerate(opts.concrete_fields):
            if f.attname in given or f.primary_key:
                spec.append((f.attname, None, None))
            elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                spec.append((None, now, None))
            elif f.has_default() and callable(f.default):
                spec.append((None, None, f.default))
            else:
                spec.append((None, f.get_default(), None))  # "" for text, else None
            # COPY's text format lets PostgreSQL parse most values (dates, inet...) as they
            # are; JSON and files need Django's preparation.
            if isinstance(f, models.JSONField | models.FileField):
                prepared.append((index, f))
        columns = ", ".join(quote(f.column) for f in opts.concrete_fields)
        with cursor.cursor.copy(f"COPY {quote(opts.db_table)} ({columns}) FROM STDIN") as copy:
            for row in rows:
                values = [
                    row[key] if key else (default() if default else constant)
                    for key, constant, default in spec
                ]
                for index, f in prepared:
                    values[index] = f.get_db_prep_save(values[index], db)
                copy.write_row(values)


def unique_slug(text: str, taken: set) -> str:
    base = slugify(text)[:190] or "item"
    slug, number = base, 1
    while slug in taken or slug == "questions":
        number += 1
        slug = f"{base}-{number}"
    taken.add(slug)
    return slug


@dataclass
class ModulePlan:
    module: Module
    lesson_ids: list
    questions: list  # (pk, correct letter, [letters]) in order


@dataclass
class CoursePlan:
    course: Course
    modules: list = field(default_factory=list)

    @property
    def lesson_ids(self):
        return [pk for module in self.modules for pk in module.lesson_ids]


class Generator:
    """Makes the rows, part by part; every random choice comes from one seeded generator."""

    def __init__(self, *, sizes: dict, seed: int, log):
        self.sizes = sizes
        self.rng = random.Random(seed)
        self.log = log
        self.now = timezone.now()
        self.rendered = {}

    # Helpers ---------------------------------------------------------------------------------

    def render(self, text: str, **kwargs) -> str:
        """render_markdown, remembered: the shuffled demo text repeats a lot."""
        key = (text, tuple(sorted(kwargs.items())))
        if key not in self.rendered:
            self.rendered[key] = render_markdown(text, **kwargs)
        return self.rendered[key]

    def ago(self, low_days: float, high_days: float):
        return self.now - timedelta(days=self.rng.uniform(low_days, high_days))

    def insert(self, model, objects, label=None):
        """bulk_create ``objects``: model instances (the content), or dicts (the big tables)."""
        if objects and isinstance(objects[0], dict):
            insert_rows(model, objects)
        else:
            model.objects.bulk_create(objects, batch_size=BATCH_SIZE)
        label = label or model._meta.verbose_name_plural
        self.log(f"{len(objects):>8,} {label}")
        return objects

    # Content ---------------------------------------------------------------------------------

    def categories(self) -> dict:
        categories = {c.slug: c for c in Category.objects.all()}
        for data in _load_toml(PROCEDURES_DEMO / "categories.toml")["category"]:
            if data["slug"] not in categories:
                categories[data["slug"]] = Category.objects.create(
                    **{k: data[k] for k in ("name", "slug", "description", "order")}
                )
        return categories

    def procedures(self) -> list:
        count = self.sizes["procedures"]
        if not count:
            return []
        rng = self.rng
        categories = self.categories()
        modalities = {m.slug: m for m in ImagingModality.objects.all()}
        bases = demo_procedures()
        sections = [name for name, _heading in Procedure.SECTIONS] + ["references"]
        texts = {name: [b[name] for b in bases if b.get(name)] for name in sections}
        combos = [(base, qualifier) for base in bases for qualifier in QUALIFIERS]
        rng.shuffle(combos)
        procedures, base_of = [], {}
        for number in range(count):
            base, qualifier = combos[number % len(combos)]
            title = f"{base['title']} ({qualifier})"
            if number >= len(combos):
                title += f" {number // len(combos) + 1}"
            markdown = {name: rng.choice(texts[name]) if texts[name] else "" for name in sections}
            published_at = self.ago(30, 900)
            procedure = Procedure(
                title=title[:200],
                slug=f"{SLUG_PREFIX}{number + 1:04d}-{slugify(title)}"[:200],
                abbreviation=base.get("abbreviation", ""),
                also_known_as=base.get("also_known_as", ""),
                category=categories[base["category"]],
                summary=base["summary"],
                setting=base.get("setting", ""),
                status=Procedure.Status.PUBLISHED,
                published_at=published_at,
                last_reviewed=(published_at + timedelta(days=rng.randint(0, 25))).date(),
                **markdown,
                # As Procedure.save() renders them.
                rendered={
                    name: self.render(text, heading_level=3, id_prefix=name.replace("_", "-"))
                    for name, text in markdown.items()
                },
            )
            procedures.append(procedure)
            base_of[procedure.slug] = base
        self.insert(Procedure, procedures)

        guidance = []
        for procedure in procedures:
            slugs = [s for s in base_of[procedure.slug].get("guidance", []) if s in modalities]
            if not slugs and modalities:
                slugs = rng.sample(sorted(modalities), k=min(2, len(modalities)))
            guidance += [
                Procedure.guidance.through(procedure_id=procedure.pk, imagingmodality_id=m.pk)
                for m in (modalities[s] for s in slugs)
            ]
        self.insert(Procedure.guidance.through, guidance, "procedure guidance links")

        # A few related procedures each, both ways (the relation is symmetrical).
        pairs = set()
        for procedure in procedures:
            for other in rng.sample(procedures, k=min(len(procedures), rng.randint(1, 2))):
                if other.pk != procedure.pk:
                    pairs |= {(procedure.pk, other.pk), (other.pk, procedure.pk)}
        self.insert(
            Procedure.related.through,
            [Procedure.related.through(from_procedure_id=a, to_procedure_id=b) for a, b in pairs],
            "related procedure links",
        )

        # The demo procedure's figures, when it is loaded: the same files, new rows.
        demo_figures = {}
        for figure in Figure.objects.filter(procedure__slug__in=[b["slug"] for b in bases]):
            demo_figures.setdefault(figure.procedure.slug, []).append(figure)
        figures = [
            Figure(
                procedure=procedure,
                image=figure.image.name,
                alt_text=figure.alt_text,
                caption=figure.caption,
                credit=figure.credit,
                order=figure.order,
            )
            for procedure in procedures
            for figure in demo_figures.get(base_of[procedure.slug]["slug"], [])
        ]
        self.insert(Figure, figures, "procedure figures")
        for procedure in procedures:
            procedure.base_slug = base_of[procedure.slug]["slug"]
        return procedures

    def courses(self, procedures: list) -> None:
        count = self.sizes["courses"]
        if not count:
            return
        rng = self.rng
        sources = demo_courses()
        module_sources = [m for _course, modules in sources for m in modules]
        lesson_sources = [lesson for m in module_sources for lesson in m.get("lesson", [])]
        question_sources = [q for m in module_sources for q in m.get("question", [])]
        demo_covers = {
            c.slug: c for c in Course.objects.filter(slug__in=[c["slug"] for c, _ in sources])
        }
        topics = [c["name"] for c in _load_toml(PROCEDURES_DEMO / "categories.toml")["category"]]
        titles = [f"{topic}: {level}" for topic in topics for level in COURSE_LEVELS]
        rng.shuffle(titles)
        per_module = {key: self.sizes[key] for key in ("modules", "lessons", "questions")}

        courses = []
        for number in range(count):
            source, _modules = rng.choice(sources)
            title = titles[number % len(titles)]
            if number >= len(titles):
                title += f" ({number // len(titles) + 1})"
            cover = demo_covers.get(source["slug"])
            minutes = per_module["modules"] * (per_module["lessons"] * 6 + 10)
            courses.append(
                Course(
                    title=title,
                    slug=f"{SLUG_PREFIX}{number + 1:02d}-{slugify(title)}"[:200],
                    summary=source["summary"],
                    audience=source["audience"],
                    outcomes="\n".join(source["outcomes"]),
                    cover=cover.cover.name if cover and cover.cover else "",
                    cover_alt=cover.cover_alt if cover and cover.cover else "",
                    cpd_hours=Decimal(min(99, round(minutes / 60 * 2) / 2)).quantize(
                        Decimal("0.1")
                    ),
                    status=Status.PUBLISHED,
                    published_at=self.ago(60, 700),
                    order=100 + number,
                )
            )
        self.insert(Course, courses)

        modules, module_sources_used = [], []
        for course in courses:
            taken = set()
            picks = self._pick(module_sources, per_module["modules"])
            for order, source in enumerate(picks):
                modules.append(
                    Module(
                        course=course,
                        title=source["title"],
                        slug=unique_slug(source["title"], taken),
                        summary=source["summary"],
                        estimated_minutes=per_module["lessons"] * 6 + 10,
                        pass_mark=source.get("pass_mark", 80),
                        status=Status.PUBLISHED,
                        order=order,
                    )
                )
                module_sources_used.append(source)
        self.insert(Module, modules)

        # Modules teach procedures: the bench versions of the demo module's own, else any.
        by_base = {}
        for procedure in procedures:
            by_base.setdefault(procedure.base_slug, []).append(procedure)
        links = []
        for module, source in zip(modules, module_sources_used, strict=True):
            candidates = [p for slug in source.get("procedures", []) for p in by_base.get(slug, [])]
            candidates = candidates or procedures
            for procedure in rng.sample(candidates, k=min(len(candidates), rng.randint(1, 2))):
                links.append(
                    Module.procedures.through(module_id=module.pk, procedure_id=procedure.pk)
                )
        self.insert(Module.procedures.through, links, "module procedure links")

        lessons, lesson_sources_used = [], []
        for module in modules:
            taken = set()
            for order, source in enumerate(self._pick(lesson_sources, per_module["lessons"])):
                body = source["body"].strip()
                lessons.append(
                    Lesson(
                        module=module,
                        title=source["title"],
                        slug=unique_slug(source["title"], taken),
                        body=body,
                        # As MarkdownBodyMixin.save() renders it.
                        body_html=self.render(body, heading_level=Lesson.markdown_heading_level),
                        estimated_minutes=source.get("minutes", 5),
                        status=Status.PUBLISHED,
                        order=order,
                    )
                )
                lesson_sources_used.append(source)
        self.insert(Lesson, lessons)

        demo_figures = {}
        for figure in LessonFigure.objects.filter(
            lesson__module__course__slug__in=[c["slug"] for c, _ in sources]
        ).select_related("lesson"):
            demo_figures.setdefault(figure.lesson.slug, []).append(figure)
        figures = [
            LessonFigure(
                lesson=lesson,
                image=figure.image.name,
                alt_text=figure.alt_text,
                caption=figure.caption,
                credit=figure.credit,
                order=figure.order,
            )
            for lesson, source in zip(lessons, lesson_sources_used, strict=True)
            for figure in demo_figures.get(source["slug"], [])
        ]
        self.insert(LessonFigure, figures, "lesson figures")

        questions = []
        for module in modules:
            for order, source in enumerate(self._pick(question_sources, per_module["questions"])):
                options = dict(zip(Question.LETTERS, source["options"], strict=False))
                explanations = dict(zip(Question.LETTERS, source["explanations"], strict=False))
                questions.append(
                    Question(
                        module=module,
                        stem=source["stem"].strip(),
                        correct=Question.LETTERS[source["correct"] - 1],
                        learning_point=source["learning_point"].strip(),
                        order=order,
                        **{f"option_{letter}": text for letter, text in options.items()},
                        **{f"explanation_{letter}": text for letter, text in explanations.items()},
                    )
                )
        self.insert(Question, questions)

    def _pick(self, sources: list, count: int) -> list:
        """``count`` of ``sources``, all different while there are enough."""
        if count <= len(sources):
            return self.rng.sample(sources, count)
        return [self.rng.choice(sources) for _ in range(count)]

    # Learners --------------------------------------------------------------------------------

    def learners(self) -> list[dict]:
        count = self.sizes["learners"]
        rng = self.rng
        password = make_password(BENCH_PASSWORD)  # once: hashing is slow on purpose
        users = [
            {
                "email": learner_email(number),
                "full_name": f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}",
                "grade": rng.choice(GRADES),
                "specialty": rng.choice(SPECIALTIES),
                "password": password,
                "date_joined": self.ago(2, 800),
            }
            for number in range(1, count + 1)
        ]
        self.insert(User, users, "learners")
        self.insert(
            EmailAddress,
            [
                {"user_id": u["id"], "email": u["email"], "verified": True, "primary": True}
                for u in users
            ],
            "verified email addresses",
        )
        return users

    def course_plans(self) -> list:
        """Every published course as learners see it: modules, lessons and questions in order."""
        plans = {c.pk: CoursePlan(c) for c in Course.objects.published().order_by("order", "pk")}
        modules = {}
        for module in Module.objects.published().order_by("order", "pk"):
            modules[module.pk] = ModulePlan(module, [], [])
            plans[module.course_id].modules.append(modules[module.pk])
        for pk, module_id in (
            Lesson.objects.published().order_by("order", "pk").values_list("pk", "module_id")
        ):
            modules[module_id].lesson_ids.append(pk)
        for pk, module_id, correct, option_e in (
            Question.objects.filter(module__in=modules)
            .order_by("order", "pk")
            .values_list("pk", "module_id", "correct", "option_e")
        ):
            letters = list(Question.LETTERS if option_e else Question.LETTERS[:4])
            modules[module_id].questions.append((pk, correct, letters))
        return [plan for plan in plans.values() if plan.lesson_ids]

    def learning(self, users: list[dict]) -> None:
        """Enrolments (1 to 4 courses each), lessons done in course order, attempts at the
        questions of the modules whose lessons are done, completions and certificates, roughly
        as courses.services would have recorded them."""
        plans = self.course_plans()
        if not users or not plans:
            return
        rng = self.rng
        # Some courses are much more popular than others.
        popularity = [1 / (rank + 1) ** 0.7 for rank in range(len(plans))]
        rng.shuffle(popularity)
        enrolments, enrolment_plans, learners = [], [], []
        for user in users:
            wanted = min(len(plans), rng.choices([1, 2, 3, 4], weights=[35, 30, 20, 15])[0])
            chosen = set()
            while len(chosen) < wanted:
                chosen.add(rng.choices(range(len(plans)), weights=popularity)[0])
            for index in sorted(chosen):
                active = rng.random() > 0.03
                enrolments.append(
                    {
                        "user_id": user["id"],
                        "course_id": plans[index].course.pk,
                        "enrolled_at": max(user["date_joined"], self.ago(1, 700)),
                        "is_active": active,
                        "unenrolled_at": None if active else self.ago(0, 1),
                    }
                )
                enrolment_plans.append(plans[index])
                learners.append(user)
        self.insert(Enrolment, enrolments)

        done = self._lessons_done([len(plan.lesson_ids) for plan in enrolment_plans])
        progress, attempts, planned_answers, completions, certificates = [], [], [], [], []
        codes = set()
        for enrolment, plan, user, count in zip(
            enrolments, enrolment_plans, learners, done, strict=True
        ):
            if not count:
                continue
            total = len(plan.lesson_ids)
            finisher = count == total
            start = enrolment["enrolled_at"]
            # Lessons in order between enrolment and now: position counts lessons.
            step = (self.now - start) / (total + 1)
            for position, lesson_id in enumerate(plan.lesson_ids[:count]):
                progress.append(
                    {
                        "user_id": user["id"],
                        "lesson_id": lesson_id,
                        "completed_at": start + step * (position + 0.5 * rng.random()),
                    }
                )
            position = 0
            last_completion = None
            for module_plan in plan.modules:
                position += len(module_plan.lesson_ids)
                if position > count:
                    break
                made = self._module_outcome(
                    user["id"], module_plan, start + step * (position - 0.45), finisher
                )
                attempts += made["attempts"]
                planned_answers += made["answers"]
                if made["completed_at"]:
                    last_completion = made["completed_at"]
                    completions.append(
                        {
                            "user_id": user["id"],
                            "module_id": module_plan.module.pk,
                            "completed_at": last_completion,
                        }
                    )
            if finisher and last_completion:
                course = plan.course
                certificates.append(
                    {
                        "user_id": user["id"],
                        "course_id": course.pk,
                        "code": self._certificate_code(codes),
                        "full_name": user["full_name"],
                        "course_title": course.title,
                        "cpd_hours": course.cpd_hours,
                        "completed_on": timezone.localdate(last_completion),
                        "issued_at": last_completion,
                    }
                )
        self.insert(LessonProgress, progress)
        self.insert(Attempt, attempts)
        answers = [
            {"attempt_id": attempt["id"], **answer}
            for attempt, rows in zip(attempts, planned_answers, strict=True)
            for answer in rows
        ]
        self.insert(Answer, answers)
        self.insert(ModuleCompletion, completions, "module completions")
        self.insert(Certificate, certificates)

    def _lessons_done(self, sizes: list[int]) -> list[int]:
        """How many lessons each enrolment (of a course of ``sizes`` lessons) has done, adding
        up to --progress: a few hundred finish the course, the others stop before the end, most
        after a handful of lessons, some before the first."""
        rng = self.rng
        target = self.sizes["progress"]
        done = [0] * len(sizes)
        order = list(range(len(sizes)))
        rng.shuffle(order)
        budget = target // 5
        for index in order[: int(len(sizes) * FINISHER_SHARE)]:
            if sizes[index] > budget:
                continue
            done[index] = sizes[index]
            budget -= sizes[index]
        remaining = target - sum(done)
        others = [i for i in order if not done[i] and sizes[i] > 1]
        weights = {i: rng.expovariate(1) ** 1.5 for i in others}
        scale = remaining / (sum(weights.values()) or 1)
        for i in others:
            done[i] = min(sizes[i] - 1, int(weights[i] * scale))
        # Hand out what rounding and the caps left over, one lesson at a time, to learners who
        # have started, then to anyone.
        remaining = target - sum(done)
        while remaining > 0:
            room = [i for i in others if 0 < done[i] < sizes[i] - 1] or [
                i for i in others if done[i] < sizes[i] - 1
            ]
            if not room:
                break
            rng.shuffle(room)
            for i in room[:remaining]:
                done[i] += 1
            remaining = target - sum(done)
        return done

    def _module_outcome(self, user_id, module_plan, at, finisher: bool) -> dict:
        """The attempts (with their answers) at a module whose lessons are all done, and when
        the module was completed (None if it was not)."""
        rng = self.rng
        made = {"attempts": [], "answers": [], "completed_at": None}
        questions = module_plan.questions
        if not questions:
            made["completed_at"] = at
            return made
        total = len(questions)
        question_ids = [pk for pk, _correct, _letters in questions]
        pass_mark = module_plan.module.pass_mark
        needed = -(-pass_mark * total // 100)
        roll = 0.0 if finisher else rng.random()
        outcomes = ["passed"]
        if roll > 0.95:
            outcomes = ["open"]  # started, not finished
        elif roll > 0.85:
            outcomes = ["failed"]
        elif roll > 0.65:
            outcomes = ["failed", "passed"]
        for number, outcome in enumerate(outcomes):
            started_at = at + timedelta(hours=20 * number, minutes=rng.uniform(1, 30))
            started_at = min(started_at, self.now - timedelta(minutes=30))
            finished_at = started_at + timedelta(minutes=rng.uniform(2, 15))
            if outcome == "open":
                answered, score = rng.randint(0, total - 1), None
                right = {i for i in range(answered) if rng.random() < 0.7}
            else:
                answered = total
                low, high = (needed, total) if outcome == "passed" else (0, needed - 1)
                score = rng.randint(low, high)
                right = set(rng.sample(range(total), score))
            rows = []
            for index, (pk, correct, letters) in enumerate(questions[:answered]):
                choice = (
                    correct if index in right else rng.choice([x for x in letters if x != correct])
                )
                rows.append(
                    {
                        "question_id": pk,
                        "choice": choice,
                        "is_correct": choice == correct,
                        "answered_at": started_at + timedelta(seconds=40 * (index + 1)),
                    }
                )
            is_open = outcome == "open"
            made["attempts"].append(
                {
                    "user_id": user_id,
                    "module_id": module_plan.module.pk,
                    "question_ids": question_ids,
                    "pass_mark": pass_mark,
                    "started_at": started_at,
                    "finished_at": None if is_open else finished_at,
                    "score": score,
                    "total": total,
                    "passed": None if is_open else outcome == "passed",
                }
            )
            made["answers"].append(rows)
            if outcome == "passed":
                made["completed_at"] = finished_at
        return made

    def _certificate_code(self, taken: set) -> str:
        while True:
            raw = "".join(self.rng.choices(CERTIFICATE_ALPHABET, k=12))
            code = f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"
            if code not in taken:
                taken.add(code)
                return code

    # Newsletter ------------------------------------------------------------------------------

    def subscribers(self) -> None:
        """Confirmed subscribers, each with the two consent records of the real double opt-in:
        "given" from the sign-up form, "confirmed" from the link in the email."""
        count = self.sizes["subscribers"]
        if not count:
            return
        rng = self.rng
        site = settings.SITE_URL.rstrip("/")
        pages = ["/", "/procedures/", "/learn/", "/about/", "/procedures/nephrostomy/"]
        policy = PrivacyPolicy.objects.current()
        policy_id = policy.pk if policy else None
        subscribers = []
        for number in range(1, count + 1):
            created_at = self.ago(1, 1100)
            confirmed_at = created_at + timedelta(minutes=rng.expovariate(1 / 90))
            subscribers.append(
                {
                    "email": subscriber_email(number),
                    "status": Subscriber.Status.SUBSCRIBED.value,
                    "created_at": created_at,
                    "confirmation_sent_at": created_at,
                    "confirmed_at": min(confirmed_at, self.now),
                }
            )
        self.insert(Subscriber, subscribers)
        records = []
        for subscriber in subscribers:
            ip_address = f"203.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            common = {"subscriber_id": subscriber["id"], "policy_id": policy_id}
            records += [
                {
                    **common,
                    "event": ConsentRecord.Event.GIVEN.value,
                    "created_at": subscriber["created_at"],
                    "wording": CONSENT_WORDING,
                    "source": site + rng.choice(pages),
                    "ip_address": ip_address,
                },
                {
                    **common,
                    "event": ConsentRecord.Event.CONFIRMED.value,
                    "created_at": subscriber["confirmed_at"],
                    "wording": CONFIRM_WORDING,
                    "source": f"{site}/newsletter/confirm/{subscriber['id']}-bench/",
                    "ip_address": ip_address,
                },
            ]
        self.insert(ConsentRecord, records, "consent records")


class Command(BaseCommand):
    help = (
        "Fill the database with the benchmarks' large data set (procedures, courses, learners "
        "and their progress, newsletter subscribers). Does nothing if it is already there."
    )

    def add_arguments(self, parser):
        for name, default, text in SIZES:
            parser.add_argument(
                f"--{name}", type=int, default=default, help=f"{text} (default {default:,})"
            )
        parser.add_argument(
            "--seed", type=int, default=1, help="random seed, for the same data again (default 1)"
        )

    def handle(self, *args, **options):
        self.started = time.perf_counter()
        if already_generated():
            self.stdout.write("Bench data already generated: nothing to do.")
            self._report(options["seed"], generated=False)
            return
        sizes = {name: max(0, options[name]) for name, _default, _help in SIZES}
        self.log("Generating bench data: " + ", ".join(f"{n} {name}" for name, n in sizes.items()))
        generator = Generator(sizes=sizes, seed=options["seed"], log=self.log)
        with transaction.atomic():
            procedures = generator.procedures()
            generator.courses(procedures)
            users = generator.learners()
            generator.learning(users)
            generator.subscribers()
            self.log("committing")
        self.log("committed")
        # Fresh statistics, so that query plans are those of a database this size.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.log("analysed")
        self._report(options["seed"], generated=True)

    def log(self, message: str) -> None:
        self.stdout.write(f"[{time.perf_counter() - self.started:6.1f}s] {message}")
        self.stdout.flush()

    def _report(self, seed: int, *, generated: bool) -> None:
        seconds = round(time.perf_counter() - self.started, 1)
        if generated:
            self.stdout.write(self.style.SUCCESS(f"Bench data generated in {seconds} s."))
        self.stdout.write(
            json.dumps(
                {"generated": generated, "seconds": seconds, "seed": seed, "rows": row_counts()}
            )
        )
