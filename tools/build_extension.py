"""Build the installable Blender extension zip: stage addon/, the manifest, the engine's contract and the
engine's source (for the preferences' install button), then build and validate it with Blender's own extension
tool (it ships in the bpy wheel, so no Blender binary is needed).

    python tools/build_extension.py [--output-dir dist]
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def blender_ext_tool() -> Path:
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("The bpy module is needed to build the extension: pip install bpy==5.0.1")
    for root in spec.submodule_search_locations:
        found = sorted(Path(root).glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
        if found:
            return found[-1]
    raise SystemExit("blender_ext.py not found in the bpy wheel")


def build(output_dir: Path) -> Path:
    tool = blender_ext_tool()
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vividtalk_ext_") as tmp:
        stage = Path(tmp) / "vividtalk"
        skip = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(REPO / "addon", stage, ignore=skip)
        shutil.copy2(REPO / "blender_manifest.toml", stage / "blender_manifest.toml")
        # the engine's contract, read by the add-on (addon/contract.py), and the engine's source, installed by
        # the preferences' button (addon/engine_install.py)
        shutil.copy2(REPO / "inference" / "data" / "engine_contract.json", stage / "engine_contract.json")
        engine_src = stage / "engine_src"
        shutil.copytree(REPO / "inference", engine_src / "inference", ignore=skip)
        shutil.copytree(REPO / "blender_assets", engine_src / "blender_assets", ignore=skip)
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(REPO / name, engine_src / name)
        subprocess.run([sys.executable, str(tool), "build", "--source-dir", str(stage), "--output-dir",
                        str(output_dir)], check=True)
    version = next(line.split("=")[1].strip().strip('"') for line in
                   (REPO / "blender_manifest.toml").read_text().splitlines() if line.startswith("version"))
    zip_path = output_dir / f"vividtalk-{version}.zip"
    subprocess.run([sys.executable, str(tool), "validate", str(zip_path)], check=True)
    return zip_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output-dir", default=str(REPO / "dist"))
    print(build(Path(ap.parse_args().output_dir)))


if __name__ == "__main__":
    main()
