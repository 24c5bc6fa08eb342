"""The task worker is killed (SIGKILL) while it processes a stack: the stack is never ready with
slices missing, shows as stalled once its heartbeat stops, and a worker started again finishes
it when the editor chooses "Process again". Real processes: db_worker and manage.py shell."""

import json
import signal
import time

from tests.deployment import end, environment, manage, start, wait_for

SET_UP = """
from django.core.files.base import ContentFile
from irlearn.stacks.models import ImageStack
from irlearn.stacks.services import stack_process_start
from tests.stacks.conftest import ct_zip

stack = ImageStack(title="Killed", slug="killed", description="A test series.",
                   window_keys=["soft-tissue", "bone", "lung", "liver"])
stack.source_file.save("series.zip", ContentFile(ct_zip(slices=120, size=256)), save=False)
stack.save()
stack_process_start(stack=stack)
"""

STATE = """
import json
from irlearn.stacks.models import ImageStack
stack = ImageStack.objects.get(slug="killed")
print(json.dumps({"status": stack.status, "done": stack.progress_done, "stalled": stack.stalled,
                  "slices": stack.slices.count(), "generation": stack.generation,
                  "upload": bool(stack.source_file)}))
"""

# Watches the stack from a process of its own, started (and Django set up) before the worker,
# so that the worker is killed a moment after ten slices are done: asking through a new
# manage.py process each time takes longer than the worker needs for the whole stack.
WATCH = """
import pathlib, sys, time
from irlearn.stacks.models import ImageStack
ready, done = pathlib.Path(sys.argv[-2]), pathlib.Path(sys.argv[-1])
ready.touch()
give_up = time.monotonic() + 90
while ImageStack.objects.get(slug="killed").progress_done < 10 and time.monotonic() < give_up:
    time.sleep(0.01)
done.touch()
"""

AGAIN = """
from irlearn.stacks.models import ImageStack
from irlearn.stacks.services import stack_process_start
stack_process_start(stack=ImageStack.objects.get(slug="killed"))
"""


# Runs WATCH (its first argument) with Django set up, as manage.py shell -c would, keeping the
# arguments after it for the script.
WATCH_RUNNER = """
import os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "irlearn.settings")
django.setup()
exec(sys.argv[1])
"""


def state(env) -> dict:
    return json.loads(manage(env, "shell", "-v", "0", "-c", STATE).splitlines()[-1])


def test_a_worker_killed_mid_stack_leaves_it_unready_then_stalled_then_processed_again(
    process_database, tmp_path
):
    env = environment(
        process_database,
        DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
        STACK_UPLOADS_ROOT=str(tmp_path / "uploads"),
        # Stalled as soon as the heartbeat is a minute old would be too slow for a test.
        STACK_PROCESSING_STALL_MINUTES="0",
    )
    manage(env, "shell", "-v", "0", "-c", SET_UP)

    ready, done = tmp_path / "watching", tmp_path / "ten-done"
    watch_command = ["python", "-c", WATCH_RUNNER, WATCH, str(ready), str(done)]
    watcher = start(watch_command, env, tmp_path / "watch.log")
    try:
        wait_for(
            ready.exists,
            until=time.monotonic() + 60,
            failure=lambda: f"the watcher never started: {(tmp_path / 'watch.log').read_text()}",
        )
        worker = start(
            ["python", "manage.py", "db_worker", "--no-startup-delay"], env, tmp_path / "w.log"
        )
        try:
            wait_for(
                done.exists,
                until=time.monotonic() + 90,
                failure=lambda: f"the worker never got going: {(tmp_path / 'w.log').read_text()}",
            )
        finally:
            end(worker, signal.SIGKILL)
    finally:
        end(watcher, signal.SIGKILL)

    killed = state(env)
    assert killed["status"] == "processing" and 10 <= killed["done"] < 120
    assert killed["slices"] == 0 and killed["generation"] == 0, "nothing half-made is shown"
    assert killed["upload"], "the upload stays, to process again"
    time.sleep(0.1)
    assert state(env)["stalled"]

    manage(env, "shell", "-v", "0", "-c", AGAIN)
    manage(env, "db_worker", "--batch", "--no-startup-delay", timeout=180)

    finished = state(env)
    assert finished["status"] == "ready" and finished["slices"] == 120
    assert not finished["upload"]
