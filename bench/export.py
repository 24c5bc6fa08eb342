"""Subscriber CSV export benchmark: the admin's "Export" link at 10,000 and 100,000 subscribers.

    DJANGO_BENCH=1 .venv/bin/python bench/export.py \
        --database-url postgres://postgres@127.0.0.1:5432/irlearn_bench_mail \
        --sizes 10000,100000 --json export.json

The database is the benchmark's own, as for bench/newsletter.py: its newsletter tables are
emptied and N subscribers created before each size. Each size is then measured in a fresh
process, with production settings, which logs a superuser in with the Django test client and
streams the real admin URL (``/admin/newsletter/subscriber/export/``: the changelist's queryset,
``services.subscribers_export_rows``, the StreamingHttpResponse and every middleware), reading
the response to its end as a browser would.

Memory is that process's ru_maxrss (peak resident set), raw and less two baselines read in the
same process before the export: after Django's setup alone, and after a warm-up export that
matches no row (every module and template the export needs already loaded). Rows per second
count the CSV lines after the header. PostgreSQL only.
"""

import functools
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

# Run as a script, Python puts bench/ first on the path: put the project there instead, so that
# `irlearn` and `bench` import and nothing in bench/ shadows a top-level module.
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
from bench.newsletter import prepare  # noqa: E402

EXPORT_URL = "/admin/newsletter/subscriber/export/"
STAFF_EMAIL = "bench-export@irlearn.localhost"


TAG = "export"
log = functools.partial(common.log, tag=TAG)


def max_rss_kb() -> int:
    """This process's peak resident set so far, in kB (Linux reports ru_maxrss in kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# --- The measuring process -------------------------------------------------------------------


def measure() -> dict:
    """In a fresh process: stream the admin export to its end; print the figures as JSON."""
    import django

    django.setup()
    setup_kb = max_rss_kb()

    from django.test import Client

    from irlearn.accounts.models import User

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(email=STAFF_EMAIL))

    def export(query: str = "") -> tuple[int, int, float]:
        began = time.perf_counter()
        # secure: production settings redirect plain HTTP to HTTPS.
        response = client.get(EXPORT_URL + query, secure=True)
        if response.status_code != 200 or not response.streaming:
            raise RuntimeError(f"the export answered {response.status_code}")
        lines = size = 0
        for chunk in response.streaming_content:
            lines += chunk.count(b"\n")
            size += len(chunk)
        response.close()
        return lines - 1, size, time.perf_counter() - began

    export("?q=no-such-address")
    warm_kb = max_rss_kb()
    rows, size, seconds = export()
    peak_kb = max_rss_kb()
    return {
        "rows": rows,
        "bytes": size,
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds, 1),
        "max_rss_kb": peak_kb,
        "setup_rss_kb": setup_kb,
        "warm_rss_kb": warm_kb,
        "net_of_setup_kb": peak_kb - setup_kb,
        "net_of_warm_up_kb": peak_kb - warm_kb,
    }


# --- The benchmark ---------------------------------------------------------------------------


def ensure_staff_user() -> None:
    from irlearn.accounts.models import User

    if not User.objects.filter(email=STAFF_EMAIL).exists():
        User.objects.create_superuser(STAFF_EMAIL, None, full_name="Bench export")


def run_size(count: int, processes: Processes, timeout: float) -> dict:
    log(f"{count:,} subscribers: preparing")
    prepared = prepare(count)
    log(f"  {count:,} subscribers and {2 * count:,} consent records in {prepared:.1f} s")
    env = {**os.environ, **base_environment(os.environ["DATABASE_URL"])}
    env.pop("DJANGO_BENCH", None)
    child = processes.add(
        start_process(
            [sys.executable, __file__, "--measure"], env=env, stdout=subprocess.PIPE, text=True
        )
    )
    try:
        output, _ = child.communicate(timeout=timeout)
    finally:
        processes.stop(child)
    if child.returncode != 0:
        raise RuntimeError(f"the export process failed ({child.returncode})")
    figures = json.loads(output.strip().splitlines()[-1])
    if figures["rows"] != count:
        raise RuntimeError(f"the export gave {figures['rows']:,} rows, not {count:,}")
    log(
        f"  {figures['rows']:,} rows ({figures['bytes'] / 1e6:.1f} MB) in "
        f"{figures['seconds']:.2f} s = {figures['rows_per_second']:,.0f} rows/s; peak memory "
        f"{figures['max_rss_kb'] / 1024:.0f} MiB raw, "
        f"{figures['net_of_setup_kb'] / 1024:.1f} MiB over Django's setup, "
        f"{figures['net_of_warm_up_kb'] / 1024:.1f} MiB over a warm-up export"
    )
    return {
        "subscribers": count,
        "load_average": round(os.getloadavg()[0], 2),
        "prepare_seconds": round(prepared, 1),
        **figures,
    }


def memory_ratio(small: dict, large: dict) -> tuple[dict, str]:
    """Peak memory at the largest size over that at the smallest (raw and net of setup)."""
    ratio = {
        "against_size": small["subscribers"],
        "raw": round(large["max_rss_kb"] / small["max_rss_kb"], 3),
        "net_of_setup": round(large["net_of_setup_kb"] / max(small["net_of_setup_kb"], 1), 3),
        "net_of_warm_up": round(large["net_of_warm_up_kb"] / max(small["net_of_warm_up_kb"], 1), 3),
    }
    return ratio, (
        f"peak memory {ratio['raw']:.2f} raw, {ratio['net_of_setup']:.2f} net of Django's "
        f"setup, {ratio['net_of_warm_up']:.2f} net of the warm-up export"
    )


def parse_args():
    parser = size_arguments(__doc__, child="--measure")
    parser.add_argument(
        "--timeout", type=float, default=300, help="seconds allowed for one export (default: 300)"
    )
    return parse_size_arguments(parser, child="--measure")


def main() -> None:
    args = parse_args()
    if args.measure:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "irlearn.settings")
        print(json.dumps(measure()), flush=True)
        return
    setup_django(args.database_url)
    ensure_staff_user()
    results = run_sizes(
        args.sizes, lambda count, processes: run_size(count, processes, args.timeout)
    )
    write_results(results, args.json, tag=TAG, memory_ratio=memory_ratio)


if __name__ == "__main__":
    main()
