"""Names the browser gives our pages' controls, for Playwright's accessible locators."""

import re

# allauth's own pages say "Sign in"; ours say "Log in". The tests accept either wording.
LOG_IN = re.compile(r"^(log|sign) in$", re.IGNORECASE)


def field(label):
    """A form field's label, with or without the asterisk crispy-forms adds to required ones."""
    return re.compile(rf"^\s*{re.escape(label)}\*?\s*$")
