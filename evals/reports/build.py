#!/usr/bin/env python3
"""(Re)build this eval set's corpus folder from the public sources listed in sources.toml.

Each ``[[document]]`` entry names a public GitHub repository, a commit, a path (and, for a file
inside a zip archive, the archive ``member``; for an excerpt of a long PDF, the 1-based ``pages``
taken and the ``source_sha256`` of the whole file) and the sha256 of the file to write. The bytes come
either from local git mirrors (``--mirror DIR``) or from raw.githubusercontent.com; every file is
checked against its sha256 before it is written to ``corpus/<file>``.

Examples:
  build.py --check                       # verify the files already in corpus/
  build.py --mirror /work/.mirror        # read from local mirrors (DIR/<owner>+<name>/repo,
                                         #   DIR/<owner>/<name>, DIR/<name>: bare or with work tree)
  build.py                               # download from raw.githubusercontent.com
  build.py --only 2025_zhejiang-province_government-work-report.docx --out /tmp/corpus
"""

from __future__ import annotations

import argparse
import hashlib
import io
import subprocess
import sys
import tomllib
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RAW = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_dir_for(mirror: Path, repo: str) -> Path | None:
    owner, name = repo.split("/", 1)
    for candidate in (mirror / f"{owner}+{name}" / "repo", mirror / f"{owner}+{name}", mirror / owner / name, mirror / name):
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
            return candidate  # a bare repository
        if (candidate / ".git").exists():
            return candidate / ".git"
    return None


def from_mirror(mirror: Path, entry: dict) -> bytes:
    git_dir = git_dir_for(mirror, entry["repo"])
    if git_dir is None:
        raise FileNotFoundError(f"no mirror of {entry['repo']} under {mirror}")
    spec = f"{entry['commit']}:{entry['path']}"
    result = subprocess.run(["git", f"--git-dir={git_dir}", "cat-file", "blob", spec], capture_output=True)
    if result.returncode != 0:
        raise FileNotFoundError(f"{entry['repo']} {spec}: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def from_github(entry: dict, timeout: float) -> bytes:
    url = RAW.format(repo=entry["repo"], commit=entry["commit"], path=urllib.parse.quote(entry["path"]))
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (fixed https host)
        return response.read()


def zip_member(archive: bytes, member: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        for info in zf.infolist():
            name = info.filename
            if not info.flag_bits & 0x800:  # not flagged UTF-8: Chinese Windows tools write GBK
                try:
                    name = name.encode("cp437").decode("gbk")
                except (UnicodeEncodeError, UnicodeDecodeError):
                    pass
            if name == member or name.rsplit("/", 1)[-1] == member:
                return zf.read(info)
    raise FileNotFoundError(f"no member {member!r} in the archive")


def excerpt(data: bytes, pages: list[int]) -> bytes:
    """The given pages (1-based) of a PDF, as a PDF of their own (pypdfium2, which the assistant uses)."""
    import pypdfium2

    source = pypdfium2.PdfDocument(data)
    out = pypdfium2.PdfDocument.new()
    out.import_pages(source, [n - 1 for n in pages])
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=Path, default=HERE / "sources.toml", help="the sources file (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=HERE / "corpus", help="the corpus folder to write (default: %(default)s)")
    parser.add_argument("--mirror", type=Path, help="a folder of local git mirrors to read instead of downloading")
    parser.add_argument("--only", action="append", default=[], help="build only this file (repeatable)")
    parser.add_argument("--check", action="store_true", help="only verify the sha256 of the files already in --out")
    parser.add_argument("--force", action="store_true", help="rewrite files whose sha256 already matches")
    parser.add_argument("--timeout", type=float, default=120.0, help="download timeout in seconds")
    args = parser.parse_args()

    documents = tomllib.loads(args.sources.read_text(encoding="utf-8"))["document"]
    if args.only:
        documents = [d for d in documents if d["file"] in args.only]
    args.out.mkdir(parents=True, exist_ok=True)
    failures = 0
    archives: dict[tuple[str, str, str], bytes] = {}
    for entry in documents:
        target = args.out / entry["file"]
        if target.exists() and sha256(target.read_bytes()) == entry["sha256"] and not args.force:
            print(f"ok       {entry['file']}")
            continue
        if args.check:
            print(f"MISSING  {entry['file']}" if not target.exists() else f"MISMATCH {entry['file']}")
            failures += 1
            continue
        key = (entry["repo"], entry["commit"], entry["path"])
        try:
            if key not in archives:
                archives[key] = from_mirror(args.mirror, entry) if args.mirror else from_github(entry, args.timeout)
            data = archives[key]
            if "member" in entry:
                data = zip_member(data, entry["member"])
            if "pages" in entry:
                if sha256(data) != entry["source_sha256"]:
                    raise ValueError(f"source sha256 {sha256(data)}, expected {entry['source_sha256']}")
                data = excerpt(data, entry["pages"])
        except Exception as exc:  # noqa: BLE001 (report and go on with the next file)
            print(f"FAILED   {entry['file']}: {exc}")
            failures += 1
            continue
        # an excerpt is written anew each time (pypdfium2 stamps a new file id): its source was checked
        if "pages" not in entry and sha256(data) != entry["sha256"]:
            print(f"BAD SHA  {entry['file']}: got {sha256(data)}, expected {entry['sha256']}")
            failures += 1
            continue
        target.write_bytes(data)
        print(f"written  {entry['file']} ({len(data)} bytes)")
    print(f"{len(documents) - failures} of {len(documents)} files in place")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
