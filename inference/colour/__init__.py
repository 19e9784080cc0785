"""Colour shared by the rigs and the renderer: sRGB encoding, and how much colour a photo holds."""
