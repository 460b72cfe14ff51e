"""The generated client matches the spec: every operation has its module; --check catches drift."""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text())


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


OPERATIONS = [
    (op["operationId"], op["tags"][0])
    for path in SPEC["paths"].values()
    for method, op in path.items()
    if method in {"get", "post", "put", "patch", "delete"}
]


@pytest.mark.parametrize(("operation_id", "tag"), OPERATIONS)
def test_every_operation_has_its_generated_module(operation_id: str, tag: str) -> None:
    module = importlib.import_module(f"hud_api.api.{tag}.{_snake(operation_id)}")

    assert callable(module.asyncio_detailed)
    assert callable(module.asyncio_raw)


def test_every_operation_declares_security_and_its_errors() -> None:
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            assert op.get("security"), f"{method} {path} has no security"
            assert any(code.startswith("4") for code in op["responses"]), f"{method} {path} lists no 4xx"


def test_generated_files_carry_the_header_and_the_stamp_matches_the_spec() -> None:
    import hashlib

    for path in (ROOT / "generated" / "hud_api").rglob("*.py"):
        assert path.read_text().startswith("# generated from openapi.yaml by codegen.sh — do not edit"), path
    stamp = (ROOT / "generated" / "STAMP").read_text()
    assert f"spec_sha256: {hashlib.sha256((ROOT / 'openapi.yaml').read_bytes()).hexdigest()}" in stamp
    assert (ROOT / "generated" / "hud_api" / "openapi.yaml").read_bytes() == (ROOT / "openapi.yaml").read_bytes()


def _copy_project(dest: Path) -> None:
    for name in ("openapi.yaml", "codegen.sh"):
        shutil.copy2(ROOT / name, dest / name)
    for name in ("codegen", "generated"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))


def _check(where: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        ["bash", "codegen.sh", "--check"], cwd=where, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_codegen_check_passes_on_the_committed_tree_and_fails_after_a_spec_change(tmp_path: Path) -> None:
    _copy_project(tmp_path)

    clean = _check(tmp_path)
    assert clean.returncode == 0, clean.stderr

    spec = tmp_path / "openapi.yaml"
    spec.write_text(spec.read_text().replace("summary: Get a job\n", "summary: Get one job by id\n"))
    drifted = _check(tmp_path)
    assert drifted.returncode == 1
    assert "generated/hud_api/api/jobs/get_job.py" in drifted.stderr
    assert "generated/STAMP" in drifted.stderr
