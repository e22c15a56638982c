"""A throwaway PostgreSQL cluster built from the OS package's server binaries.

Used by `make db`, `make demo` and the test suite. It listens on a Unix socket only
(no TCP port to collide with), trusts local connections, and when run as root it
runs as the `postgres` OS user, as the server refuses to run as root.

    python -m pgrename.embedded start|stop|status|url [--base DIR] [--db NAME]
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .locations import WORK_DIR

DEFAULT_PORT = 54329
DEFAULT_DB = "pgrename_demo"
SERVER_OS_USER = "postgres"

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found.\n"
    "On Debian or Ubuntu, as root:  apt-get update && apt-get install -y postgresql postgresql-contrib\n"
    "Elsewhere, install your OS's PostgreSQL server package, or point PG_BINDIR at its bin directory."
)


class EmbeddedError(RuntimeError):
    pass


def running_as_root() -> bool:
    return os.geteuid() == 0


def find_bindir() -> Path:
    """The server's bin directory: $PG_BINDIR, else the newest /usr/lib/postgresql/N/bin, else PATH."""
    candidates = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    candidates += sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for bindir in candidates:
        if all((bindir / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise EmbeddedError(INSTALL_HINT)


def _os_user_can_enter(user: str, path: Path) -> bool:
    return subprocess.run(["runuser", "-u", user, "--", "test", "-x", str(path)],
                          capture_output=True).returncode == 0


def default_base() -> Path:
    """Where the cluster lives: .pgdata in the checkout, unless the server's OS user
    cannot enter the checkout (e.g. under /root), then a folder under /tmp named after it."""
    if os.environ.get("PGRENAME_PGBASE"):
        return Path(os.environ["PGRENAME_PGBASE"])
    if not running_as_root() or _os_user_can_enter(SERVER_OS_USER, WORK_DIR):
        return WORK_DIR / ".pgdata"
    digest = hashlib.sha256(str(WORK_DIR).encode()).hexdigest()[:10]
    return Path("/tmp") / f"pgrename-{digest}"


@dataclass(frozen=True)
class Cluster:
    base: Path
    port: int = DEFAULT_PORT

    @property
    def datadir(self) -> Path:
        return self.base / "data"

    @property
    def socketdir(self) -> Path:
        return self.base / "run"

    @property
    def logfile(self) -> Path:
        return self.base / "server.log"

    def url(self, dbname: str = DEFAULT_DB) -> str:
        return f"postgresql://postgres@/{dbname}?host={self.socketdir}&port={self.port}"

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess:
        if running_as_root():
            args = ["runuser", "-u", SERVER_OS_USER, "--", *args]
        result = subprocess.run(args, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise EmbeddedError(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result

    def is_running(self) -> bool:
        if not (self.datadir / "PG_VERSION").exists():
            return False
        bindir = find_bindir()
        return self._run([str(bindir / "pg_ctl"), "status", "-D", str(self.datadir)],
                         check=False).returncode == 0

    def start(self) -> None:
        bindir = find_bindir()
        self.base.mkdir(parents=True, exist_ok=True)
        self.socketdir.mkdir(exist_ok=True)
        if running_as_root():
            server_user = pwd.getpwnam(SERVER_OS_USER)
            for path in (self.base, self.socketdir):
                os.chown(path, server_user.pw_uid, server_user.pw_gid)
        if not (self.datadir / "PG_VERSION").exists():
            self._run([str(bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres",
                       "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"])
        if self.is_running():
            return
        # Durability off: the cluster is throwaway. pg_stat_statements on, for analyze to show
        # which recent statements use the old names.
        options = (f"-k {self.socketdir} -p {self.port} -c listen_addresses='' "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c shared_preload_libraries=pg_stat_statements")
        self._run([str(bindir / "pg_ctl"), "start", "-w", "-D", str(self.datadir),
                   "-l", str(self.logfile), "-o", options])

    def stop(self) -> None:
        if self.is_running():
            self._run([str(find_bindir() / "pg_ctl"), "stop", "-w", "-m", "fast",
                       "-D", str(self.datadir)])

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def default_cluster() -> Cluster:
    return Cluster(default_base(), int(os.environ.get("PGRENAME_PORT", DEFAULT_PORT)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pgrename.embedded", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop", "status", "url"])
    parser.add_argument("--db", default=DEFAULT_DB, help="database name for `url`")
    args = parser.parse_args(argv)
    cluster = default_cluster()
    try:
        if args.action == "start":
            cluster.start()
            print(f"embedded PostgreSQL running: data in {cluster.datadir}, socket in {cluster.socketdir}")
        elif args.action == "stop":
            cluster.stop()
            print("embedded PostgreSQL stopped")
        elif args.action == "status":
            running = cluster.is_running()
            print(f"embedded PostgreSQL {'running' if running else 'not running'} ({cluster.datadir})")
            return 0 if running else 3
        else:
            print(cluster.url(args.db))
    except EmbeddedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
