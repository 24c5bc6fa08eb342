"""Demo content for the procedure library: categories.toml and one TOML file per category.

`procedure_library_seed()` (registered for `manage.py seed_demo` in ProceduresConfig.ready())
creates what is missing and never overwrites what exists, so running it again changes nothing and
editors' changes to demo procedures survive.
"""

import tomllib
from pathlib import Path

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from procedures.models import Category, Figure, ImagingModality, Procedure

DEMO_DIR = Path(__file__).resolve().parent
FIGURES_DIR = DEMO_DIR / "figures"
PROCEDURE_FIELDS = [
    "title", "abbreviation", "also_known_as", "summary", "setting", "last_reviewed",
    *[name for name, _heading in Procedure.SECTIONS], "references",
]  # fmt: skip


def load_toml(name):
    with open(DEMO_DIR / name, "rb") as file:
        return tomllib.load(file)


def procedure_library_seed() -> str:
    """Load the demo library; returns how many categories and procedures were created."""
    created = {"categories": 0, "procedures": 0}
    modalities = {m.slug: m for m in ImagingModality.objects.all()}
    with transaction.atomic():
        categories = []
        for data in load_toml("categories.toml")["category"]:
            category, was_created = Category.objects.get_or_create(
                slug=data["slug"],
                defaults={k: data[k] for k in ("name", "description", "order")},
            )
            created["categories"] += was_created
            categories.append(category)
        related = {}
        for category in categories:
            path = DEMO_DIR / f"{category.slug}.toml"
            if not path.exists():
                continue
            for data in load_toml(path.name).get("procedure", []):
                procedure, was_created = Procedure.objects.get_or_create(
                    slug=data["slug"],
                    defaults={
                        **{field: data[field] for field in PROCEDURE_FIELDS if field in data},
                        "category": category,
                        "status": Procedure.Status.PUBLISHED,
                        "published_at": timezone.now(),
                    },
                )
                if not was_created:
                    continue
                created["procedures"] += 1
                procedure.guidance.set([modalities[slug] for slug in data.get("guidance", [])])
                for order, figure in enumerate(data.get("figure", [])):
                    with open(FIGURES_DIR / figure["file"], "rb") as image:
                        Figure.objects.create(
                            procedure=procedure,
                            image=File(image, name=figure["file"]),
                            alt_text=figure["alt"],
                            caption=figure.get("caption", ""),
                            credit=figure.get("credit", ""),
                            order=order,
                        )
                related[procedure] = data.get("related", [])
        for procedure, slugs in related.items():
            procedure.related.add(*Procedure.objects.filter(slug__in=slugs))
    return (
        f"Procedure library: {created['categories']} categories and "
        f"{created['procedures']} procedures added."
    )
