"""``python -m postpipe``."""

import sys

from .cli import main

sys.exit(main())
