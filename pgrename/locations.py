"""Where pgrename finds its SQL, and where a run writes.

From a checkout (or an editable install) both are the checkout: sql/ and rollback/ beside
pgrename/, and build/, logs/, backups/, config.yaml and .pgdata/ there too. Installed from a wheel
(pip install .), the SQL travels inside the package, and a run writes in the current directory:
the DBA's own project."""
from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
IN_CHECKOUT = (PACKAGE_DIR.parent / "sql" / "install").is_dir()
SQL_ROOT = PACKAGE_DIR.parent if IN_CHECKOUT else PACKAGE_DIR
WORK_DIR = PACKAGE_DIR.parent if IN_CHECKOUT else Path.cwd()
