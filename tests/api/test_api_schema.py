"""schemathesis over ``/openapi.json`` against a real server: every operation, a bounded number of
generated requests each (valid and invalid ones), and no server error nor any response that the
schema does not describe (status code, content type, headers, body).

schemathesis runs as its command line in a subprocess: imported into pytest, its modules go
through pytest's assertion rewriting, which trips a CPython 3.11 compiler bug
("AST constructor recursion depth mismatch").
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.api import create_app
from assistant.core.settings import Settings
from tests.docsupport import private_corpus
from tests.servers import serve

#: generated requests per operation and phase: enough to reach every field and bound, small enough for CI
EXAMPLES = 40
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance", "negative_data_rejection")


@pytest.fixture(scope="module")
def api_url(built_index_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # a private corpus and index: generated uploads and deletes change them (POST/DELETE /v1/documents)
    folder = tmp_path_factory.mktemp("schema")
    shutil.copytree(built_index_settings.index_dir, folder / "index", ignore=shutil.ignore_patterns(".lock"))
    settings = private_corpus(built_index_settings.model_copy(update={"index_dir": folder / "index"}), folder)
    with serve(create_app(settings)) as url:
        yield url


def test_api_matches_its_schema(api_url: str, tmp_path: Path) -> None:
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if cli is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[dev]')")
    command = [
        cli, "run", f"{api_url}/openapi.json",
        "--checks", ",".join(CHECKS), "--max-examples", str(EXAMPLES), "--seed", "1",
        "--generation-database", "none", "--phases", "examples,coverage,fuzzing",
        "--suppress-health-check", "all", "--workers", "1", "--request-timeout", "60", "--no-color",
    ]
    # in a scratch folder: schemathesis keeps its own state in .schemathesis/ of the working folder
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    assert "No issues found" in result.stdout or "passed" in result.stdout, report
