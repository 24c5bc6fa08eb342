from django import forms

from irlearn.newsletter.models import Subscriber
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


class IssueSendForm(forms.Form):
    confirm_too_soon = forms.BooleanField(
        required=False, label="Send anyway, although the last issue went out less than 28 days ago"
    )
    scheduled_for = forms.DateTimeField(
        required=False,
        label="Send at (leave empty to send now)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
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
