"""``python -m helpers.synthetic``: regenerate the synthetic package."""

import sys

from helpers.synthetic.generator import main

sys.exit(main())
