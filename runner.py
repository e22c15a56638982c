#!/usr/bin/env python3
"""pgrename's runner: `python runner.py COMMAND` (or `make COMMAND`). The commands and their
options are declared in pgrename/cli.py; `runner.py --help` lists them."""
import sys

from pgrename.cli import main

if __name__ == "__main__":
    sys.exit(main())
