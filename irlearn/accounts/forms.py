from django import forms

from irlearn.accounts.models import User


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

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That password is not correct.")
        return password
