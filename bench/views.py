from django.http import HttpResponse


def bare(request):
    """The reference for every throughput figure: the cheapest response Django can give, served
    by the same server through the same middleware as the real pages."""
    return HttpResponse(b"ok", content_type="text/plain")
