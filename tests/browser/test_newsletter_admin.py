"""A subscriber manager previews an issue in the admin as subscribers will see it."""

from playwright.sync_api import expect

from tests.factories import IssueFactory, SubscriberManagerFactory


def test_subscriber_manager_sees_the_email_preview_of_an_issue(page, password):
    # Logged in through the form, so the browser holds the session cookie exactly as Django
    # sets it (SameSite=Lax): the preview frame must still be sent it.
    SubscriberManagerFactory(email="sam@example.org")
    issue = IssueFactory(subject="IRLearn news: spring", body="## Biopsy week\n\nNew **modules**.")
    page.goto(f"/admin/login/?next=/admin/newsletter/issue/{issue.pk}/change/")
    page.get_by_label("Email address").fill("sam@example.org")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    # The preview frame holds the page's load event: let it load before anything (the automatic
    # axe-core check included) looks at the page, or axe meets the frame's blank first document.
    page.wait_for_url(f"**/admin/newsletter/issue/{issue.pk}/change/")
    page.wait_for_load_state("load")

    preview = page.frame_locator("iframe[title^='Email preview']")
    expect(preview.get_by_role("heading", name="IRLearn news: spring")).to_be_visible()
    expect(preview.get_by_text("Biopsy week")).to_be_visible()
    expect(preview.get_by_role("link", name="Unsubscribe at once")).to_be_visible()
