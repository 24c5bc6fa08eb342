"""Background work of image stacks: processing an upload (processing.py) by the stack's id."""

from django.tasks import task

from irlearn.stacks import processing


@task
def stack_process(*, stack_id: int) -> str:
    return processing.stack_process(stack_id)
