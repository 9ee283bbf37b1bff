"""A virtualenv with the real Instill Python SDK, made once and cached between runs.

instill-sdk 0.18 pins old protobuf (4.25), numpy < 2 and ray, and supports Python
3.9 to 3.12 only, so it cannot share our venv: it gets its own, under
``${XDG_CACHE_HOME:-~/.cache}/pipeline-test/``, keyed by the SDK version range and
the Python version. A full install (with ray) takes about 20 s and 410 MB here.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SDK_SPEC = "instill-sdk==0.18.*"
PYTHONS = ("python3.11", "python3.12", "python3.10", "python3.9", "python3")
INSTALL_TIMEOUT = 900


class PyPIUnreachable(Exception):
    """The SDK cannot be installed because PyPI does not answer: the only reason to skip."""


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pipeline-test"


def _version(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    major, minor = out.stdout.strip().split(".")
    return int(major), int(minor)


def sdk_interpreter() -> tuple[str, tuple[int, int]]:
    """A Python the SDK supports (3.9 to 3.12): on PATH, else among pyenv's versions."""
    candidates = [shutil.which(name) for name in PYTHONS]
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    candidates += sorted(str(p / "bin" / "python3") for p in pyenv.glob("3.*"))
    for python in filter(None, candidates):
        version = _version(python)
        if version is not None and (3, 9) <= version < (3, 13):
            return python, version
    raise RuntimeError(
        "the Instill SDK compatibility test needs a Python 3.9 to 3.12 (instill-sdk 0.18 supports no other); "
        "install one, e.g. 'apt-get install python3.11'"
    )


def _pypi_reachable(python: str) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [python, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "-q", "-d", tmp, SDK_SPEC],
            capture_output=True,
            text=True,
            timeout=300,
        )
    return out.returncode == 0, out.stderr[-2000:]


def sdk_python() -> Path:
    """The cached venv's python with the SDK importable, made if missing.

    Raises :class:`PyPIUnreachable` when it must be made and PyPI does not answer.
    """
    interpreter, version = sdk_interpreter()
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    key = f"instill-sdk-0.18-py{version[0]}.{version[1]}"
    venv = root / key
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    with open(root / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be making it right now
        if marker.exists() and marker.read_text() == SDK_SPEC and _imports_sdk(python):
            return python
        shutil.rmtree(venv, ignore_errors=True)
        try:
            subprocess.run([interpreter, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
            install = subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", SDK_SPEC],
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
            )
            if install.returncode != 0:
                reachable, detail = _pypi_reachable(str(python))
                if not reachable:
                    raise PyPIUnreachable(f"PyPI is unreachable, so {SDK_SPEC} cannot be installed: {detail}")
                raise RuntimeError(
                    f"pip install {SDK_SPEC} failed:\n{install.stdout[-3000:]}\n{install.stderr[-3000:]}"
                )
            if not _imports_sdk(python):
                raise RuntimeError(
                    f"{SDK_SPEC} installed in {venv} but `from instill.clients import init_pipeline_client` fails"
                )
            # Written last: a venv without it (an install cut short) is made again.
            marker.write_text(SDK_SPEC)
        except BaseException:
            shutil.rmtree(venv, ignore_errors=True)
            raise
    return python


def _imports_sdk(python: Path) -> bool:
    if not python.exists():
        return False
    with tempfile.TemporaryDirectory() as home:
        out = subprocess.run(
            [str(python), "-I", "-c", "from instill.clients import init_pipeline_client"],
            capture_output=True,
            cwd=home,
            env={"PATH": os.environ.get("PATH", ""), "HOME": home},
            timeout=120,
        )
    return out.returncode == 0
