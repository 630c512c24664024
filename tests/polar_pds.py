"""Write a small PDS3 polar-stereographic LOLA-style DEM (LBL + IMG) for tests.

The label follows the LOLA GDR polar products' layout (16-bit LSB, DN × 0.5 m, OFFSET =
1 737 400 m reference radius, POLAR STEREOGRAPHIC centred on the south pole).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

LABEL = """PDS_VERSION_ID            = "PDS3"
DATA_SET_ID               = "LRO-L-LOLA-4-GDR-V1.0"
PRODUCT_ID                = "{name}"
TARGET_NAME               = MOON
RECORD_TYPE               = FIXED_LENGTH
RECORD_BYTES              = {record_bytes}
FILE_RECORDS              = {lines}
^IMAGE                    = "{name}.IMG"
OBJECT                    = IMAGE
  NAME                    = HEIGHT
  LINES                   = {lines}
  LINE_SAMPLES            = {samples}
  SAMPLE_TYPE             = LSB_INTEGER
  SAMPLE_BITS             = 16
  UNIT                    = METER
  SCALING_FACTOR          = 0.5
  OFFSET                  = 1737400.
END_OBJECT                = IMAGE
OBJECT                    = IMAGE_MAP_PROJECTION
 MAP_PROJECTION_TYPE          = "POLAR STEREOGRAPHIC"
 A_AXIS_RADIUS                = 1737.4 <km>
 B_AXIS_RADIUS                = 1737.4 <km>
 C_AXIS_RADIUS                = 1737.4 <km>
 POSITIVE_LONGITUDE_DIRECTION = "EAST"
 CENTER_LATITUDE              = -90 <deg>
 CENTER_LONGITUDE             = 0 <deg>
 LINE_FIRST_PIXEL             = 1
 LINE_LAST_PIXEL              = {lines}
 SAMPLE_FIRST_PIXEL           = 1
 SAMPLE_LAST_PIXEL            = {samples}
 MAP_PROJECTION_ROTATION      = 0.0
 MAP_SCALE                    = {scale_km} <km/pix>
 MAXIMUM_LATITUDE             = -85 <deg>
 MINIMUM_LATITUDE             = -90 <deg>
 LINE_PROJECTION_OFFSET       = {offset} <pix>
 SAMPLE_PROJECTION_OFFSET     = {offset} <pix>
 COORDINATE_SYSTEM_TYPE       = "BODY-FIXED ROTATING"
 COORDINATE_SYSTEM_NAME       = "MEAN EARTH/POLAR AXIS OF DE421"
END_OBJECT                    = IMAGE_MAP_PROJECTION
END
"""


def write_polar_dem(folder: Path, heights_m: np.ndarray, pixel_m: float,
                    name: str = "LDEM_75S_120M") -> Path:
    """Write ``heights_m`` (square, centred on the pole) as NAME.LBL + NAME.IMG."""
    n = heights_m.shape[0]
    folder.mkdir(parents=True, exist_ok=True)
    dn = np.round(heights_m / 0.5).astype("<i2")
    (folder / f"{name}.IMG").write_bytes(dn.tobytes())
    label = LABEL.format(name=name, record_bytes=2 * n, lines=n, samples=n,
                         scale_km=pixel_m / 1000.0, offset=(n - 1) / 2)
    path = folder / f"{name}.LBL"
    path.write_text(label)
    return path
