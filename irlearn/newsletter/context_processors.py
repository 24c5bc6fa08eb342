from irlearn.newsletter.forms import SubscribeForm
from irlearn.newsletter.selectors import subscriber_count_text


def newsletter(request):
    """The footer's newsletter box: a form and the 'Join N+ subscribers' line (cached, and
    counted only when a page shows it)."""
    return {"newsletter_form": SubscribeForm(), "newsletter_count": subscriber_count_text}
