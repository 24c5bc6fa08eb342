from allauth.account.adapter import get_adapter
from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm

from irlearn.accounts.models import User
from irlearn.accounts.services import ACCOUNT_DELETION_STEPS


class SignupForm(forms.Form):
    """Extra fields on allauth's sign-up form (allauth calls ``signup`` after creating the user)."""

    full_name = forms.CharField(
        max_length=150,
        help_text="As it should appear on your certificates.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    grade = forms.ChoiceField(
        label="Training grade", choices=[("", "Choose…"), *User.Grade.choices], required=False
    )
    specialty = forms.CharField(
        max_length=100, required=False, help_text="For example: radiology, surgery."
    )

    field_order = ["full_name", "email", "password1", "password2", "grade", "specialty"]

    def signup(self, request, user):
        user.full_name = self.cleaned_data["full_name"]
        user.grade = self.cleaned_data["grade"]
        user.specialty = self.cleaned_data["specialty"]
        user.save(update_fields=["full_name", "grade", "specialty"])


class AdminLoginForm(AdminAuthenticationForm):
    """The admin's login form, held to the site login's limits on failed logins.

    allauth's adapter checks the password, as it does for the site's login form: a login is
    refused once the client's address or the account has used up ACCOUNT_RATE_LIMITS
    ["login_failed"], a failure is counted against both, and a success is not. Guesses at
    /admin/login/ and /accounts/login/ therefore share one budget, a lock set on either page holds
    on both, and what lifts it is allauth's: the end of the window, or a password reset.
    """

    def clean(self):
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is not None and password:
            self.user_cache = get_adapter(self.request).authenticate(
                self.request, email=email, password=password
            )
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name", "grade", "specialty"]
        widgets = {"full_name": forms.TextInput(attrs={"autocomplete": "name"})}


class AccountDeleteForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="To make sure it is you.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        # What other apps hold under the person's address, and what should become of it; asked
        # before the password, which comes last, by the button.
        for step in ACCOUNT_DELETION_STEPS.values():
            self.fields.update(step.fields(user))
        self.order_fields([name for name in self.fields if name != "password"])

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That password is not correct.")
        return password
