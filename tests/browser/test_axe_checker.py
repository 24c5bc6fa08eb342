"""The safety net itself: the automatic checks in conftest.py must catch what they are for."""

import pytest
from playwright.sync_api import expect


def test_axe_violation_is_reported_with_rule_impact_page_and_element(page, axe):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.evaluate(
        """document.querySelector("main").insertAdjacentHTML(
            "beforeend", '<img id="no-alt" src="/static/img/logo.svg">')"""
    )
    axe.check(again=True)

    message = r"\[critical\] image-alt on http://\S+/: Images must have alternative text"
    with pytest.raises(AssertionError, match=message + r"\n\s+#no-alt"):
        axe.assert_clean()
    axe.violations.clear()


def test_page_left_without_any_check_is_reported(page, axe):
    page.goto("/about/")
    page.goto("/privacy/")

    with pytest.raises(AssertionError, match=r"/about/ was never checked by axe-core"):
        axe.assert_clean()
    axe.loaded.clear()


def test_whatever_the_content_security_policy_blocks_is_reported(page, axe):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.evaluate("""document.querySelector("main").innerHTML += '<p style="color: red">x</p>'""")

    with pytest.raises(AssertionError, match=r"CSP blocked something on http://\S+/: "):
        axe.assert_clean()
    axe.csp_errors.clear()
