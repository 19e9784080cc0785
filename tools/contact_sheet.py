"""A contact sheet of the portrait renderer: one row per photo, the poses that show its strengths and flaws.

    .venv/bin/python tools/contact_sheet.py [PHOTO ...] [-o docs/images/render_contact_sheet.jpg]

Columns: the photo's own pose (neutral), three frames of real speech (the built-in voice line), the jaw
wide open, pucker, blink, head turned left and right by 12° and by 25° (the most a photo is turned). Without
photos it uses ../shared/data/portraits.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inference.demo import DEMO_TEXT, write_demo_voice  # noqa: E402
from inference.pipeline import AnimateOptions, animate  # noqa: E402
from inference.progress import Progress  # noqa: E402
from inference.render.portrait_renderer import PortraitRenderer  # noqa: E402
from inference.rigs.portrait import portrait_rig_from_file  # noqa: E402
from inference.rigs.rig import clip_channels  # noqa: E402

TILE = 200
POSES = [("wide open", {"jawOpen": 1.0}), ("pucker", {"mouthPucker": 0.9, "jawOpen": 0.1}),
         ("blink", {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0}), ("turn left", {"head.yaw": 12.0, "head.pitch": 3.0}),
         ("turn right", {"head.yaw": -12.0, "head.roll": 5.0}), ("turn 25 left", {"head.yaw": 25.0}),
         ("turn 25 right, down", {"head.yaw": -25.0, "head.pitch": 10.0})]


def speech_frames() -> list[tuple[str, dict[str, float], float]]:
    """Three frames of the demo line: the widest vowel, a mid opening and a lip closure."""
    with tempfile.TemporaryDirectory() as tmp:
        clip = animate(write_demo_voice(Path(tmp) / "v.wav"), AnimateOptions(transcript=DEMO_TEXT), Progress())
    ch = clip_channels(clip)
    jaw = ch["jawOpen"]
    seal = ch["mouthClose"] / np.maximum(jaw, 0.05)
    picks = [("speech: open", int(np.argmax(jaw))), ("speech: mid", int(np.argmin(np.abs(jaw - 0.5 * jaw.max())))),
             ("speech: P/B/M", int(np.argmax(np.where(jaw > 0.08, seal, 0))))]
    return [(label, {k: float(np.asarray(v)[i]) for k, v in ch.items()}, float(min(seal[i], 1.0)))
            for label, i in picks]


def sheet(photos: list[Path]) -> np.ndarray:
    speech = speech_frames()
    rows = []
    for photo in photos:
        rig = portrait_rig_from_file(photo)
        r = PortraitRenderer(rig, size=2 * TILE)
        tiles = [("photo pose", r.render(rig.vertices))]
        tiles += [(label, r.render(rig.evaluate(ch, 1)[0], seal)) for label, ch, seal in speech]
        tiles += [(label, r.render(rig.evaluate(ch, 1)[0])) for label, ch in POSES]
        rows.append(np.hstack([labelled(cv2.resize(frame, (TILE, TILE), interpolation=cv2.INTER_AREA), label, 0.45)
                               for label, frame in tiles]))
    return np.vstack(rows)


def labelled(tile: np.ndarray, text: str, scale: float) -> np.ndarray:
    """``tile`` (modified) with ``text`` at its bottom left, white on a black outline."""
    for colour, width in (((0, 0, 0), 3), ((255, 255, 255), 1)):
        cv2.putText(tile, text, (6, tile.shape[0] - 8), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, width, cv2.LINE_AA)
    return tile


def sheet_main(make, name: str, quality: int) -> None:
    """A docs image tool's command line: photos (default ../shared/data/portraits) -> ``make(photos)`` -> JPEG."""
    ap = argparse.ArgumentParser()
    ap.add_argument("photos", nargs="*", type=Path)
    ap.add_argument("-o", "--output", type=Path, default=REPO / "docs" / "images" / name)
    args = ap.parse_args()
    image = make(args.photos or sorted((REPO.parent / "shared" / "data" / "portraits").glob("*.png")))
    cv2.imwrite(str(args.output), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    print(f"wrote {args.output} ({image.shape[1]}x{image.shape[0]})")


def main() -> None:
    sheet_main(sheet, "render_contact_sheet.jpg", 82)


if __name__ == "__main__":
    main()
