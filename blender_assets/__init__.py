"""Assets the product ships: the ICT-FaceKit head (``ict_head.npz``, MIT: ``ICT-FaceKit-LICENSE.txt``), built from
the upstream source by tools/build_head_asset.py. A package so that an installed engine finds them
(``importlib.resources.files("blender_assets")``)."""
