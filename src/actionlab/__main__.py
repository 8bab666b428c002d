"""Allow `python -m actionlab`."""

import sys

from actionlab.cli import main

sys.exit(main())
