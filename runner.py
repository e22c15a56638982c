#!/usr/bin/env python3
"""pgrename's runner: `python runner.py COMMAND`, the same as the `pgrename` command that
`make install` (or `pip install .`) puts on PATH. The commands and their options are declared in
pgrename/cli.py; `runner.py --help` lists them."""
from pgrename.cli import run

if __name__ == "__main__":
    run()
