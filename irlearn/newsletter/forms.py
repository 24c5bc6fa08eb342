from django import forms

from irlearn.newsletter.models import Audience, Subscriber, Tag
from irlearn.newsletter.selectors import subscribers_of_account
from irlearn.newsletter.services import CONSENT_WORDING, AccountDeletion


class SubscribeForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": "you@nhs.net"}),
    )
    consent = forms.BooleanField(
        label=CONSENT_WORDING,
        required=True,
        error_messages={"required": "Tick the box to agree to receive the newsletter."},
    )
    # A field people never see (hidden with CSS, out of the tab order); bots fill it in.
    website = forms.CharField(
        required=False,
        label="Leave this empty",
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def is_bot(self):
        return bool(self.data.get(self.add_prefix("website")))


class ImportForm(forms.Form):
    file = forms.FileField(
        help_text="CSV with one address per line (first column); a header is fine."
    )
    source = forms.CharField(
        label="Consent source",
        max_length=300,
        help_text="Where these people agreed to hear from us, e.g. “sign-up sheet at a meeting”.",
    )
    prior_opt_in = forms.BooleanField(
        required=False,
        label="They already confirmed (recorded prior opt-in)",
        help_text="Leave unticked to send each new address a confirmation email first.",
    )
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Put these tags on the new addresses (for sending to a segment).",
    )


class IssueSendForm(forms.Form):
    confirm_too_soon = forms.BooleanField(
        required=False,
        label="Send anyway, although another issue goes out less than 28 days from this one",
    )
    scheduled_for = forms.DateTimeField(
        required=False,
        label="Send at (leave empty to send now)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


class IssueSendTestForm(forms.Form):
    """Whom a test copy goes to: the staff member, or one of the test audiences."""

    audience = forms.ModelChoiceField(
        queryset=Audience.objects.tests(),
        required=False,
        label="Send a test to",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["audience"].empty_label = f"Me only ({user.email})" if user.email else "Me only"

    def recipients(self, user) -> list[str]:
        audience = self.cleaned_data["audience"]
        if audience is None:
            return [user.email] if user.email else []
        testers = audience.testers.filter(is_active=True).exclude(email="")
        return sorted(set(testers.values_list("email", flat=True)))


MAX_TESTERS = 20


class AudienceForm(forms.ModelForm):
    """An audience in the admin: a segment names tags and/or sign-up sources, a test audience
    names staff; the sign-up sources to choose from are those on record."""

    signup_sources = forms.MultipleChoiceField(
        label="Sign-up sources",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Subscribers who came from any of these (“website” is the sign-up form).",
    )

    class Meta:
        model = Audience
        fields = ["name", "kind", "tags", "signup_sources", "testers"]
        widgets = {"tags": forms.CheckboxSelectMultiple, "testers": forms.CheckboxSelectMultiple}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        known = Subscriber.objects.signup_sources()
        chosen = [s for s in (self.instance.signup_sources or []) if s not in known]
        self.fields["signup_sources"].choices = [(s, s) for s in sorted([*known, *chosen])]
        # Staff are listed by name; the address says where the test copy goes.
        self.fields["testers"].label_from_instance = lambda user: (
            f"{user.full_name} ({user.email})" if user.full_name else user.email
        )

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == Audience.Kind.SEGMENT:
            if not cleaned.get("tags") and not cleaned.get("signup_sources"):
                raise forms.ValidationError(
                    "Choose at least one tag or sign-up source: a segment is some subscribers."
                )
            if cleaned.get("testers"):
                self.add_error("testers", "Only a test audience has testers.")
        elif kind == Audience.Kind.TEST:
            if not cleaned.get("testers"):
                self.add_error("testers", "Choose the staff who get the test copies.")
            elif len(cleaned["testers"]) > MAX_TESTERS:
                self.add_error(
                    "testers",
                    f"At most {MAX_TESTERS} people: test copies go out while you wait.",
                )
            if cleaned.get("tags") or cleaned.get("signup_sources"):
                raise forms.ValidationError(
                    "A test audience is chosen staff, not tags or sign-up sources."
                )
            if self.instance.pk and self.instance.issues.exists():
                self.add_error("kind", "Issues are sent to this segment: it must stay one.")
        return cleaned


class SubscriberTagForm(forms.Form):
    """The tags to put on (or take off) the subscribers chosen on the list."""

    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one tag."},
    )


# The deletion page's question about the newsletter (irlearn/accounts: ACCOUNT_DELETION_STEPS).
ACCOUNT_DELETION_OPTIONS = [
    (
        AccountDeletion.ERASE,
        "Unsubscribe me and erase my address from the newsletter’s records (it cannot be signed "
        "up again)",
    ),
    (
        AccountDeletion.UNSUBSCRIBE,
        "Unsubscribe me (the newsletter keeps my address with the record of my consent)",
    ),
    (AccountDeletion.KEEP, "Keep sending me the newsletter"),
]
UNSUBSCRIBED_ACCOUNT_DELETION_OPTIONS = [
    (
        AccountDeletion.ERASE,
        "Erase my address from the newsletter’s records (it cannot be signed up again)",
    ),
    (AccountDeletion.KEEP, "Keep the record"),
]


def account_deletion_fields(user) -> dict:
    """The question the account deletion page asks when the account's address has a newsletter
    subscription (or the record of one): deleting the account does not touch it by itself."""
    subscribers = list(subscribers_of_account(user))
    if not subscribers:
        return {}
    addresses = ", ".join(subscriber.email for subscriber in subscribers)
    statuses = {subscriber.status for subscriber in subscribers}
    choices = ACCOUNT_DELETION_OPTIONS
    if Subscriber.Status.SUBSCRIBED in statuses:
        label = (
            f"You also get the IRLearn newsletter at {addresses}. Deleting your account does not "
            "unsubscribe you. What should happen to your subscription?"
        )
    elif Subscriber.Status.PENDING in statuses:
        label = (
            f"You have signed up for the IRLearn newsletter at {addresses} (not yet confirmed). "
            "Deleting your account does not cancel that. What should happen to it?"
        )
    else:
        label = (
            f"The newsletter keeps a record of your past subscription at {addresses}: the "
            "address, and when you agreed and unsubscribed. What should happen to it?"
        )
        choices = UNSUBSCRIBED_ACCOUNT_DELETION_OPTIONS
    return {
        "newsletter": forms.ChoiceField(
            label=label,
            choices=choices,
            widget=forms.RadioSelect,
            error_messages={"required": "Choose what happens to your newsletter subscription."},
        )
    }
