"""Display windows: which stored values map to black and white on screen.

CT numbers (Hounsfield units) span some 4,000 values; a screen shows 256 greys. A window of
width W centred on level L shows L - W/2 as black and L + W/2 as white, so each tissue needs its
own. The presets are the usual ones (for example Radiopaedia's "Windowing (CT)", 2024); stacks
built from ultrasound frames or PNG/JPEG images have one window, the image as it came.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    key: str
    label: str
    width: float | None = None
    level: float | None = None

    @property
    def is_original(self) -> bool:
        return self.width is None


SOFT_TISSUE = Window("soft-tissue", "Soft tissue", 400, 40)
LUNG = Window("lung", "Lung", 1500, -600)
BONE = Window("bone", "Bone", 1800, 400)
LIVER = Window("liver", "Liver", 150, 60)
MEDIASTINUM = Window("mediastinum", "Mediastinum", 350, 50)
ORIGINAL = Window("original", "As acquired")

PRESETS = {w.key: w for w in (SOFT_TISSUE, LUNG, BONE, LIVER, MEDIASTINUM)}
ALL = {**PRESETS, ORIGINAL.key: ORIGINAL}
PRESET_CHOICES = [(w.key, f"{w.label} (W {w.width:g}, L {w.level:g})") for w in PRESETS.values()]


def get(key: str) -> Window:
    return ALL[key]
