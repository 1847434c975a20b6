"""``python -m helpers.run``: the notebook runner's command line."""

import sys

from helpers.run.cli import main

sys.exit(main())
