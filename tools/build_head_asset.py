"""Build the head that ships with vividtalk (``blender_assets/ict_head.npz``) from an ICT-FaceKit checkout.

    git clone https://github.com/ICT-VGL/ICT-FaceKit && python tools/build_head_asset.py ICT-FaceKit

Reads the checkout exactly as the engine reads a user's (inference/rigs/ict_model.py): the neutral mesh with its
UVs and materials, the 53 expression shapes, the 68 landmarks, and the first ``--identity-modes`` PCA identity
modes (what fitting the head to a photo solves for). Writes them compact (deltas as float16, 0.01 mm rounding at
most) with ICT-FaceKit's MIT licence beside them.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inference.rigs.ict_model import read_checkout  # noqa: E402

LICENCE_NAME = "ICT-FaceKit-LICENSE.txt"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkout", type=Path, help="ICT-FaceKit checkout (holding FaceXModel/ and LICENSE)")
    # 20 modes fit the shared portraits within 1 % of the eye distance, 40 only 0.05 % better for 2.5 MB more
    ap.add_argument("--identity-modes", type=int, default=20, help="PCA identity modes to keep (default 20)")
    ap.add_argument("--revision", default="", help="the checkout's commit, when it is not a git working tree")
    ap.add_argument("-o", "--output-dir", type=Path, default=REPO / "blender_assets")
    args = ap.parse_args()
    model = read_checkout(args.checkout / "FaceXModel", identity_modes=args.identity_modes)
    commit = args.revision or subprocess.run(["git", "-C", str(args.checkout), "rev-parse", "HEAD"],
                                             capture_output=True, text=True).stdout.strip()
    model.source = (f"ICT-FaceKit (https://github.com/ICT-VGL/ICT-FaceKit{'@' + commit if commit else ''}), "
                    "USC Institute for Creative Technologies, MIT licence")
    args.output_dir.mkdir(parents=True, exist_ok=True)
    model.save(args.output_dir / "ict_head.npz")
    shutil.copy2(args.checkout / "LICENSE", args.output_dir / LICENCE_NAME)
    size = (args.output_dir / "ict_head.npz").stat().st_size / 2**20
    print(f"wrote {args.output_dir / 'ict_head.npz'} ({size:.1f} MB): {len(model.vertices)} vertices, "
          f"{len(model.expression_names)} expressions, {args.identity_modes} identity modes")


if __name__ == "__main__":
    main()
