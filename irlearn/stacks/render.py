"""One slice's pixels to one web image per display window.

Pixels arrive as stored values in real units (Hounsfield units for CT: rescale already applied)
or, for ultrasound and plain images, as display greys or RGB. Images are WebP at a fixed quality,
no larger than ``max_side`` on their longest side; Pillow writes no metadata into them.
"""

import io

import numpy as np
from PIL import Image

from irlearn.stacks.windows import Window

QUALITY = 82


def target_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def to_display(pixels: np.ndarray, window: Window, original_range: tuple[float, float] | None):
    """8-bit greys (or RGB) for ``pixels`` seen through ``window``."""
    if window.is_original:
        if pixels.dtype == np.uint8:
            return pixels
        low, high = original_range or (float(pixels.min()), float(pixels.max()))
    else:
        low, high = window.level - window.width / 2, window.level + window.width / 2
    scaled = (pixels.astype(np.float32) - low) * (255.0 / max(high - low, 1e-6))
    return np.clip(scaled, 0, 255).astype(np.uint8)


def encode(display: np.ndarray, size: tuple[int, int]) -> bytes:
    image = Image.fromarray(np.ascontiguousarray(display))  # greys ("L") or RGB
    if image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="WEBP", quality=QUALITY, method=4)
    return out.getvalue()
