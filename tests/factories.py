import datetime

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.text import slugify

from irlearn.accounts.models import User
from irlearn.accounts.roles import CONTENT_EDITORS, SUBSCRIBER_MANAGERS
from irlearn.newsletter.models import Issue, Subscriber

PASSWORD = "a-long-test-passphrase-42"


class UserFactory(factory.django.DjangoModelFactory):
    """A learner whose email address is verified, so they can log in."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"learner{n}@example.org")
    full_name = factory.Faker("name", locale="en_GB")
    grade = User.Grade.FOUNDATION
    specialty = "Acute medicine"
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


def _join(group_name):
    def join(obj, create, extracted, **kwargs):
        if create:
            obj.groups.add(Group.objects.get(name=group_name))

    return factory.PostGeneration(join)


class StaffFactory(UserFactory):
    is_staff = True


class ContentEditorFactory(StaffFactory):
    role = _join(CONTENT_EDITORS)


class SubscriberManagerFactory(StaffFactory):
    role = _join(SUBSCRIBER_MANAGERS)


class SuperuserFactory(StaffFactory):
    is_superuser = True


# The procedure library.


def png_bytes(size=(8, 6), colour=(11, 92, 122)):
    """A small, valid PNG made in memory."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "procedures.Category"
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))
    description = factory.LazyAttribute(lambda o: f"Procedures filed under {o.name.lower()}.")
    order = factory.Sequence(lambda n: n)


class ProcedureFactory(factory.django.DjangoModelFactory):
    """A published procedure with every section filled; ``draft=True`` for one learners cannot see.

    ``guidance`` takes modality slugs (the migrations create ultrasound, ct, fluoroscopy, mri) and
    ``related`` takes procedures: ``ProcedureFactory(guidance=["ct"], related=[other])``.
    """

    class Meta:
        model = "procedures.Procedure"
        skip_postgeneration_save = True

    class Params:
        published = factory.Trait(
            status="published", published_at=factory.LazyFunction(timezone.now)
        )
        draft = factory.Trait(status="draft", published_at=None)

    title = factory.Sequence(lambda n: f"Procedure {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.title))
    category = factory.SubFactory(CategoryFactory)
    summary = factory.LazyAttribute(lambda o: f"{o.title} in plain words, for referring doctors.")
    what_it_is = factory.LazyAttribute(lambda o: f"{o.title} is an image-guided procedure.")
    indications = "- A blocked duct\n- An infected collection"
    contraindications = "Uncorrectable **bleeding** risk."
    technique = "1. Local anaesthetic\n2. A needle under imaging\n3. A wire and a tube"
    imaging_guidance = "Ultrasound for the puncture, fluoroscopy for the wire."
    anaesthesia = "Local anaesthetic, with sedation if needed."
    setting = "day_case"
    setting_notes = "Usually home the same day."
    aftercare = "Observations every 30 minutes for two hours."
    risks = "Bleeding, infection, and the tube falling out."
    alternatives = "Surgery, or watching and waiting."
    referral = "Refer through the interventional radiology request form."
    references = "- A textbook of interventional radiology"
    last_reviewed = datetime.date(2026, 3, 1)
    status = "published"
    published_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def guidance(obj, create, extracted, **kwargs):
        if create and extracted:
            from procedures.models import ImagingModality

            obj.guidance.set(ImagingModality.objects.filter(slug__in=extracted))

    @factory.post_generation
    def related(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.related.add(*extracted)


class FigureFactory(factory.django.DjangoModelFactory):
    """A figure whose image is a small PNG (set MEDIA_ROOT to a temporary folder in tests)."""

    class Meta:
        model = "procedures.Figure"

    procedure = factory.SubFactory(ProcedureFactory)
    image = factory.LazyFunction(lambda: ContentFile(png_bytes(), name="figure.png"))
    alt_text = factory.Sequence(lambda n: f"Diagram {n}: a drainage catheter in the kidney")
    caption = "Where the tube goes."
    credit = "Drawn for IRLearn"
    order = factory.Sequence(lambda n: n)


# E-learning.


class CourseFactory(factory.django.DjangoModelFactory):
    """A published course (pass status="draft" for a draft)."""

    class Meta:
        model = "courses.Course"

    title = factory.Sequence(lambda n: f"Course {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.title))
    summary = factory.LazyAttribute(lambda o: f"A short course: {o.title}.")
    audience = "Foundation doctors and medical students."
    outcomes = "Explain what the procedure is\nDescribe the aftercare"
    cpd_hours = "2.0"
    status = "published"
    published_at = factory.LazyFunction(timezone.now)


class ModuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "courses.Module"

    course = factory.SubFactory(CourseFactory)
    title = factory.Sequence(lambda n: f"Module {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.title))
    summary = "What this module covers."
    estimated_minutes = 20
    pass_mark = 80
    status = "published"
    order = factory.Sequence(lambda n: n)


class LessonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "courses.Lesson"

    module = factory.SubFactory(ModuleFactory)
    title = factory.Sequence(lambda n: f"Lesson {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.title))
    body = "## Key points\n\nA nephrostomy drains urine from the kidney."
    estimated_minutes = 5
    status = "published"
    order = factory.Sequence(lambda n: n)


class QuestionFactory(factory.django.DjangoModelFactory):
    """A five-option question whose answer is B."""

    class Meta:
        model = "courses.Question"

    module = factory.SubFactory(ModuleFactory)
    stem = factory.Sequence(lambda n: f"Question {n}: which is the single best answer?")
    option_a = "Option A"
    explanation_a = "A is wrong."
    option_b = "Option B"
    explanation_b = "B is right."
    option_c = "Option C"
    explanation_c = "C is wrong."
    option_d = "Option D"
    explanation_d = "D is wrong."
    option_e = "Option E"
    explanation_e = "E is wrong."
    correct = "b"
    learning_point = "B is the best answer."
    order = factory.Sequence(lambda n: n)


class ImageQuestionFactory(factory.django.DjangoModelFactory):
    """A "plan the route" question (kind="target" for mark the target) on a ready stack of 10
    slices; give it regions with QuestionRegionFactory."""

    class Meta:
        model = "courses.Question"

    module = factory.SubFactory(ModuleFactory)
    kind = "route"
    stem = factory.Sequence(lambda n: f"Image question {n}: plan a route to the target.")
    stem_stack = factory.SubFactory("tests.factories.ImageStackFactory")
    explanation = "The lower-pole posterior calyx, from below the 12th rib, misses the colon."
    learning_point = "Enter a posterior calyx along Brödel's line."
    order = factory.Sequence(lambda n: n)


class QuestionRegionFactory(factory.django.DjangoModelFactory):
    """A target ellipse on slices 4 to 6 of the question's stack (pass role="avoid", label and
    shapes for others)."""

    class Meta:
        model = "courses.QuestionRegion"

    question = factory.SubFactory(ImageQuestionFactory)
    stack = factory.LazyAttribute(lambda o: o.question.stem_stack)
    role = "target"
    label = "lower-pole calyx"
    shapes = factory.LazyFunction(
        lambda: [
            {"slice": i, "kind": "ellipse", "cx": 0.6, "cy": 0.6, "rx": 0.05, "ry": 0.05}
            for i in (4, 5, 6)
        ]
    )


class EnrolmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "courses.Enrolment"

    user = factory.SubFactory(UserFactory)
    course = factory.SubFactory(CourseFactory)


def course_with_content(*, modules=2, lessons=3, questions=5, **course_fields):
    """A published course with ``modules`` modules, each with ``lessons`` lessons and
    ``questions`` questions (all answered B)."""
    course = CourseFactory(**course_fields)
    for m in range(modules):
        module = ModuleFactory(course=course, title=f"{course.title} module {m + 1}", order=m)
        for n in range(lessons):
            LessonFactory(module=module, title=f"{module.title} lesson {n + 1}", order=n)
        for n in range(questions):
            QuestionFactory(module=module, order=n)
    return course


# The newsletter.


class SubscriberFactory(factory.django.DjangoModelFactory):
    """A confirmed subscriber."""

    class Meta:
        model = Subscriber

    email = factory.Sequence(lambda n: f"reader{n}@example.org")
    status = Subscriber.Status.SUBSCRIBED
    confirmed_at = factory.LazyFunction(timezone.now)

    class Params:
        pending = factory.Trait(status=Subscriber.Status.PENDING, confirmed_at=None)
        unsubscribed = factory.Trait(
            status=Subscriber.Status.UNSUBSCRIBED,
            unsubscribed_at=factory.LazyFunction(timezone.now),
        )


class IssueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Issue

    subject = factory.Sequence(lambda n: f"IRLearn news {n}")
    body = "## New this month\n\nA new guide to **nephrostomy** and two modules on ultrasound."


# Image stacks.


class ImageStackFactory(factory.django.DjangoModelFactory):
    """A stack as processing leaves it (ready, its slices recorded), without running processing:
    for pages that show stacks. Tests of processing upload real DICOM (tests/stacks/)."""

    class Meta:
        model = "stacks.ImageStack"
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Synthetic CT {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.title))
    modality = "CT"
    plane = "axial"
    description = "Axial CT of the abdomen: a dilated left renal pelvis from slice 20 to 40."
    credit = "IRLearn"
    is_synthetic = True
    status = "ready"
    generation = 1
    attempt = 1
    rendered_windows = ["soft-tissue", "bone"]
    width = 512
    height = 512
    slice_count = 10
    row_spacing = 0.7
    column_spacing = 0.7
    slice_spacing = 2.5
    processed_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def slices(obj, create, extracted, **kwargs):
        if create:
            from irlearn.stacks.models import StackSlice

            StackSlice.objects.bulk_create(
                StackSlice(stack=obj, index=i, position=i * obj.slice_spacing)
                for i in range(obj.slice_count)
            )
