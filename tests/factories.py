import datetime

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.text import slugify

from irlearn.accounts.models import User
from irlearn.accounts.roles import CONTENT_EDITORS, SUBSCRIBER_MANAGERS

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
