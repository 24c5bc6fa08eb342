"""Names the browser gives our pages' controls, for Playwright's accessible locators."""

import re

# The log-in page's heading and button (exactly "Log in", not the header's "Log in" link text
# with other words around it).
LOG_IN = re.compile(r"^Log in$")


def field(label):
    """A form field's label, with or without the asterisk crispy-forms adds to required ones."""
    return re.compile(rf"^\s*{re.escape(label)}\*?\s*$")
