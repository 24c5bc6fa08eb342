import numpy as np
import pytest
from django.core.files.base import ContentFile

from irlearn.stacks import processing, synthetic
from irlearn.stacks.models import ImageStack


def volume(slices=6, size=32, hu=40.0):
    """A small CT volume: each slice a background of ``hu`` (with a little noise, as CT has,
    which also keeps the files from compressing like a zip bomb) and a bright square whose value
    gives the slice's place (1000 + 10 × its number), so order can be read back."""
    noise = np.random.default_rng(13)
    for number in range(slices):
        image = hu + noise.normal(0, 3, (size, size)).astype(np.float32)
        image[4:8, 4:8] = 1000 + 10 * number
        yield image


def ct_zip(slices=6, size=32, **options) -> bytes:
    return synthetic.zip_of(synthetic.ct_series(volume(slices, size), **options))


@pytest.fixture
def make_stack(db):
    """An editor's stack with ``data`` as its upload, processed as the task worker does."""

    def make(data: bytes, *, name="series.zip", process=True, **fields):
        fields.setdefault("title", "Test stack")
        fields.setdefault("slug", f"test-stack-{ImageStack.objects.count() + 1}")
        fields.setdefault("description", "A test series.")
        fields.setdefault("window_keys", ["soft-tissue", "bone"])
        stack = ImageStack(**fields)
        stack.source_file.save(name, ContentFile(data), save=False)
        stack.save()
        if process:
            processing.stack_process(stack.pk)
            stack.refresh_from_db()
        return stack

    return make
