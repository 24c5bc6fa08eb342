"""SQL queries per page, and the learner, lesson and attempt that `make bench` loads.

Run by bench/run.py in a subprocess, with the environment of the stack under test (DATABASE_URL,
CACHE_URL, DJANGO_DEBUG=0 ...)::

    python bench/queries.py --label small --json /tmp/queries-small.json

Each page is requested once to warm the caches, as in production, then once more inside
CaptureQueriesContext, then five times more to time it in this process alone (median wall and
CPU time: what one request costs, without a server or other requests around it). The JSON has,
per page, the URL, the status, the queries (count, SQL, time in SQL) and those timings, and a
"targets" section: the URLs, POST bodies and session cookie that bench/load.py uses for the
throughput runs against the same data.

The learner: on the small (demo) data set a bench learner is created if missing and enrolled on
the first course, with one lesson done and one question answered; on the large set, the active
learner with the most lesson progress. Either way the learner has an attempt at a module's
questions whose first question is already answered, so the question POST takes the path of a
repeated answer (the first answer is kept, and the learner is sent back to its feedback).
"""

import argparse
import itertools
import json
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_LEARNER_EMAIL = "bench-learner@irlearn.localhost"
SEARCH_QUERY = "nephrostomy"


def setup_django():
    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "irlearn.settings")
    import django

    django.setup()


def pick_learner(*, large: bool):
    """The learner whose pages are measured: the busiest learner on the large data set, a
    bench learner (created here) on the small one. Returns (user, course)."""
    from django.db.models import Count

    from courses import services
    from courses.models import Course, Enrolment, Lesson, LessonProgress
    from irlearn.accounts.models import User

    if large:
        # The learners with the most lessons done, and the course of theirs with the most.
        busiest = (
            LessonProgress.objects.filter(user__is_active=True, user__is_staff=False)
            .values_list("user", flat=True)
            .annotate(n=Count("pk"))
            .order_by("-n", "user")[:20]
        )
        for user_id in busiest:
            active = set(
                Enrolment.objects.filter(
                    user_id=user_id, is_active=True, course__status="published"
                ).values_list("course", flat=True)
            )
            by_course = (
                LessonProgress.objects.filter(user_id=user_id)
                .values_list("lesson__module__course", flat=True)
                .annotate(n=Count("pk"))
                .order_by("-n")
            )
            course_id = next((c for c in by_course if c in active), None)
            if course_id is not None:
                return User.objects.get(pk=user_id), Course.objects.get(pk=course_id)
        print("No enrolled learner with progress: using the bench learner.", file=sys.stderr)
    user, created = User.objects.get_or_create(
        email=BENCH_LEARNER_EMAIL, defaults={"full_name": "Bench Learner"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    course = Course.objects.published().order_by("order", "title").first()
    if course is None:
        raise SystemExit("No published course: load the demo content first (seed_demo).")
    services.enrolment_create(user=user, course=course)
    first = (
        Lesson.objects.published()
        .filter(module__course=course)
        .order_by("module__order", "module__pk", "order", "pk")
    )
    if first.exists():
        services.lesson_complete(user=user, lesson=first.first())
    return user, course


def pick_targets(user, course):
    """The lesson, the module with questions and an answered attempt question in ``course``."""
    from courses import services
    from courses.models import Lesson, Module

    order = ("module__order", "module__pk", "order", "pk")
    lessons = Lesson.objects.published().filter(module__course=course).order_by(*order)
    # A lesson the learner has done (the page they come back to most) in a module they have not
    # completed: marking it complete then checks the module's completion on both data sets, so
    # the two query counts compare the same work.
    open_lessons = lessons.exclude(module__completions__user=user)
    lesson = (
        open_lessons.filter(progress__user=user).first()
        or open_lessons.first()
        or lessons.filter(progress__user=user).first()
        or lessons.first()
    )
    if lesson is None:
        raise SystemExit(f"Course {course.slug} has no published lesson.")
    module = (
        Module.objects.published()
        .filter(course=course, questions__isnull=False)
        .distinct()
        .order_by("order", "pk")
        .first()
    )
    if module is None:
        raise SystemExit(f"Course {course.slug} has no module with questions.")
    attempt = services.attempt_start(user=user, module=module)
    question_id = attempt.question_ids[0]
    choice = module.questions.get(pk=question_id).letters[0]
    services.answer_submit(attempt=attempt, question_id=question_id, choice=choice)
    return lesson, module, attempt, question_id, choice


def page_plan(*, large: bool):
    """(name, method, url, data, logged_in) of every page measured, and the load targets."""
    from django.urls import reverse

    from procedures.models import Procedure

    user, course = pick_learner(large=large)
    lesson, module, attempt, question_id, choice = pick_targets(user, course)
    procedure = (
        Procedure.objects.published().filter(slug="nephrostomy").first()
        or Procedure.objects.published().order_by("title").first()
    )
    if procedure is None:
        raise SystemExit("No published procedure: load the demo content first (seed_demo).")
    lesson_url = lesson.get_absolute_url()
    complete_url = reverse(
        "courses:lesson-complete",
        kwargs={"course": course.slug, "module": lesson.module.slug, "lesson": lesson.slug},
    )
    question_url = reverse("courses:attempt-question", kwargs={"pk": attempt.pk, "number": 1})
    question_body = {"question": str(question_id), "choice": choice}
    newsletter_body = {"email": "{email}", "consent": "on", "website": ""}
    plan = [
        ("home", "GET", "/", None, False),
        ("procedure_list", "GET", reverse("procedures:index"), None, False),
        ("procedure_detail", "GET", procedure.get_absolute_url(), None, False),
        ("search", "GET", f"{reverse('pages:search')}?q={SEARCH_QUERY}", None, False),
        ("catalogue", "GET", reverse("courses:catalogue"), None, False),
        ("course", "GET", course.get_absolute_url(), None, False),
        ("lesson", "GET", lesson_url, None, True),
        ("quiz", "GET", reverse("courses:quiz", args=[course.slug, module.slug]), None, True),
        ("dashboard", "GET", reverse("courses:dashboard"), None, True),
        ("mark_complete", "POST", complete_url, {}, True),
        ("question_submit", "POST", question_url, question_body, True),
        ("newsletter_subscribe", "POST", reverse("newsletter:subscribe"), newsletter_body, False),
    ]
    from courses.models import LessonProgress

    learner = {
        "id": user.pk,
        "email": user.email,
        "course": course.slug,
        "lesson_progress": LessonProgress.objects.filter(user=user).count(),
        "enrolments": user.enrolments.count(),
        "attempt": attempt.pk,
        "question": question_id,
    }
    return plan, user, learner


def measure(plan, user, *, timings: int = 5):
    """Warm each page once, then count its queries; then time it ``timings`` times more, in
    this one process (no server, no concurrency): the cost of the page itself, in Python
    (CPU time of this process) and in all (wall time, the database included).
    Returns ({name: {...}}, the learner's session key)."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    host = settings.ALLOWED_HOSTS[0] if settings.ALLOWED_HOSTS else "127.0.0.1"
    anonymous = Client(HTTP_HOST=host)
    learner = Client(HTTP_HOST=host)
    learner.force_login(user)
    emails = (f"bench-queries-{os.getpid()}-{n}@example.org" for n in itertools.count())
    pages = {}
    for name, method, url, data, logged_in in plan:
        client = learner if logged_in else anonymous

        def request(client=client, method=method, url=url, data=data):
            if method == "GET":
                return client.get(url)
            body = {k: (next(emails) if v == "{email}" else v) for k, v in data.items()}
            return client.post(url, body)

        request()
        with CaptureQueriesContext(connection) as context:
            response = request()
        # Copied now: the next request (request_started) empties the connection's query log.
        captured = list(context.captured_queries)
        wall, cpu = [], []
        for _ in range(timings):
            began_wall, began_cpu = time.perf_counter(), time.process_time()
            request()
            wall.append(1000 * (time.perf_counter() - began_wall))
            cpu.append(1000 * (time.process_time() - began_cpu))
        pages[name] = {
            "method": method,
            "url": url,
            "logged_in": logged_in,
            "status": response.status_code,
            "queries": len(captured),
            "sql_ms": round(sum(1000 * float(query["time"]) for query in captured), 2),
            "wall_ms": round(statistics.median(wall), 2),
            "cpu_ms": round(statistics.median(cpu), 2),
            "sql": [query["sql"] for query in captured],
        }
        print(
            f"  {name:<22} {response.status_code}  {len(captured):>3} queries  "
            f"{pages[name]['wall_ms']:>6.1f} ms ({pages[name]['cpu_ms']:.1f} ms CPU)  {url}"
        )
    return pages, learner.cookies[settings.SESSION_COOKIE_NAME].value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", choices=["small", "large"], required=True)
    parser.add_argument("--json", type=Path, required=True, help="where to write the figures")
    args = parser.parse_args(argv)
    setup_django()
    from django.conf import settings

    plan, user, learner = page_plan(large=args.label == "large")
    pages, session_key = measure(plan, user)
    result = {
        "label": args.label,
        "learner": learner,
        "pages": pages,
        "targets": {
            "session_cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}",
            "pages": {
                name: {"method": method, "url": url, "data": data, "logged_in": logged_in}
                for name, method, url, data, logged_in in plan
            },
        },
    }
    args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
