"""A data backup on disk: its manifest (row counts, SHA-256 of every file) verified before anything
reads it, and the backup packed as one deterministic tar file or opened from one."""
from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import zstandard

from ..backup import size_of, sha256_of
from ..json_output import iso_utc
from ..errors import Failure

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SCHEMA_FILE = "schema.sql"
CHOSEN_ROWS_FILE = "choose_rows.sql"


class DataBackupError(Failure):
    """The backup cannot be written, read or trusted; the message names the file at fault."""


def listing(folder: Path) -> list[dict]:
    """The data backups in a folder: directories with a manifest, and tar archives of them."""
    found = [p for p in sorted(folder.glob("*")) if (p.is_dir() and (p / MANIFEST).exists())
             or (p.is_file() and p.suffix == ".tar")]
    return [{"kind": "data", "path": str(p), "bytes": size_of(p), "taken": iso_utc(p.stat().st_mtime), "sha256": None}
            for p in found]


def pack(directory: Path) -> Path:
    """The backup as one tar file beside its directory, which goes; `tar xf` gives the directory
    back. Every member has the same owner, mode and time, in name order, so the same backup always
    packs to the same bytes."""
    archive = directory.with_name(directory.name + ".tar")
    if archive.exists():
        raise DataBackupError(f"{archive} exists already; a backup never overwrites")
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(directory.iterdir()):
            member = tar.gettarinfo(str(path), arcname=f"{directory.name}/{path.name}")
            member.mtime, member.mode, member.uid, member.gid, member.uname, member.gname = 0, 0o644, 0, 0, "", ""
            with path.open("rb") as handle:
                tar.addfile(member, handle)
    shutil.rmtree(directory)
    return archive


@contextmanager
def opened(path: Path) -> Iterator[Path]:
    """A backup directory as it is, or an archive unpacked into a scratch directory for the time
    of the with block; messages about its files name them inside the archive."""
    if not path.is_file():
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="pgrename-backup-") as scratch:
        try:
            with tarfile.open(path) as tar:
                tar.extractall(scratch, filter="data")  # no absolute paths, links out or devices
        except (tarfile.TarError, EOFError, OSError) as error:
            raise DataBackupError(f"{path}: not a readable backup archive ({error})") from None
        # The backup's own directory inside (archives before 0.6 held its files at the top).
        inside = [entry for entry in Path(scratch).iterdir()]
        unpacked = inside[0] if len(inside) == 1 and inside[0].is_dir() else Path(scratch)
        try:
            yield unpacked
        except DataBackupError as error:
            raise DataBackupError(str(error).replace(str(unpacked), str(path))) from None


def verify(directory: Path) -> dict:
    """The manifest, once its shape, version, every file's checksum and row count agree."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError:
        raise DataBackupError(f"{directory / MANIFEST}: no manifest; not a pgrename data backup") from None
    except json.JSONDecodeError as error:
        raise DataBackupError(f"{directory / MANIFEST}: not valid JSON (line {error.lineno})") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise DataBackupError(f"{directory / MANIFEST}: format_version {manifest.get('format_version')!r} is not "
                              f"{FORMAT_VERSION}, which this pgrename reads")
    if manifest.get("schema"):
        path = directory / manifest["schema"]["file"]
        if not path.exists():
            raise DataBackupError(f"{path}: missing (the schema)")
        if sha256_of(path) != manifest["schema"]["sha256"]:
            raise DataBackupError(f"{path}: SHA-256 differs from the manifest: the file was changed or truncated")
    for entry in manifest.get("tables", []):
        path = directory / entry["file"]
        if not path.exists():
            raise DataBackupError(f"{path}: missing (table {entry['schema']}.{entry['table']})")
        if sha256_of(path) != entry["sha256"]:
            raise DataBackupError(f"{path}: SHA-256 differs from the manifest: the file was changed or truncated")
        with path.open("rb") as handle, zstandard.ZstdDecompressor().stream_reader(handle) as data:
            rows = sum(block.count(b"\n") for block in iter(lambda: data.read(1 << 20), b""))
        if rows != entry["rows"]:
            raise DataBackupError(f"{path}: holds {rows} rows, the manifest says {entry['rows']}")
    return manifest
