"""Every page of the site shell, opened in the browser: axe-core checks each one (conftest.py)."""

import pytest
from playwright.sync_api import expect

from irlearn.accounts.models import User
from tests.browser.locators import LOG_IN, field
from tests.factories import UserFactory

ANYONE = [
    ("/", "Learn what interventional radiology can do for your patients"),
    ("/about/", "About IRLearn"),
    ("/privacy/", "Privacy"),
    ("/procedures/", "Procedure library"),
    ("/learn/", "E-learning"),
    ("/search/?q=test", "Search"),
    ("/accounts/login/", LOG_IN),
    ("/accounts/signup/", "Create your account"),
    ("/accounts/password/reset/", "Password reset"),
    ("/admin/login/", "Log in"),
]
LEARNERS = [
    ("/accounts/profile/", "Your profile"),
    ("/accounts/profile/delete/", "Delete your account"),
    ("/accounts/email/", "Email addresses"),
    ("/accounts/password/change/", "Change password"),
    ("/learn/my/", "My learning"),
]


@pytest.mark.parametrize(("url", "heading"), ANYONE)
def test_page_for_anyone_opens_with_its_heading(page, url, heading):
    response = page.goto(url)
    assert response.status == 200
    expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()


@pytest.mark.parametrize(("url", "heading"), LEARNERS)
def test_page_for_learners_opens_with_its_heading(page, log_in, url, heading):
    log_in(UserFactory())
    response = page.goto(url)
    assert response.status == 200
    expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()


def test_unknown_address_shows_the_404_page(page):
    response = page.goto("/no-such-page/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("We could not find that page")


def test_sign_up_form_with_mistakes_shows_each_error_by_its_field(page):
    page.goto("/accounts/signup/")
    page.get_by_label(field("Email")).fill("not-an-email")
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_label(field("Full name"))).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label(field("Email"))).to_have_attribute("aria-invalid", "true")


def test_log_in_with_a_wrong_password_says_so(page):
    user = UserFactory()
    page.goto("/accounts/login/")
    page.get_by_label(field("Email")).fill(user.email)
    page.get_by_label(field("Password")).fill("not-the-password")
    page.get_by_role("button", name=LOG_IN).click()

    expect(page.get_by_role("main")).to_contain_text("not correct")


def test_delete_account_with_a_wrong_password_keeps_the_account(page, log_in):
    user = log_in(UserFactory())
    page.goto("/accounts/profile/delete/")
    page.get_by_label(field("Your password")).fill("not-the-password")
    page.get_by_role("button", name="Delete my account permanently").click()

    expect(page.get_by_text("That password is not correct.")).to_be_visible()
    assert User.objects.filter(pk=user.pk).exists()
