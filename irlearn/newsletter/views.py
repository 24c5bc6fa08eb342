from allauth.account.adapter import get_adapter
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from irlearn.newsletter import services, tokens
from irlearn.newsletter.forms import ACCOUNT_DELETION_OPTIONS, SubscribeForm
from irlearn.newsletter.models import Subscriber, normalise_email


def client_ip(request):
    """The visitor's address, as allauth's rate limits see it: behind the production proxy
    (ALLAUTH_TRUSTED_PROXY_COUNT) that is X-Forwarded-For, not the proxy's own address."""
    try:
        return get_adapter(request).get_client_ip(request)
    except (ImproperlyConfigured, PermissionDenied):
        return request.META.get("REMOTE_ADDR") or None


def _over_limit(key: str, limit: int) -> bool:
    """Count one more sign-up under ``key`` this hour; whether that goes past ``limit``."""
    cache.add(key, 0, timeout=3600)
    try:
        count = cache.incr(key)
    except ValueError:
        count = 1
    return count > limit


def _too_many_from(request) -> bool:
    """More than NEWSLETTER_SUBSCRIBE_LIMIT_PER_HOUR sign-ups an hour from one IP address.

    High, since a whole hospital can reach us from one address (a teaching session signing up
    together); the per-address limit below is what stops one inbox being flooded.
    """
    return _over_limit(
        f"newsletter:subscribe:ip:{client_ip(request)}",
        settings.NEWSLETTER_SUBSCRIBE_LIMIT_PER_HOUR,
    )


def _too_many_for(email: str) -> bool:
    """More than NEWSLETTER_SUBSCRIBE_LIMIT_PER_ADDRESS_PER_HOUR sign-ups an hour for one
    address, from anywhere. The cache key is a keyed hash: the address itself is not stored."""
    digest = salted_hmac(
        "newsletter.subscribe", normalise_email(email), algorithm="sha256"
    ).hexdigest()
    return _over_limit(
        f"newsletter:subscribe:address:{digest}",
        settings.NEWSLETTER_SUBSCRIBE_LIMIT_PER_ADDRESS_PER_HOUR,
    )


def _posted_from_another_site(request) -> bool:
    """Whether a browser says this form was sent from another site's page.

    Browsers send Sec-Fetch-Site (or, older ones, Origin) with every form POST. A page on another
    site cannot make visitors' browsers sign addresses up, which would spread sign-ups over many
    IP addresses and slip past the per-address limit.
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    own = f"{request.scheme}://{request.get_host()}"
    return origin != own and origin not in settings.CSRF_TRUSTED_ORIGINS


# No CSRF token: the box sits in the footer of pages that are cached for every anonymous
# visitor, so it cannot carry one visitor's token. What the token would protect is checked
# instead: the browser's own word on where the form came from (above), the per-address limit,
# the honeypot, and the double opt-in, which sends nothing but a confirmation link.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def subscribe(request):
    """The newsletter box (footer of every page) posts here; it is also a page of its own."""
    form = SubscribeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if _posted_from_another_site(request):
            raise PermissionDenied("Sign up to the newsletter from IRLearn's own pages.")
        if _too_many_from(request):
            return render(request, "newsletter/too_many_sign_ups.html", status=429)
        if form.is_valid():
            if _too_many_for(form.cleaned_data["email"]):
                return render(request, "newsletter/too_many_sign_ups.html", status=429)
            if not form.is_bot():
                services.subscriber_subscribe(
                    email=form.cleaned_data["email"],
                    wording=services.CONSENT_WORDING,
                    # The page the box was on (browsers send it: Referrer-Policy same-origin).
                    source=request.META.get("HTTP_REFERER") or request.build_absolute_uri(),
                    ip_address=client_ip(request),
                )
            # The same answer for every address: nothing reveals who is subscribed.
            return redirect("newsletter:check-inbox")
    return render(request, "newsletter/subscribe.html", {"form": form})


def check_inbox(request):
    return render(request, "newsletter/check_inbox.html")


# Mail scanners open links with GET and HEAD: both show the page and change nothing.
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request, token):
    """GET shows a Confirm button (mail scanners open links); only the POST confirms."""
    try:
        # An erased or unsubscribed address (or a row that now holds another one) confirms nothing.
        services.subscriber_for_confirm_token(token)
    except signing.SignatureExpired:
        return render(request, "newsletter/confirm_invalid.html", {"expired": True}, status=400)
    except (signing.BadSignature, Subscriber.DoesNotExist):
        return render(request, "newsletter/confirm_invalid.html", status=400)
    if request.method == "POST":
        try:
            services.subscriber_confirm(
                token=token,
                source=request.build_absolute_uri(),
                ip_address=client_ip(request),
                wording=services.CONFIRM_WORDING,
            )
        except (signing.BadSignature, Subscriber.DoesNotExist):
            return render(request, "newsletter/confirm_invalid.html", status=400)
        return render(request, "newsletter/confirmed.html")
    return render(request, "newsletter/confirm.html", {"wording": services.CONFIRM_WORDING})


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token):
    """RFC 8058 one-click unsubscribe: the POST works without cookies or CSRF token, answers 200
    without a redirect and can be repeated. A GET (or HEAD) only shows a page with an Unsubscribe
    button."""
    try:
        subscriber = Subscriber.objects.get(pk=tokens.read_unsubscribe_token(token))
    except (signing.BadSignature, Subscriber.DoesNotExist):
        return render(request, "newsletter/unsubscribe_invalid.html", status=400)
    if request.method == "POST":
        # Mail programmes post "List-Unsubscribe=One-Click"; our own page posts its button.
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        services.subscriber_unsubscribe(
            subscriber=subscriber,
            source=request.build_absolute_uri(),
            ip_address=client_ip(request),
            wording=(
                services.ONE_CLICK_UNSUBSCRIBE_WORDING
                if one_click
                else services.UNSUBSCRIBE_WORDING
            ),
        )
        return render(request, "newsletter/unsubscribed.html")
    return render(
        request,
        "newsletter/unsubscribe.html",
        {
            "action": reverse("newsletter:unsubscribe", kwargs={"token": token}),
            "wording": services.UNSUBSCRIBE_WORDING,
        },
    )


def account_deletion(*, request, user, choices) -> None:
    """The newsletter's part of deleting an account: what the person chose for the subscription
    under their address (registered in apps.py, asked by forms.account_deletion_fields)."""
    if choices.get("newsletter"):
        services.subscriber_account_delete(
            user=user,
            choice=choices["newsletter"],
            source=request.build_absolute_uri(),
            ip_address=client_ip(request),
            wording=dict(ACCOUNT_DELETION_OPTIONS)[services.AccountDeletion.UNSUBSCRIBE],
        )
