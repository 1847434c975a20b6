"""``python -m helpers.explore``: serve the explorer with Voila."""

import sys

from helpers.explore.server import main

sys.exit(main())
