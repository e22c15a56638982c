"""The demo's rendered scripts, compared with the reviewed copies in tests/golden/. A template
change shows there as a diff to review; UPDATE_GOLDEN=1 pytest tests/test_golden.py writes them anew."""
import os

import pytest

from conftest import PROJECT_DIR

GOLDEN = PROJECT_DIR / "tests" / "golden"


@pytest.mark.parametrize("script", ["migrate.sql", "rollback.sql", "validate.sql"])
def test_the_demo_scripts_are_the_reviewed_ones(demo_db, script):
    assert demo_db.runner("plan").code == 0
    rendered = (demo_db.workdir / "build" / script).read_text()
    if os.environ.get("UPDATE_GOLDEN"):
        (GOLDEN / script).write_text(rendered)
    assert rendered == (GOLDEN / script).read_text(), f"tests/golden/{script} differs: review, then UPDATE_GOLDEN=1"
