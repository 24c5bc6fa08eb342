from django import forms

from irlearn.newsletter.services import CONSENT_WORDING


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
