"""Close-ups of the open mouth, 2x zoom: each photo's interior from the fitted 3-D head (the default) above the
drawn one the renderer used before (``--mouth drawn``), for rest, "ah", "ee", "oo", "m" and a 20° turn, each the
pose our lip sync gives that phone.

    .venv/bin/python tools/mouth_closeups.py [PHOTO ...] [-o docs/images/mouth_closeups.jpg]

Without photos it uses ../shared/data/portraits. The turn is 20° of yaw (within the 25° a frontal photo is
turned by at most).
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inference.render.portrait_renderer import PortraitRenderer  # noqa: E402
from inference.rigs.portrait import portrait_rig_from_file  # noqa: E402
from inference.rigs.retarget import viseme_pose  # noqa: E402
from tools.contact_sheet import labelled, sheet_main  # noqa: E402

SIZE = 512  # the video size the close-ups are cut from
CROP = (120, 80)  # output pixels around the mouth (width, height), shown at 2x
POSES = [("rest", {}, 0.0), ("ah", viseme_pose("AA"), 0.0), ("ee", viseme_pose("IY"), 0.0),
         ("oo", viseme_pose("UW"), 0.0), ("m", viseme_pose("M"), 1.0),
         ("turn 20 deg", {**viseme_pose("AH"), "head.yaw": 20.0}, 0.0)]
"""Each pose as the lip sync reaches it at a phone's apex (at typical loudness), and the seal under it."""
INNER_LIPS = (13, 14)  # MediaPipe's inner-lip midpoints, upper and lower


def closeups(photo: Path) -> np.ndarray:
    rig = portrait_rig_from_file(photo)
    renderers = [("3-D head", PortraitRenderer(rig, size=SIZE)),
                 ("drawn", PortraitRenderer(rig, size=SIZE, interior="drawn"))]
    rows = []
    for name, renderer in renderers:
        row = []
        for label, shapes, seal in POSES:
            vertices = rig.evaluate(shapes, 1)[0] if shapes else rig.vertices
            frame = renderer.render(vertices, seal)
            centre = renderer.framing.project(vertices.astype(np.float64))[list(INNER_LIPS)].mean(0)
            x0 = int(np.clip(round(centre[0] - CROP[0] / 2), 0, SIZE - CROP[0]))
            y0 = int(np.clip(round(centre[1] - CROP[1] / 2), 0, SIZE - CROP[1]))
            tile = cv2.resize(frame[y0:y0 + CROP[1], x0:x0 + CROP[0]], (2 * CROP[0], 2 * CROP[1]),
                              interpolation=cv2.INTER_CUBIC)
            row.append(labelled(tile, f"{photo.stem}: {label}, {name}", 0.4))
        rows.append(np.hstack(row))
    return np.vstack(rows)


def main() -> None:
    sheet_main(lambda photos: np.vstack([closeups(p) for p in photos]), "mouth_closeups.jpg", 84)


if __name__ == "__main__":
    main()
