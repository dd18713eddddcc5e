"""``python -m isotree``: the same as the ``isotree`` command."""

import sys

from .cli import main

sys.exit(main())
