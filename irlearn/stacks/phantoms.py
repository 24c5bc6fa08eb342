"""Synthetic phantom cases: CT and ultrasound drawn in code, written as real DICOM.

No patient image is used anywhere in IRLearn's demo. Each phantom here is anatomy drawn with
numpy from simple shapes (ellipses, ellipsoids, tapered tubes, domes) in millimetres, in the
patient's coordinates (x towards the patient's left, y towards the back, z towards the head), at
plausible Hounsfield units or echo strengths. What makes it read as CT or ultrasound rather than as
a diagram is the physics, imitated cheaply: partial volume (every edge is soft, and each slice
averages two planes through its thickness), a slight blur and correlated noise for CT;
speckle, depth attenuation, posterior acoustic enhancement and a sector scan conversion for
ultrasound. Noise is seeded, so a phantom's pixels are the same on every run.

``PHANTOMS`` describes each case (what the stack's row says, learners read and screen readers
announce); ``phantom.build()`` returns the bytes an editor would upload (a zip of a CT series, or
one multi-frame ultrasound file), written by synthetic.py. The files say "SYNTHETIC^PHANTOM".

Slice numbers in the descriptions (and the lessons that use these stacks) are those learners
see: processing orders an axial CT series as radiologists scroll it, head first, so slice 1 is
the highest (``CTVolume.shown_number``). tests/stacks/test_phantoms.py checks them on the images.

``phantom_regions(slug)`` gives the structures the demo's image questions key (a target, what
the needle must miss) as shapes per slice, traced from the same geometry the drawing paints, less
what is painted over them (the end of this file); tests/stacks/test_phantom_questions.py checks
them against the images and the scorer.
"""

import copy
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from irlearn.stacks import synthetic

CREDIT = "IRLearn synthetic phantom"
SOURCE = "Computer-generated for IRLearn (irlearn/stacks/phantoms.py); not a patient."


# --- Drawing CT slices -------------------------------------------------------------------------


class Slab:
    """One plane of a CT slice being drawn: Hounsfield units on a square grid of ``size`` pixels
    ``spacing`` mm apart, centred on the body; ``z`` is the plane's height in mm.

    Shapes are painted in order, each over what is there, blending over one pixel at the edge
    (the partial volume of a real scanner). Each is computed only inside its bounding box."""

    def __init__(self, size: int, spacing: float, z: float, fill: float = -1000.0):
        self.size, self.spacing, self.z = size, spacing, z
        self.coords = ((np.arange(size) - size / 2) * spacing).astype(np.float32)
        self.X, self.Y = _grid(size, spacing)
        self.hu = np.full((size, size), fill, dtype=np.float32)
        # Signed distance from the inside of the body wall, for organs to stay within.
        self.cavity: np.ndarray | None = None

    def box(self, x0, x1, y0, y1):
        """The part of the grid covering x0..x1, y0..y1 mm: (rows, columns), X, Y."""
        first, step = float(self.coords[0]), self.spacing
        c0, c1 = max(0, int((x0 - first) / step) - 1), min(self.size, int((x1 - first) / step) + 2)
        r0, r1 = max(0, int((y0 - first) / step) - 1), min(self.size, int((y1 - first) / step) + 2)
        if c0 >= c1 or r0 >= r1:
            return None
        where = (slice(r0, r1), slice(c0, c1))
        return where, self.X[where], self.Y[where]

    def full(self):
        return self.box(-1e9, 1e9, -1e9, 1e9)

    def paint(self, region, distance: Callable, value, *, clip=None, edge: float | None = None):
        """Fill where ``distance(X, Y)`` (a signed distance in mm, negative inside) is below 0,
        and inside ``clip`` (a full-size signed distance array) if given."""
        if region is None:
            return
        where, X, Y = region
        d = distance(X, Y)
        if clip is not None:
            d = np.maximum(d, clip if clip.shape == d.shape else clip[where])
        cover = np.clip(0.5 - d / (edge or self.spacing), 0.0, 1.0)
        if not cover.any():
            return
        part = self.hu[where]
        target = value(X, Y) if callable(value) else value
        part += (target - part) * cover

    def ellipse(self, value, cx, cy, a, b, angle=0.0, *, clip=None, wobble=None):
        """An ellipse; ``wobble`` (amplitudes of a few lobes) makes its outline irregular."""
        grow = (1 + 2 * sum(wobble)) if wobble else 1.0
        c, s = math.cos(angle), math.sin(angle)
        half_x = math.hypot(a * c, b * s) * grow + 2 * self.spacing
        half_y = math.hypot(a * s, b * c) * grow + 2 * self.spacing
        region = self.box(cx - half_x, cx + half_x, cy - half_y, cy + half_y)

        def sd(X, Y):
            d = ellipse_sd(X, Y, cx, cy, a, b, angle)
            if wobble:
                theta = np.arctan2(Y - cy, X - cx)
                bumps = sum(
                    w * np.sin((i + 2) * theta + 1.7 * i + cx * 0.1) for i, w in enumerate(wobble)
                )
                d = d - bumps * min(a, b)
            return d

        self.paint(region, sd, value, clip=clip)

    def capsule(self, value, p0, p1, r0, r1=None, *, clip=None):
        """A tube from p0 to p1 (x, y, z mm), radius r0 tapering to r1; skipped if the plane
        misses it."""
        r1 = r0 if r1 is None else r1
        reach = max(r0, r1) + 2 * self.spacing
        if not min(p0[2], p1[2]) - reach < self.z < max(p0[2], p1[2]) + reach:
            return
        region = self.box(
            min(p0[0], p1[0]) - reach,
            max(p0[0], p1[0]) + reach,
            min(p0[1], p1[1]) - reach,
            max(p0[1], p1[1]) + reach,
        )
        self.paint(region, lambda X, Y: capsule_sd(X, Y, self.z, p0, p1, r0, r1), value, clip=clip)

    def path(self, value, points, r0, r1=None, *, clip=None):
        """Tubes joining ``points``, the radius going from r0 to r1 along the way."""
        r1 = r0 if r1 is None else r1
        n = len(points) - 1
        for i, (p0, p1) in enumerate(zip(points, points[1:], strict=False)):
            self.capsule(
                value, p0, p1, r0 + (r1 - r0) * i / n, r0 + (r1 - r0) * (i + 1) / n, clip=clip
            )

    def ball(self, value, centre, radius, *, squash=1.0, clip=None):
        """A sphere (an ellipsoid flattened along z by ``squash``)."""
        dz = (self.z - centre[2]) * squash
        if abs(dz) >= radius + 2 * self.spacing:
            return
        self.ellipse(
            value, centre[0], centre[1], *(2 * [math.sqrt(max(radius**2 - dz**2, 0.01))]), clip=clip
        )


@functools.cache
def _grid(size: int, spacing: float):
    coords = ((np.arange(size) - size / 2) * spacing).astype(np.float32)
    X, Y = np.meshgrid(coords, coords)
    X.flags.writeable = Y.flags.writeable = False
    return X, Y


def ellipse_sd(X, Y, cx, cy, a, b, angle=0.0):
    """Signed distance (mm, approximate) from an ellipse with semi-axes a, b, its a-axis turned
    ``angle`` radians from the x axis (towards +y)."""
    # Plain floats where the axes are numbers: a NumPy float64 would turn float32 grids into
    # float64 ones, twice the work.
    if np.ndim(a) == 0 and np.ndim(b) == 0:
        a, b = max(float(a), 0.05), max(float(b), 0.05)
    else:
        a, b = np.maximum(a, 0.05), np.maximum(b, 0.05)
    cx = float(cx) if np.ndim(cx) == 0 else cx
    cy = float(cy) if np.ndim(cy) == 0 else cy
    c, s = math.cos(angle), math.sin(angle)
    dx, dy = X - cx, Y - cy
    u = dx * c + dy * s
    v = dy * c - dx * s
    ua, vb = u / a, v / b
    r = np.sqrt(ua * ua + vb * vb)
    grad = np.sqrt((ua / a) ** 2 + (vb / b) ** 2) / np.maximum(r, 1e-6)
    return (r - 1.0) / np.maximum(grad, 1e-6)


def superellipse_sd(X, Y, cx, cy, a, b, power):
    """Signed distance (approximate) from a rounded rectangle |x/a|^p + |y/b|^p = 1."""
    u, v = np.abs(X - cx) / a, np.abs(Y - cy) / b
    f = (u**power + v**power) ** (1.0 / power)
    fu = np.where(u > 0, u ** (power - 1), 0) * f ** (1 - power) / a
    fv = np.where(v > 0, v ** (power - 1), 0) * f ** (1 - power) / b
    return (f - 1.0) / np.maximum(np.sqrt(fu**2 + fv**2), 1e-6)


def capsule_sd(X, Y, z, p0, p1, r0, r1=None):
    """Signed distance from a tube from p0 to p1 (x, y, z in mm), radius r0 tapering to r1."""
    r0 = float(r0)
    r1 = r0 if r1 is None else float(r1)
    x0, y0, z0 = (float(v) for v in p0)
    ax, ay, az = float(p1[0]) - x0, float(p1[1]) - y0, float(p1[2]) - z0
    length2 = ax * ax + ay * ay + az * az or 1e-9
    dx, dy = X - x0, Y - y0
    dz = z - z0 if np.ndim(z) else float(z) - z0
    t = np.clip((dx * ax + dy * ay + dz * az) / length2, 0.0, 1.0)
    ex, ey, ez = dx - t * ax, dy - t * ay, dz - t * az
    return np.sqrt(ex * ex + ey * ey + ez * ez) - (r0 + (r1 - r0) * t)


def ellipsoid_section(z, centre, axes, angle=0.0):
    """The ellipse (cx, cy, a, b, angle) where the plane at height z cuts an ellipsoid whose
    third axis is vertical, or None. Axes are (a, b, c) in mm."""
    cx, cy, cz = centre
    a, b, c = axes
    t = (z - cz) / c
    if abs(t) >= 1:
        return None
    scale = math.sqrt(1 - t * t)
    return cx, cy, a * scale, b * scale, angle


def lerp(z, points):
    """Linear interpolation of values (tuples) given at heights: points = [(z, value), ...]."""
    zs = [p[0] for p in points]
    order = np.argsort(zs)
    zs = np.asarray(zs, dtype=float)[order]
    values = np.asarray([p[1] for p in points], dtype=float)[order]
    if values.ndim == 1:
        return float(np.interp(z, zs, values))
    return tuple(float(np.interp(z, zs, values[:, i])) for i in range(values.shape[1]))


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur in pixels (numpy only: the phantoms need no SciPy)."""
    if sigma <= 0:
        return image
    radius = max(1, int(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps = (taps / taps.sum()).astype(np.float32)
    out = np.asarray(image, dtype=np.float32)
    for axis in range(out.ndim):
        moved = np.moveaxis(out, axis, 0)
        padded = np.concatenate(
            [np.repeat(moved[:1], radius, 0), moved, np.repeat(moved[-1:], radius, 0)]
        )
        acc = taps[0] * padded[: len(moved)]
        for i in range(1, len(taps)):
            acc += taps[i] * padded[i : i + len(moved)]
        out = np.moveaxis(acc, 0, axis)
    return np.ascontiguousarray(out)


def ct_noise(rng, shape, sigma_hu: float) -> np.ndarray:
    """CT-like noise: white noise softened to a fine grain (reconstruction filters correlate
    neighbouring pixels), scaled back to ``sigma_hu``."""
    noise = gaussian_blur(rng.standard_normal(shape).astype(np.float32), 0.7)
    return noise * (sigma_hu / float(noise.std()))


@dataclass
class CTVolume:
    """A drawn CT series: ``hu[k]`` is the k-th slice from the head down (as a scanner numbers
    them) at height ``top - k * slice_spacing``, ``spacing`` mm between pixels."""

    hu: np.ndarray
    spacing: float
    slice_spacing: float
    top: float = 0.0

    @property
    def count(self) -> int:
        return self.hu.shape[0]

    def shown_number(self, z: float) -> int:
        """The number learners see for the slice at height z: processing orders axial slices
        head first, as the scanner numbered them here, so the highest is slice 1."""
        k = min(max(round((self.top - z) / self.slice_spacing), 0), self.count - 1)
        return k + 1


def draw_ct(
    draw: Callable[[Slab], None],
    *,
    count: int,
    size: int,
    spacing: float,
    slice_spacing: float,
    seed: int,
    top: float = 0.0,
    noise_hu: float = 10.0,
) -> CTVolume:
    """Draw ``count`` slices from z = ``top`` downwards. Each slice is the mean of two planes
    through its thickness (so structures fade in and out over neighbouring slices), blurred
    slightly, with seeded noise."""
    rng = np.random.default_rng(seed)
    offsets = (-slice_spacing / 4, slice_spacing / 4)
    if hasattr(draw, "prepare"):
        draw.prepare(
            [top - k * slice_spacing + o for k in range(count) for o in offsets], size, spacing
        )
    hu = np.empty((count, size, size), dtype=np.float32)
    for k in range(count):
        planes = []
        for offset in offsets:
            slab = Slab(size, spacing, top - k * slice_spacing + offset)
            draw(slab)
            planes.append(slab.hu)
        image = gaussian_blur((planes[0] + planes[1]) / 2, 0.6)
        # Only a little noise in the air outside the body: stored values stop at -1024 HU.
        hu[k] = image + ct_noise(rng, image.shape, noise_hu) * np.where(image > -950, 1.0, 0.4)
    return CTVolume(hu, spacing, slice_spacing, top)


def ct_upload(volume: CTVolume) -> bytes:
    """A zip of the volume as one DICOM series, as an editor would upload it."""
    return synthetic.zip_of(
        synthetic.ct_series(
            list(volume.hu), pixel_spacing=volume.spacing, slice_spacing=volume.slice_spacing
        )
    )


# --- The abdomen ----------------------------------------------------------------------------

# Attenuation (HU) without contrast, and in the portal venous phase of contrast-enhanced CT.
PLAIN = {
    "fat": -105, "visceral_fat": -95, "skin": 10, "muscle": 52, "liver": 58, "liver_vessel": 42,
    "spleen": 47, "kidney": 40, "sinus_fat": -80, "urine": 0, "pancreas": 38, "aorta": 42,
    "ivc": 40, "portal": 42, "hepatic_vein": 42, "renal_vein": 40, "bowel_wall": 38,
    "bowel_fluid": 14, "bile": 8, "stomach_fluid": 14, "adrenal": 28, "cortex": 900,
    "cancellous": 230, "disc": 85, "csf": 12, "epidural_fat": -70, "cartilage": 130,
    "lung": -860, "diaphragm": 50, "plaque": 650, "faeces": -40, "heart": 45,
}  # fmt: skip
PORTAL = {
    **PLAIN, "muscle": 62, "liver": 108, "liver_vessel": 165, "spleen": 112, "kidney": 165,
    "pancreas": 95, "aorta": 150, "ivc": 125, "portal": 170, "hepatic_vein": 150,
    "renal_vein": 160, "bowel_wall": 85, "adrenal": 70, "diaphragm": 62, "heart": 150,
}  # fmt: skip


@dataclass(frozen=True)
class Kidney:
    """A kidney as a stack of axial ellipses whose centre moves from the upper pole (further in
    and further back) to the lower pole, the long axis of each turned so that the hilum faces
    forwards and inwards and the lateral border backwards and outwards."""

    side: int  # +1 left, -1 right
    top: float  # z of the upper pole
    bottom: float
    upper: tuple  # (x, y) of the centre near the upper pole
    lower: tuple  # near the lower pole
    a: float  # semi-axes of the largest section: hilum to lateral border, and thickness
    b: float
    angle: float  # degrees between the long axis and the coronal plane

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2

    def t(self, z: float) -> float:
        """+1 at the upper pole, -1 at the lower."""
        return (z - self.middle) / ((self.top - self.bottom) / 2)

    def section(self, z: float):
        """(cx, cy, a, b, angle) of the kidney's outline at height z, or None."""
        t = self.t(z)
        if abs(t) >= 1:
            return None
        scale = (1 - abs(t) ** 2.4) ** 0.5
        frac = (1 - t) / 2
        cx = self.upper[0] + (self.lower[0] - self.upper[0]) * frac
        cy = self.upper[1] + (self.lower[1] - self.upper[1]) * frac
        return cx, cy, self.a * scale, self.b * scale, self.turn

    @property
    def turn(self) -> float:
        # Left kidney (x > 0): long axis towards +x, +y; the right one mirrored.
        return math.radians(self.angle) if self.side > 0 else math.pi - math.radians(self.angle)

    def point(self, z: float, across: float, back: float) -> tuple:
        """A point of the section at z, ``across`` semi-axes towards the lateral border (-1 is
        the hilum) and ``back`` semi-axes towards the posterior surface."""
        cx, cy, a, b, turn = self.section(z)
        u = np.array([math.cos(turn), math.sin(turn)])
        v = np.array([-u[1], u[0]])
        if v[1] < 0:
            v = -v
        x, y = np.array([cx, cy]) + u * across * a + v * back * b
        return float(x), float(y), float(z)


LEFT_HYDRO = Kidney(+1, -36.0, -180.0, (64.0, 40.0), (78.0, 20.0), 37.0, 26.0, 36.0)
LEFT_NORMAL = Kidney(+1, -40.0, -160.0, (62.0, 40.0), (80.0, 24.0), 31.0, 21.0, 36.0)
RIGHT_NORMAL = Kidney(-1, -56.0, -172.0, (-60.0, 40.0), (-78.0, 24.0), 30.0, 21.0, 36.0)

# The obstructed left kidney: dilated calyces as (z, across, back, radius). Back > 0 is a
# posterior calyx. The lower-pole posterior calyx is the nephrostomy target.
HYDRO_CALYCES = {
    "upper-posterior": (-62.0, 0.25, 0.40, 10.0),
    "upper-anterior": (-70.0, 0.30, -0.42, 9.0),
    "middle-posterior": (-100.0, 0.42, 0.45, 11.5),
    "middle-anterior": (-108.0, 0.45, -0.45, 10.0),
    "lower-posterior": (-144.0, 0.38, 0.42, 13.0),
    "lower-anterior": (-154.0, 0.40, -0.42, 9.0),
}
PELVIS = (54.0, 14.0, -114.0)  # the dilated renal pelvis, in front of and inside the hilum
URETER = [PELVIS, (50.0, 8.0, -132.0), (46.0, 3.0, -156.0), (43.0, 0.0, -180.0)]
STONE = (42.5, -0.5, -187.0)

# Colon: ascending on the right, transverse in front, descending on the left; beside the lower
# pole of the left kidney it lies lateral to it and a little behind. (path, how much faeces
# from about -0.5 to 0.5, outer radius in mm)
COLON = (
    (
        [(96, -30, -20), (112, -6, -70), (118, 22, -118), (120, 46, -150), (118, 50, -176),
         (106, 34, -205), (92, 10, -240)],
        -0.15,
        13.0,
    ),
    ([(-110, -24, -100), (-116, -2, -140), (-112, 8, -185), (-102, -4, -240)], -0.2, 16.5),
    (
        [(-110, -24, -100), (-62, -78, -112), (0, -86, -122), (62, -70, -108), (96, -30, -20)],
        0.2,
        16.5,
    ),
)  # fmt: skip
# The gallbladder in its fossa under the liver, fundus forwards and down: a tube from the neck
# to the fundus, (neck, fundus, radius at the neck, radius at the fundus).
GALLBLADDER_FOSSA = ((-40, -34, -66), (-50, -62, -102), 12, 16)
# The portal vein up to the hilum, then right (anterior, posterior) and left branches; the
# right, middle and left hepatic veins fanning out from the IVC at the dome:
# (from, to, radius there, radius here, which).
LIVER_VESSELS = (
    ((-8, -14, -80), (-34, -14, -48), 8.5, 7.5, "portal"),
    ((-34, -14, -48), (-68, -8, -42), 7.0, 5.5, "portal"),
    ((-68, -8, -42), (-112, 6, -56), 5.0, 2.5, "portal"),
    ((-68, -8, -42), (-106, 30, -30), 4.5, 2.0, "portal"),
    ((-68, -8, -42), (-100, -40, -36), 4.5, 2.0, "portal"),
    ((-34, -14, -48), (-4, -40, -40), 5.5, 3.5, "portal"),
    ((-4, -40, -40), (30, -58, -34), 3.5, 2.0, "portal"),
    ((-24, 12, 24), (-112, 16, 4), 6.5, 2.5, "hepatic"),
    ((-24, 12, 24), (-62, -52, -6), 6.0, 2.5, "hepatic"),
    ((-24, 12, 24), (22, -50, 10), 5.0, 2.0, "hepatic"),
)


def ivc_section(z: float) -> tuple:
    """(cx, cy, a, b, angle) of the inferior vena cava at height z: to the right, within the
    back of the liver at the top."""
    return (-22, 4 + 0.03 * z, 13, 9.5, 0.3)


def liver_shape(z: float):
    """The liver's signed distance at height z, as a function of (X, Y), or None above or
    below it: a dome under the right hemidiaphragm, the right lobe reaching down beside the
    right kidney, the left lobe crossing the midline in front at the top."""
    if not -140 < z < 55:
        return None
    t = (z + 8) / (63 if z > -8 else 132)
    scale = math.sqrt(max(0.0, 1 - min(abs(t), 1.0) ** 2)) ** 0.8
    cx, cy = lerp(z, [(50, (-58, -5)), (-8, (-70, -2)), (-80, (-92, -10)), (-140, (-108, -22))])
    ax, ay = lerp(z, [(50, (95, 100)), (-8, (90, 102)), (-80, (55, 65)), (-140, (38, 40))])
    lobe = lerp(z, [(50, 1.0), (-20, 0.95), (-62, 0.0)])

    def liver_sd(X, Y):
        sd = ellipse_sd(X, Y, cx, cy, ax * scale, ay * scale, -0.3)
        if lobe > 0.05:
            sd = np.minimum(sd, ellipse_sd(X, Y, 12, -58, 66 * lobe, 30 * lobe, 0.12))
        return sd

    return liver_sd


def spleen_shape(z: float):
    """((x, y) of its centre, signed distance function) of the spleen at height z, or None: a
    crescent against the left posterolateral wall."""
    section = ellipsoid_section(z, (96, 28, -20), (30, 62, 64))
    if not section:
        return None
    cx, cy, a1, b1, _ = section

    def spleen_sd(X, Y):
        return np.maximum(
            ellipse_sd(X, Y, cx, cy, a1, b1, -0.5),
            -ellipse_sd(X, Y, cx - 36, cy - 10, a1 * 0.75, b1 * 0.8, -0.5),
        )

    return (cx, cy), spleen_sd


def abscess_sd(X, Y, z, abscess, grow=0.0):
    """Signed distance from the liver abscess ``abscess`` = (centre, radius): a lobulated
    sphere, a little larger below; ``grow`` mm outwards (its wall, the oedema round it)."""
    (cx, cy, cz), radius = abscess
    dx, dy, dz = X - cx, Y - cy, z - cz
    r = np.sqrt(dx**2 + dy**2 + dz**2)
    theta = np.arctan2(dy, dx)
    lobes = 1 + 0.08 * np.sin(3 * theta + 0.8) + 0.05 * np.cos(5 * theta + 0.3) + 0.06 * dz / radius
    return r - radius * lobes - grow


class Abdomen:
    """An adult abdomen from the lung bases (z = +40) down to L4 (z = -220), lying on its back on
    the CT table. ``contrast`` is PLAIN or PORTAL; ``hydronephrosis`` draws an obstructed left
    kidney (a stone in the upper ureter); ``abscess`` is (centre, radius) of a liver abscess."""

    def __init__(self, *, contrast: dict, hydronephrosis: bool = False, abscess=None, seed=1):
        self.hu = contrast
        self.hydronephrosis = hydronephrosis
        self.abscess = abscess
        self.left_kidney = LEFT_HYDRO if hydronephrosis else LEFT_NORMAL
        self._outline_key, self._outline = None, None
        self._lung_key, self._lung = None, None
        rng = np.random.default_rng(seed)
        # Small bowel: winding chains of short segments in the front of the lower abdomen.
        self.loops = []
        for _ in range(16):
            point = np.array([rng.uniform(-80, 75), rng.uniform(-90, -15), rng.uniform(-225, -95)])
            direction = rng.normal(size=3)
            chain = [tuple(point)]
            for _ in range(4):
                direction = direction + rng.normal(size=3) * 0.9
                direction[2] *= 0.5
                direction /= np.linalg.norm(direction)
                point = point + direction * rng.uniform(14, 24)
                point[0] = np.clip(point[0], -90, 85)
                point[1] = np.clip(point[1], -95, -8)
                chain.append(tuple(point))
            self.loops.append((chain, rng.uniform(7.5, 11.0), rng.random() < 0.3))
        grain = gaussian_blur(rng.standard_normal((256, 256)).astype(np.float32), 1.6)
        self.grain = grain / grain.std()

    # The outline: skin, fat and the muscle wall, computed once per 4 mm.

    def dimensions(self, z):
        half_width = 164 + 4 * math.sin(-z / 70) + 0.03 * -z
        half_depth = 112 + 0.015 * -z
        return half_width, half_depth

    def body_sd(self, X, Y, z: float):
        """Signed distance from the skin at height z (drawn once for every 4 mm), flattened
        where the back lies on the table."""
        a, b = self.dimensions(round(z / 4) * 4.0)
        return np.maximum(superellipse_sd(X, Y, 0.0, -5.0, a, b, 2.4), Y - (b - 12))

    def outline(self, s: Slab):
        """The body wall at this height (skin, fat, the muscle layers, the table), drawn once
        for every 4 mm: (the drawing, the muscle layer's and the cavity's signed distances)."""
        key = round(s.z / 4)
        if key != self._outline_key:
            hu = self.hu
            a, b = self.dimensions(key * 4.0)
            base = Slab(s.size, s.spacing, key * 4.0)
            whole = base.full()
            X, Y = whole[1], whole[2]
            body = self.body_sd(X, Y, key * 4.0)
            fat = 14 + 11 * np.clip(-Y / b, 0, 1) ** 0.8 + 6 * np.clip(np.abs(X) / a, 0, 1) ** 4
            muscle = body + fat
            cavity = muscle + 10 + 4 * np.clip(-Y / b, 0, 1)
            self.table(base, b)
            base.paint(whole, lambda X, Y: body, hu["skin"])
            base.paint(whole, lambda X, Y: body + 2.0, hu["fat"])
            base.paint(whole, lambda X, Y: muscle, hu["muscle"])
            # Fat planes between the three muscles of the lateral wall.
            for depth in (0.33, 0.62):
                base.paint(
                    whole,
                    lambda X, Y, d=depth: np.maximum(
                        np.abs(muscle + (cavity - muscle) * d) - 0.7, Y + 10 - np.abs(X) * 0.5
                    ),
                    hu["fat"] + 20,
                )
            base.paint(whole, lambda X, Y: cavity, hu["visceral_fat"])
            linea = base.box(-4, 4, -b - 10, -b + 40)
            base.paint(linea, lambda X, Y: np.maximum(np.abs(X) - 1.2, muscle[linea[0]]), hu["fat"])
            self._outline_key, self._outline = key, (base.hu, muscle, cavity)
        return self._outline

    # The order in which the parts are painted, each over what is there.
    STEPS = (
        "organs",
        "upper_gut",
        "kidneys",
        "bowel",
        "vessels",
        "lungs",
        "muscles",
        "spine",
        "ribs",
    )

    def __call__(self, s: Slab, *, after: str | None = None) -> None:
        """Draw the plane ``s``; with ``after`` (a step), only the steps after that one, over
        what ``s`` holds (to find what they leave showing of something painted before)."""
        base, muscle, cavity = self.outline(s)
        if after is None:
            s.hu[:] = base
        s.cavity = cavity
        steps = self.STEPS[self.STEPS.index(after) + 1 :] if after else self.STEPS
        for step in steps:
            if step == "muscles":
                self.muscles(s, muscle)
            else:
                getattr(self, step)(s)

    def table(self, s, b):
        top = b - 11
        region = s.box(-175, 175, top - 4, top + 30)

        def curve(X, Y, offset, thick):
            return np.maximum(np.abs(Y - (top + offset + 0.0007 * X**2)) - thick, np.abs(X) - 170)

        s.paint(region, lambda X, Y: curve(X, Y, 9, 7.5), -900)  # foam core
        s.paint(region, lambda X, Y: curve(X, Y, 2.5, 1.2), 120)  # carbon-fibre skins
        s.paint(region, lambda X, Y: curve(X, Y, 15.5, 1.2), 120)

    # Organs --------------------------------------------------------------------------------

    def organs(self, s):
        """The liver (its vessels, any abscess), the gallbladder and the spleen."""
        z, hu = s.z, self.hu
        cavity = s.cavity
        liver_sd = liver_shape(z)
        if liver_sd is not None:
            region = s.box(-170, 90, -130, 110)
            s.paint(region, liver_sd, hu["liver"], clip=cavity + 1.5)
            self.liver_vessels(s, region, liver_sd)
            if self.abscess is not None:
                self.draw_abscess(s)
        # Gallbladder in its fossa under the liver, fundus forwards and down.
        s.capsule(hu["bile"], *GALLBLADDER_FOSSA, clip=cavity + 4)
        # Spleen: a crescent against the left posterolateral wall.
        spleen = spleen_shape(z)
        if spleen is not None:
            centre, spleen_sd = spleen
            region = s.box(centre[0] - 70, centre[0] + 70, centre[1] - 70, centre[1] + 70)
            s.paint(region, spleen_sd, hu["spleen"], clip=cavity + 1.5)

    def upper_gut(self, s):
        """The stomach, pancreas and duodenum, and the adrenals."""
        z, hu = s.z, self.hu
        # Stomach: fluid at the back, gas in front (the patient lies on their back).
        section = ellipsoid_section(z, (42, -52, 14), (50, 36, 72), 0.3)
        if section:
            cx, cy, a1, b1, ang = section
            s.ellipse(hu["bowel_wall"], cx, cy, a1, b1, ang, wobble=[0.03, 0.02])
            s.ellipse(
                hu["stomach_fluid"],
                cx,
                cy,
                max(a1 - 4, 0.1),
                max(b1 - 4, 0.1),
                ang,
                wobble=[0.03, 0.02],
            )
            level = cy - b1 * 0.15
            region = s.box(cx - a1, cx + a1, cy - a1, level)
            s.paint(
                region,
                lambda X, Y: np.maximum(ellipse_sd(X, Y, cx, cy, a1 - 4, b1 - 4, ang), Y - level),
                -1000,
            )
        # Pancreas: the head by the duodenum, the body in front of the aorta, the tail towards
        # the splenic hilum, lobulated by fat.
        if -100 < z < -54:
            w = 1 - ((z + 77) / 23) ** 2
            points = [(-42, -6, z), (-12, -26, z), (30, -24, z), (72, -4, z)]
            s.path(
                lambda X, Y: hu["pancreas"] + 18 * np.clip(self.grain_at(s, X, Y), -2, 0),
                points,
                11 * w,
                8 * w,
            )
            # The duodenum beside the head.
            s.ellipse(hu["bowel_wall"], -62, -4, 11 * w + 1, 10 * w + 1)
            s.ellipse(hu["bowel_fluid"], -62, -4, 8 * w + 0.1, 7 * w + 0.1)
        # Adrenals: thin inverted Ys above the kidneys.
        if -62 < z < -20:
            for side, (x, y) in ((1, (46, 14)), (-1, (-40, 16))):
                s.capsule(hu["adrenal"], (x, y - 14, z), (x + side * 2, y + 6, z), 2.2)
                s.capsule(hu["adrenal"], (x + side * 2, y + 6, z), (x + side * 12, y + 16, z), 2.0)
                s.capsule(hu["adrenal"], (x + side * 2, y + 6, z), (x - side * 4, y + 18, z), 1.8)

    def grain_at(self, s, X, Y):
        rows = ((Y - s.coords[0]) / s.spacing).astype(int) % 256
        cols = ((X - s.coords[0]) / s.spacing + int(s.z)).astype(int) % 256
        return self.grain[rows, cols]

    def liver_vessels(self, s, region, liver_sd):
        z, hu = s.z, self.hu
        portal = hu["liver_vessel"] if hu is PLAIN else hu["portal"]
        hepatic = hu["liver_vessel"] if hu is PLAIN else hu["hepatic_vein"]
        values = {"portal": portal, "hepatic": hepatic}
        clip = s.cavity + 1.5
        for p0, p1, r0, r1, kind in LIVER_VESSELS:
            value = values[kind]
            reach = max(r0, r1) + 3
            if not min(p0[2], p1[2]) - reach < z < max(p0[2], p1[2]) + reach:
                continue
            s.paint(
                region,
                lambda X, Y, p0=p0, p1=p1, r0=r0, r1=r1: np.maximum(
                    capsule_sd(X, Y, z, p0, p1, r0, r1), liver_sd(X, Y) + 3
                ),
                value,
                clip=clip,
            )

    def draw_abscess(self, s):
        z, hu = s.z, self.hu
        (cx, cy, cz), radius = self.abscess
        if abs(z - cz) > radius + 14:
            return
        region = s.box(cx - radius - 18, cx + radius + 18, cy - radius - 18, cy + radius + 18)

        def sd(X, Y, grow=0.0):
            return abscess_sd(X, Y, z, self.abscess, grow)

        clip = s.cavity + 2
        s.paint(region, lambda X, Y: sd(X, Y, 9), hu["liver"] - 28, clip=clip)  # oedema halo
        s.paint(region, lambda X, Y: sd(X, Y, 3.5), hu["liver"] + 30, clip=clip)  # enhancing wall
        s.paint(
            region, lambda X, Y: sd(X, Y), lambda X, Y: 20 + 4 * self.grain_at(s, X, Y), clip=clip
        )  # pus
        # A thin enhancing septum dividing off a smaller loculus.
        s.paint(
            region,
            lambda X, Y: np.maximum(
                np.abs((X - cx) * 0.8 + (Y - cy) * 0.6 - 0.3 * radius) - 1.1, sd(X, Y, -0.5)
            ),
            hu["liver"] + 20,
            clip=clip,
        )

    def kidneys(self, s):
        z, hu = s.z, self.hu
        for kidney in (RIGHT_NORMAL, self.left_kidney):
            section = kidney.section(z)
            if section is None:
                continue
            cx, cy, a, b, turn = section
            if kidney is LEFT_HYDRO:
                # Perinephric stranding: oedema in the fat around an acutely obstructed kidney.
                s.ellipse(
                    lambda X, Y: -85 + 22 * np.clip(self.grain_at(s, X, Y), 0, 3),
                    *(cx, cy, a + 8, b + 7, turn),
                )
            s.ellipse(hu["kidney"], cx, cy, a, b, turn)
            t = kidney.t(z)
            if kidney is LEFT_HYDRO:
                self.collecting_system(s, t)
                continue
            if abs(t) < 0.8:
                # Renal sinus fat, opening at the hilum.
                hx, hy, _ = kidney.point(z, -0.5, 0.0)
                width = b * 0.45 * math.sqrt(1 - (t / 0.8) ** 2)
                s.ellipse(hu["sinus_fat"], hx, hy, a * 0.6, width, turn)
            if abs(t) < 0.3:
                hx, hy, _ = kidney.point(z, -0.55, 0.0)
                s.ellipse(hu["urine"], hx, hy, 6, 3.5, turn)

    def collecting_system(self, s, t):
        """Hydronephrosis: the dilated pelvis fills the renal sinus (a rim of sinus fat left at
        the hilum) and the calyces are rounded ("clubbed") sacs under thinned parenchyma."""
        z, hu = s.z, self.hu
        k = LEFT_HYDRO
        if abs(t) < 0.45:
            cx, cy, a, b, turn = k.section(z)
            fade = math.sqrt(1 - (t / 0.45) ** 2)
            hx, hy, _ = k.point(z, -0.4, 0.0)
            s.ellipse(hu["sinus_fat"], hx, hy, a * 0.6 * fade + 2.0, b * 0.5 * fade + 2.0, turn)
            hx, hy, _ = k.point(z, -0.3, 0.0)
            s.ellipse(hu["urine"], hx, hy, a * 0.6 * fade, b * 0.5 * fade, turn)
        for cz, across, back, radius in HYDRO_CALYCES.values():
            if abs(z - cz) > radius + 36:
                continue
            calyx = LEFT_HYDRO.point(cz, across, back)
            # The infundibulum, calyx to pelvis, then the calyx itself, rounded ("clubbed").
            s.capsule(hu["urine"], calyx, PELVIS, radius * 0.42, 7.0)
            s.ball(hu["urine"], calyx, radius)
        s.ball(hu["urine"], PELVIS, 19.0, squash=0.8)

    def ureters(self, s):
        hu = self.hu
        if self.hydronephrosis:
            s.path(hu["muscle"] - 12, URETER, 8.5, 6.0)
            s.path(hu["urine"], URETER, 6.8, 4.2)
            s.ball(1000, STONE, 4.5, squash=1.3)
            s.capsule(hu["muscle"] - 12, (42, -1, -191), (36, 4, -240), 2.6)
        else:
            s.capsule(hu["muscle"] - 12, (48, 12, -112), (36, 4, -240), 2.6)
        s.capsule(hu["muscle"] - 12, (-46, 14, -118), (-34, 4, -240), 2.6)

    def bowel(self, s):
        hu = self.hu
        # Colon: ascending, transverse and descending (COLON).
        for path, faecal, radius in COLON:
            s.path(hu["bowel_wall"], path, radius)
            s.path(lambda X, Y, f=faecal: self.colon_content(s, X, Y, f), path, radius - 2.3)
        for chain, radius, gas in self.loops:
            s.path(hu["bowel_wall"], chain, radius)
            s.path(
                -1000 if gas else (lambda X, Y: hu["bowel_fluid"] + 10 * self.grain_at(s, X, Y)),
                chain,
                radius - 2.2,
            )
        self.ureters(s)

    def colon_content(self, s, X, Y, faecal):
        """Gas, with mottled faeces (bubbles of gas in them) lying at the back, the dependent
        side; ``faecal`` from about -0.5 (nearly all gas) to 0.5 (mostly faeces)."""
        g = self.grain_at(s, X, Y)
        stool = np.where(g > 0.6, -700.0, self.hu["faeces"] + 40 * g)
        depth = (Y - Y.mean()) / 10 + g * 0.6 + faecal * 3
        return np.where(depth > 0.3, stool, -1000.0)

    def vessels(self, s):
        z, hu = s.z, self.hu
        # Aorta in front of the spine, a little to the left; it divides at about L4.
        if z > -196:
            s.ball(hu["aorta"], (14, 2, z), 11.5)
            if -150 < z < -60:  # a calcified plaque in its left posterior wall
                s.ball(hu["plaque"], (22, 9, z), 2.0)
        for side in (-1, 1):
            s.capsule(hu["aorta"], (14, 2, -194), (14 + side * 30, 2, -260), 7.0)
        # Inferior vena cava, to the right, within the back of the liver at the top.
        s.ellipse(hu["ivc"], *ivc_section(z))
        # Superior mesenteric artery and vein, in front of the aorta.
        if z < -68:
            depth = lerp(z, [(-68, -16), (-240, -48)])
            s.ball(hu["aorta"], (14, depth, z), 3.8)
            s.ball(hu["portal"], (-2, depth - 2, z), 5.5)
        # Left renal vein, from the left hilum in front of the aorta into the IVC.
        s.path(hu["renal_vein"], [(56, 16, -102), (14, -14, -106), (-20, 0, -108)], 5.5)
        s.path(hu["renal_vein"], [(-46, 16, -110), (-24, 6, -110)], 5.0)
        s.path(hu["aorta"], [(20, 8, -100), (52, 20, -106)], 3.2)  # left renal artery
        # The crura of the diaphragm beside the aorta at the top.
        if z > -95:
            width = lerp(z, [(40, 8.0), (-95, 3.0)])
            for side in (-1, 1):
                s.capsule(
                    hu["diaphragm"], (14 + side * 16, -8, z), (side * 16, 22, z), width / 2 + 2
                )

    def lung_bases(self, s):
        """Signed distance from the lung bases at this height (computed once per 4 mm): the
        costophrenic recesses behind and beside the liver and spleen, lowest at the back.
        None where there is no lung."""
        key = round(s.z / 4)
        if self._lung_key != key:
            z = key * 4.0
            sd = None
            for side, dome in ((-1, 50.0), (1, 40.0)):
                region = s.box(-175, 0, -130, 130) if side < 0 else s.box(0, 175, -130, 130)
                where, X, Y = region
                height = (
                    dome
                    - 85 * ((X - side * 60) / 100) ** 2
                    - 130 * (np.maximum(0, Y + 10) / 100) ** 2
                    - 40 * (np.maximum(0, -10 - Y) / 100) ** 2
                )
                f = height - z  # > 0 where the diaphragm is above this plane
                if f.min() > 60:
                    continue
                gy, gx = np.gradient(f, s.spacing)
                part = np.maximum(f / np.maximum(np.hypot(gx, gy), 0.05), s.cavity[where])
                if sd is None:
                    sd = np.full(s.hu.shape, 99.0, dtype=np.float32)
                # Medially, the lung bases end against the spine and crura: a curved edge.
                sd[where] = np.maximum(part, -side * X + 26 + 0.004 * (Y - 30) ** 2)
            self._lung_key, self._lung = key, sd
        return self._lung

    def lungs(self, s):
        z, hu = s.z, self.hu
        sd = self.lung_bases(s)
        if sd is not None:
            whole = s.full()
            s.paint(whole, lambda X, Y: sd - 4.0, hu["diaphragm"])
            s.paint(
                whole,
                lambda X, Y: sd,
                lambda X, Y: hu["lung"] + 60 * np.clip(Y / 90, 0, 1) + 12 * self.grain_at(s, X, Y),
            )
        # The inferior wall of the heart, resting on the diaphragm in front, at the very top.
        section = ellipsoid_section(z, (30, -48, 78), (64, 46, 46), 0.5)
        if section:
            cx, cy, a1, b1, ang = section
            s.ellipse(-95, cx, cy, a1 + 4, b1 + 4, ang)
            s.ellipse(hu["heart"], cx, cy, a1, b1, ang)

    def muscles(self, s, muscle):
        z, hu = s.z, self.hu
        # Erector spinae and multifidus either side of the spinous processes.
        for side in (-1, 1):
            s.ellipse(hu["muscle"], side * 34, 76, 31, 23, side * 0.25, clip=muscle - 3)
            s.paint(
                s.box(side * 34 - 30, side * 34 + 30, 56, 98),
                lambda X, Y, side=side: np.maximum(
                    np.abs(X - side * 42 - (Y - 76) * side * 0.35) - 0.8,
                    ellipse_sd(X, Y, side * 34, 76, 25, 17, side * 0.25),
                ),
                hu["fat"] + 30,
            )
        # Psoas: small at the top, larger lower down, beside the vertebral bodies.
        if z < -50:
            g = min(1.0, (-50 - z) / 150)
            for side in (-1, 1):
                s.ellipse(
                    hu["muscle"],
                    side * (28 + 16 * g),
                    30 - 6 * g,
                    7 + 12 * g,
                    8 + 8 * g,
                    side * 0.45,
                )
        # Quadratus lumborum, behind the lower halves of the kidneys.
        if z < -66:
            g = min(1.0, (-66 - z) / 60)
            for side in (-1, 1):
                s.ellipse(hu["muscle"], side * 70, 64, 8 + 10 * g, 5 + 4 * g, side * 0.55)

    def spine(self, s):
        """A vertebra every 36 mm: body, disc, pedicles, laminae, spinous and transverse
        processes (or rib joints in the thoracic spine)."""
        z, hu = s.z, self.hu
        period, disc = 36.0, 8.0
        phase = ((4.0 - z) % period) / period  # 0 at the top of a vertebral body
        lumbar = z < -66
        ax, ay = (23, 17) if lumbar else (19, 15)
        cy = 28
        bone, dense = hu["cortex"] - 300, hu["cortex"]
        if phase < (period - disc) / period:
            s.ellipse(dense, 0, cy, ax, ay, wobble=[0.01])
            s.ellipse(
                lambda X, Y: hu["cancellous"] + 35 * self.grain_at(s, X, Y), 0, cy, ax - 2, ay - 2
            )
            s.ellipse(45, 0, cy + ay - 4, 3.5, 2.5)  # the basivertebral vein
        else:
            s.ellipse(hu["disc"], 0, cy, ax + 1, ay + 1)
        back = cy + ay  # the back of the body and the front of the canal
        canal = back + 9
        if phase < 0.82:
            s.ellipse(hu["epidural_fat"], 0, canal, 12, 10)
        if 0.06 < phase < 0.45:  # pedicles
            for side in (-1, 1):
                s.capsule(dense, (side * 13, back - 4, z), (side * 14, back + 9, z), 4.2)
                s.capsule(bone, (side * 13, back - 4, z), (side * 14, back + 9, z), 2.4)
        if 0.12 < phase < 0.88:  # laminae meeting at the spinous process
            for side in (-1, 1):
                s.capsule(dense, (side * 14, back + 11, z), (0, canal + 12, z), 2.8)
            length = 24 if lumbar else 18
            s.capsule(dense, (0, canal + 12, z), (0, canal + 12 + length, z), 3.4, 2.6)
            s.capsule(bone, (0, canal + 13, z), (0, canal + 10 + length, z), 1.6)
        if lumbar and 0.28 < phase < 0.5:
            for side in (-1, 1):
                s.capsule(dense, (side * 16, back + 8, z), (side * 42, back + 12, z), 3.2, 2.4)
        if not lumbar and 0.15 < phase < 0.55:  # joints with the heads of the ribs
            for side in (-1, 1):
                s.capsule(dense, (side * 16, back + 6, z), (side * 32, back + 14, z), 3.2)
        if 0.5 < phase < 0.85:  # facet joints
            for side in (-1, 1):
                s.capsule(dense, (side * 12, canal + 8, z), (side * 18, canal + 2, z), 2.8)
        s.ellipse(hu["csf"], 0, canal, 8, 6.5)

    def ribs(self, s):
        """Ribs 7 to 12 on each side: tubes curving round the body wall from the spine,
        falling as they go forwards."""
        z = s.z
        # (z at the spine, z at the front end, angle reached from the back, degrees)
        ribs = [
            (150, 20, 178),
            (112, -14, 172),
            (76, -44, 160),
            (40, -72, 138),
            (6, -84, 100),
            (-30, -74, 58),
        ]
        for head, end, reach in ribs:
            if z > head + 10 or z < end - 10:
                continue
            for side in (-1, 1):
                points = []
                for angle in np.linspace(14, reach, 14):
                    frac = (angle - 14) / (reach - 14)
                    zz = head + (end - head) * frac**1.15
                    a, b = self.dimensions(zz)
                    rad = math.radians(angle)
                    x = math.sin(rad) * (a - 30)
                    y = math.cos(rad) * (b - 27) - 5
                    points.append((side * x, y, zz))
                for p0, p1 in zip(points, points[1:], strict=False):
                    cartilage = p1[1] < -55
                    s.capsule(
                        self.hu["cartilage"] if cartilage else self.hu["cortex"] - 150, p0, p1, 5.0
                    )
                    if not cartilage:
                        s.capsule(self.hu["cancellous"], p0, p1, 3.2)


# --- The chest ------------------------------------------------------------------------------

CHEST = {
    "fat": -105, "skin": 10, "muscle": 50, "lung": -860, "vessel": 40, "blood": 42,
    "heart": 45, "pericardial_fat": -95, "wall": 45, "cortex": 850, "cancellous": 220,
    "cartilage": 120, "disc": 85, "csf": 12, "epidural_fat": -70, "liver": 58, "spleen": 48,
    "nodule": 35, "calcium": 700, "oesophagus": 40, "fissure": -200,
}  # fmt: skip
NODULE = (-84.0, 40.0, -150.0)  # the biopsy target, right lower lobe, posterior
NODULE_RADIUS = 9.0
# The oblique fissures: (side, +1 left, -1 right; the height at which each begins at the back).
FISSURES = ((-1, -66.0), (1, -72.0))


def nodule_sd(X, Y, z):
    """Signed distance from the nodule: a sphere with a lobulated outline."""
    cx, cy, cz = NODULE
    dx, dy, dz = X - cx, Y - cy, z - cz
    r = np.sqrt(dx**2 + dy**2 + dz**2)
    theta = np.arctan2(dy, dx)
    lobes = 1 + 0.09 * np.sin(4 * theta + 0.5) + 0.05 * np.sin(7 * theta + 1.0)
    return r - NODULE_RADIUS * lobes


def fissure_front(X, z, side, top):
    """Where an oblique fissure crosses the plane at height z: its y (mm) at each x, for the
    fissure of ``side`` that begins at height ``top`` at the back. A sheet from high at the back
    to low in front, so on an axial slice a line from near the hilum out towards the lateral
    chest wall, further forwards the lower the slice."""
    base = 58 + (z - top) * 1.05
    out = np.maximum(side * X - 30, 0)
    return base - 0.3 * out - 0.006 * out**2


class Chest:
    """An adult chest from the lung apices (z = 0) to the upper abdomen (z = -255), unenhanced,
    lying on its back with the arms raised. Branching pulmonary arteries and veins fill the
    lungs; the oblique fissures divide them; a solid nodule sits in the right lower lobe."""

    def __init__(self, seed: int = 3):
        self.hu = CHEST
        self._outline_key, self._outline = None, None
        rng = np.random.default_rng(seed)
        segments = []
        for side in (-1, 1):
            # Arteries from the hilum, veins to the left atrium: each a tree that divides its
            # share of the lung in two, again and again, down to millimetre branches.
            for root, count in (((side * 40, 10, -98), 620), ((side * 30, 12, -140), 460)):
                targets = self.lung_points(rng, side, count)
                self.divide(np.array(root, float), targets, segments)
        self.vessels = np.array(segments, dtype=np.float32)
        self.vessel_planes = {}
        self.rib_paths = []
        for n in range(1, 13):
            head = 22 - 24.5 * (n - 1)
            drop = 45 if n == 1 else 80
            reach = 165 if n <= 7 else max(70, 178 - 14 * (n - 7))
            for side in (-1, 1):
                points = []
                for angle in np.linspace(16, reach, 16):
                    zz = head - drop * ((angle - 16) / (reach - 16)) ** 1.25
                    (_, _), (ca, cb) = self.dimensions(zz)
                    rad = math.radians(angle)
                    points.append(
                        (
                            side * math.sin(rad) * (ca + 6),
                            math.cos(rad) * (cb + 6) - 4,
                            zz,
                            points[-1][1] if points else 0,
                        )
                    )
                radius = 3.8 if n <= 2 else 4.8
                for p0, p1 in zip(points, points[1:], strict=False):
                    front = p1[1] < -0.6 * self.dimensions(p1[2])[1][1]
                    self.rib_paths.append((p0[:3], p1[:3], radius, front))
        grain = gaussian_blur(rng.standard_normal((256, 256)).astype(np.float32), 1.2)
        self.grain = grain / grain.std()

    def lung_points(self, rng, side, count):
        """``count`` random points inside one lung."""
        points = []
        while len(points) < count:
            p = np.column_stack(
                [
                    rng.uniform(0, 135, 4000) * side,
                    rng.uniform(-95, 90, 4000),
                    rng.uniform(-250, 5, 4000),
                ]
            )
            points.extend(p[self.inside_lung(p, margin=3)])
        return np.array(points[:count])

    def divide(self, start, targets, segments, depth=0):
        """A branch from ``start`` towards the middle of ``targets``, then one daughter for
        each half of them (split across their longest extent). Radii follow Murray's law:
        the cube of a vessel's radius is proportional to the lung it supplies."""
        radius = 0.8 * len(targets) ** 0.37
        if len(targets) == 1:
            end = targets[0]
        else:
            centre = targets.mean(axis=0)
            end = start + (centre - start) * (0.55 if depth else 0.4)
        segments.append((*start, *end, radius, radius * 0.92))
        if len(targets) == 1:
            return
        spread = targets - targets.mean(axis=0)
        axis = np.linalg.svd(spread, full_matrices=False)[2][0]
        order = np.argsort(spread @ axis)
        half = len(targets) // 2
        for part in (targets[order[:half]], targets[order[half:]]):
            self.divide(end, part, segments, depth + 1)

    # Shape ----------------------------------------------------------------------------------

    def dimensions(self, z):
        """(half-width, half-depth) of the body and of the pleural cavity at height z."""
        body = lerp(z, [(0, (150, 92)), (-60, (158, 106)), (-150, (160, 114)), (-260, (160, 114))])
        cage = lerp(
            z,
            [
                (12, (30, 30)),
                (0, (62, 48)),
                (-30, (95, 68)),
                (-90, (122, 82)),
                (-170, (130, 88)),
                (-260, (130, 88)),
            ],
        )
        return body, cage

    def body_sd(self, X, Y, z: float):
        """Signed distance from the skin at height z (drawn once for every 4 mm), flattened
        at the back."""
        (a, b), _ = self.dimensions(round(z / 4) * 4.0)
        return np.maximum(superellipse_sd(X, Y, 0.0, -4.0, a, b, 2.5), Y - (b - 10))

    def cage_sd(self, X, Y, z):
        if np.ndim(z):
            ca = np.interp(-z, [-12, 0, 30, 90, 170, 260], [30, 62, 95, 122, 130, 130])
            cb = np.interp(-z, [-12, 0, 30, 90, 170, 260], [30, 48, 68, 82, 88, 88])
        else:
            (_, _), (ca, cb) = self.dimensions(z)
        sd = superellipse_sd(X, Y, 0.0, -4.0, ca, cb, 2.3)
        # The spine bulges into the back of the cavity.
        return np.maximum(sd, -ellipse_sd(X, Y, 0, cb * 0.62, 27, 27))

    def mediastinum_sd(self, X, Y, z):
        """A narrow column from sternum to spine, and a layer of fat round the heart and the
        great vessels: their bulges make the mediastinum's outline."""
        taper = 0.5 + 0.5 * np.clip((Y + 60) / 90, 0, 1)
        sd = np.maximum(np.abs(X - 4) - 17 * taper, np.abs(Y + 8) - 82)
        sd = np.minimum(sd, self.heart_sd(X, Y, z, 6))
        for points, radius in GREAT_VESSELS:
            for p0, p1 in zip(points, points[1:], strict=False):
                low, high = min(p0[2], p1[2]) - radius - 6, max(p0[2], p1[2]) + radius + 6
                if np.ndim(z) == 0 and not low < z < high:
                    continue
                sd = np.minimum(sd, capsule_sd(X, Y, z, p0, p1, radius + 4))
        return sd

    def heart_sd(self, X, Y, z, grow=0.0):
        cx, cy, cz = HEART
        t = (np.asarray(z, float) - cz) / 62
        scale = np.sqrt(np.clip(1 - t**2, 0, 1))
        return (
            np.where(
                scale > 0, ellipse_sd(X, Y, cx, cy, 64 * scale + 0.01, 49 * scale + 0.01, -0.6), 99
            )
            - grow
        )

    def diaphragm_height(self, x, y):
        """Height of the diaphragm under (x, y): a dome on each side (the right higher),
        lowest at the back, in the posterior costophrenic recesses."""
        right = np.asarray(x) < 0
        dome, xs = np.where(right, -186.0, -200.0), np.where(right, -55.0, 55.0)
        return (
            dome
            - 80 * ((x - xs) / 100) ** 2
            - 110 * (np.maximum(0, y + 10) / 100) ** 2
            - 30 * (np.maximum(0, -10 - y) / 100) ** 2
        )

    def inside_lung(self, points, margin=0.0):
        x, y, z = points[:, 0], points[:, 1], points[:, 2]
        inside = (z < 6) & (z > self.diaphragm_height(x, y) + margin)
        inside &= self.cage_sd(x, y, z) < -margin
        inside &= self.mediastinum_sd(x, y, z) > margin
        return inside

    # Drawing ---------------------------------------------------------------------------------

    def outline(self, s: Slab):
        """What changes little within a slice (wall, lungs, fissures, mediastinal fat, what
        lies under the diaphragm), drawn once per 4 mm."""
        key = round(s.z / 4)
        if key != self._outline_key:
            hu = self.hu
            z = key * 4.0
            (a, b), (ca, cb) = self.dimensions(z)
            base = Slab(s.size, s.spacing, z)
            whole = base.full()
            X, Y = whole[1], whole[2]
            body = self.body_sd(X, Y, z)
            cage = self.cage_sd(X, Y, z)
            inner = body + 12
            base.paint(whole, lambda X, Y: body, hu["skin"])
            base.paint(whole, lambda X, Y: body + 2.0, hu["fat"])
            # Muscles: pectorals in front, serratus and latissimus at the sides, the
            # erector spinae behind; intercostal muscle round the cage.
            base.paint(whole, lambda X, Y: np.maximum(np.abs(cage - 9) - 9, inner), hu["muscle"])
            if z > -150:
                g = lerp(z, [(0, 0.6), (-60, 1.0), (-150, 0.15)])
                for side in (-1, 1):
                    box = base.box(side * 70 - 70, side * 70 + 70, -cb - 90, -cb + 60)
                    pectoral = ellipse_sd(
                        box[1], box[2], side * 70, -cb - 16, 64 * g, 13 * g, -side * 0.35
                    )
                    base.paint(box, lambda X, Y, p=pectoral: p, hu["muscle"], clip=inner)
                    base.paint(
                        box, lambda X, Y, p=pectoral: np.abs(p + 6) - 0.7, hu["fat"], clip=inner
                    )
            for side in (-1, 1):
                box = base.box(side * 30 - 32, side * 30 + 32, cb - 10, cb + 45)
                base.paint(
                    box,
                    lambda X, Y, side=side: ellipse_sd(
                        X, Y, side * 30, cb + 16, 27, 19, side * 0.2
                    ),
                    hu["muscle"],
                    clip=inner,
                )
            # Under the diaphragm: liver on the right, stomach (gas in front) and spleen left.
            below = self.diaphragm_height(X, Y) - z  # > 0 below the diaphragm
            if below.max() > -8:
                base.paint(
                    whole,
                    lambda X, Y: np.maximum(cage, -below),
                    lambda X, Y: np.where(X < 15, hu["liver"], hu["spleen"]),
                )
                base.paint(
                    whole,
                    lambda X, Y: np.maximum(
                        np.maximum(cage + 2, -below - 6), ellipse_sd(X, Y, 50, -35, 42, 36)
                    ),
                    15,
                )
                base.paint(
                    whole,
                    lambda X, Y: np.maximum(
                        np.maximum(cage + 2, -below - 6),
                        np.maximum(ellipse_sd(X, Y, 50, -35, 38, 32), Y + 40),
                    ),
                    -1000,
                )  # noqa: E128
            middle = base.box(-95, 100, -125, 95)
            mediastinum = np.full(X.shape, 99.0, dtype=np.float32)
            mediastinum[middle[0]] = self.mediastinum_sd(middle[1], middle[2], z)
            lung = np.maximum(np.maximum(cage, -mediastinum), below)
            base.paint(
                whole,
                lambda X, Y: lung,
                lambda X, Y: (
                    hu["lung"] + 55 * np.clip((Y + 20) / 100, 0, 1) + 10 * self.grain_at(base, X, Y)
                ),
            )
            self.fissures(base, lung)
            base.paint(whole, lambda X, Y: mediastinum, hu["fat"] + 10, clip=cage - 1)
            self._outline_key, self._outline = key, (base.hu, lung)
        return self._outline

    def __call__(self, s: Slab) -> None:
        base, lung = self.outline(s)
        s.hu[:] = base
        self.draw_vessels(s, lung)
        self.nodule(s, lung)
        self.mediastinum(s)
        self.spine(s)
        self.ribs(s)
        self.scapulae(s)

    def grain_at(self, s, X, Y):
        rows = ((Y - s.coords[0]) / s.spacing).astype(int) % 256
        cols = ((X - s.coords[0]) / s.spacing + int(s.z * 0.5)).astype(int) % 256
        return self.grain[rows, cols]

    def fissures(self, s, lung):
        """The oblique fissures: thin sheets from high at the back to low in front; on an
        axial slice, a line from near the hilum out towards the lateral chest wall."""
        z = s.z
        for side, top in FISSURES:
            if not -262 < z < top + 10:
                continue
            region = s.box(0, 140, -130, 100) if side > 0 else s.box(-140, 0, -130, 100)
            where = region[0]

            def sheet(X, Y, side=side, top=top):
                return np.abs(Y - fissure_front(X, z, side, top)) / 1.15 - 0.45

            s.paint(
                region,
                sheet,
                self.hu["fissure"],
                clip=np.maximum(lung[where] + 1.0, 25 - side * region[1]),
            )

    def prepare(self, planes, size, spacing):
        """Draw the vessel trees for every plane at once (one pass per vessel, not per plane
        and vessel): how much of each pixel is vessel, thin vessels counting for less since
        they fill only part of a voxel."""
        zs = np.asarray(planes, dtype=np.float32)
        X, Y = _grid(size, spacing)
        coords = X[0]
        fill = np.zeros((len(zs), size, size), dtype=np.float32)
        for x0, y0, z0, x1, y1, z1, r0, r1 in self.vessels:
            reach = max(r0, r1) + 2 * spacing
            layers = np.nonzero((zs > min(z0, z1) - reach) & (zs < max(z0, z1) + reach))[0]
            if not len(layers):
                continue
            c0 = max(0, int((min(x0, x1) - reach - coords[0]) / spacing))
            c1 = min(size, int((max(x0, x1) + reach - coords[0]) / spacing) + 2)
            r_0 = max(0, int((min(y0, y1) - reach - coords[0]) / spacing))
            r_1 = min(size, int((max(y0, y1) + reach - coords[0]) / spacing) + 2)
            sub_x = X[r_0:r_1, c0:c1][None]
            sub_y = Y[r_0:r_1, c0:c1][None]
            sub_z = zs[layers][:, None, None]
            d = capsule_sd(sub_x, sub_y, sub_z, (x0, y0, z0), (x1, y1, z1), r0, r1)
            strength = min(1.0, float((r0 + r1) / 3.4) ** 1.4)
            cover = np.clip(0.5 - d / spacing, 0, 1) * strength
            block = fill[layers, r_0:r_1, c0:c1]
            fill[layers, r_0:r_1, c0:c1] = np.maximum(block, cover)
        self.vessel_planes = {round(float(z), 3): fill[i] for i, z in enumerate(zs)}

    def draw_vessels(self, s, lung):
        fill = self.vessel_planes.get(round(float(s.z), 3))
        if fill is None:
            return
        inside = np.clip(0.5 - (lung + 1.5) / s.spacing, 0, 1)
        s.hu += (self.hu["vessel"] - s.hu) * fill * inside

    def nodule(self, s, lung):
        z = s.z
        cx, cy, cz = NODULE
        if abs(z - cz) > NODULE_RADIUS + 12:
            return
        region = s.box(cx - 22, cx + 22, cy - 22, cy + 22)

        def sd(X, Y):
            return nodule_sd(X, Y, z)

        # Short spicules into the surrounding lung (thin, so fainter than the nodule), then the
        # nodule over their roots.
        for angle, tilt in (
            (0.3, 0.2),
            (1.4, -0.3),
            (2.6, 0.1),
            (3.7, 0.4),
            (4.6, -0.2),
            (5.5, 0.0),
        ):
            tip = (cx + math.cos(angle) * 16, cy + math.sin(angle) * 16, cz + tilt * 12)
            s.capsule(-250, (cx, cy, cz), tip, 1.2, 0.4, clip=lung + 1)
        s.paint(region, sd, self.hu["nodule"])

    def mediastinum(self, s):
        z, hu = s.z, self.hu
        blood = hu["blood"]
        # The heart in its pericardial fat; a calcified dot in the anterior interventricular
        # groove (the left anterior descending artery).
        cx, cy, cz = HEART
        if abs(z - cz) < 62:
            scale = math.sqrt(1 - ((z - cz) / 62) ** 2)
            a, b = 64 * scale, 49 * scale
            s.ellipse(hu["pericardial_fat"], cx, cy, a + 5, b + 5, -0.6)
            s.ellipse(hu["wall"] + 25, cx, cy, a + 1.3, b + 1.3, -0.6)
            s.ellipse(hu["heart"], cx, cy, a, b, -0.6, wobble=[0.01, 0.015])
            if -185 < z < -150:
                gx, gy = cx + 0.25 * a, cy - 0.9 * b
                s.ellipse(hu["pericardial_fat"], gx, gy, 6, 4)
                s.ellipse(hu["calcium"], gx, gy + 1, 1.5, 1.3)
        # The aorta and its branches, the caval and brachiocephalic veins, the pulmonary
        # trunk and arteries (GREAT_VESSELS), and the azygos vein.
        for points, radius in GREAT_VESSELS:
            s.path(blood, points, radius)
        s.path(blood, [(-8, 38, -255), (-8, 38, -78), (-16, 8, -70), (-24, -24, -72)], 4.0)
        # Trachea, carina, main and lobar bronchi: air in a thin wall.
        airway = [
            ((2, 4, 12), (2, 14, -76), 10.0),
            ((2, 14, -76), (-34, 18, -98), 7.5),
            ((2, 14, -76), (36, 22, -104), 7.0),
            ((-34, 18, -98), (-52, 14, -78), 5.0),
            ((-34, 18, -98), (-44, 22, -130), 6.0),
            ((-44, 22, -130), (-62, -8, -146), 4.0),
            ((-44, 22, -130), (-58, 36, -170), 4.5),
            ((36, 22, -104), (52, 4, -90), 5.0),
            ((36, 22, -104), (54, 32, -150), 5.0),
        ]
        for p0, p1, r in airway:
            s.capsule(hu["wall"], p0, p1, r + 1.5)
        for p0, p1, r in airway:
            s.capsule(-1000, p0, p1, r)
        # Oesophagus behind the trachea, a little air in it.
        s.path(hu["oesophagus"], [(6, 26, 12), (8, 30, -120), (20, 16, -250)], 8)
        s.path(-1000, [(6, 26, 12), (8, 30, -120), (20, 16, -250)], 1.8)
        # Sternum in front.
        (_, _), (ca, cb) = self.dimensions(z)
        if -205 < z < -20:
            s.ellipse(hu["cortex"], 0, -cb - 12, 15, 6)
            s.ellipse(hu["cancellous"], 0, -cb - 12, 13, 4)

    def spine(self, s):
        z, hu = s.z, self.hu
        period = 26.0
        phase = ((20.0 - z) % period) / period
        (_, _), (ca, cb) = self.dimensions(z)
        cy = cb * 0.62
        if phase < 0.78:
            s.ellipse(hu["cortex"], 0, cy, 18, 15)
            s.ellipse(lambda X, Y: hu["cancellous"] + 30 * self.grain_at(s, X, Y), 0, cy, 16, 13)
        else:
            s.ellipse(hu["disc"], 0, cy, 19, 16)
        back = cy + 15
        canal = back + 9
        s.ellipse(hu["epidural_fat"], 0, canal, 10, 9)
        if phase < 0.5:
            for side in (-1, 1):
                s.capsule(hu["cortex"], (side * 11, back - 3, z), (side * 12, back + 10, z), 3.6)
                s.capsule(hu["cortex"], (side * 14, back + 2, z), (side * 34, back + 14, z), 3.4)
        if 0.1 < phase < 0.9:
            for side in (-1, 1):
                s.capsule(hu["cortex"], (side * 12, back + 11, z), (0, canal + 11, z), 2.6)
            s.capsule(hu["cortex"], (0, canal + 11, z), (0, canal + 30, z), 3.0, 2.2)
        s.ellipse(hu["csf"], 0, canal, 7.5, 6.5)

    def ribs(self, s):
        """Twelve pairs: each from its vertebra round the cage, falling as it goes forwards,
        bone behind and at the sides, cartilage at the front."""
        hu = self.hu
        for p0, p1, radius, front in self.rib_paths:
            s.capsule(hu["cartilage"] if front else hu["cortex"], p0, p1, radius)
            if not front:
                s.capsule(hu["cancellous"], p0, p1, radius - 1.7)

    def scapulae(self, s):
        """The blades of the scapulae behind the upper ribs, in their muscles, down to the
        inferior angle."""
        z, hu = s.z, self.hu
        if not -146 < z < 10:
            return
        (_, _), (ca, cb) = self.dimensions(z)
        width = lerp(z, [(10, 1.0), (-100, 0.85), (-146, 0.0)])
        # Along the back of the rib cage, 13 mm out, from near the spine round towards the side.
        first, last = 34 + 26 * (1 - width), 36 + 44 * width
        for side in (-1, 1):
            points = []
            for angle in np.linspace(first, last, 4):
                rad = math.radians(angle)
                points.append((side * math.sin(rad) * (ca + 16), math.cos(rad) * (cb + 13) - 4, z))
            s.path(hu["muscle"], points, 4 * width + 3)
            s.path(hu["cortex"] - 300, points, 1.5)


HEART = (26.0, -24.0, -178.0)
# (points, radius): ascending aorta, arch, descending aorta; brachiocephalic trunk, left common
# carotid and left subclavian arteries; brachiocephalic veins, superior and inferior venae
# cavae; pulmonary trunk, right and left pulmonary arteries.
GREAT_VESSELS = [
    ([(-4, -24, -176), (-10, -26, -120), (-12, -24, -66)], 15.0),
    ([(-12, -24, -66), (-6, -12, -50), (10, 4, -48), (22, 22, -58), (24, 28, -70)], 13.0),
    ([(24, 28, -70), (22, 32, -160), (14, 30, -255)], 11.5),
    ([(-6, -14, -50), (-20, -6, 12)], 6.5),
    ([(6, -8, -48), (12, 2, 12)], 4.5),
    ([(16, 6, -52), (38, 14, 8)], 5.5),
    ([(54, -24, 4), (-16, -34, -44)], 6.0),
    ([(-44, -18, 8), (-20, -34, -44)], 7.0),
    ([(-20, -34, -44), (-24, -30, -90), (-26, -26, -130)], 10.0),
    ([(-26, 14, -255), (-28, 8, -200)], 13.0),
    ([(14, -56, -150), (16, -34, -110), (14, -24, -96)], 14.0),
    ([(14, -24, -96), (-10, 2, -100), (-40, 10, -98)], 10.0),
    ([(14, -24, -96), (30, 4, -88), (40, 10, -98)], 9.5),
]


# --- Ultrasound -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sector:
    """A curvilinear probe's field of view and the image it is shown in: beams fan out from a
    virtual apex ``radius`` mm above the skin, ``half_angle`` degrees either side."""

    width: int = 480
    height: int = 360
    pixel: float = 0.4  # mm
    radius: float = 45.0
    half_angle: float = 36.0
    depth: float = 134.0
    top: float = 5.0  # mm from the top of the image to the skin under the middle beam
    lines: int = 256
    samples: int = 420

    def polar(self):
        """Each sample's (depth along its beam, lateral mm, depth below the skin mm)."""
        theta = np.radians(np.linspace(-self.half_angle, self.half_angle, self.lines))
        d = np.linspace(0, self.depth, self.samples)
        r = self.radius + d[:, None]
        u = r * np.sin(theta)[None, :]
        w = r * np.cos(theta)[None, :] - self.radius
        f32 = np.float32
        return np.broadcast_to(d[:, None], u.shape).astype(f32), u.astype(f32), w.astype(f32)

    def scan_conversion(self):
        """For each pixel of the image, where to read the beams (fractional sample, line), and
        whether it lies inside the fan."""
        cols = (np.arange(self.width) - self.width / 2 + 0.5) * self.pixel
        rows = np.arange(self.height) * self.pixel - self.top
        X, Y = np.meshgrid(cols, rows)
        r = np.hypot(X, Y + self.radius)
        theta = np.degrees(np.arctan2(X, Y + self.radius))
        line = (theta + self.half_angle) / (2 * self.half_angle) * (self.lines - 1)
        sample = (r - self.radius) / self.depth * (self.samples - 1)
        inside = np.clip(
            np.minimum.reduce(
                [line + 0.5, self.lines - 0.5 - line, sample + 0.5, self.samples - 0.5 - sample]
            ),
            0,
            1,
        )
        return sample, line, inside


def bilinear(image, rows, cols):
    """``image`` sampled at fractional (rows, cols), clamped at the edges."""
    r0 = np.clip(np.floor(rows).astype(int), 0, image.shape[0] - 2)
    c0 = np.clip(np.floor(cols).astype(int), 0, image.shape[1] - 2)
    fr = np.clip(rows - r0, 0, 1)
    fc = np.clip(cols - c0, 0, 1)
    top = image[r0, c0] * (1 - fc) + image[r0, c0 + 1] * fc
    bottom = image[r0 + 1, c0] * (1 - fc) + image[r0 + 1, c0 + 1] * fc
    return top * (1 - fr) + bottom * fr


GALLBLADDER = {"centre": (6.0, 60.0), "axes": (46.0, 20.0, 19.0), "tilt": -0.2}
# The lumen starts this far inside the outline (the wall is the rim round it).
GALLBLADDER_WALL = 1.9
US_FRAMES = 40


def sweep(n: int, count: int) -> tuple[float, float, float]:
    """The probe's movement at frame n of ``count``: (elevation, mm through the gallbladder;
    drift, mm along the beam with breathing; slide, mm along the skin)."""
    phase = 2 * math.pi * n / count
    elevation = 11.0 * math.sin(phase + 0.4)
    drift = 3.0 * math.sin(phase * 2)
    slide = 4.0 * math.sin(phase + 1.2)
    return elevation, drift, slide


def gallbladder_sd(tu, tw, elevation: float):
    """Signed distances (mm, in the probe's plane, ``tu`` across and ``tw`` down from the skin,
    before the sweep's movement) from the outline of the gallbladder's body and fundus (the
    fundus, on the left, the wider) and from its neck, tapering towards the lower right, as the
    plane cuts them ``elevation`` mm through the gallbladder. The lumen is where the smaller of
    the two is below -GALLBLADDER_WALL."""
    (gu, gw), (ga, gb, ge), tilt = (
        GALLBLADDER["centre"],
        GALLBLADDER["axes"],
        GALLBLADDER["tilt"],
    )
    cut = math.sqrt(max(0.05, 1 - (elevation / ge) ** 2))
    theta = np.arctan2(tw - gw, tu - gu)
    body = ellipse_sd(tu, tw, gu, gw, ga * (0.75 + 0.25 * cut), gb * cut, tilt)
    body = body - 2.5 * np.cos(theta - math.pi)
    neck = capsule_sd(tu, tw, 0.0, (gu + 30, gw + 8, 0), (gu + 48, gw + 22, 0), 6 * cut, 3 * cut)
    return body, neck


def gallbladder_frames(count: int = US_FRAMES, seed: int = 9) -> list[np.ndarray]:
    """A longitudinal sweep over a distended gallbladder through the liver: beams simulated on
    a polar grid (echo strength times speckle, attenuation along each beam with the scanner's
    gain making up for the liver's, so fluid lets more through and the tissue behind it looks
    brighter), log-compressed and scan-converted into the sector image. The probe rocks
    through the gallbladder, so it grows and shrinks a little, and drifts with breathing."""
    sector = Sector()
    rng = np.random.default_rng(seed)
    d, u, w = sector.polar()
    shape = d.shape
    sample, line, inside = sector.scan_conversion()

    def speckle_field():
        field = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
        real = gaussian_blur(field.real.astype(np.float32), 1.0)
        imag = gaussian_blur(field.imag.astype(np.float32), 1.0)
        # Wider across the beam than along it: lateral resolution is the poorer.
        real = gaussian_blur(real.T, 0.9).T
        imag = gaussian_blur(imag.T, 0.9).T
        field = (real + 1j * imag) / math.sqrt(float(np.mean(real**2 + imag**2)))
        return field.astype(np.complex64)

    fields = [speckle_field() for _ in range(3)]
    septa = gaussian_blur(rng.standard_normal(shape).astype(np.float32), 3.0)
    septa /= septa.std()
    frames = []
    for n in range(count):
        elevation, drift, slide = sweep(n, count)
        tu, tw = u + slide, w - drift
        echo = np.full(shape, 0.42, dtype=np.float32)  # liver
        attenuation = np.full(shape, 1.0, dtype=np.float32)
        # Skin, subcutaneous fat with a few bright septa, muscle with faint fibres, and the
        # bright liver capsule.
        echo = np.where(d < 1.2, 1.2, echo)
        fat = (d >= 1.2) & (d < 13 + 1.5 * septa[:, 5:6])
        echo = np.where(fat, 0.14 + 0.5 * (septa > 1.6), echo)
        muscle = (d >= 13 + 1.5 * septa[:, 5:6]) & (d < 23)
        echo = np.where(muscle, 0.26 + 0.12 * (np.sin(d * 1.9 + septa * 2) > 0.7), echo)
        echo = np.where(np.abs(d - 24) < 0.7, 1.1, echo)
        # Vessels in the liver: portal branches (bright walls), a hepatic vein (no wall).
        for cu, cw, ru, rw, angle, walls, offset in (
            (30, 100, 22, 6.0, 0.25, True, 0.0),
            (-58, 52, 12, 3.0, -0.5, True, 6.0),
            (52, 44, 9, 2.6, 0.9, True, -5.0),
            (-52, 104, 15, 4.2, -0.2, False, 2.0),
        ):
            cut = 1 - ((elevation - offset) / 12) ** 2
            if cut <= 0.05:
                continue
            sd = ellipse_sd(tu, tw, cu, cw, ru, rw * math.sqrt(cut), angle)
            if walls:
                echo = np.where(np.abs(sd - 0.6) < 0.7, 1.0, echo)
            echo = np.where(sd < 0, 0.004, echo)
            attenuation = np.where(sd < 0, 0.3, attenuation)
        # The right kidney, deep and to the right: dark cortex, bright sinus fat.
        kidney = ellipse_sd(tu, tw, 40, 116, 36, 15, -0.2)
        echo = np.where(kidney < 0, 0.22, echo)
        echo = np.where(ellipse_sd(tu, tw, 42, 116, 20, 5, -0.2) < 0, 0.9, echo)
        # The diaphragm: a bright curve, with the liver's mirror image beyond it.
        dia = np.hypot(tu - 60, tw - 20) - 150
        echo = np.where(np.abs(dia) < 1.4, 1.7, np.where(dia > 1.4, 0.34, echo))
        # The gallbladder: a thin bright wall round anechoic bile.
        gallbladder = np.minimum(*gallbladder_sd(tu, tw, elevation))
        echo = np.where(np.abs(gallbladder + 1.0) < 0.9, 1.1, echo)
        echo = np.where(gallbladder < -GALLBLADDER_WALL, 0.002, echo)
        attenuation = np.where(gallbladder < -GALLBLADDER_WALL, 0.08, attenuation)
        # Round trip attenuation, 1.1 dB per cm in liver, made up by the time-gain
        # compensation; less in fluid, so what lies behind the bile comes back brighter.
        loss_db = np.cumsum(attenuation, axis=0) * (sector.depth / sector.samples) * 0.11 * 2
        gain_db = (
            np.cumsum(np.ones_like(attenuation), axis=0)
            * (sector.depth / sector.samples)
            * 0.11
            * 2
        )
        # Refraction at the gallbladder's curved sides: beams that graze its wall lose energy
        # beyond it (edge shadows).
        grazing = np.sum(np.abs(gallbladder + 1.0) < 1.6, axis=0) > 34
        after = np.cumsum(np.abs(gallbladder + 1.0) < 1.6, axis=0) > 0
        loss_db += np.where(grazing[None, :] & after & (gallbladder > 0), 6.0, 0.0)
        # The beam's width and pulse length blur every edge (lateral worse than axial).
        echo = gaussian_blur(gaussian_blur(echo, 0.9).T, 1.3).T
        level = echo * 10 ** ((gain_db - loss_db) / 20)
        # Speckle, compounded (two looks averaged) as scanners do to smooth it; it changes as
        # the beam moves through the tissue.
        a = elevation / 5.0
        look1 = np.abs(fields[0] * math.cos(a) + fields[1] * math.sin(a))
        look2 = np.abs(fields[1] * math.cos(a) + fields[2] * math.sin(a))
        amplitude = level * (look1 + look2) / 2 + 0.003 * np.abs(fields[2])
        db = gaussian_blur(20 * np.log10(np.maximum(amplitude, 1e-6)), 0.6)
        grey = np.clip((db + 46) / 50, 0, 1) ** 1.6 * 255
        grey *= 1 - 0.25 * np.clip((d - 115) / 20, 0, 1)  # far-field fall-off
        image = bilinear(grey, sample, line) * inside
        frames.append(np.clip(np.round(image), 0, 255).astype(np.uint8))
    return frames


# --- The cases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """How a CT phantom's slices are laid out: ``count`` slices of ``size`` pixels ``spacing``
    mm apart, from z = ``top`` downwards every ``slice_spacing`` mm (the order processing keeps:
    index 0 is the highest)."""

    count: int
    size: int
    spacing: float
    slice_spacing: float
    top: float = 0.0

    def options(self) -> dict:
        """The layout as draw_ct's keyword arguments."""
        return {
            "count": self.count,
            "size": self.size,
            "spacing": self.spacing,
            "slice_spacing": self.slice_spacing,
            "top": self.top,
        }

    def z(self, index: int) -> float:
        return self.top - index * self.slice_spacing

    def planes(self, index: int) -> tuple[float, float]:
        """The two planes draw_ct averages for the slice (so what either shows, it shows)."""
        z = self.z(index)
        return z - self.slice_spacing / 4, z + self.slice_spacing / 4


NEPHROSTOMY_SERIES = Series(count=56, size=256, spacing=1.4, slice_spacing=4.0)
LIVER_ABSCESS_SERIES = Series(count=36, size=256, spacing=1.4, slice_spacing=5.0, top=15.0)
LUNG_NODULE_SERIES = Series(count=64, size=256, spacing=1.4, slice_spacing=4.0)


def nephrostomy_abdomen() -> "Abdomen":
    return Abdomen(contrast=PLAIN, hydronephrosis=True, seed=1)


def nephrostomy_volume() -> CTVolume:
    return draw_ct(nephrostomy_abdomen(), **NEPHROSTOMY_SERIES.options(), seed=11, noise_hu=8.0)


LIVER_ABSCESS = ((-95.0, -5.0, -38.0), 28.0)


def liver_abscess_abdomen() -> "Abdomen":
    return Abdomen(contrast=PORTAL, abscess=LIVER_ABSCESS, seed=2)


def liver_abscess_volume() -> CTVolume:
    return draw_ct(liver_abscess_abdomen(), **LIVER_ABSCESS_SERIES.options(), seed=12, noise_hu=9.0)


def lung_nodule_volume() -> CTVolume:
    return draw_ct(Chest(seed=3), **LUNG_NODULE_SERIES.options(), seed=13, noise_hu=10.0)


US_FRAME_TIME_MS = 66.0
US_PIXEL_MM = Sector.pixel


@dataclass(frozen=True)
class Phantom:
    """One demo case: what its ImageStack row says, and how to make its upload."""

    slug: str
    title: str
    modality: str
    plane: str
    window_keys: tuple
    description: str
    build: Callable[[], bytes]
    filename: str
    credit: str = CREDIT
    source: str = SOURCE
    is_synthetic: bool = True

    def stack_fields(self) -> dict:
        """The ImageStack fields an editor would fill in for this upload."""
        return {
            "title": self.title,
            "modality": self.modality,
            "plane": self.plane,
            "window_keys": list(self.window_keys),
            "description": self.description,
            "credit": self.credit,
            "source": self.source,
            "is_synthetic": self.is_synthetic,
        }


@functools.cache
def nephrostomy_ct() -> bytes:
    return ct_upload(nephrostomy_volume())


@functools.cache
def liver_abscess_ct() -> bytes:
    return ct_upload(liver_abscess_volume())


@functools.cache
def lung_nodule_ct() -> bytes:
    return ct_upload(lung_nodule_volume())


@functools.cache
def gallbladder_us() -> bytes:
    frames = gallbladder_frames()
    return synthetic.to_bytes(
        synthetic.ultrasound_cine(
            frames, frame_time_ms=US_FRAME_TIME_MS, pixel_spacing_mm=US_PIXEL_MM, burned_in="NO"
        )
    )


PHANTOMS = {
    phantom.slug: phantom
    for phantom in (
        Phantom(
            slug="nephrostomy-ct",
            title="Obstructed left kidney: planning a nephrostomy",
            modality="CT",
            plane="axial",
            window_keys=("soft-tissue", "bone", "lung"),
            description=(
                "Synthetic phantom, not a patient. Axial CT of the abdomen without contrast, "
                "56 slices 4 mm apart, numbered from the highest (slice 1, lung bases) to the "
                "lowest (slice 56, lower lumbar spine). The patient's left is on the right of the "
                "image. The left kidney is obstructed: its renal pelvis and calyces are dilated "
                "with urine (about 0 HU, darker than the 40 HU kidney), the fat around it is "
                "stranded, and the dilated ureter runs down to a 9 mm stone at slices 47 and 48. "
                "The right kidney is normal. The target, the posterior calyx of the left lower "
                "pole, is seen from slice 35 to 39 and is largest at slice 37. The gas-filled "
                "descending colon lies beside and slightly behind the lower pole (slices 34 to "
                "45). The spleen lies beside the upper pole (slices 1 to 22) and the lung bases "
                "fill the posterior costophrenic recesses behind the liver and spleen on slices "
                "1 to 14. Also shown: liver, stomach, pancreas, bowel, aorta, inferior vena "
                "cava, spine, paraspinal, psoas and quadratus lumborum muscles, and the lower "
                "ribs."
            ),
            build=nephrostomy_ct,
            filename="nephrostomy-ct.zip",
        ),
        Phantom(
            slug="liver-abscess-ct",
            title="Liver abscess: planning a drain",
            modality="CT",
            plane="axial",
            window_keys=("soft-tissue", "liver", "lung"),
            description=(
                "Synthetic phantom, not a patient. Axial contrast-enhanced CT of the upper "
                "abdomen in the portal venous phase, 36 slices 5 mm apart, numbered from the "
                "highest (slice 1, the dome of the liver and the lung bases) to the lowest "
                "(slice 36, the lower poles of the kidneys). The patient's right is on the left "
                "of the image. A 6 cm abscess lies in the lateral part of the right lobe of the "
                "liver, close to its surface, from slice 6 to 17 and largest at slices 11 and "
                "12: fluid of about 20 HU with a thin enhancing wall, a paler rim of oedematous "
                "liver round it and a thin septum across it. The right lung base lies behind the "
                "liver down to slice 12 and round its back and outer side down to slice 8; in "
                "the mid-axillary line, beside the liver, it reaches down only to slice 4. The "
                "gallbladder lies in front of and below the abscess, towards the midline (slices "
                "16 to 29). Also shown: portal and hepatic veins, inferior vena cava, aorta, "
                "kidneys, spleen, stomach, bowel, ribs and spine."
            ),
            build=liver_abscess_ct,
            filename="liver-abscess-ct.zip",
        ),
        Phantom(
            slug="lung-nodule-ct",
            title="Peripheral lung nodule: planning a biopsy",
            modality="CT",
            plane="axial",
            window_keys=("lung", "mediastinum"),
            description=(
                "Synthetic phantom, not a patient. Axial CT of the chest without contrast, 64 "
                "slices 4 mm apart, numbered from the highest (slice 1, lung apices) to the "
                "lowest (slice 64, upper abdomen under the diaphragm). The patient's right is on "
                "the left of the image. A solid, lobulated 18 mm nodule with short spicules lies "
                "in the back of the right lower lobe, about 2 cm from the posterior chest wall, "
                "from slice 37 to 40 and largest at slices 38 and 39; the oblique fissure runs in "
                "front of it. Pulmonary arteries and veins branch out from each hilum and taper "
                "towards the periphery. The tips of the scapulae reach down to about slice 37. "
                "Also shown: trachea and main bronchi (the carina at slice 20), aorta, "
                "pulmonary arteries, heart, oesophagus, ribs, spine and chest wall muscles."
            ),
            build=lung_nodule_ct,
            filename="lung-nodule-ct.zip",
        ),
        Phantom(
            slug="gallbladder-us",
            title="Distended gallbladder on ultrasound",
            modality="US",
            plane="oblique",
            window_keys=(),
            description=(
                "Synthetic phantom, not a patient. Ultrasound cine of 40 frames: a curved probe "
                "under the right costal margin, the skin at the top of the fan-shaped image. A "
                "distended gallbladder, about 9 cm long and 4 cm deep, fills the middle of the "
                "image: black (anechoic) bile inside a thin bright wall, a brighter band of liver "
                "behind it (posterior acoustic enhancement) and thin dark shadows from its curved "
                "edges. Liver surrounds it, with a few vessels; the bright curve of the diaphragm "
                "crosses the deep left of the image and the right kidney lies deep on the right. "
                "The probe rocks gently, so the gallbladder grows and shrinks a little from "
                "frame to frame. No stones are shown."
            ),
            build=gallbladder_us,
            filename="gallbladder-us.dcm",
        ),
    )
}


# --- Regions: the structures image questions key, traced from the drawing -------------------
#
# An image question on a phantom is scored against regions (irlearn/stacks/geometry.py): the
# target, and the structures a needle must miss. Drawn by hand they would be approximations of
# anatomy that is known exactly here, so they are traced from the same signed distances the
# drawing paints, on the same grid, slice by slice: where a structure shows on either of the
# two planes a CT slice averages, it is in the region (a target is taken at the slice's middle
# plane, so a mark on a structure's faint partial-volume edge does not count). The shapes are
# fractions of the image's width and height from its top left, as the admin stores them, on the
# slice's index in the processed stack (head first: the index is the drawing's k, one less
# than CTVolume.shown_number). Rendered images here are the DICOM matrix: column c of a CT
# slice is x = (c - size / 2) * spacing mm (the patient's left to the right of the image), row
# r is y (the back at the bottom), so a pixel's centre lies at fraction (c + 0.5) / size.

REGION_MOST_POINTS = 120  # per polygon (the admin allows 200)


def region_outlines(
    field: np.ndarray, *, tolerance: float = 0.3, min_area: float = 2.0
) -> list[np.ndarray]:
    """Closed outlines, as arrays of (column, row) in pixels, of where ``field`` (a signed
    distance sampled at the pixel centres) is below 0: marching squares with each crossing
    placed on its cell's edge by linear interpolation, simplified (Douglas-Peucker) to within
    ``tolerance`` pixels and to at most REGION_MOST_POINTS points. Outlines enclosing less than
    ``min_area`` square pixels (specks) are left out."""
    f = np.pad(np.asarray(field, dtype=np.float64), 1, constant_values=1.0)
    inside = (f < 0).astype(np.int8)
    code = inside[:-1, :-1] * 8 + inside[:-1, 1:] * 4 + inside[1:, 1:] * 2 + inside[1:, :-1]
    neighbours: dict[tuple, list[tuple]] = {}

    def join(a, b):
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)

    for i, j in np.argwhere((code > 0) & (code < 15)):
        i, j = int(i), int(j)
        edges = {
            "top": (0, i, j),
            "right": (1, i, j + 1),
            "bottom": (0, i + 1, j),
            "left": (1, i, j),
        }
        case = int(code[i, j])
        if case in (5, 10):
            centre = f[i, j] + f[i, j + 1] + f[i + 1, j] + f[i + 1, j + 1] < 0
            if (case == 5) == centre:
                pairs = (("left", "top"), ("bottom", "right"))
            else:
                pairs = (("left", "bottom"), ("top", "right"))
        else:
            pairs = (_CELL_EDGES[case],)
        for a, b in pairs:
            join(edges[a], edges[b])

    def position(key):
        horizontal, i, j = key[0] == 0, key[1], key[2]
        a, b = f[i, j], (f[i, j + 1] if horizontal else f[i + 1, j])
        t = a / (a - b)
        return (j + t - 1, i - 1) if horizontal else (j - 1, i + t - 1)

    outlines, seen = [], set()
    for start in neighbours:
        if start in seen:
            continue
        loop, previous, current = [start], None, start
        seen.add(start)
        while True:
            a, b = neighbours[current]
            following = b if a == previous else a
            if following == start:
                break
            previous, current = current, following
            seen.add(current)
            loop.append(current)
        points = np.array([position(key) for key in loop])
        x, y = points[:, 0], points[:, 1]
        if abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2 < min_area:
            continue
        outlines.append(_simplified(points, tolerance))
    # A region is what its outlines enclose, so a hole (a rib's section in the lung) is filled:
    # an outline inside another is left out.
    return [
        outline
        for n, outline in enumerate(outlines)
        if not any(_encloses(other, outline[0]) for m, other in enumerate(outlines) if m != n)
    ]


def _encloses(outline: np.ndarray, point) -> bool:
    x, y = point
    inside = False
    for (x0, y0), (x1, y1) in zip(outline, np.roll(outline, 1, axis=0), strict=True):
        if (y0 > y) != (y1 > y) and x < (x1 - x0) * (y - y0) / (y1 - y0) + x0:
            inside = not inside
    return inside


# Marching squares: which two edges of a cell the outline joins, by which corners are inside
# (top left 8, top right 4, bottom right 2, bottom left 1); 5 and 10, the saddles, are decided
# by the cell's centre.
_CELL_EDGES = {
    1: ("left", "bottom"),
    2: ("bottom", "right"),
    3: ("left", "right"),
    4: ("top", "right"),
    6: ("top", "bottom"),
    7: ("left", "top"),
    8: ("left", "top"),
    9: ("top", "bottom"),
    11: ("top", "right"),
    12: ("left", "right"),
    13: ("bottom", "right"),
    14: ("left", "bottom"),
}


def _simplified(loop: np.ndarray, tolerance: float) -> np.ndarray:
    """A closed outline with the points that change it by less than ``tolerance`` dropped."""
    far = int(np.argmax(np.hypot(*(loop - loop[0]).T)))
    while True:
        halves = [_douglas_peucker(loop[: far + 1], tolerance)]
        halves.append(_douglas_peucker(np.vstack([loop[far:], loop[:1]]), tolerance))
        points = np.vstack([halves[0][:-1], halves[1][:-1]])
        if len(points) <= REGION_MOST_POINTS:
            return points
        tolerance *= 1.5


def _douglas_peucker(line: np.ndarray, tolerance: float) -> np.ndarray:
    keep = np.zeros(len(line), dtype=bool)
    keep[0] = keep[-1] = True
    pending = [(0, len(line) - 1)]
    while pending:
        a, b = pending.pop()
        if b <= a + 1:
            continue
        chord, offsets = line[b] - line[a], line[a + 1 : b] - line[a]
        length = math.hypot(*chord)
        if length == 0:
            distance = np.hypot(offsets[:, 0], offsets[:, 1])
        else:
            distance = np.abs(chord[0] * offsets[:, 1] - chord[1] * offsets[:, 0]) / length
        worst = int(np.argmax(distance))
        if distance[worst] > tolerance:
            keep[a + 1 + worst] = True
            pending += [(a, a + 1 + worst), (a + 1 + worst, b)]
    return line[keep]


def polygon_shapes(index: int, field: np.ndarray, *, width: int, height: int, **options):
    """The outlines of where ``field`` (on the image's pixel grid) is below 0 as polygon shapes
    on slice ``index``."""
    return [
        {
            "slice": index,
            "kind": "polygon",
            "points": [
                [
                    round(min(max((c + 0.5) / width, 0.0), 1.0), 5),
                    round(min(max((r + 0.5) / height, 0.0), 1.0), 5),
                ]
                for c, r in outline
            ],
        }
        for outline in region_outlines(field, **options)
    ]


def _capsules_sd(X, Y, z, segments):
    """The smallest signed distance from tubes (p0, p1, r0, r1) that reach the plane at z, or
    None where none does."""
    nearest = None
    for p0, p1, r0, r1 in segments:
        reach = max(r0, r1) + 3
        if not min(p0[2], p1[2]) - reach < z < max(p0[2], p1[2]) + reach:
            continue
        d = capsule_sd(X, Y, z, p0, p1, r0, r1)
        nearest = d if nearest is None else np.minimum(nearest, d)
    return nearest


def _colon_segments():
    return [
        (p0, p1, radius, radius)
        for path, _, radius in COLON
        for p0, p1 in zip(path, path[1:], strict=False)
    ]


def _mm_to_fraction(series: Series, value: float) -> float:
    return (value / series.spacing + series.size / 2 + 0.5) / series.size


def _circle(series: Series, index: int, x: float, y: float, radius: float) -> dict:
    r = round(radius / (series.size * series.spacing), 5)
    return {
        "slice": index,
        "kind": "ellipse",
        "cx": round(_mm_to_fraction(series, x), 5),
        "cy": round(_mm_to_fraction(series, y), 5),
        "rx": r,
        "ry": r,
    }


# What shows of a structure is what the drawing leaves of it once everything painted after it
# has been painted: found by painting the structure with this value and then what the drawing
# paints after it, when each pixel's value divided by it is the part of the pixel the structure
# still covers (every other value is some thousands at most).
SENTINEL = 1.0e6


def _cover(sd, spacing: float):
    """The part of each pixel a structure covers, from its signed distance, as Slab.paint
    blends its edge."""
    return np.clip(0.5 - sd / spacing, 0.0, 1.0)


class _Abdominal:
    """A drawn abdominal phantom, for tracing its structures."""

    def __init__(self, abdomen: "Abdomen", series: Series):
        self.abdomen, self.series = abdomen, series
        self.X, self.Y = _grid(series.size, series.spacing)
        self.cavities = {}

    def slab(self, z: float) -> Slab:
        """An empty plane with the body wall's cavity, as the drawing has it (kept: every
        structure is traced on the same planes)."""
        s = Slab(self.series.size, self.series.spacing, z)
        if z not in self.cavities:
            self.cavities[z] = self.abdomen.outline(s)[2]
        s.cavity = self.cavities[z]
        return s

    def shown(self, distance, *, after: str | None = None, near=lambda z: True) -> dict:
        """{slice index: the part of each pixel that shows a structure on the slice}, where
        ``distance(slab)`` (a signed distance, or None) is the structure on a plane: the mean
        of the slice's two planes, as draw_ct averages them. With ``after``, the drawing's step
        that paints the structure, what the steps after it paint over it is taken away: the
        structure is painted with SENTINEL and those steps drawn again over it. Planes where
        ``near(z)`` is false are passed over (the structure is not there)."""
        shown = {}
        for index in range(self.series.count):
            parts = []
            for z in self.series.planes(index):
                sd = None
                if near(z):
                    s = self.slab(z)
                    sd = distance(s)
                if sd is None:
                    continue
                if after is None:
                    parts.append(_cover(sd, s.spacing))
                    continue
                s.hu = (SENTINEL * _cover(sd, s.spacing)).astype(np.float32)
                self.abdomen(s, after=after)
                parts.append(np.clip(s.hu / SENTINEL, 0.0, 1.0))
            if parts:
                shown[index] = sum(parts) / len(self.series.planes(index))
        return shown

    def regions(self, structures: dict) -> dict:
        """{name: shapes} of ``structures`` ({name: shown}), outlined where more than half of
        each pixel shows the structure."""
        size = self.series.size
        return {
            name: [
                shape
                for index, part in sorted(parts.items())
                for shape in polygon_shapes(index, 0.5 - part, width=size, height=size)
            ]
            for name, parts in structures.items()
        }


# No lung base reaches below this height (mm) in the abdominal phantoms (checked in the tests).
LUNG_BASES_LOWEST = -90.0


def _lung_bases(a: _Abdominal) -> dict:
    return a.shown(a.abdomen.lung_bases, after="lungs", near=lambda z: z > LUNG_BASES_LOWEST)


def _colon(a: _Abdominal) -> dict:
    segments = _colon_segments()
    return a.shown(lambda s: _capsules_sd(a.X, a.Y, s.z, segments))


def _nephrostomy_regions() -> dict:
    series = NEPHROSTOMY_SERIES
    a = _Abdominal(nephrostomy_abdomen(), series)
    X, Y = a.X, a.Y

    def spleen(s):
        shape = spleen_shape(s.z)
        return None if shape is None else np.maximum(shape[1](X, Y), s.cavity + 1.5)

    regions = a.regions(
        {
            "colon": _colon(a),
            "spleen": a.shown(spleen, after="organs", near=spleen_shape),
            "lung": _lung_bases(a),
        }
    )
    # The target: the calyx as each slice's middle plane cuts it, where it is more than a faint
    # partial-volume grey (12 mm across or more).
    lower = HYDRO_CALYCES["lower-posterior"]
    (x, y, z), radius = LEFT_HYDRO.point(*lower[:3]), lower[3]
    regions["calyx"] = [
        _circle(series, index, x, y, math.sqrt(radius**2 - (series.z(index) - z) ** 2))
        for index in range(series.count)
        if radius**2 - (series.z(index) - z) ** 2 >= 6.0**2
    ]
    return regions


def _liver_abscess_regions() -> dict:
    series = LIVER_ABSCESS_SERIES
    a = _Abdominal(liver_abscess_abdomen(), series)
    X, Y = a.X, a.Y

    def gallbladder(s):
        sd = _capsules_sd(X, Y, s.z, [GALLBLADDER_FOSSA])
        return None if sd is None else np.maximum(sd, s.cavity + 4)

    def liver_veins(kind):
        segments = [(p0, p1, r0, r1) for p0, p1, r0, r1, which in LIVER_VESSELS if which == kind]

        def veins(s):
            # As the drawing paints them: inside the liver, and hidden where the abscess and the
            # oedema round it are painted over them (in the same step).
            liver_sd, vessel = liver_shape(s.z), _capsules_sd(X, Y, s.z, segments)
            if liver_sd is None or vessel is None:
                return None
            halo = np.maximum(abscess_sd(X, Y, s.z, LIVER_ABSCESS, 9), s.cavity + 2)
            inside = np.maximum(np.maximum(liver_sd(X, Y) + 3, s.cavity + 1.5), -halo)
            return np.maximum(vessel, inside)

        return a.shown(veins, after="organs")

    def kidney(s):
        section = RIGHT_NORMAL.section(s.z)
        return None if section is None else ellipse_sd(X, Y, *section)

    regions = a.regions(
        {
            "lung": _lung_bases(a),
            "gallbladder": a.shown(gallbladder, after="organs", near=lambda z: -125 < z < -45),
            "portal-vein": liver_veins("portal"),
            "hepatic-veins": liver_veins("hepatic"),
            # Nothing but each other, at their edges, is painted over these.
            "ivc": a.shown(lambda s: ellipse_sd(X, Y, *ivc_section(s.z))),
            "right-kidney": a.shown(kidney),
            "colon": _colon(a),
        }
    )
    # The target: the pus at each slice's middle plane, less any lung or diaphragm drawn over it.
    regions["abscess"] = []
    for index in range(series.count):
        s = a.slab(series.z(index))
        pus = np.maximum(abscess_sd(X, Y, s.z, LIVER_ABSCESS), s.cavity + 2)
        lung_sd = a.abdomen.lung_bases(s)
        if lung_sd is not None:
            pus = np.maximum(pus, 4.0 - lung_sd)
        regions["abscess"] += polygon_shapes(
            index, pus, width=series.size, height=series.size, min_area=8.0
        )
    return regions


# The pulmonary vessels keyed on the lung nodule: those at least this wide (radius, mm) within
# this distance of the nodule's centre (mm), where a needle to it might pass.
NODULE_VESSEL_RADIUS = 1.5
NODULE_VESSEL_REACH = 45.0
# Half the thickness of the band keyed as the fissure: the fissure is oblique, so across a 4 mm
# slice it moves 4.2 mm forwards; the band covers that and a millimetre more.
FISSURE_HALF_MM = 3.0


def _lung_nodule_regions() -> dict:
    series = LUNG_NODULE_SERIES
    chest = Chest(seed=3)
    X, Y = _grid(series.size, series.spacing)
    size = series.size
    centre = np.array(NODULE)
    vessels = []
    for x0, y0, z0, x1, y1, z1, r0, r1 in chest.vessels:
        p0, p1 = np.array([x0, y0, z0]), np.array([x1, y1, z1])
        if min(r0, r1) < NODULE_VESSEL_RADIUS:
            continue
        along = p1 - p0
        t = np.clip(np.dot(centre - p0, along) / max(float(np.dot(along, along)), 1e-9), 0, 1)
        if np.linalg.norm(p0 + t * along - centre) - max(r0, r1) < NODULE_VESSEL_REACH:
            vessels.append((tuple(p0), tuple(p1), float(r0), float(r1)))
    ((side, top),) = [(side, top) for side, top in FISSURES if side < 0]  # the right fissure
    regions = {"nodule": [], "fissure": [], "vessels": []}

    def shapes(index, field):
        return [] if field is None else polygon_shapes(index, field, width=size, height=size)

    for index in range(series.count):
        z = series.z(index)
        regions["nodule"] += shapes(index, nodule_sd(X, Y, z))
        lung = chest.outline(Slab(size, series.spacing, z))[1]
        if -262 < z < top + 10:
            band = np.abs(Y - fissure_front(X, z, side, top)) - FISSURE_HALF_MM
            regions["fissure"] += shapes(
                index, np.maximum(np.maximum(band, lung + 1.0), 25 - side * X)
            )
        parts = []
        for plane in series.planes(index):
            vessel = _capsules_sd(X, Y, plane, vessels)
            if vessel is not None:
                # Drawn only in the lung, and not where the nodule is painted over them.
                vessel = np.maximum(np.maximum(vessel, lung + 1.5), -nodule_sd(X, Y, plane))
                parts.append(_cover(vessel, series.spacing))
        if parts:
            regions["vessels"] += shapes(index, 0.5 - sum(parts) / 2)
    return regions


# The gallbladder's neck: the gallbladder (its wall and lumen) within this distance of the
# tapering neck, which takes in where the body opens into it.
NECK_MM = 2.0


def _gallbladder_regions() -> dict:
    sector = Sector()
    columns = (np.arange(sector.width) - sector.width / 2 + 0.5) * sector.pixel
    rows = np.arange(sector.height) * sector.pixel - sector.top
    # Scan conversion places each beam's samples where they are: the image's pixels are the
    # probe plane's (u across, w down from the skin under the middle beam).
    u, w = np.meshgrid(columns.astype(np.float32), rows.astype(np.float32))
    regions = {"neck": []}
    for n in range(US_FRAMES):
        elevation, drift, slide = sweep(n, US_FRAMES)
        body, neck = gallbladder_sd(u + slide, w - drift, elevation)
        gallbladder = np.minimum(body, neck)
        regions["neck"] += polygon_shapes(
            n, np.maximum(gallbladder, neck - NECK_MM), width=sector.width, height=sector.height
        )
    return regions


_REGIONS = {
    "nephrostomy-ct": _nephrostomy_regions,
    "liver-abscess-ct": _liver_abscess_regions,
    "lung-nodule-ct": _lung_nodule_regions,
    "gallbladder-us": _gallbladder_regions,
}


@functools.cache
def _phantom_regions(slug: str) -> dict:
    return _REGIONS[slug]()


def phantom_regions(slug: str) -> dict[str, list[dict]]:
    """The structures image questions on phantom ``slug`` key, by name (``"calyx"``,
    ``"colon"``...): each a list of shapes (geometry.py's format) on every slice of the
    processed stack where the structure shows. Computed once a process; a fresh copy each time.

    nephrostomy-ct: calyx (the posterior calyx of the left lower pole, the target), colon, spleen,
        lung (the lung bases and their pleura).
    liver-abscess-ct: abscess (its pus, the target), lung, gallbladder, ivc, portal-vein,
        hepatic-veins, right-kidney, colon.
    lung-nodule-ct: nodule (the target), fissure (the right oblique fissure, as a band), vessels
        (the pulmonary vessels of 3 mm or more across near the nodule).
    gallbladder-us: neck (the gallbladder's neck, on every frame).
    """
    if slug not in _REGIONS:
        raise KeyError(
            f"No regions are drawn for {slug!r}; phantoms with regions: {sorted(_REGIONS)}."
        )
    return copy.deepcopy(_phantom_regions(slug))


def phantom_slice_count(slug: str) -> int:
    """How many slices (or frames) phantom ``slug``'s processed stack has."""
    series = {
        "nephrostomy-ct": NEPHROSTOMY_SERIES,
        "liver-abscess-ct": LIVER_ABSCESS_SERIES,
        "lung-nodule-ct": LUNG_NODULE_SERIES,
    }
    return series[slug].count if slug in series else US_FRAMES
