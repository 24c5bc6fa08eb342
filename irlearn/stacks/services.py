"""Writes on image stacks that start background work."""

from django.db import transaction

from irlearn.stacks.models import ImageStack
from irlearn.stacks.processing import delete_upload, remove_folder
from irlearn.stacks.tasks import stack_process


def stack_process_start(*, stack: ImageStack) -> None:
    """Queue ``stack`` for processing (after an upload, or to try again), once the transaction
    that saved its upload has committed. The task gets the stack's id, nothing else."""
    ImageStack.objects.filter(pk=stack.pk).update(
        status=ImageStack.State.QUEUED, error="", progress_done=0, heartbeat_at=None
    )
    transaction.on_commit(lambda: stack_process.enqueue(stack_id=stack.pk))


def stack_delete(*, stack: ImageStack) -> None:
    """Delete ``stack`` with its files: every image it ever had and an upload still waiting
    (which may hold patient data), once the deletion has committed."""
    upload, folder = stack.source_file.name, stack.folder().rsplit("/", 1)[0]
    stack.delete()
    transaction.on_commit(lambda: (delete_upload(upload), remove_folder(folder)))
