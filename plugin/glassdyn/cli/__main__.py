"""``python -m glassdyn.cli``: the ``glassdyn`` command."""
import sys

try:
    from . import main
except KeyboardInterrupt:  # Ctrl-C while the package is still importing: nothing has started
    sys.exit(130)

sys.exit(main())
