"""Pure file formats and safe file writing (no bpy, no heavy maths)."""
