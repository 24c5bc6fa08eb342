"""Scoring questions answered on image stacks: the learner's marks, read from the form and
checked, and what they hit, against the regions the editor drew (irlearn/stacks/geometry.py).

Pure functions, no database: the service (courses/services.py ``answer_submit``) reads the
regions and the stack's slice positions, one query each, and passes them in.

Marks come as form fields, a slice index (0 for the first slice) and fractions of the image's
width and height: ``target_slice``, ``target_x``, ``target_y``, and for "plan the route" also
``entry_slice``, ``entry_x``, ``entry_y``. Whatever no honest form sends (a slice the stack does
not have, a point off the image, text, a mark the question does not ask for) is refused with
MarkError, never scored.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from irlearn.stacks.geometry import Geometry, Point, Region, RegionError, clean_shapes

TARGET = "target"
ROUTE = "route"
PARTS = ("slice", "x", "y")
# The marks each kind of question asks for, in the order the learner places them.
MARKS = {TARGET: ("target",), ROUTE: ("entry", "target")}
MARK_NAMES = {"entry": "skin entry point", "target": "target"}
# At most this many slices in the feedback: the target's, the expert's key slice, and where the
# path first entered each structure it should have missed.
MOST_FEEDBACK_SLICES = 4


class MarkError(ValueError):
    """Marks that cannot be scored, with the reason (for the 400 page and the logs)."""


def field_names(kind: str) -> list[str]:
    """The form fields of a question of ``kind``: ``["entry_slice", ..., "target_y"]``."""
    return [f"{mark}_{part}" for mark in MARKS[kind] for part in PARTS]


def marks_are_blank(data: Mapping, *, kind: str) -> bool:
    """Whether the form came back with a mark still to place (the fields there, some empty):
    the learner pressed "Check my answer" too soon, which deserves a message, not a 400."""
    names = field_names(kind)
    present = [name for name in names if name in data]
    return len(present) == len(names) and any(
        isinstance(data.get(name), str) and not data.get(name).strip() for name in names
    )


def _value(data: Mapping, mark: str, part: str):
    nested = data.get(mark)
    if isinstance(nested, Mapping):  # {"target": {"slice": 4, ...}}, as Answer.marks stores
        return nested.get(part)
    return data.get(f"{mark}_{part}")


def _number(value, what: str) -> float:
    if isinstance(value, bool):
        raise MarkError(f"The {what} is not a number.")
    if isinstance(value, str):
        if len(value) > 32:
            raise MarkError(f"The {what} is not a number.")
        try:
            value = float(value)
        except ValueError:
            raise MarkError(f"The {what} is not a number.") from None
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise MarkError(f"The {what} is not a number.")
    return float(value)


def _point(data: Mapping, mark: str, *, slice_count: int) -> Point:
    name = MARK_NAMES[mark]
    raw = {part: _value(data, mark, part) for part in PARTS}
    if any(value is None or value == "" for value in raw.values()):
        raise MarkError(f"The {name} is missing.")
    index = _number(raw["slice"], f"{name}'s slice")
    if index != int(index) or not 0 <= index < slice_count:
        raise MarkError(f"The {name} is on a slice the stack does not have.")
    x, y = _number(raw["x"], f"{name}'s x"), _number(raw["y"], f"{name}'s y")
    if not (0 <= x <= 1 and 0 <= y <= 1):
        raise MarkError(f"The {name} is outside the image.")
    return Point(slice=int(index), x=x, y=y)


@dataclass(frozen=True)
class Marks:
    target: Point
    entry: Point | None = None

    def as_json(self) -> dict:
        """As ``Answer.marks`` stores them."""
        points = {"entry": self.entry, "target": self.target}
        return {
            name: {"slice": p.slice, "x": round(p.x, 5), "y": round(p.y, 5)}
            for name, p in points.items()
            if p is not None
        }


def parse_marks(data: Mapping | None, *, kind: str, slice_count: int) -> Marks:
    """The marks in ``data`` (the POST data, or a dict as ``Answer.marks`` stores them) for a
    question of ``kind`` on a stack of ``slice_count`` slices. Raises MarkError."""
    if kind not in MARKS:
        raise MarkError("This question is not answered on an image.")
    if not isinstance(data, Mapping):
        raise MarkError("The marks are missing.")
    asked = MARKS[kind]
    for mark in MARK_NAMES:
        if mark not in asked and any(_value(data, mark, part) not in (None, "") for part in PARTS):
            raise MarkError(f"This question does not ask for a {MARK_NAMES[mark]}.")
    points = {mark: _point(data, mark, slice_count=slice_count) for mark in asked}
    return Marks(target=points["target"], entry=points.get("entry"))


@dataclass(frozen=True)
class Crossing:
    """Where the path first met a structure it should have missed."""

    label: str
    point: Point

    def as_json(self) -> dict:
        p = self.point
        return {"label": self.label, "slice": p.slice, "x": round(p.x, 5), "y": round(p.y, 5)}


@dataclass(frozen=True)
class Result:
    hit: bool
    crossings: tuple[Crossing, ...] = ()

    @property
    def crossed(self) -> list[str]:
        return [crossing.label for crossing in self.crossings]

    @property
    def is_correct(self) -> bool:
        return self.hit and not self.crossings

    def as_json(self) -> dict:
        """As ``Answer.result`` stores it: the labels crossed, and where (for the feedback)."""
        return {
            "hit": self.hit,
            "crossed": self.crossed,
            "crossings": [crossing.as_json() for crossing in self.crossings],
        }


@dataclass(frozen=True)
class RegionRow:
    """A region as the service reads it: ``QuestionRegion`` values, no model instance."""

    stack_id: int
    role: str
    label: str
    shapes: list


def usable_regions(rows: Iterable, *, stack_id: int, slice_count: int) -> list[RegionRow]:
    """The regions drawn on the question's own stack, with shapes that are sound. Regions on
    another stack (the question's stack was changed after they were drawn) never count, and
    neither does one whose shapes no longer fit the stack (processed again with fewer slices)."""
    usable = []
    for row in rows:
        row = row if isinstance(row, RegionRow) else RegionRow(*row)
        if row.stack_id != stack_id:
            continue
        try:
            shapes = clean_shapes(row.shapes, slice_count=slice_count)
        except RegionError:
            continue
        usable.append(RegionRow(row.stack_id, row.role, row.label, shapes))
    return usable


def route_crossings(
    geometry: Geometry, start: Point, end: Point, regions: Iterable[Region]
) -> list[Crossing]:
    """Each of ``regions`` the straight path from ``start`` to ``end`` passes through, with
    the first point of the path inside it (``geometry.crossed``, and where)."""
    regions = list(regions)
    labels = {region.label for region in regions}
    found: dict[str, Crossing] = {}
    for point in geometry.path(start, end):
        for region in regions:
            if region.label not in found and region.contains(point):
                found[region.label] = Crossing(region.label, point)
        if len(found) == len(labels):
            break
    return list(found.values())


def score(*, kind: str, marks: Marks, regions: Iterable[RegionRow], geometry=None) -> Result:
    """Mark the target: right when the target mark is inside a target region. Plan the route:
    right when it is, and the straight path from the entry point to it crosses no avoid region
    (``geometry``, of the question's stack, is needed for routes). ``regions`` are those of
    ``usable_regions``: with no target among them, no answer is right."""
    regions = list(regions)
    targets = [Region(r.shapes, r.label) for r in regions if r.role == TARGET]
    hit = any(region.contains(marks.target) for region in targets)
    if kind != ROUTE:
        return Result(hit=hit)
    avoid = [Region(r.shapes, r.label) for r in regions if r.role != TARGET]
    crossings = route_crossings(geometry, marks.entry, marks.target, avoid) if avoid else []
    return Result(hit=hit, crossings=tuple(crossings))


def stored_result(result: Mapping | None) -> Result:
    """A ``Result`` from ``Answer.result`` (JSON)."""
    result = result or {}
    crossings = tuple(
        Crossing(c["label"], Point(c["slice"], c["x"], c["y"])) for c in result.get("crossings", [])
    )
    if not crossings:  # results stored with labels only
        crossings = tuple(Crossing(label, None) for label in result.get("crossed", []))
    return Result(hit=bool(result.get("hit")), crossings=crossings)


def the_list(labels: list[str]) -> str:
    """ "the colon", "the colon and the spleen", "the colon, the spleen and the pleura"."""
    named = [f"the {label}" for label in labels]
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]


# Feedback: the slices that matter, with the regions and the learner's marks drawn over them.


@dataclass(frozen=True)
class Panel:
    """One slice of the feedback: the SVG's shapes in the image's own pixels."""

    index: int
    reasons: tuple[str, ...]
    regions: tuple[dict, ...]  # {"role", "label", "kind", "cx"... or "points"}
    marks: tuple[dict, ...]  # {"name", "x", "y", "here"}: "here" when marked on this slice
    path: dict | None  # {"x1", "y1", "x2", "y2"} of the route, seen from above this slice
    crossings: tuple[dict, ...]  # {"label", "x", "y"}

    @property
    def number(self) -> int:
        return self.index + 1


def _pixels(shape: dict, width: int, height: int) -> dict:
    if shape["kind"] == "ellipse":
        return {
            "kind": "ellipse",
            "cx": round(shape["cx"] * width, 2),
            "cy": round(shape["cy"] * height, 2),
            "rx": round(shape["rx"] * width, 2),
            "ry": round(shape["ry"] * height, 2),
        }
    points = " ".join(f"{x * width:.2f},{y * height:.2f}" for x, y in shape["points"])
    return {"kind": "polygon", "points": points}


def feedback_panels(
    *, marks: Marks, result: Result, regions: Iterable[RegionRow], width: int, height: int
) -> list[Panel]:
    """The slices to show after answering, in order: the one the target was marked on, the
    expert's nearest target slice when the mark's slice has none, and for routes the first
    slice on which the path met each structure it should have missed."""
    # The target first, in the drawing (under the rest) as in the words.
    regions = sorted(regions, key=lambda region: region.role != TARGET)
    reasons: dict[int, list[str]] = {}

    def add(index, reason):
        reasons.setdefault(index, []).append(reason)

    add(marks.target.slice, "your target")
    target_slices = sorted({s["slice"] for r in regions if r.role == TARGET for s in r.shapes})
    if target_slices and marks.target.slice not in target_slices:
        nearest = min(target_slices, key=lambda s: (abs(s - marks.target.slice), s))
        add(nearest, "the target")
    for crossing in result.crossings:
        if crossing.point is not None:
            add(crossing.point.slice, f"your route enters the {crossing.label}")
    chosen = sorted(list(reasons)[:MOST_FEEDBACK_SLICES])
    points = {"entry": marks.entry, "target": marks.target}
    radius = round(max(width, height) * 0.02, 2)
    panels = []
    for index in chosen:
        drawn = tuple(
            {"role": r.role, "label": r.label, **_pixels(s, width, height)}
            for r in regions
            for s in r.shapes
            if s["slice"] == index
        )
        shown = tuple(
            {
                "name": name,
                "x": round(p.x * width, 2),
                "y": round(p.y * height, 2),
                "r": radius,
                "left": round(p.x * width - radius, 2),
                "top": round(p.y * height - radius, 2),
                "side": round(2 * radius, 2),
                "here": p.slice == index,
                "slice_number": p.slice + 1,
            }
            for name, p in points.items()
            if p is not None
        )
        path = None
        if marks.entry is not None:
            path = {
                "x1": round(marks.entry.x * width, 2),
                "y1": round(marks.entry.y * height, 2),
                "x2": round(marks.target.x * width, 2),
                "y2": round(marks.target.y * height, 2),
            }
        met = tuple(
            {"label": c.label, "x": round(c.point.x * width, 2), "y": round(c.point.y * height, 2)}
            for c in result.crossings
            if c.point is not None and c.point.slice == index
        )
        panels.append(Panel(index, tuple(reasons[index]), drawn, shown, path, met))
    return panels
