from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Benchmark helpers: the `bench_data` command and the bare reference view.

    Installed only with DJANGO_BENCH=1 (see settings), never in a normal deployment.
    """

    name = "bench"
    verbose_name = "Benchmarks"
