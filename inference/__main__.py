"""``python -m inference ...`` is the same as the ``vividtalk`` command."""

import sys

from .cli import main

if __name__ == "__main__":  # not when a render worker process re-imports this module
    sys.exit(main())
