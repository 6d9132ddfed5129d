"""``python -m glassdyn.cli``: the ``glassdyn`` command."""
import sys

from . import main

sys.exit(main())
