"""Demo content for development: each app registers how it seeds its own, and
``manage.py seed_demo`` runs every registered seed.

An app calls register_demo_seed() in its AppConfig.ready(), so seeds run in the order of
INSTALLED_APPS: an app's demo can build on the demo of the apps it depends on (courses link the
demo procedures). A seed adds only what is missing and never changes what exists, so running it
again changes nothing and editors' changes survive. This module imports no app.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class DemoSeed:
    # Adds what is missing; returns what it did, for the console.
    seed: Callable[[], str]
    # Creates accounts with a published password: only with DEBUG on, and left out on request.
    creates_accounts: bool = False


DEMO_SEEDS: list[DemoSeed] = []


def register_demo_seed(seed: Callable[[], str], *, creates_accounts: bool = False) -> None:
    """Run ``seed`` in ``manage.py seed_demo``, after the seeds registered before it."""
    demo_seed = DemoSeed(seed, creates_accounts)
    if demo_seed not in DEMO_SEEDS:
        DEMO_SEEDS.append(demo_seed)
