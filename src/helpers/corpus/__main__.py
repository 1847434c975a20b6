"""``python -m helpers.corpus``: the corpus mode's command line."""

import sys

from helpers.corpus.cli import main

sys.exit(main())
