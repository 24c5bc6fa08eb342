from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from irlearn.stacks.models import ImageStack


@require_safe
@cache_control(public=True, max_age=365 * 24 * 3600, immutable=True)
def manifest(request, key, generation):
    """Where each slice's image is, per window, with the geometry to measure: what the viewer
    loads after the page has shown the first slice. A generation's images never change, so the
    answer is cached for good; processing again makes a new generation (and a new URL)."""
    stack = get_object_or_404(ImageStack.objects.showable(), key=key)
    if stack.generation != generation:
        raise Http404("That version of the stack has been replaced.")
    positions = list(stack.slices.order_by("index").values_list("position", flat=True))
    return JsonResponse(
        {
            "count": stack.slice_count,
            "width": stack.width,
            "height": stack.height,
            "spacing": {
                "row": stack.row_spacing,
                "column": stack.column_spacing,
                "slice": stack.slice_spacing,
            },
            "frameTimeMs": stack.frame_time_ms,
            "positions": positions,
            "windows": [
                {
                    "key": window.key,
                    "label": window.label,
                    "urls": [stack.image_url(window.key, i) for i in range(stack.slice_count)],
                }
                for window in stack.windows
            ],
        }
    )
