"""`python -m studio <command>`: see `python -m studio --help`."""

import sys

from studio.cli import main

if __name__ == "__main__":
    sys.exit(main())
