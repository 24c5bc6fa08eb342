from django.http import HttpResponse


def bare(request):
    """The reference for every throughput figure: the cheapest response Django can give, served
    by the same server through the same middleware as the real pages."""
    return HttpResponse(b"ok", content_type="text/plain")


def bare_logged_in(request):
    """The same, for a logged-in learner: the session and the user are loaded, nothing else.
    What any page for a logged-in user costs before it does its own work."""
    return HttpResponse(str(request.user.pk).encode(), content_type="text/plain")
