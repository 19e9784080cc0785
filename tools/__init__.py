"""Scripts that build what the product ships (the extension zip, the head asset) and model folders for tests and
benchmarks. Each runs on its own (``python tools/NAME.py``) and is importable from the repository root as
``tools.NAME``."""
