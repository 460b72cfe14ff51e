"""The Python of README.md, docs/guide.md and examples/ type-checks under `mypy --strict`, as a user runs it.

Each ```python block is written to a file of its own and checked with no project configuration (no
pydantic plugin, no overrides): what a user's own `mypy --strict` says about a pasted example. A block
that is deliberately partial is skipped only when the line before its fence says so:
`<!-- typecheck: skip (why) -->`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ["README.md", "docs/guide.md"]
SKIP_MARKER = re.compile(r"<!--\s*typecheck:\s*skip\b[^>]*-->\s*$")
_FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(text: str) -> list[tuple[int, str, bool]]:
    """(line of the fence, code, skipped) for every ```python block of a Markdown text."""
    blocks = []
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        blocks.append((line, match.group(1), bool(SKIP_MARKER.search(before))))
    return blocks


def test_the_extractor_finds_blocks_and_honours_only_the_marker() -> None:
    text = "intro\n```python\nx = 1\n```\n<!-- typecheck: skip (partial) -->\n```python\ny\n```\n```bash\nls\n```\n"

    assert python_blocks(text) == [(2, "x = 1\n", False), (6, "y\n", True)]


def test_docs_and_examples_type_check_strictly(tmp_path: Path) -> None:
    files: dict[str, tuple[str, int]] = {}  # file checked -> the document and line its code starts after
    skipped = []
    for doc in DOCS:
        for line, code, skip in python_blocks((ROOT / doc).read_text("utf-8")):
            if skip:
                skipped.append(f"{doc}:{line}")
                continue
            name = f"{re.sub(r'[^a-z]', '_', doc.lower())}_line_{line}.py"
            (tmp_path / name).write_text(code, "utf-8")
            files[name] = (doc, line)
    for example in sorted((ROOT / "examples").glob("*.py")):
        files[str(example)] = (str(example.relative_to(ROOT)), 0)
    assert len(files) >= 6, files  # the README's and the guide's examples are all there
    # A few deliberately partial blocks at most; each must say why next to the block.
    assert len(skipped) <= 2, skipped

    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n", "utf-8")  # a user's mypy: none of this project's settings
    command = [sys.executable, "-m", "mypy", "--strict", "--config-file", str(config)]
    result = subprocess.run(
        [*command, "--cache-dir", str(tmp_path / "cache"), *sorted(files)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    def where(match: re.Match[str]) -> str:
        doc, offset = files[match.group(1)]
        return f"{doc}:{offset + int(match.group(2))}:"

    report = re.sub(r"^(.+?\.py):(\d+):", where, result.stdout, flags=re.M)
    assert result.returncode == 0, report + result.stderr
