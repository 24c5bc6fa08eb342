import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import PASSWORD

BASE_DIR = Path(settings.BASE_DIR)
TEMPLATES_DIR = BASE_DIR / "templates"

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
# A JSON data block is never run, so the policy does not apply to it (allauth uses one).
DATA_BLOCK = re.compile(r"""\btype\s*=\s*["']?application/(ld\+)?json""", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def csp_directives(response):
    policy = response["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def csp_violations(html):
    """Markup that our strict Content-Security-Policy would block."""
    problems = []
    for attributes in SCRIPT_TAG.findall(html):
        if re.search(r"\b(src|nonce)\s*=", attributes) or DATA_BLOCK.search(attributes):
            continue
        problems.append(f"inline <script{attributes}> without a nonce")
    problems += [f"style attribute: {m.group(0)}" for m in STYLE_ATTRIBUTE.finditer(html)]
    problems += ["<style> element" for _ in STYLE_ELEMENT.finditer(html)]
    problems += [f"event handler: {m.group(0)}" for m in EVENT_HANDLER.finditer(html)]
    problems += [f"javascript: URL: {m.group(0)}" for m in JAVASCRIPT_URL.finditer(html)]
    return problems


@pytest.mark.django_db
def test_pages_send_a_strict_content_security_policy(client):
    response = client.get(reverse("home"))

    directives = csp_directives(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert "*" not in response["Content-Security-Policy"].split()


@pytest.mark.django_db
def test_pages_send_the_other_security_headers(client):
    response = client.get(reverse("home"))

    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_pages_turn_off_browser_features_they_do_not_use_even_from_the_page_cache(client):
    rendered = client.get(reverse("home"))
    cached = client.get(reverse("home"))
    assert cached["X-Page-Cache"] == "hit"

    for response in (rendered, cached):
        policy = dict(
            part.strip().split("=", 1) for part in response["Permissions-Policy"].split(",")
        )
        for feature in ("camera", "microphone", "geolocation", "payment", "usb", "browsing-topics"):
            assert policy[feature] == "()"
        assert policy["fullscreen"] == "(self)"


@pytest.mark.django_db
def test_secure_requests_get_strict_transport_security(client):
    # Tests run with production settings (DEBUG off), where HSTS is on for a year.
    response = client.get(reverse("home"), secure=True)

    hsts = response["Strict-Transport-Security"]
    assert "max-age=31536000" in hsts
    assert "includeSubDomains" in hsts
    assert "preload" in hsts


@pytest.mark.django_db
def test_plain_http_requests_get_no_strict_transport_security(client):
    assert "Strict-Transport-Security" not in client.get(reverse("home"))


@pytest.mark.django_db
def test_error_pages_send_the_security_headers_too(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_session_and_csrf_cookies_are_secure_and_the_session_cookie_is_http_only(client, learner):
    client.get(reverse("account_login"), secure=True)
    response = client.post(
        reverse("account_login"), {"login": learner.email, "password": PASSWORD}, secure=True
    )

    assert response.status_code == 302
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["secure"]
    assert session["httponly"]
    assert session["samesite"] == "Lax"
    assert client.cookies[settings.CSRF_COOKIE_NAME]["secure"]


def template_files():
    return sorted(p for p in TEMPLATES_DIR.rglob("*") if p.is_file() and p.suffix == ".html")


def test_there_are_templates_to_scan():
    assert len(template_files()) > 10


@pytest.mark.parametrize("path", template_files(), ids=lambda p: str(p.relative_to(TEMPLATES_DIR)))
def test_templates_have_no_inline_script_style_or_event_handler(path):
    problems = csp_violations(path.read_text())
    if "email" in path.relative_to(TEMPLATES_DIR).parts:
        # Mail is no web page: no CSP applies, and mail clients drop <style> elements, so the
        # HTML emails style each element inline. Scripts and handlers are still refused.
        problems = [p for p in problems if not p.startswith("style attribute")]
    assert problems == []


def test_the_template_scan_catches_what_csp_would_block():
    assert csp_violations("<script>alert(1)</script>")
    assert csp_violations('<div style="color: red">')
    assert csp_violations("<style>p {}</style>")
    assert csp_violations('<button onclick="x()">')
    assert csp_violations('<a href="javascript:void(0)">')
    assert not csp_violations('<script src="/static/js/site.js"></script>')
    assert not csp_violations('<script nonce="{{ csp_nonce }}">init()</script>')
    assert not csp_violations('<script type="application/json">{"a": 1}</script>')
    assert csp_violations('<script type="text/javascript">alert(1)</script>')
    assert not csp_violations('<p>Styles and onclick= are words.</p><a href="/x">one</a>')


# Pages drawn by allauth's own templates as well as ours: what reaches the browser must obey the
# policy too.
ANONYMOUS_PAGES = [
    "home",
    "about",
    "privacy",
    "pages:search",
    "procedures:index",
    "courses:catalogue",
    "account_login",
    "account_signup",
    "account_reset_password",
    "account_reset_password_done",
    "account_email_verification_sent",
]
LEARNER_PAGES = [
    "accounts:profile",
    "accounts:delete",
    "account_email",
    "account_change_password",
    "account_logout",
    "courses:dashboard",
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ANONYMOUS_PAGES)
def test_rendered_pages_obey_the_policy_for_visitors(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 200
    assert csp_violations(response.content.decode()) == []


@pytest.mark.django_db
@pytest.mark.parametrize("name", LEARNER_PAGES)
def test_rendered_pages_obey_the_policy_for_learners(learner_client, name):
    response = learner_client.get(reverse(name))

    assert response.status_code == 200
    assert csp_violations(response.content.decode()) == []


def run_manage(*args, **environment):
    """Run manage.py in a fresh process with only ``environment`` (and PATH) set."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_READ_DOT_ENV": "0",
        **environment,
    }
    return subprocess.run(  # noqa: S603 (our own manage.py, fixed arguments)
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_checks_pass_with_production_settings(tmp_path):
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DATABASE_URL=f"sqlite:///{tmp_path / 'deploy-check.sqlite3'}",
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_without_a_secret_key_fail_loudly(tmp_path):
    result = run_manage("check", DATABASE_URL=f"sqlite:///{tmp_path / 'no-key.sqlite3'}")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_development_settings_run_without_a_secret_key(tmp_path):
    result = run_manage(
        "check", DJANGO_DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'dev.sqlite3'}"
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_behind_a_proxy_rate_limits_count_the_client_from_x_forwarded_for(tmp_path):
    result = run_manage(
        "shell",
        "--verbosity=0",
        "-c",
        "from django.conf import settings; print(settings.ALLAUTH_TRUSTED_PROXY_COUNT)",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_BEHIND_PROXY="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'proxy.sqlite3'}",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "1"


@pytest.mark.parametrize(
    ("cache_url", "engine"),
    [
        # Shared by every process: a session ended in one (logout) is gone for all of them.
        ("rediscache://127.0.0.1:6379/3", "django.contrib.sessions.backends.cached_db"),
        # One cache per process: another process could go on trusting a logged-out session.
        ("", "django.contrib.sessions.backends.db"),
    ],
)
def test_sessions_are_read_from_the_cache_only_when_every_process_shares_it(
    tmp_path, cache_url, engine
):
    result = run_manage(
        "shell",
        "--verbosity=0",
        "-c",
        "from django.conf import settings; print(settings.SESSION_ENGINE)",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DATABASE_URL=f"sqlite:///{tmp_path / 'sessions.sqlite3'}",
        **({"CACHE_URL": cache_url} if cache_url else {}),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == engine
