import json

from allauth.account.views import ConfirmEmailView
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from irlearn.accounts.forms import AccountDeleteForm, ProfileForm
from irlearn.accounts.services import user_data_export, user_delete


@login_required
def profile(request):
    if request.method == "POST":
        form = ProfileForm(request.POST, instance=request.user)
        if form.is_valid():
            form.save()
            messages.success(request, "Your profile has been saved.")
            return redirect("accounts:profile")
    else:
        form = ProfileForm(instance=request.user)
    return render(request, "accounts/profile.html", {"form": form})


@login_required
@require_GET
def data_export(request):
    data = user_data_export(user=request.user)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    filename = f"irlearn-my-data-{timezone.localdate():%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
def account_delete(request):
    if request.method == "POST":
        form = AccountDeleteForm(request.POST, user=request.user)
        if form.is_valid():
            user_delete(request=request, user=request.user, choices=form.cleaned_data)
            messages.success(request, "Your account and your data have been deleted.")
            return redirect("home")
    else:
        form = AccountDeleteForm(user=request.user)
    return render(request, "accounts/delete.html", {"form": form})


class EmailConfirmView(ConfirmEmailView):
    """allauth's "confirm your email address" page, at the same address.

    A link that expires while the page is open (or a mangled one) gets the same "expired or
    invalid" page on POST as on GET, instead of a bare 404.
    """

    def post(self, *args, **kwargs):
        try:
            return super().post(*args, **kwargs)
        except Http404:
            self.object = None
            return self.render_to_response(self.get_context_data())

    def respond(self, success):
        # Confirmed in the browser that signed up, allauth has logged the learner in already
        # (ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION) and this is not reached. Anywhere else it sends
        # them to the log-in page: say why they are there and what to do.
        if success and not self.request.user.is_authenticated:
            messages.info(self.request, "Now log in with your email address and password.")
        return super().respond(success)
