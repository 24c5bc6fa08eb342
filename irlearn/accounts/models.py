from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower


class UserManager(BaseUserManager):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email):
        """Lowercase the whole address, as allauth does on sign-up and login.

        Django lowercases only the domain, so an account added in the admin or by createsuperuser
        as "Jane.Doe@nhs.net" would be invisible to allauth's lookups of "jane.doe@nhs.net" and
        a sign-up with that address would fail on the case-insensitive unique constraint.
        """
        return super().normalize_email(email).lower()

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if not extra_fields["is_staff"] or not extra_fields["is_superuser"]:
            raise ValueError("A superuser must have is_staff=True and is_superuser=True.")
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractUser):
    """A learner, editor or staff member. The email address is the login."""

    class Grade(models.TextChoices):
        MEDICAL_STUDENT = "student", "Medical student"
        FOUNDATION = "foundation", "Foundation doctor"
        CORE_TRAINEE = "core", "Core trainee"
        REGISTRAR = "registrar", "Specialty registrar"
        CONSULTANT = "consultant", "Consultant"
        RADIOGRAPHER_NURSE = "radiographer_nurse", "Radiographer or nurse"
        OTHER = "other", "Other"

    username = None
    first_name = None
    last_name = None
    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(
        max_length=150, help_text="As it should appear on your certificates."
    )
    grade = models.CharField("training grade", max_length=20, choices=Grade, blank=True)
    specialty = models.CharField(max_length=100, blank=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    objects = UserManager()

    class Meta:
        ordering = ["email"]
        constraints = [
            # Emails differ only in case are the same person: the database settles it.
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self):
        return self.full_name or self.email

    def get_full_name(self):
        return self.full_name

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email


class QueuedAddress(models.Model):
    """An address waiting for one account email, with no other row that holds it.

    allauth mails addresses that have no account (someone asked for a password reset with one)
    so that its pages never tell whether an account exists. Sending that mail during the request
    would make the page slower for exactly those addresses, which tells it all the same; the task
    queue keeps its arguments and results, so it gets only this row's id. The task deletes the
    row when it has run, and rows left by a task that never ran go a day later.
    """

    email = models.EmailField()
    # Set when the address is an account's in all but its rows; goes with the account.
    user = models.ForeignKey(User, on_delete=models.CASCADE, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self):
        return f"Queued address #{self.pk}"
