"""runner.py in a process of its own, as a DBA starts it, without the wait for its libraries.

Importing psycopg takes half a second on a small machine, and the suite runs pgrename hundreds of
times. A fork server imports the third-party libraries once per test worker; each run is a fresh
process forked from it that runs runner.py as __main__ with its own arguments, environment,
working directory, stdout and stderr, and exits with runner.py's exit code. pgrename's own
modules are imported anew in every run: they read PGRENAME_* settings when imported.

This module imports nothing of pgrename or the tests: the fork server unpickles
`_run_runner` by importing it, before the run's environment is in place.
"""
from __future__ import annotations

import locale
import multiprocessing
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
RUNNER = PROJECT_DIR / "runner.py"

_forks = multiprocessing.get_context("forkserver")
_forks.set_forkserver_preload(["psycopg", "jinja2", "sqlparse", "yaml"])


def _run_runner(arguments: list[str], environment: dict[str, str], cwd: str, out_path: str, err_path: str) -> None:
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(environment)
    for stream, path in ((1, out_path), (2, err_path)):
        opened = os.open(path, os.O_WRONLY)
        os.dup2(opened, stream)
        os.close(opened)
    sys.argv = [str(RUNNER), *arguments]
    sys.path.insert(0, str(RUNNER.parent))  # as `python runner.py` puts the script's folder first
    runpy.run_path(str(RUNNER), run_name="__main__")  # its sys.exit ends this process with the code


class RunnerProcess:
    """`python runner.py ARGUMENTS` started in cwd with exactly environment; wait() for its result."""

    def __init__(self, arguments: list[str], environment: dict[str, str], cwd: Path):
        self.arguments = arguments
        self.captured = Path(tempfile.mkdtemp(prefix="pgrename-run-"))
        self.out_path, self.err_path = self.captured / "stdout", self.captured / "stderr"
        self.out_path.touch()
        self.err_path.touch()
        self.process = _forks.Process(target=_run_runner, args=(
            arguments, environment, str(cwd), str(self.out_path), str(self.err_path)))
        self.process.start()

    def wait(self, timeout: float) -> tuple[int, str, str]:
        """(exit code, stdout, stderr); the run is killed after timeout seconds."""
        try:
            self.process.join(timeout)
            if self.process.exitcode is None:
                self.process.kill()
                self.process.join()
                raise subprocess.TimeoutExpired([str(RUNNER), *self.arguments], timeout)
            encoding = locale.getpreferredencoding(False)
            return self.process.exitcode, self.out_path.read_text(encoding), self.err_path.read_text(encoding)
        finally:
            shutil.rmtree(self.captured, ignore_errors=True)


def run_runner(arguments: list[str], environment: dict[str, str], cwd: Path, timeout: float) -> tuple[int, str, str]:
    return RunnerProcess(arguments, environment, cwd).wait(timeout)
