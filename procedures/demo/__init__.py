"""Demo content for the procedure library: categories.toml and one TOML file per category.

`procedure_library_seed()` (registered for `manage.py seed_demo` in ProceduresConfig.ready())
creates what is missing and never overwrites what exists, so running it again changes nothing and
editors' changes to demo procedures survive.

A procedure's ``image_stacks`` (slugs of the demo image stacks, which the stacks seed creates
first) are linked when the procedure is created, and added to an existing demo procedure that
has no stacks at all (so a library seeded before stacks existed gets them); a procedure an
editor has given stacks keeps its own.

A procedure's figures are created with it, and a demo figure an existing demo procedure lacks
(none of its figures has that file name, Django's "_abc1234" clash suffix aside) is added to it,
so a database seeded before the figure was drawn gets it. Existing figures are never touched: an
editor's alt text, caption or image stays, and a demo SVG redrawn since keeps its old copy in an
existing database (delete the figure row and seed again to take the new drawing).
"""

import re
import tomllib
from pathlib import Path, PurePosixPath

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from irlearn.stacks.models import ImageStack
from procedures.models import Category, Figure, ImagingModality, Procedure

DEMO_DIR = Path(__file__).resolve().parent
FIGURES_DIR = DEMO_DIR / "figures"
PROCEDURE_FIELDS = [
    "title", "abbreviation", "also_known_as", "summary", "setting", "last_reviewed",
    *[name for name, _heading in Procedure.SECTIONS], "references",
]  # fmt: skip


# Django's storage adds "_" and seven letters or digits to a name already taken.
CLASH_SUFFIX = re.compile(r"_[A-Za-z0-9]{7}$")


def load_toml(name):
    with open(DEMO_DIR / name, "rb") as file:
        return tomllib.load(file)


def demo_stacks(procedure_slug: str, slugs: list[str]) -> list[ImageStack]:
    """The image stacks a demo procedure names, or an error naming those that do not exist."""
    stacks = {stack.slug: stack for stack in ImageStack.objects.filter(slug__in=slugs)}
    missing = [slug for slug in slugs if slug not in stacks]
    if missing:
        raise ValueError(
            f"Demo procedure '{procedure_slug}' names image stacks that do not exist: "
            f"{', '.join(missing)}. The image stacks seed (irlearn/stacks/demo.py) creates the "
            "demo stacks and must run first; check the slugs against irlearn/stacks/phantoms.py."
        )
    return [stacks[slug] for slug in slugs]


def stored_file_name(name: str) -> str:
    """The file name an upload was given, without its folder or the storage's clash suffix:
    "procedures/figures/ptc_Ab3dE9z.svg" -> "ptc.svg"."""
    path = PurePosixPath(name)
    return CLASH_SUFFIX.sub("", path.stem) + path.suffix


def missing_demo_figures(figures: list[dict], existing_names) -> list[tuple[int, dict]]:
    """The demo figures (with their place in the demo's order) whose file none of the existing
    figure images has."""
    have = {stored_file_name(name) for name in existing_names}
    return [(order, data) for order, data in enumerate(figures) if data["file"] not in have]


def figure_seed(model, *, path: Path, order: int, figure: dict, **owner) -> None:
    """One demo figure (a TOML ``figure`` table) of a procedure or lesson, from the file at
    ``path``; ``owner`` names the row it belongs to (``procedure=`` or ``lesson=``)."""
    with open(path, "rb") as image:
        model.objects.create(
            **owner,
            image=File(image, name=figure["file"]),
            alt_text=figure["alt"],
            caption=figure.get("caption", ""),
            credit=figure.get("credit", ""),
            order=order,
        )


def procedure_library_seed() -> str:
    """Load the demo library; returns how many categories and procedures were created (and
    figures added to procedures that existed)."""
    created = {"categories": 0, "procedures": 0, "figures": 0}
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
                stack_slugs = data.get("image_stacks", [])
                if stack_slugs and (was_created or not procedure.image_stacks.exists()):
                    procedure.image_stacks.add(*demo_stacks(procedure.slug, stack_slugs))
                existing = [] if was_created else procedure.figures.values_list("image", flat=True)
                for order, figure in missing_demo_figures(data.get("figure", []), existing):
                    figure_seed(
                        Figure,
                        path=FIGURES_DIR / figure["file"],
                        order=order,
                        figure=figure,
                        procedure=procedure,
                    )
                    created["figures"] += not was_created
                if not was_created:
                    continue
                created["procedures"] += 1
                procedure.guidance.set([modalities[slug] for slug in data.get("guidance", [])])
                related[procedure] = data.get("related", [])
        for procedure, slugs in related.items():
            procedure.related.add(*Procedure.objects.filter(slug__in=slugs))
    added = f" ({created['figures']} figures added to existing procedures)"
    return (
        f"Procedure library: {created['categories']} categories and "
        f"{created['procedures']} procedures added{added if created['figures'] else ''}."
    )
