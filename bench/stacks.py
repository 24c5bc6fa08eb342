"""Image stack benchmark: processing a DICOM series, and what a lesson with a stack costs.

    DJANGO_BENCH=1 .venv/bin/python bench/stacks.py \
        --database-url postgres://postgres@127.0.0.1:5432/irlearn_bench_stacks \
        --sizes 100,300 --json stacks.json

1. **Processing.** For each size, a synthetic CT series of that many 512 × 512 slices (16-bit,
   with noise, shuffled in a zip, as PACS exports are) is uploaded to a new stack with two
   windows (soft tissue, bone), and processed by ``irlearn.stacks.processing.stack_process`` in
   a fresh process with production settings, as the task worker runs it. Figures: seconds,
   slices a second, and that process's peak memory (ru_maxrss), raw and net of Django's setup;
   the ratio of the largest size's peak over the smallest's (the target: flat, at most 1.3).
2. **The lesson page** with a stack of 10 slices and one of the largest size, opened by a staff
   user with the test client: SQL queries (the same for both is the target), the HTML's bytes,
   the bytes sent before the first slice can show (HTML + the stylesheets + the viewer script +
   the first slice's image), and the stack's total bytes per window (every slice's image).
3. **Scoring a route** (``courses.scoring``, as ``answer_submit`` scores a "plan the route"
   answer): a needle path down through 100 slices of a 512 × 512 stack, past a target and three
   structures to avoid that it misses (so every point is tested against every region), timed
   over many repetitions. Figure: microseconds per slice crossed (the issue asks for well under
   a millisecond), for the whole scorer and for ``irlearn.stacks.geometry.crossed`` alone.
PostgreSQL only. Uploads and images go to a temporary folder.
"""

import argparse
import functools
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if sys.path[0] == str(Path(__file__).resolve().parent):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench import common  # noqa: E402 (after the path is set)
from bench.common import (  # noqa: E402
    Processes,
    base_environment,
    parse_size_arguments,
    run_sizes,
    setup_django,
    size_arguments,
    start_process,
    write_results,
)

TAG = "stacks"
log = functools.partial(common.log, tag=TAG)
SIDE = 512
WINDOWS = ["soft-tissue", "bone"]
STAFF_EMAIL = "bench-stacks@irlearn.localhost"


def max_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def series_zip(slices: int) -> bytes:
    """A CT series: a body-shaped ellipse of soft tissue in air, with noise."""
    import numpy as np

    from irlearn.stacks import synthetic

    noise = np.random.default_rng(3)
    y, x = np.mgrid[0:SIDE, 0:SIDE]
    body = ((x - SIDE / 2) / (SIDE * 0.42)) ** 2 + ((y - SIDE / 2) / (SIDE * 0.32)) ** 2 <= 1

    def volume():
        for number in range(slices):
            image = np.where(body, 40.0, -1000.0) + noise.normal(0, 10, (SIDE, SIDE))
            image[SIDE // 2 - 20 : SIDE // 2 + 20, SIDE // 2 - 20 : SIDE // 2 + 20] = 300 + number
            yield image.astype(np.float32)

    return synthetic.zip_of(synthetic.ct_series(volume(), pixel_spacing=0.7, slice_spacing=1.0))


# --- The measuring process -------------------------------------------------------------------


def measure(stack_id: int) -> dict:
    """In a fresh process, as the task worker: process the stack; print the figures as JSON."""
    import django

    django.setup()
    from irlearn.stacks import processing  # everything processing needs, loaded

    setup_kb = max_rss_kb()
    began = time.perf_counter()
    status = processing.stack_process(stack_id)
    seconds = time.perf_counter() - began
    return {
        "status": status,
        "seconds": round(seconds, 2),
        "max_rss_kb": max_rss_kb(),
        "net_of_setup_kb": max_rss_kb() - setup_kb,
    }


# --- The orchestrating process ----------------------------------------------------------------


def new_stack(slices: int, slug: str):
    from django.core.files.base import ContentFile

    from irlearn.stacks.models import ImageStack

    ImageStack.objects.filter(slug=slug).delete()
    stack = ImageStack(
        title=f"Bench CT, {slices} slices",
        slug=slug,
        description="A synthetic series for the benchmark.",
        window_keys=WINDOWS,
        is_synthetic=True,
    )
    data = series_zip(slices)
    stack.source_file.save("series.zip", ContentFile(data), save=False)
    stack.save()
    return stack, len(data)


def run_size(count: int, processes: Processes, timeout: float) -> dict:
    log(f"{count} slices of {SIDE} × {SIDE}: writing the series")
    stack, upload_bytes = new_stack(count, f"bench-{count}")
    env = {**os.environ}
    env.pop("DJANGO_BENCH", None)
    child = processes.add(
        start_process(
            [sys.executable, __file__, "--measure", "--stack", str(stack.pk)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
    )
    try:
        output, _ = child.communicate(timeout=timeout)
    finally:
        processes.stop(child)
    if child.returncode != 0:
        raise RuntimeError(f"the processing process failed ({child.returncode})")
    figures = json.loads(output.strip().splitlines()[-1])
    if figures["status"] != "ready":
        raise RuntimeError(f"processing ended {figures['status']}")
    log(
        f"  processed in {figures['seconds']:.1f} s ({count / figures['seconds']:.0f} slices/s); "
        f"peak memory {figures['max_rss_kb'] / 1024:.0f} MiB, "
        f"{figures['net_of_setup_kb'] / 1024:.1f} MiB over Django's setup"
    )
    return {
        "subscribers": count,  # the shared size reporting calls every size this
        "slices": count,
        "upload_bytes": upload_bytes,
        "slices_per_second": round(count / figures["seconds"], 1),
        "load_average": round(os.getloadavg()[0], 2),
        **figures,
    }


def memory_ratio(small: dict, large: dict) -> tuple[dict, str]:
    ratio = {
        "against_size": small["slices"],
        "raw": round(large["max_rss_kb"] / small["max_rss_kb"], 3),
        "net_of_setup": round(large["net_of_setup_kb"] / max(small["net_of_setup_kb"], 1), 3),
    }
    return ratio, (
        f"peak memory {ratio['raw']:.2f} raw, {ratio['net_of_setup']:.2f} net of Django's setup"
    )


def lesson_figures(largest: int) -> dict:
    """Queries and bytes of a lesson page with a 10-slice stack and with the largest one."""
    from django.contrib.staticfiles import finders
    from django.core.files.storage import default_storage
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from courses.models import Course, Lesson, Module
    from irlearn.accounts.models import User
    from irlearn.stacks import processing
    from irlearn.stacks.models import ImageStack

    small, _ = new_stack(10, "bench-10")
    processing.stack_process(small.pk)
    course, _ = Course.objects.update_or_create(
        slug="bench-stacks",
        defaults={
            "title": "Bench stacks",
            "summary": "Bench.",
            "audience": "Bench.",
            "outcomes": "Measure",
            "cpd_hours": "1.0",
        },  # fmt: skip
    )
    module, _ = Module.objects.update_or_create(
        course=course, slug="stacks",
        defaults={"title": "Stacks", "summary": "Bench.", "estimated_minutes": 5, "order": 1},
    )  # fmt: skip
    user = User.objects.filter(email=STAFF_EMAIL).first() or User.objects.create_superuser(
        STAFF_EMAIL, None, full_name="Bench stacks"
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    figures = {}
    lessons = {
        slices: Lesson.objects.update_or_create(
            module=module,
            slug=f"stack-{index}",
            defaults={
                "title": f"Stack {index}",
                "estimated_minutes": 5,
                "order": index,
                "body": f"## A case\n\nScroll through it.\n\n[[stack:bench-{slices}]]\n",
            },
        )[0]  # fmt: skip
        for index, slices in enumerate((10, largest), start=1)
    }
    for slices, lesson in lessons.items():
        stack = ImageStack.objects.get(slug=f"bench-{slices}")
        url = f"/learn/{course.slug}/{module.slug}/{lesson.slug}/"
        client.get(url, secure=True)  # warm up, as pages are served most of the time
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, secure=True)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        html = response.content
        texts = [
            Path(finders.find(name)).read_bytes()
            for name in (
                "bootstrap/css/bootstrap.min.css",
                "css/site.css",
                "stacks/viewer.css",
                "stacks/viewer.js",
            )  # fmt: skip
            if finders.find(name)
        ]
        assets = sum(len(text) for text in texts)
        # whitenoise sends text compressed (gzip or Brotli) to browsers that take it.
        gzipped = sum(len(gzip.compress(text)) for text in [html, *texts])
        first = default_storage.size(stack.image_name(stack.rendered_windows[0], 0))
        per_window = {
            window: sum(
                default_storage.size(stack.image_name(window, i)) for i in range(stack.slice_count)
            )
            for window in stack.rendered_windows
        }
        figures[str(slices)] = {
            "queries": len(queries),
            "html_bytes": len(html),
            "before_first_slice_bytes": len(html) + assets + first,
            "before_first_slice_bytes_gzip": gzipped + first,
            "first_slice_bytes": first,
            "bytes_per_window": per_window,
        }
        log(
            f"lesson with {slices} slices: {len(queries)} queries, HTML {len(html):,} B, "
            f"{figures[str(slices)]['before_first_slice_bytes']:,} B before the first slice "
            f"shows ({figures[str(slices)]['before_first_slice_bytes_gzip']:,} B gzipped), "
            "the stack " + ", ".join(f"{w} {b / 1e6:.1f} MB" for w, b in per_window.items())
        )
    return figures


SCORING_SLICES = 100
SCORING_REPETITIONS = 300


def scoring_figures(slices: int = SCORING_SLICES, repetitions: int = SCORING_REPETITIONS) -> dict:
    """Microseconds per slice crossed to score a route that passes through ``slices`` slices."""
    from courses import scoring
    from irlearn.stacks.geometry import Geometry, Point, Region, crossed

    def ellipse(index, cx, cy, r):
        return {"slice": index, "kind": "ellipse", "cx": cx, "cy": cy, "rx": r, "ry": r}

    def polygon(index, x, y):
        corners = [(0, 0), (0.08, 0), (0.1, 0.06), (0.04, 0.1), (-0.02, 0.06)]
        points = [[x + dx, y + dy] for dx, dy in corners]
        return {"slice": index, "kind": "polygon", "points": points}

    # Slices 1 mm apart and 0.7 mm pixels, as the processing benchmark's series.
    geometry = Geometry(
        width_mm=SIDE * 0.7, height_mm=SIDE * 0.7, positions=tuple(float(i) for i in range(slices))
    )
    last = slices - 1
    shapes = {
        ("target", "calyx"): [ellipse(i, 0.62, 0.58, 0.04) for i in range(last - 5, slices)],
        ("avoid", "colon"): [polygon(i, 0.35, 0.45) for i in range(slices)],
        ("avoid", "spleen"): [ellipse(i, 0.75, 0.3, 0.08) for i in range(slices)],
        ("avoid", "pleura"): [polygon(i, 0.5, 0.1) for i in range(slices // 2)],
    }
    regions = [scoring.RegionRow(1, role, label, drawn) for (role, label), drawn in shapes.items()]
    usable = scoring.usable_regions(regions, stack_id=1, slice_count=slices)
    marks = scoring.Marks(target=Point(last, 0.62, 0.58), entry=Point(0, 0.6, 0.9))
    result = scoring.score(kind="route", marks=marks, regions=usable, geometry=geometry)
    if not result.is_correct:
        raise RuntimeError(f"the benchmark's route should be right: {result.as_json()}")
    path_slices = len({point.slice for point in geometry.path(marks.entry, marks.target)})
    avoid = [Region(r.shapes, r.label) for r in usable if r.role == "avoid"]

    def per_slice(run) -> float:
        run()  # warm up
        began = time.perf_counter()
        for _ in range(repetitions):
            run()
        return (time.perf_counter() - began) / repetitions / path_slices * 1e6

    scorer = per_slice(
        lambda: scoring.score(kind="route", marks=marks, regions=usable, geometry=geometry)
    )
    crossing = per_slice(lambda: crossed(geometry, marks.entry, marks.target, avoid))
    figures = {
        "slices_crossed": path_slices,
        "path_points": sum(1 for _ in geometry.path(marks.entry, marks.target)),
        "repetitions": repetitions,
        "microseconds_per_slice": round(scorer, 2),
        "crossed_microseconds_per_slice": round(crossing, 2),
    }
    log(
        f"scoring a route: {scorer:.1f} µs per slice crossed ({path_slices} slices, "
        f"{figures['path_points']} points on the path, 3 regions to avoid); "
        f"geometry.crossed alone {crossing:.1f} µs per slice"
    )
    return figures


def main() -> None:
    parser = size_arguments(__doc__, child="--measure")
    parser.set_defaults(sizes="100,300")
    parser.add_argument("--stack", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=900, help="seconds for one size")
    args = parse_size_arguments(parser, child="--measure")
    if args.measure:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "irlearn.settings")
        print(json.dumps(measure(args.stack)), flush=True)
        return
    folder = Path(tempfile.mkdtemp(prefix="irlearn-bench-stacks-"))
    os.environ["DJANGO_MEDIA_ROOT"] = str(folder / "media")
    os.environ["STACK_UPLOADS_ROOT"] = str(folder / "uploads")
    os.environ["DJANGO_STATIC_MANIFEST"] = "0"  # the page's assets from the app folders
    os.environ.update(base_environment(args.database_url))
    setup_django(args.database_url)
    results = run_sizes(
        args.sizes, lambda count, processes: run_size(count, processes, args.timeout)
    )
    largest = max(int(size) for size in args.sizes.split(","))
    write_results(results, None, tag=TAG, memory_ratio=memory_ratio)
    figures = {
        "processing": results,
        "lesson": lesson_figures(largest),
        "scoring": scoring_figures(),
    }
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        log(f"wrote {args.json}")


if __name__ == "__main__":
    main()
