import json
import re
from pathlib import Path

from playwright.sync_api import expect

from irlearn.accounts.models import User
from tests.browser.locators import field

PASSWORD = "ultrasound-guided-drain-7"


def test_new_learner_signs_up_confirms_logs_in_edits_profile_downloads_data_and_logs_out(
    page, mailoutbox, settings
):
    # Links in emails point at the live server, which speaks plain HTTP.
    settings.ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http"
    header = page.get_by_role("banner")

    page.goto("/")
    header.get_by_role("link", name="Sign up").click()

    expect(page.get_by_role("heading", name="Create your account", level=1)).to_be_visible()
    page.get_by_label(field("Full name")).fill("Amara Okafor")
    page.get_by_label(field("Email")).fill("amara.okafor@example.org")
    page.get_by_label(field("Password")).fill(PASSWORD)
    page.get_by_label(field("Password (again)")).fill(PASSWORD)
    page.get_by_label(field("Training grade")).select_option(label="Foundation doctor")
    page.get_by_label(field("Specialty")).fill("Acute medicine")
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("heading", name="Verify your email address")).to_be_visible()
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["amara.okafor@example.org"]
    link = re.search(r"http://\S+/accounts/confirm-email/\S+/", mailoutbox[0].body).group()

    page.goto(link)
    expect(page.get_by_role("heading", name="Confirm your email address")).to_be_visible()
    page.get_by_role("button", name="Confirm my email address").click()

    # Confirmed in the browser that signed up: logged in at once, and told so.
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("status")).to_contain_text("You are logged in as")
    header.get_by_text("Account").click()
    header.get_by_role("link", name="Profile").click()

    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    expect(page.get_by_label(field("Full name"))).to_have_value("Amara Okafor")
    page.get_by_label(field("Full name")).fill("Amara N. Okafor")
    page.get_by_label(field("Specialty")).fill("Vascular surgery")
    page.get_by_role("button", name="Save profile").click()

    expect(page.get_by_role("status")).to_contain_text("Your profile has been saved.")
    expect(page.get_by_label(field("Specialty"))).to_have_value("Vascular surgery")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download my data").click()
    download = download_info.value
    assert re.fullmatch(r"irlearn-my-data-\d{4}-\d{2}-\d{2}\.json", download.suggested_filename)
    data = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert data["account"]["full_name"] == "Amara N. Okafor"
    assert data["account"]["specialty"] == "Vascular surgery"
    assert data["account"]["grade"] == "Foundation doctor"

    header.get_by_text("Account").click()
    header.get_by_role("button", name="Log out").click()

    expect(header.get_by_role("link", name="Log in")).to_be_visible()
    expect(header.get_by_role("link", name="Sign up")).to_be_visible()
    expect(header.get_by_text("Account")).to_have_count(0)
    user = User.objects.get(email="amara.okafor@example.org")
    assert (user.full_name, user.specialty) == ("Amara N. Okafor", "Vascular surgery")
