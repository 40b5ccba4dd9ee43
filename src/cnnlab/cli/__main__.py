"""``python -m cnnlab.cli``: the ``cnnlab`` command without the console script."""

import sys

from . import main

sys.exit(main())
