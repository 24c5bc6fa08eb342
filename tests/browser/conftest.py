"""Browser tests: Playwright drives Debian's chromium against pytest-django's live server.

axe-core checks every page a test visits, without the test asking for it (see AxeChecker). Any
violation, or anything the site's Content Security Policy blocks, fails the test.
"""

import os
from collections import Counter
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = HERE.parent.parent / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
AXE_DONE = "'axeChecked' in document.documentElement.dataset"
# Marks the document as checked first, so a check never runs twice on one document, and lets
# transitions (a button's focus colours) finish: axe must see the colours that stay.
AXE_RUN = """async (tags) => {
  document.documentElement.dataset.axeChecked = "";
  const finite = (a) => a.effect?.getComputedTiming().endTime !== Infinity;
  await Promise.all(document.getAnimations().filter(finite).map((a) => a.finished.catch(() => {})));
  const results = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => n.target.join(" ")),
  }));
}"""


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


def _missing(reason):
    # Under CI a missing browser is a failure: CI must not go green by skipping these tests.
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI=true, so the browser tests cannot be skipped", pytrace=False)
    pytest.skip(reason)


# One browser for all the browser tests. Package scope, not session: Playwright's sync API keeps
# an asyncio loop running in the test thread while it is open, which must not leak into the
# tests that run after these (asyncio.run, async_to_sync and Django's async checks would see it).
@pytest.fixture(scope="package")
def browser(django_db_setup):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed (pip install -r requirements-dev.txt)")
    if not CHROMIUM.exists():
        _missing(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    if not AXE_JS.exists():
        _missing(f"no axe-core at {AXE_JS} (npm ci)")
    from django.db import connections

    test_connections = {alias: connections[alias] for alias in connections}
    with sync_playwright() as playwright:
        # With a loop running, Django keeps database connections per asyncio context instead
        # of per thread, and would open new ones. Keep the ones the test database was set up
        # on: they hold the data serialised rollback reloads, and with SQLite in memory they
        # are the very connections the live server uses.
        for alias, connection in test_connections.items():
            connections[alias] = connection
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _live_site(django_db_serialized_rollback, live_server):
    """Every browser test runs against the live server, on the database as migrations leave it.

    The live server needs a transactional database, which is emptied after each test; serialised
    rollback puts back the rows data migrations made (about and privacy pages, staff groups).
    """


class AxeChecker:
    """Runs axe-core once on each document a page shows, and collects what it finds.

    Playwright runs a locator handler before every action and every auto-waiting assertion
    while its locator is visible. Ours matches any document not checked yet, so whatever a test
    does first on a new page (click, fill, expect...) runs axe on it first; the last page is
    checked when the test body ends. A page left without any action or assertion on it is
    reported too, rather than silently missed.
    """

    def __init__(self, page):
        self.page = page
        self.loaded = []
        self.checked = []
        self.violations = []
        self.csp_errors = []
        page.on("load", lambda: self.loaded.append(page.url))
        page.on("console", self._on_console)
        page.add_locator_handler(page.locator("html:not([data-axe-checked])"), self.check)

    def _on_console(self, message):
        if message.type == "error" and "Content Security Policy" in message.text:
            self.csp_errors.append(f"{self.page.url}: {message.text}")

    def check(self, *, again=False):
        """Check the page as it is now, unless this document was checked already.

        ``again=True`` checks a document a second time, after the test changed it (an open menu).
        """
        url = self.page.url
        if url == "about:blank":
            return
        # The handler can fire as soon as a new document's <html> exists: a page that comes
        # slowly (an admin save under load) would be checked half-parsed, without its <main>.
        self.page.wait_for_load_state("load")
        if not again and self.page.evaluate(AXE_DONE):
            return
        self.checked.append(url)
        for violation in self.page.evaluate(AXE_RUN, AXE_TAGS):
            self.violations.append((url, violation))

    def assert_clean(self):
        self.check()
        problems = [
            f"axe-core: [{v['impact']}] {v['id']} on {url}: {v['help']}\n"
            + "\n".join(f"    {node}" for node in v["nodes"])
            for url, v in self.violations
        ]
        problems += [f"CSP blocked something on {error}" for error in self.csp_errors]
        unchecked = Counter(self.loaded) - Counter(self.checked)
        problems += [
            f"{url} was never checked by axe-core: act on it or assert something on it "
            "(expect(...)) before leaving it"
            for url in unchecked.elements()
        ]
        assert not problems, "\n".join(problems)


@pytest.fixture
def page(request, browser, live_server):
    yield from _checked_page(request, browser, base_url=live_server.url)


def _checked_page(request, browser, **context_options):
    """A page of a new browser context, with axe-core checking every document it shows."""
    context = browser.new_context(**context_options)
    context.set_default_timeout(10_000)
    # Init scripts are not subject to the page's CSP: the site's own policy stays in force.
    context.add_init_script(path=AXE_JS)
    page = context.new_page()
    request.node.axe_checker = AxeChecker(page)
    yield page
    context.close()


@pytest.fixture
def log_in(page, client, live_server):
    """Log ``user`` in by handing the browser a session cookie (the login form has its own test)."""
    from django.conf import settings

    def log_in(user):
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.add_cookies(
            [{"name": cookie.key, "value": cookie.value, "url": live_server.url}]
        )
        return user

    return log_in


@pytest.fixture
def touch_page(request, browser, live_server):
    """A phone: a touch screen 375 pixels wide, with axe-core checking as on ``page``."""
    yield from _checked_page(
        request,
        browser,
        base_url=live_server.url,
        has_touch=True,
        is_mobile=True,
        viewport={"width": 375, "height": 740},
    )


@pytest.fixture
def axe(request, page):
    """The AxeChecker of this test's page, to check a state no navigation leads to."""
    return request.node.axe_checker


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    # Here rather than in the fixture's teardown, so that a violation fails the test itself.
    result = yield
    checker = getattr(item, "axe_checker", None)
    if checker is not None:
        checker.assert_clean()
    return result
