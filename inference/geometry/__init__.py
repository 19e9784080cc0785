"""Geometry shared by the rigs and the renderer: rasterising triangles with array operations."""
