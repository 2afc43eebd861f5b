"""``python -m ndelab.cli``: the same as the ``ndelab`` command."""

import sys

from ndelab.cli import main

sys.exit(main())
