"""``python -m inference ...`` is the same as the ``vividtalk`` command."""

import sys

from .cli import main

sys.exit(main())
