import factory
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group

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
