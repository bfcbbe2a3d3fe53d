"""Node.js tools the tests use (the AsyncAPI parser), installed from the npm registry into the
project's ``var/node`` with ``npm ci`` from the lock file beside this module, once: the tests
judge the catalogue with the parser other systems use, not with a Python stand-in."""

import json
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).with_name("node")
ROOT = Path(__file__).resolve().parents[2]
PREFIX = ROOT / "var" / "node"


def installed() -> Path:
    """``var/node``, with the locked packages installed (``npm ci`` when the lock changed)."""
    if not shutil.which("node") or not shutil.which("npm"):
        raise RuntimeError("node and npm are needed (apt-get install nodejs npm)")
    PREFIX.mkdir(parents=True, exist_ok=True)
    lock = (HERE / "package-lock.json").read_bytes()
    stamp = PREFIX / ".installed-lock"
    if not (stamp.exists() and stamp.read_bytes() == lock):
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(HERE / name, PREFIX / name)
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=PREFIX,
            check=True,
            capture_output=True,
            timeout=600,
        )
        stamp.write_bytes(lock)
    for script in HERE.glob("*.mjs"):
        shutil.copyfile(script, PREFIX / script.name)
    return PREFIX


def asyncapi_diagnostics(path: Path) -> dict:
    """The AsyncAPI parser's verdict on the document at ``path``: ``errors``, ``warnings``,
    ``version``, the number of ``channels`` and ``messages``."""
    prefix = installed()
    out = subprocess.run(
        ["node", str(prefix / "asyncapi-validate.mjs"), str(path)],
        cwd=prefix,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return json.loads(out.stdout)
