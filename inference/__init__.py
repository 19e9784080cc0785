"""vividtalk engine: voice recording -> facial motion (stage 1) and, later, frames (stage 2).

Importable and runnable without Blender; the add-on calls it out of process (``python -m inference``).
"""

__version__ = "0.1.0"
