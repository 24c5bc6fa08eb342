"""`make bench`: IRLearn's figures beside their references, measured in one run on one machine.

    .venv/bin/python bench/run.py [--quick] [--repeats 3] [--duration 10] [--gunicorn sync:5]

1. a fresh PostgreSQL database with the demo content (the small data set), static files;
2. SQL queries per page at the small data set (bench/queries.py);
3. the large data set (`manage.py bench_data`) and the queries per page again;
4. requests per second and latency of each endpoint beside the bare view (bench/load.py);
5. the newsletter send and subscriber export benchmarks (bench/newsletter.py, bench/export.py);
6. bench/results/<date>.json and .md (and latest.md), see bench/README.md.
"""

import argparse
import datetime
import json
import os
import platform
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:  # run as a script: make `bench` importable
    sys.path.insert(0, str(BASE_DIR))

from bench import load  # noqa: E402
from bench.common import log  # noqa: E402

RESULTS_DIR = BASE_DIR / "bench" / "results"
DATABASE = "irlearn_bench"
MAIL_DATABASE = "irlearn_bench_mail"
STACKS_DATABASE = "irlearn_bench_stacks"

# The targets.
ANONYMOUS_RATIO = 0.5
LOGGED_IN_RATIO = 0.3
P95_MS = 100
MAIL_RATIO = 0.5
MEMORY_GROWTH = 1.3


class Steps:
    """Prints each step with its number and how long it took; keeps the timings."""

    def __init__(self, total: int):
        self.total = total
        self.number = 0
        self.timings = {}
        self.began = time.monotonic()

    @contextmanager
    def __call__(self, title: str):
        self.number += 1
        log(f"\n== [{self.number}/{self.total}] {title}")
        began = time.monotonic()
        try:
            yield
        finally:
            seconds = time.monotonic() - began
            self.timings[title] = round(seconds, 1)
            log(f"   {title}: {seconds:.1f} s (total {time.monotonic() - self.began:.0f} s)")


def run(args: list[str], *, env: dict, indent: str = "   ") -> list[str]:
    """Run a command from the project folder, echo its output indented, return its lines.
    A failure stops the benchmark with the command's output already on the screen."""
    process = subprocess.Popen(  # noqa: S603 (our own commands)
        args,
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    lines = []
    try:
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            log(indent + lines[-1])
        process.wait()
    finally:
        if process.poll() is None:  # interrupted: do not leave it running
            process.terminate()
            process.wait()
    if process.returncode:
        raise SystemExit(f"Failed (exit {process.returncode}): {' '.join(args)}")
    return lines


def manage(*args: str, env: dict) -> list[str]:
    return run([sys.executable, "manage.py", *args], env=env)


# --- the environment -----------------------------------------------------------------------------


def database_url(server: str, name: str) -> str:
    return f"{server.rstrip('/')}/{name}"


def recreate_database(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(database_url(server, "postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def redis_cache(url: str) -> str | None:
    """The Redis cache URL if Redis answers, else None."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError:
        return None
    return "rediscache://" + url.removeprefix("redis://")


def flush_cache(env: dict) -> None:
    """Each phase starts with an empty cache: cached pages of the small data set must not be
    served while the large one is measured. Only the bench's own Redis database is flushed."""
    if env["CACHE_URL"].startswith("rediscache://"):
        import redis

        redis.Redis.from_url("redis://" + env["CACHE_URL"].removeprefix("rediscache://")).flushdb()


def stack_env(args, cache_url: str) -> dict:
    """Production settings (DEBUG off, production middleware, manifest static files), with
    what a benchmark on plain-HTTP loopback needs."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "irlearn.settings",
            # A developer's .env must not change the figures.
            "DJANGO_READ_DOT_ENV": "0",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "bench-" + secrets.token_urlsafe(40),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            # wrk speaks plain HTTP on loopback: without this every request is a redirect to
            # https. HSTS and secure cookies stay as in production (they cost nothing here).
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_BENCH": "1",
            "DATABASE_URL": database_url(args.postgres, DATABASE),
            "CACHE_URL": cache_url,
            "NEWSLETTER_SUBSCRIBE_LIMIT_PER_HOUR": "1000000000",
            # Mail outside the throughput runs (none is expected) stays in memory; the stack
            # sends through an SMTP sink (load.Stack sets EMAIL_URL).
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "EMAIL_URL": "",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


# --- machine -------------------------------------------------------------------------------------


def machine_info(server: str) -> dict:
    import django
    import psycopg

    cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in cpuinfo.splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    meminfo = dict(
        line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line
    )
    with psycopg.connect(database_url(server, "postgres")) as connection:
        postgres = connection.execute("SHOW server_version").fetchone()[0]

    def command_output(*command):
        try:
            return subprocess.run(  # noqa: S603 (fixed commands)
                command, cwd=BASE_DIR, capture_output=True, text=True, check=False
            ).stdout.strip()
        except OSError:
            return None

    wrk_version = command_output("wrk", "--version") or ""
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "ram_gib": round(int(meminfo["MemTotal"].split()[0]) / 1024**2, 1),
        "load_average_at_start": Path("/proc/loadavg").read_text().split()[:3],
        "kernel": platform.release(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": postgres,
        "gunicorn": (command_output(sys.executable, "-m", "gunicorn", "--version") or "")
        .replace("(version ", "")
        .rstrip(")"),
        "wrk": " ".join(wrk_version.split()[:2]) if wrk_version else None,
        "git_commit": command_output("git", "rev-parse", "HEAD"),
        "git_dirty": bool(command_output("git", "status", "--porcelain")),
    }


# --- the steps -----------------------------------------------------------------------------------


def queries_step(label: str, env: dict, tmp: Path) -> dict:
    flush_cache(env)
    out = tmp / f"queries-{label}.json"
    # The cost of rendering each page: with the page cache on, every anonymous page after the
    # warm-up would be a hit and count 0 (which is what most visitors get).
    env = {**env, "PAGE_CACHE_SECONDS": "0"}
    run([sys.executable, "bench/queries.py", "--label", label, "--json", str(out)], env=env)
    return json.loads(out.read_text())


def compare_queries(small: dict, large: dict) -> dict:
    return {
        name: {
            "small": page["queries"],
            "large": large["pages"][name]["queries"],
            "same": page["queries"] == large["pages"][name]["queries"],
        }
        for name, page in small["pages"].items()
    }


def bench_data_step(env: dict, extra: list[str]) -> dict | None:
    if not (BASE_DIR / "bench" / "management" / "commands" / "bench_data.py").exists():
        log("   bench/management/commands/bench_data.py does not exist yet: no large data set.")
        return None
    lines = manage("bench_data", *extra, env=env)
    for line in reversed(lines):
        if line.strip().startswith("{"):
            return json.loads(line)
    return {"note": "bench_data printed no JSON line"}


def mail_step(args, env: dict, tmp: Path) -> dict:
    """bench/newsletter.py and bench/export.py, on a database of their own."""
    results = {}
    mail_url = database_url(args.postgres, MAIL_DATABASE)
    scripts = {
        "newsletter": ["--sizes", args.mail_sizes, *shlex.split(args.newsletter_args)],
        "export": ["--sizes", args.export_sizes, *shlex.split(args.export_args)],
    }
    for name, options in scripts.items():
        script = BASE_DIR / "bench" / f"{name}.py"
        if not script.exists():
            log(f"   bench/{name}.py does not exist yet: skipped.")
            continue
        out = tmp / f"{name}.json"
        began = time.monotonic()
        run(
            [sys.executable, str(script), "--database-url", mail_url, *options, "--json", str(out)],
            env={**env, "DATABASE_URL": mail_url},
        )
        results[name] = json.loads(out.read_text()) if out.exists() else {}
        log(f"   bench/{name}.py: {time.monotonic() - began:.0f} s")
    return results


def stacks_step(args, env: dict, tmp: Path) -> dict:
    """bench/stacks.py on a database of its own."""
    url = database_url(args.postgres, STACKS_DATABASE)
    out = tmp / "stacks.json"
    run(
        [sys.executable, str(BASE_DIR / "bench" / "stacks.py"), "--database-url", url,
         "--sizes", args.stack_sizes, "--json", str(out)],
        env={**env, "DATABASE_URL": url},
    )  # fmt: skip
    return json.loads(out.read_text()) if out.exists() else {}


# --- the summary ---------------------------------------------------------------------------------


def mark(ok: bool | None) -> str:
    return "–" if ok is None else ("✓" if ok else "✗")


def summary_markdown(results: dict) -> str:
    lines = []
    machine = results["machine"]
    mode = (
        "quick (development: short runs, one repeat; not for comparison)"
        if results["quick"]
        else "full"
    )
    lines += [
        f"# IRLearn benchmark, {results['date']}",
        "",
        f"Mode: {mode}. Commit `{(machine['git_commit'] or '?')[:12]}`"
        + (" (with uncommitted changes)" if machine["git_dirty"] else "")
        + f". Total time {results['total_seconds'] / 60:.1f} min.",
        "",
        f"Machine: {machine['cpu_count']} × {machine['cpu_model']}, "
        f"{machine['ram_gib']} GiB RAM, load {' '.join(machine['load_average_at_start'])} at the "
        f"start; Python {machine['python']}, Django {machine['django']}, PostgreSQL "
        f"{machine['postgresql']}, {machine['gunicorn']}, {machine['wrk']}.",
        "",
        *(
            [
                f"**The machine was busy** at the start (load "
                f"{machine['load_average_at_start'][0]} on {machine['cpu_count']} CPUs, "
                f"{' '.join(machine.get('load_average_at_end', []))} at the end): noisy figures.",
                "",
            ]
            if float(machine["load_average_at_start"][0]) > 0.5 * machine["cpu_count"]
            else []
        ),
        "Read the ratios, not the raw figures: each is measured against the bare Django view "
        "in the same run, and each figure is the median of the repeats. See bench/README.md.",
        "",
    ]
    load_results = results.get("throughput")
    if load_results:
        settings = load_results["settings"]
        summary = load_results["summary"]
        bare = summary["bare"]
        lines += [
            "## Throughput",
            "",
            f"wrk -t{settings['wrk_threads']} -c{settings['connections']} "
            f"-d{settings['duration_s']:g}s, {settings['repeats']} repeat(s), "
            f"gunicorn {settings['gunicorn']}, data set: {load_results['data_set']}. "
            f"Bare view /bench/bare/: {bare['rps']:.0f} req/s, "
            f"p95 {bare['p95_ms']:.1f} ms.",
            "",
            "| endpoint | req/s | bare req/s | ratio | target | p50 ms | p95 ms | p99 ms | errors "
            f"| p95 < {P95_MS} ms, no errors |",
            "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |",
        ]
        for name in load.ENDPOINTS:
            row = summary[name]
            target = ANONYMOUS_RATIO if row["anonymous"] else LOGGED_IN_RATIO
            latency_ok = (
                row["p95_ms"] < P95_MS and row["errors"] == 0 and not row["runs_without_response"]
            )
            if row.get("reference"):
                label, verdict = f"_{name} (reference)_", "–"
            else:
                label, verdict = name, f"≥ {target} {mark(row['ratio'] >= target)}"
            lines.append(
                f"| {label} | {row['rps']:.0f} | {bare['rps']:.0f} | {row['ratio']:.2f} | "
                f"{verdict} | {row['p50_ms']:.1f} | "
                f"{row['p95_ms']:.1f} | {row['p99_ms']:.1f} | {row['errors']} | "
                f"{mark(latency_ok)} |"
            )
        if "bare_logged_in" in summary:
            lines += [
                "",
                "_bare_logged_in_ is the bare view for the logged-in learner: their session and "
                "user are loaded, nothing else. No logged-in page can be faster.",
            ]
        silent = [name for name in load.ENDPOINTS if summary[name]["runs_without_response"]]
        if silent:
            lines += [
                "",
                f"No response at all within a run (every request slower than the run): "
                f"{', '.join(silent)}.",
            ]
        bad = {k: v for k, v in load_results["preflight_status"].items() if v >= 400}
        if bad:
            lines += ["", f"Endpoints that answered an error before the runs: {bad}."]
        memory = load_results["memory_after_each_repeat"][-1]
        each = ", ".join(str(w.get("VmRSS")) for w in memory["gunicorn_workers"])
        lines += [
            "",
            f"Memory after the runs: gunicorn workers "
            f"{memory['gunicorn_workers_rss_total_mib']:.0f} MiB together ({each} MiB each), "
            f"task worker {memory['db_worker'].get('VmRSS')} MiB.",
            "",
        ]
    queries = results.get("queries_compared")
    if queries:
        lines += [
            "## SQL queries per page",
            "",
            "Counted after one warm-up request, with the anonymous page cache off: the cost of "
            "rendering each page (from the cache, an anonymous visitor's page costs no query).",
            "",
            "| page | small (demo) | large | same |",
            "| --- | ---: | ---: | --- |",
        ]
        for name, row in queries.items():
            lines.append(f"| {name} | {row['small']} | {row['large']} | {mark(row['same'])} |")
        lines.append("")
    elif single := results.get("queries_small") or results.get("queries_large"):
        lines += [
            "## SQL queries per page",
            "",
            f"One data set only in this run ({single['label']}).",
            "",
            f"| page | {single['label']} |",
            "| --- | ---: |",
        ]
        lines += [f"| {name} | {page['queries']} |" for name, page in single["pages"].items()]
        lines.append("")
    lines += mail_markdown(results.get("mail") or {})
    lines += stacks_markdown(results.get("stacks") or {})
    lines += [
        "## What holds it back",
        "",
        "_To be filled in by whoever reads these figures. Generated notes to start from:_",
        "",
        *notes_markdown(results),
        "",
        "## Steps",
        "",
        "| step | seconds |",
        "| --- | ---: |",
    ]
    lines += [f"| {step} | {seconds:.0f} |" for step, seconds in results["timings"].items()]
    skipped = results.get("skipped")
    if skipped:
        lines += ["", "Skipped: " + "; ".join(skipped) + "."]
    return "\n".join(lines) + "\n"


def notes_markdown(results: dict) -> list[str]:
    """The endpoints below their targets, worst first, with what one request costs alone."""
    notes = []
    queries = results.get("queries_large") or results.get("queries_small") or {"pages": {}}
    summary = (results.get("throughput") or {}).get("summary", {})
    below = []
    for name in load.ENDPOINTS:
        row = summary.get(name)
        if not row or row.get("reference"):
            continue
        target = ANONYMOUS_RATIO if row["anonymous"] else LOGGED_IN_RATIO
        if row["ratio"] < target or row["p95_ms"] >= P95_MS or row["errors"]:
            below.append((row["ratio"], name, row))
    for ratio, name, row in sorted(below):
        page = queries["pages"].get(name)
        alone = (
            f"; one request alone takes {page['wall_ms']:.0f} ms ({page['cpu_ms']:.0f} ms of "
            f"Python CPU, {page['sql_ms']:.0f} ms in {page['queries']} "
            f"{'query' if page['queries'] == 1 else 'queries'}) on the "
            f"{queries['label']} data set"
            if page and "wall_ms" in page
            else ""
        )
        errors = f", {row['errors']} errors" if row["errors"] else ""
        p95 = row["p95_ms"]
        notes.append(
            f"- **{name}**: {ratio:.2f} of the bare view, p95 {p95:.0f} ms{errors}{alone}."
        )
    differ = {
        name: row
        for name, row in (results.get("queries_compared") or {}).items()
        if not row["same"]
    }
    if differ:
        notes.append(
            "- Query counts that change with the data set: "
            + ", ".join(f"{name} ({row['small']} → {row['large']})" for name, row in differ.items())
            + "."
        )
    return notes or ["- Every measured target is met."]


def mail_markdown(mail: dict) -> list[str]:
    lines = []
    newsletter = mail.get("newsletter")
    if newsletter:
        lines += [
            "## Newsletter sending",
            "",
            "| subscribers | seconds | msg/s | plain smtplib msg/s | ratio | target "
            "| worker peak MiB |",
            "| ---: | ---: | ---: | ---: | ---: | --- | ---: |",
        ]
        for size in sorted(newsletter, key=int):
            row = newsletter[size]
            app, ceiling = row.get("app", {}), row.get("ceiling", {})
            ratio = row.get("ratio_app_to_ceiling")
            peak = app.get("worker_peak_kb_max")
            ok = ratio >= MAIL_RATIO if ratio is not None else None
            lines.append(
                f"| {int(size):,} | {app.get('wall_seconds', 0):.1f} | "
                f"{app.get('messages_per_second', 0):.0f} | "
                f"{ceiling.get('messages_per_second', 0):.0f} | "
                f"{ratio if ratio is not None else '?'} | ≥ {MAIL_RATIO} {mark(ok)} | "
                f"{peak / 1024 if peak else 0:.0f} |"
            )
        largest = newsletter[max(newsletter, key=int)]
        growth = largest.get("memory_ratio")
        if growth:
            value = growth.get("worker_peak_max")
            lines += [
                "",
                f"Worker peak memory at {int(largest['subscribers']):,} over "
                f"{growth['against_size']:,} subscribers: {value:.2f} "
                f"(target ≤ {MEMORY_GROWTH} {mark(value <= MEMORY_GROWTH)}).",
            ]
        lines.append("")
    export = mail.get("export")
    if export:
        lines += [
            "## Subscriber CSV export",
            "",
            "| subscribers | seconds | rows/s | peak MiB | net of Django's setup | "
            "net of a warm-up export |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for size in sorted(export, key=int):
            row = export[size]
            lines.append(
                f"| {int(size):,} | {row.get('seconds', 0):.1f} | "
                f"{row.get('rows_per_second', 0):.0f} | {row.get('max_rss_kb', 0) / 1024:.0f} | "
                f"{row.get('net_of_setup_kb', 0) / 1024:.1f} | "
                f"{row.get('net_of_warm_up_kb', 0) / 1024:.1f} |"
            )
        growth = export[max(export, key=int)].get("memory_ratio")
        if growth:
            lines += [
                "",
                f"Peak memory at the largest size over the smallest: {growth['raw']:.2f} "
                f"(target ≤ {MEMORY_GROWTH} {mark(growth['raw'] <= MEMORY_GROWTH)}); "
                f"{growth['net_of_setup']:.2f} net of Django's setup, "
                f"{growth['net_of_warm_up']:.2f} net of the warm-up export.",
            ]
        lines.append("")
    return lines


def stacks_markdown(stacks: dict) -> list[str]:
    processing, lesson = stacks.get("processing"), stacks.get("lesson")
    if not processing or not lesson:
        return []
    lines = [
        "## Image stacks",
        "",
        "Processing a synthetic 512 × 512 CT series (two windows) in a process of its own, as the "
        "task worker does:",
        "",
        "| slices | upload MB | seconds | slices/s | peak MiB | net of Django's setup MiB |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size in sorted(processing, key=int):
        row = processing[size]
        lines.append(
            f"| {row['slices']} | {row['upload_bytes'] / 1e6:.0f} | {row['seconds']:.1f} | "
            f"{row['slices_per_second']:.0f} | {row['max_rss_kb'] / 1024:.0f} | "
            f"{row['net_of_setup_kb'] / 1024:.1f} |"
        )
    growth = processing[max(processing, key=int)].get("memory_ratio")
    if growth:
        lines += [
            "",
            f"Peak memory at the largest size over the smallest: {growth['raw']:.2f} "
            f"(target ≤ {MEMORY_GROWTH} {mark(growth['raw'] <= MEMORY_GROWTH)}); "
            f"{growth['net_of_setup']:.2f} net of Django's setup.",
        ]
    lines += [
        "",
        "A lesson page with a stack, opened by staff (bytes before the first slice shows: the "
        "HTML, Bootstrap, the site's and the viewer's CSS, the viewer's script and the first "
        "slice's image):",
        "",
        "| slices | queries | HTML bytes | before first slice | gzipped | stack MB per window |",
        "| ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for size in sorted(lesson, key=int):
        row = lesson[size]
        windows = ", ".join(f"{w} {b / 1e6:.1f}" for w, b in row["bytes_per_window"].items())
        lines.append(
            f"| {size} | {row['queries']} | {row['html_bytes']:,} | "
            f"{row['before_first_slice_bytes']:,} | {row['before_first_slice_bytes_gzip']:,} | "
            f"{windows} |"
        )
    counts = {row["queries"] for row in lesson.values()}
    lines += ["", f"Same queries whatever the slice count: {mark(len(counts) == 1)}.", ""]
    scoring = stacks.get("scoring")
    if scoring:
        lines += [
            f"Scoring a route (issue 14): {scoring['microseconds_per_slice']} µs per slice crossed "
            f"({scoring['slices_crossed']} slices, {scoring['path_points']} points on the path).",
            "",
        ]
    return lines


def write_results(results: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    for key in ("queries_small", "queries_large"):
        # The learner's session is no figure, and results files may be committed.
        results.get(key, {}).get("targets", {}).pop("session_cookie", None)
    stem = results["date"] + ("-quick" if results["quick"] else "")
    json_path = RESULTS_DIR / f"{stem}.json"
    json_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    markdown = summary_markdown(results)
    (RESULTS_DIR / f"{stem}.md").write_text(markdown)
    if not results["quick"]:
        (RESULTS_DIR / "latest.md").write_text(markdown)
    return json_path


# --- main ----------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="3 s runs, one repeat, small mail sizes"
    )
    parser.add_argument("--repeats", type=int, help="throughput repeats (default 3; quick 1)")
    parser.add_argument("--duration", type=float, help="seconds per wrk run (default 10; quick 3)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument(
        "--bare-every",
        type=int,
        default=0,
        help="measure the bare view also after every N endpoints (default 0: before and after)",
    )
    parser.add_argument(
        "--gunicorn",
        default=f"sync:{2 * (os.cpu_count() or 1) + 1}",
        help="sync:<workers> or gthread:<workers>x<threads> (default sync:2×cores+1)",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432"),
        help="PostgreSQL server; the bench creates and drops its own databases there",
    )
    parser.add_argument(
        "--redis",
        default=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/15"),
        help="Redis database for the cache (flushed by the bench); locmem if Redis is down",
    )
    parser.add_argument("--cache", choices=["redis", "locmem"], default="redis")
    parser.add_argument(
        "--mail-sizes", help="newsletter sizes (default 10000,100000; quick 1000,10000)"
    )
    parser.add_argument(
        "--export-sizes", help="subscriber export sizes (default 10000,100000; quick 1000,10000)"
    )
    parser.add_argument("--bench-data-args", default="", help="extra options for bench_data")
    parser.add_argument(
        "--newsletter-args",
        # The ceiling's rate does not depend on how many it sends: 10,000 saves minutes.
        default="--ceiling-limit 10000 --timeout 1800",
        help="extra options for bench/newsletter.py",
    )
    parser.add_argument("--export-args", default="", help="extra options for bench/export.py")
    parser.add_argument("--skip-large", action="store_true", help="no large data set")
    parser.add_argument(
        "--reuse-db",
        action="store_true",
        help="keep the database of the last run (no new data): for quick rounds while optimising",
    )
    parser.add_argument("--skip-load", action="store_true", help="no throughput runs")
    parser.add_argument("--skip-mail", action="store_true", help="no newsletter/export benchmarks")
    parser.add_argument(
        "--stack-sizes", help="image stack slice counts (default 100,300; quick 20,60)"
    )
    parser.add_argument("--skip-stacks", action="store_true", help="no image stack benchmark")
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.duration = args.duration or (3 if args.quick else 10)
    args.mail_sizes = args.mail_sizes or ("1000,10000" if args.quick else "10000,100000")
    args.export_sizes = args.export_sizes or ("1000,10000" if args.quick else "10000,100000")
    args.stack_sizes = args.stack_sizes or ("20,60" if args.quick else "100,300")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    load.gunicorn_args(args.gunicorn)  # a bad spec fails now, not after ten minutes
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: `apt-get install wrk` (make bench does it).")
    # SIGTERM unwinds like Ctrl-C, so every process we started is stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        _main(args)
    except KeyboardInterrupt:
        log("\nInterrupted.")
        sys.exit(130)
    finally:
        load.stop_all()


def _main(args) -> None:
    steps = Steps(total=7)
    today = datetime.date.today().isoformat()
    skipped = []
    cache_url = "locmemcache://irlearn-bench"
    if args.cache == "redis":
        cache_url = redis_cache(args.redis)
        if cache_url is None:
            log(f"Redis does not answer at {args.redis}: the cache is per process (locmem).")
            skipped.append("Redis cache (not running): locmem instead")
            cache_url = "locmemcache://irlearn-bench"
    env = stack_env(args, cache_url)
    results = {
        "date": today,
        "quick": args.quick,
        "machine": machine_info(args.postgres),
        "options": {k: v for k, v in vars(args).items() if k != "postgres"},
        "cache_url": cache_url,
    }
    machine = results["machine"]
    log(
        f"IRLearn benchmark ({'quick' if args.quick else 'full'}): {machine['cpu_count']} CPUs, "
        f"{machine['cpu_model']}; cache {cache_url}; gunicorn {args.gunicorn}"
    )
    busy = float(machine["load_average_at_start"][0]) > 0.5 * machine["cpu_count"]
    if busy:
        log(
            f"The machine is busy (load {machine['load_average_at_start'][0]} on "
            f"{machine['cpu_count']} CPUs): expect noisy figures; compare ratios, not req/s."
        )
    with tempfile.TemporaryDirectory(prefix="irlearn-bench-") as tmp_name:
        tmp = Path(tmp_name)
        with steps("Small data set: database, migrations, demo content, static files"):
            if args.reuse_db:
                log(f"   --reuse-db: {DATABASE} as the last run left it (migrated if need be)")
            else:
                recreate_database(args.postgres, DATABASE)
                log(f"   database {DATABASE} created at {urlsplit(args.postgres).netloc}")
            manage("migrate", "--no-input", "--verbosity", "0", env=env)
            if not args.reuse_db:
                manage("seed_demo", "--no-accounts", env=env)
            manage("collectstatic", "--no-input", "--verbosity", "0", env=env)
        with steps("SQL queries per page, small data set"):
            if args.reuse_db:
                skipped.append("small data set (--reuse-db)")
            else:
                results["queries_small"] = queries_step("small", env, tmp)
                targets = results["queries_small"]["targets"]
                data_set = "small (demo content)"
        with steps("Large data set and SQL queries per page"):
            if args.reuse_db:
                # Whatever the last run left: the large data set unless it skipped it.
                results["queries_large"] = queries_step("large", env, tmp)
                targets = results["queries_large"]["targets"]
                data_set = "as the last run left it (--reuse-db)"
            elif counts := (
                None if args.skip_large else bench_data_step(env, shlex.split(args.bench_data_args))
            ):
                results["bench_data"] = counts
                results["queries_large"] = queries_step("large", env, tmp)
                results["queries_compared"] = compare_queries(
                    results["queries_small"], results["queries_large"]
                )
                targets = results["queries_large"]["targets"]
                data_set = "large (bench_data)"
                differ = [n for n, row in results["queries_compared"].items() if not row["same"]]
                log(f"   query counts that differ by data set: {', '.join(differ) or 'none'}")
            else:
                why = "--skip-large" if args.skip_large else "no bench_data command"
                skipped.append(f"large data set ({why})")
        with steps(
            "Throughput: gunicorn + task worker, wrk against each endpoint and the bare view"
        ):
            if args.skip_load:
                skipped.append("throughput (--skip-load)")
            else:
                flush_cache(env)
                log_dir = tmp / "logs"
                log_dir.mkdir()
                with load.Stack(env=env, log_dir=log_dir, gunicorn=args.gunicorn) as stack:
                    log(f"   gunicorn {args.gunicorn} at {stack.base_url}, db_worker, SMTP sink")
                    results["throughput"] = load.throughput(
                        stack,
                        targets,
                        database_url=env["DATABASE_URL"],
                        duration=args.duration,
                        repeats=args.repeats,
                        connections=args.connections,
                        threads=args.wrk_threads,
                        bare_every=args.bare_every,
                    )
                results["throughput"]["data_set"] = data_set
                print_throughput(results["throughput"]["summary"])
        with steps("Newsletter sending and subscriber export"):
            if args.skip_mail:
                skipped.append("newsletter and export (--skip-mail)")
            else:
                results["mail"] = mail_step(args, env, tmp)
                skipped += [
                    f"bench/{n}.py (missing)"
                    for n in ("newsletter", "export")
                    if n not in results["mail"]
                ]
        with steps("Image stacks: processing, and a lesson with a stack"):
            if args.skip_stacks:
                skipped.append("image stacks (--skip-stacks)")
            else:
                results["stacks"] = stacks_step(args, env, tmp)
        with steps("Results"):
            results["skipped"] = skipped
            results["timings"] = dict(steps.timings)
            results["total_seconds"] = round(time.monotonic() - steps.began, 1)
            results["machine"]["load_average_at_end"] = (
                Path("/proc/loadavg").read_text().split()[:3]
            )
            path = write_results(results)
            log(f"   wrote {path.relative_to(BASE_DIR)} and {path.with_suffix('.md').name}")
    log(f"\nDone in {(time.monotonic() - steps.began) / 60:.1f} min.")


def print_throughput(summary: dict) -> None:
    log("\n   endpoint               req/s   ratio   p95 ms  errors   (medians)")
    for name in ["bare", *load.ENDPOINTS]:
        row = summary[name]
        ratio = f"{row['ratio']:.2f}" if "ratio" in row else "1"
        p95 = row["p95_ms"]
        log(f"   {name:<22} {row['rps']:>6.0f}  {ratio:>6}  {p95:>7.1f}  {row['errors']:>6}")


if __name__ == "__main__":
    main()
