"""What a DBA sees on a terminal: colour where it helps and nowhere else, and a reader that stops
early (`pgrename plan | head`) costing nothing but the rest of the output."""
import os
import pty
import subprocess
import sys

from conftest import PROJECT_DIR


def test_a_reader_that_stops_early_ends_only_the_terminal_copy(demo_db):
    """`pgrename plan | head -1`: no traceback, the scripts still written, the log complete."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    environment.update(DATABASE_URL=demo_db.url, PGRENAME_BUILD_DIR=str(demo_db.workdir / "build"),
                       PGRENAME_LOG_DIR=str(demo_db.workdir / "logs"))
    with subprocess.Popen([sys.executable, "runner.py", "plan"], cwd=PROJECT_DIR, env=environment,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as reader:
        assert reader.stdout.readline().startswith("pgrename plan:")
        reader.stdout.close()
        errors = reader.stderr.read()
        assert reader.wait(timeout=60) == 0
    assert errors == ""
    assert (demo_db.workdir / "build" / "migrate.sql").exists()
    assert "wrote " in demo_db.logs() and "log: " in demo_db.logs()


def test_colour_only_on_a_terminal_and_never_with_no_color(tmp_path):
    """A config error on a terminal (a pseudo-terminal here) is red; piped, or with NO_COLOR, plain."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("migration: m\nlock_timeout: soon\n")
    command = [sys.executable, str(PROJECT_DIR / "runner.py"), "--config", str(bad), "plan"]
    environment = {**{k: v for k, v in os.environ.items() if k != "NO_COLOR"}, "TERM": "xterm",
                   "PGRENAME_LOG_DIR": str(tmp_path / "logs")}

    def on_a_terminal(env: dict) -> str:
        leader, follower = pty.openpty()
        done = subprocess.run(command, stdout=follower, stderr=follower, env=env, timeout=60)
        os.close(follower)
        output = b""
        while True:
            try:
                block = os.read(leader, 4096)
            except OSError:  # the terminal closed: everything was read
                break
            if not block:
                break
            output += block
        os.close(leader)
        assert done.returncode == 2
        return output.decode()

    assert "\x1b[31merror: config:" in on_a_terminal(environment)
    assert "\x1b[" not in on_a_terminal({**environment, "NO_COLOR": "1"})
    piped = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=60)
    assert "error: config:" in piped.stdout + piped.stderr and "\x1b[" not in piped.stdout + piped.stderr
