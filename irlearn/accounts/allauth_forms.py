"""allauth's own forms with our labels (ACCOUNT_FORMS in settings): sentence case, our words.

Apart from forms.py because allauth imports forms.py (ACCOUNT_SIGNUP_FORM_CLASS) while its own
forms module is still loading: a subclass of one of its forms there would be an import cycle.
"""

from allauth.account import forms as allauth_forms


def _relabel(form, labels: dict[str, str]) -> None:
    """Give ``form``'s fields these labels, and the password boxes the same placeholder."""
    for name, label in labels.items():
        field = form.fields[name]
        field.label = label
        if "placeholder" in field.widget.attrs:
            field.widget.attrs["placeholder"] = label


class LoginForm(allauth_forms.LoginForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _relabel(self, {"remember": "Keep me logged in"})


class ChangePasswordForm(allauth_forms.ChangePasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _relabel(
            self,
            {
                "oldpassword": "Current password",
                "password1": "New password",
                "password2": "New password (again)",
            },
        )


class ResetPasswordKeyForm(allauth_forms.ResetPasswordKeyForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _relabel(self, {"password1": "New password", "password2": "New password (again)"})
