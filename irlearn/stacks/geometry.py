"""Regions drawn on a stack's slices, and what a point or a straight needle path meets.

Coordinates are fractions of the image's width and height (0 to 1, from the top left), so a
region stays put whatever size the slices are rendered at; a slice is its index in the stack.
Distances are in millimetres from the stack's spacing and slice positions, so a path sampled
every millimetre crosses every slice it passes through (slices are a millimetre apart or more).

Shapes (JSON, as the admin stores them):
    {"slice": 12, "kind": "ellipse", "cx": 0.61, "cy": 0.55, "rx": 0.05, "ry": 0.04}
    {"slice": 12, "kind": "polygon", "points": [[0.5, 0.5], [0.6, 0.5], [0.55, 0.6]]}
"""

import math
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

MAX_POLYGON_POINTS = 200
MAX_SHAPES = 500


class RegionError(ValueError):
    """A region that cannot be used, with the message an editor reads."""


@dataclass(frozen=True)
class Point:
    slice: int
    x: float
    y: float


def _fraction(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RegionError(f"{what} must be a number.")
    if not 0 <= value <= 1:
        raise RegionError(f"{what} must lie on the image (between 0 and 1).")
    return float(value)


def clean_shapes(raw, *, slice_count: int) -> list[dict]:
    """The shapes of ``raw`` (decoded JSON), checked against a stack of ``slice_count`` slices.

    Raises RegionError saying what is wrong."""
    if not isinstance(raw, list) or not raw:
        raise RegionError("Draw the region on at least one slice.")
    if len(raw) > MAX_SHAPES:
        raise RegionError(f"A region can have at most {MAX_SHAPES} shapes.")
    shapes = []
    for shape in raw:
        if not isinstance(shape, dict):
            raise RegionError("Each shape must be an object.")
        index = shape.get("slice")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < slice_count:
            raise RegionError(
                f"A shape is on slice {index!r}, which the stack does not have "
                f"(it has slices 1 to {slice_count})."
            )
        kind = shape.get("kind")
        if kind == "ellipse":
            cleaned = {
                "slice": index,
                "kind": kind,
                "cx": _fraction(shape.get("cx"), "An ellipse's centre"),
                "cy": _fraction(shape.get("cy"), "An ellipse's centre"),
                "rx": _fraction(shape.get("rx"), "An ellipse's width"),
                "ry": _fraction(shape.get("ry"), "An ellipse's height"),
            }
            if cleaned["rx"] <= 0 or cleaned["ry"] <= 0:
                raise RegionError("An ellipse must have a width and a height.")
        elif kind == "polygon":
            points = shape.get("points")
            if not isinstance(points, list) or not 3 <= len(points) <= MAX_POLYGON_POINTS:
                raise RegionError(f"A polygon needs 3 to {MAX_POLYGON_POINTS} points.")
            cleaned = {"slice": index, "kind": kind, "points": []}
            for point in points:
                if not isinstance(point, list) or len(point) != 2:
                    raise RegionError("A polygon's points are [x, y] pairs.")
                cleaned["points"].append(
                    [_fraction(point[0], "A polygon point"), _fraction(point[1], "A polygon point")]
                )
        else:
            raise RegionError("A shape is an ellipse or a polygon.")
        shapes.append(cleaned)
    return shapes


def shape_contains(shape: dict, x: float, y: float) -> bool:
    """Whether (x, y) lies inside ``shape`` (an ellipse's rx and ry are fractions of the
    image's width and height, as its centre is)."""
    if shape["kind"] == "ellipse":
        dx = (x - shape["cx"]) / shape["rx"]
        dy = (y - shape["cy"]) / shape["ry"]
        return dx * dx + dy * dy <= 1
    inside = False
    points = shape["points"]
    j = len(points) - 1
    for i, (xi, yi) in enumerate(points):
        xj, yj = points[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


class Region:
    """One region's shapes, by slice, for quick tests."""

    def __init__(self, shapes: Iterable[dict], label: str = ""):
        self.label = label
        self.by_slice = defaultdict(list)
        for shape in shapes:
            self.by_slice[shape["slice"]].append(shape)

    @property
    def slices(self) -> list[int]:
        return sorted(self.by_slice)

    def contains(self, point: Point) -> bool:
        return any(shape_contains(s, point.x, point.y) for s in self.by_slice.get(point.slice, ()))


@dataclass(frozen=True)
class Geometry:
    """What is needed to turn slice and fractions into millimetres."""

    width_mm: float
    height_mm: float
    positions: tuple[float, ...]  # of each slice along the stack's normal, in mm

    @classmethod
    def of(cls, stack, positions: list) -> "Geometry":
        column = stack.column_spacing or 1.0
        row = stack.row_spacing or 1.0
        step = stack.slice_spacing or 1.0
        places = tuple(float(p) if p is not None else i * step for i, p in enumerate(positions))
        return cls(width_mm=stack.width * column, height_mm=stack.height * row, positions=places)

    def to_mm(self, point: Point) -> tuple[float, float, float]:
        return (point.x * self.width_mm, point.y * self.height_mm, self.positions[point.slice])

    def path(self, start: Point, end: Point, step_mm: float = 1.0) -> Iterator[Point]:
        """Points along the straight line from ``start`` to ``end``, every ``step_mm`` or less,
        each on the slice nearest to it."""
        (x0, y0, z0), (x1, y1, z1) = self.to_mm(start), self.to_mm(end)
        length = math.dist((x0, y0, z0), (x1, y1, z1))
        steps = max(1, math.ceil(length / step_mm))
        ordered = sorted(range(len(self.positions)), key=self.positions.__getitem__)
        places = [self.positions[i] for i in ordered]
        for n in range(steps + 1):
            t = n / steps
            z = z0 + t * (z1 - z0)
            yield Point(
                slice=_nearest(ordered, places, z),
                x=(x0 + t * (x1 - x0)) / self.width_mm,
                y=(y0 + t * (y1 - y0)) / self.height_mm,
            )


def _nearest(ordered: list[int], places: list[float], z: float) -> int:
    at = bisect_left(places, z)
    if at == 0:
        return ordered[0]
    if at == len(places):
        return ordered[-1]
    return ordered[at] if places[at] - z < z - places[at - 1] else ordered[at - 1]


def crossed(geometry: Geometry, start: Point, end: Point, regions: Iterable[Region]) -> list[str]:
    """The labels of ``regions`` that the path from ``start`` to ``end`` passes through."""
    regions = list(regions)
    hit = []
    for point in geometry.path(start, end):
        for region in regions:
            if region.label not in hit and region.contains(point):
                hit.append(region.label)
    return hit
