def newsletter(request):
    """The footer's newsletter box: a form and the 'Join N+ subscribers' line (cached)."""
    from irlearn.newsletter.forms import SubscribeForm
    from irlearn.newsletter.views import subscriber_count_text

    return {"newsletter_form": SubscribeForm(), "newsletter_count": subscriber_count_text}
