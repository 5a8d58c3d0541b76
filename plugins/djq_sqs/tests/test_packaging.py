"""``pip install "djq[sqs,sentry]"`` into a clean virtualenv pulls exactly djq, djq-sqs,
djq-sentry (and djq-orm, which djq always brings) plus their third-party libraries.

Wheels of the workspace members are built with ``uv build``; third-party libraries come
from PyPI. Our own distributions are pinned to the fresh wheels with ``--override`` (an
override never adds a package, it only fixes where one that *is* required comes from), so
a same-named project on PyPI can never stand in for them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import require_service

ROOT = Path(__file__).resolve().parents[3]
OURS = {"djq": ".", "djq-orm": "plugins/djq_orm", "djq-sqs": "plugins/djq_sqs",
        "djq-sentry": "plugins/djq_sentry"}


def run(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_sqs_and_sentry_extras_install_exactly_their_plugins(tmp_path):
    uv = require_service("uv (pip install uv)", shutil.which("uv"))
    if not (ROOT / "plugins/djq_sentry/djq_sentry/plugin.py").exists():
        pytest.skip("the djq-sentry plugin is not written yet")
    wheels = tmp_path / "wheels"
    for name in OURS:
        run(uv, "build", "-q", "--wheel", "--package", name, "-o", str(wheels))
    built = {p.name.split("-")[0].replace("_", "-"): p for p in wheels.glob("*.whl")}
    assert set(built) == set(OURS), built
    overrides = tmp_path / "overrides.txt"
    overrides.write_text("".join(f"{name} @ {path.as_uri()}\n"
                                 for name, path in built.items() if name != "djq"))

    venv = tmp_path / "venv"
    run(uv, "venv", "-q", str(venv), "--python", sys.executable)
    python = str(venv / "bin" / "python")
    run(uv, "pip", "install", "-q", "--python", python, "--override", str(overrides),
        f"djq[sqs,sentry] @ {built['djq'].as_uri()}")

    installed = {p["name"].lower() for p in json.loads(
        run(uv, "pip", "list", "--format", "json", "--python", python))}
    assert {n for n in installed if n.startswith("djq")} == set(OURS)
    assert {"boto3", "sentry-sdk", "django", "pluggy"} <= installed
    assert not {"redis", "rollbar", "pymongo"} & installed

    # The installed plugins register through their entry points and import cleanly.
    loaded = run(python, "-c", (
        "from importlib.metadata import entry_points\n"
        "eps = sorted(entry_points(group='djq'), key=lambda e: e.name)\n"
        "[e.load() for e in eps]\n"
        "print(' '.join(e.name for e in eps))"), cwd=tmp_path)
    assert loaded.split() == ["core", "orm", "sentry", "sqs"]
