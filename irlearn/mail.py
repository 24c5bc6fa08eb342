"""Email helpers shared by the apps."""

import email.policy

import nh3
from django.core.mail import EmailMultiAlternatives

from irlearn import markup

# RFC 5322 allows lines of up to 998 characters. Python's default policy folds at 78, and a
# header that is one long word (a List-Unsubscribe URL) can only be folded by turning it into
# RFC 2047 encoded-words, which mail clients do not read as a URL. Long links in the text body
# stay readable too, instead of quoted-printable.
MAX_LINE_LENGTH = 998


class UnfoldedEmail(EmailMultiAlternatives):
    """An email whose headers and links are never folded or encoded into unreadable form.

    Backends choose the policy (the SMTP backend passes email.policy.SMTP); keep theirs, with
    only the line length raised.
    """

    def message(self, *, policy=email.policy.default):
        return super().message(policy=policy.clone(max_line_length=MAX_LINE_LENGTH))


# Styles for what editors write (Markdown rendered by irlearn/markup.py) when it goes into an
# email. Mail clients drop or ignore style sheets, so each element carries its own: inline styles
# are for emails only (the site's pages have a strict CSP and none). Colours give at least 4.5:1
# against the white card (WCAG AA); text inherits the card's font and colour.
BRAND = "#0b5c7a"
MONOSPACE = "Menlo,Consolas,'Liberation Mono',monospace"
FRAGMENT_STYLES = {
    "p": "margin:0 0 16px 0;",
    "h1": "margin:28px 0 8px 0;font-size:22px;line-height:1.3;color:#0b3d52;",
    "h2": "margin:28px 0 8px 0;font-size:20px;line-height:1.3;color:#0b3d52;",
    "h3": "margin:24px 0 8px 0;font-size:18px;line-height:1.35;color:#1f2328;",
    "h4": "margin:20px 0 8px 0;font-size:16px;line-height:1.4;color:#1f2328;",
    "h5": "margin:20px 0 8px 0;font-size:16px;line-height:1.4;color:#1f2328;",
    "h6": "margin:20px 0 8px 0;font-size:16px;line-height:1.4;color:#1f2328;",
    "a": f"color:{BRAND};text-decoration:underline;",
    "ul": "margin:0 0 16px 0;padding:0 0 0 24px;",
    "ol": "margin:0 0 16px 0;padding:0 0 0 24px;",
    "li": "margin:0 0 6px 0;",
    "blockquote": "margin:0 0 16px 0;padding:4px 0 4px 16px;border-left:4px solid #b8c7cf;"
    "color:#3b4650;",
    "pre": f"margin:0 0 16px 0;padding:12px;background-color:#f3f5f7;font-family:{MONOSPACE};"
    "font-size:14px;line-height:1.45;white-space:pre-wrap;word-wrap:break-word;",
    "code": f"font-family:{MONOSPACE};font-size:14px;",
    "table": "border-collapse:collapse;margin:0 0 16px 0;",
    "th": "border:1px solid #b8c7cf;padding:6px 8px;text-align:left;vertical-align:top;",
    "td": "border:1px solid #b8c7cf;padding:6px 8px;text-align:left;vertical-align:top;",
    "hr": "border:0;border-top:1px solid #d5dce1;margin:24px 0;",
    "figcaption": "font-size:14px;color:#3b4650;",
}


def email_fragment(html: str, *, base_url: str) -> str:
    """Sanitised HTML from irlearn/markup.py made ready for an email: each element styled
    inline (FRAGMENT_STYLES), and links to a path of the site made absolute with ``base_url``
    (a mail client has no page to resolve them against). Cleaned again with markup's allow-list,
    so nothing beyond what the site's pages show gets through."""
    base = base_url.rstrip("/")

    def absolute(tag, attribute, value):
        if attribute == "href" and value.startswith("/") and not value.startswith("//"):
            return base + value
        return value

    return nh3.clean(
        html,
        tags=markup.ALLOWED_TAGS,
        attributes=markup.ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        set_tag_attribute_values={
            tag: {"style": style}
            for tag, style in FRAGMENT_STYLES.items()
            if tag in markup.ALLOWED_TAGS
        },
        attribute_filter=absolute,
    )
