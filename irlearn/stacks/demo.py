"""Demo image stacks: the synthetic phantoms (phantoms.py), uploaded and processed as an
editor's files would be.

`image_stack_seed()` is registered for `manage.py seed_demo` in StacksConfig.ready(), before
the procedures and courses seeds, which place these stacks by slug. Like every seed it adds what
is missing and changes nothing that exists: a phantom whose stack already has images is skipped
(so a second `make run` costs nothing), a stack an editor has changed keeps its words, and only
a stack left without images (a run that failed or never finished) is given the phantom's upload
and processed again.
"""

import logging

from django.core.files.base import ContentFile

from irlearn.stacks import phantoms, processing
from irlearn.stacks.models import ImageStack

logger = logging.getLogger(__name__)


def image_stack_seed() -> str:
    """Create and process a stack for each phantom that has none with images; returns what it
    did, for the console."""
    added, failed = [], []
    for phantom in phantoms.PHANTOMS.values():
        stack = ImageStack.objects.filter(slug=phantom.slug).first()
        if stack is not None and stack.is_showable:
            continue
        if stack is None:
            stack = ImageStack(slug=phantom.slug, **phantom.stack_fields())
        stack.source_file.save(phantom.filename, ContentFile(phantom.build()), save=False)
        stack.save()
        status = processing.stack_process(stack.pk)
        if status == ImageStack.State.READY:
            added.append(phantom.slug)
        else:
            # A phantom that does not process is a bug here, not a reason to stop the demo.
            stack.refresh_from_db(fields=["error"])
            logger.error("Demo stack %s did not process: %s", phantom.slug, stack.error)
            failed.append(f"{phantom.slug} ({stack.error or status})")
    message = f"Image stacks: {len(added)} synthetic phantoms added."
    if failed:
        message += " Not processed: " + "; ".join(failed) + "."
    return message
