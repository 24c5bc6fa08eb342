import pytest
from django.core.cache import cache

from tests import deployment
from tests.factories import PASSWORD, UserFactory
from tests.smtp import SmtpSink


@pytest.fixture(autouse=True)
def _clear_cache():
    """allauth keeps its rate limits in the cache: each test starts with none used up."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Files uploaded or seeded by a test (media, image stack uploads) go to folders of its own,
    never the project's."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "stack_uploads": {
            **settings.STORAGES["stack_uploads"],
            "OPTIONS": {"location": tmp_path / "stack-uploads", "base_url": "/not-served/"},
        },
    }


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory):
    """One migrated database per test run, of this run's kind, for tests that run the site in
    processes (tests/deployment.py); each test works on a copy (``process_database``)."""
    database = deployment.migrated_database(tmp_path_factory.mktemp("processes"))
    yield database
    database.drop()


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=deployment.on_sqlite),
        pytest.param("postgresql", marks=deployment.on_postgresql),
    ]
)
def process_database(request, migrated_database, tmp_path):
    """A database of the test's own that its processes share: the SQLite variant runs when the
    suite runs on SQLite, the PostgreSQL one when it runs on PostgreSQL."""
    database = migrated_database.copy(tmp_path / "process.sqlite3")
    yield database
    database.drop()


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def learner(db):
    return UserFactory()


@pytest.fixture
def learner_client(client, learner):
    client.force_login(learner)
    return client


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1 that Django sends to (instead of the locmem outbox)."""
    with SmtpSink() as sink:
        # Django's test set-up swaps every mailer for locmem; this override comes after it.
        settings.MAILERS = sink.mailers()
        yield sink


@pytest.fixture
def site_content(db, settings, django_capture_on_commit_callbacks):
    """Demo content plus a row in every table the admin shows (so every change page is seen),
    and a learner enrolled in every course who has finished one of them."""
    from django.core.files.base import ContentFile
    from django.core.management import call_command

    from courses import services as course_services
    from courses.models import Course, Lesson
    from irlearn.newsletter import scheduling
    from irlearn.newsletter.models import Audience, Tag
    from irlearn.newsletter.services import subscriber_subscribe
    from irlearn.stacks.models import ImageStack
    from irlearn.stacks.processing import stack_process
    from tests.factories import IssueFactory, SubscriberFactory, course_with_content
    from tests.stacks.conftest import ct_zip

    call_command("seed_demo", "--no-accounts", verbosity=0)
    learner = UserFactory(full_name="Crawl Learner")
    # A finished course: enrolment, lesson progress, attempts, completions and a certificate.
    course = course_with_content(modules=1, lessons=1, questions=1, title="Crawl course")
    course_services.enrolment_create(user=learner, course=course)
    for lesson in Lesson.objects.filter(module__course=course):
        course_services.lesson_complete(user=learner, lesson=lesson)
    module = course.modules.get()
    attempt = course_services.attempt_start(user=learner, module=module)
    question = module.questions.get()
    course_services.answer_submit(attempt=attempt, question_id=question.pk, choice="b")
    for other in Course.objects.exclude(pk=course.pk):
        course_services.enrolment_create(user=learner, course=other)
    # An image stack processed from a real (synthetic) DICOM upload, shown in the course's lesson.
    stack = ImageStack(title="Crawl stack", slug="crawl-stack", description="A test series.")
    stack.source_file.save("series.zip", ContentFile(ct_zip(slices=3)), save=False)
    stack.save()
    stack_process(stack.pk)
    lesson = Lesson.objects.filter(module__course=course).first()
    lesson.body += "\n\n[[stack:crawl-stack]]\n"
    lesson.save()
    # Newsletter: a pending sign-up (consent record), a subscriber, an issue with deliveries and
    # the queued send tasks in the database backend's table.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        subscriber_subscribe(
            email="crawl-reader@example.org", wording="Yes please", source="/", ip_address=None
        )
        tagged = SubscriberFactory()
        issue = IssueFactory()
        scheduling.issue_send_start(issue_id=issue.pk)
    # A segment by tag, and an issue written for it.
    tag = Tag.objects.create(name="Crawl tag")
    tagged.tags.add(tag)
    segment = Audience.objects.create(name="Crawl segment")
    segment.tags.add(tag)
    IssueFactory(subject="Crawl segment issue", audience=segment)
    return learner
