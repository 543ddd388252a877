"""Write the three report files together, or none of them.

All three are rendered in memory first, then written to hidden temporary files in the target
folder and renamed into place. A failure while rendering or writing leaves the folder as it was
(earlier reports included); so does a rename that fails half-way (the files already replaced are
put back), and a target that is not a file (a folder named decision.md) is refused before any is
replaced. Only a crash between the three renames could mix old and new files.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmpick.report._html import render_html
from llmpick.report._item_browser import DEFAULT_BUDGET_BYTES
from llmpick.report._markdown import render_markdown
from llmpick.report._view import ReportError

if TYPE_CHECKING:
    from llmpick.decision import Decision

__all__ = [
    "HTML_NAME",
    "JSON_NAME",
    "MARKDOWN_NAME",
    "ReportFiles",
    "decision_json",
    "ensure_writable",
    "write_report",
]

HTML_NAME, MARKDOWN_NAME, JSON_NAME = "report.html", "decision.md", "decision.json"


@dataclass(frozen=True)
class ReportFiles:
    """Where the report went: open `html` in a browser, commit `markdown`, feed `json` to tools."""

    html: Path
    markdown: Path
    json: Path

    def __iter__(self) -> Iterator[Path]:
        return iter((self.html, self.markdown, self.json))


def _finite(value: Any) -> Any:
    """The value with NaN and ±infinity replaced by null, which JSON cannot hold."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def decision_json(decision: Decision | Mapping[str, Any]) -> bytes:
    """decision.json's bytes: the decision's JSON form, pretty-printed UTF-8 (NaN/inf become
    null); `Decision.model_validate_json` reads it back.

    The item list is written one compact item per line: indenting tens of thousands of items
    would force Python's slow pure-Python encoder and multiply the file size for no reader.
    """
    if not isinstance(decision, Mapping):
        decision = decision.model_dump(mode="json")
    try:
        text = _dumps(decision, ensure_ascii=False)
    except ValueError:
        text = _dumps(_finite(decision), ensure_ascii=False)
    except TypeError as error:
        raise ReportError(
            f"decision cannot be written as JSON: {error}; the decision engine must return "
            "plain dicts, lists, strings, numbers, booleans and null"
        ) from None
    try:
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in model output: \u-escape everything
        return (_dumps(_finite(decision), ensure_ascii=True) + "\n").encode("ascii")


def _dumps(decision: Mapping[str, Any], *, ensure_ascii: bool) -> str:
    compact: list[str] = []

    def fold(value: Any) -> Any:
        # Long lists (latency samples, items) go on one line each: indenting them one value per
        # line would force Python's slow pure-Python encoder and bloat the file for no reader.
        if isinstance(value, Mapping):
            return {k: fold(v) for k, v in value.items()}
        if isinstance(value, list) and len(value) > _FOLD_AFTER:
            if all(isinstance(v, Mapping) for v in value):
                rows = [json.dumps(v, ensure_ascii=ensure_ascii, allow_nan=False) for v in value]
                compact.append("[\n" + ",\n".join(rows) + "\n]")
            else:
                compact.append(json.dumps(value, ensure_ascii=ensure_ascii, allow_nan=False))
            return f"{_PLACEHOLDER}{len(compact) - 1}"
        if isinstance(value, list):
            return [fold(v) for v in value]
        return value

    text = json.dumps(fold(decision), indent=2, ensure_ascii=ensure_ascii, allow_nan=False)
    return re.sub(rf'"{_PLACEHOLDER}(\d+)"', lambda m: compact[int(m.group(1))], text)


_FOLD_AFTER = 20
_PLACEHOLDER = "@@llmpick-compact@@"


def ensure_writable(out_dir: Path | str) -> None:
    """Fail now, with `ReportError`, when the report folder cannot be created or written: a
    decision should not spend minutes evaluating and then find it cannot save its report."""
    out_dir = Path(out_dir)
    _refuse_non_files(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".llmpick-write-check.", dir=out_dir)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise ReportError(
            f"cannot write the report into {out_dir}: {error.strerror or error}; choose another "
            "report folder or fix its permissions"
        ) from None


def write_report(
    decision: Decision, out_dir: Path | str, *, browser_budget_bytes: int = DEFAULT_BUDGET_BYTES
) -> ReportFiles:
    """Write report.html, decision.md and decision.json into `out_dir` (created if missing).

    `decision` is what `llmpick.decide()` returns. `browser_budget_bytes` caps the item
    browser's embedded data (long texts are truncated visibly to fit). Raises `ReportError` for
    something that is not a `Decision` or an unwritable folder; existing files are then left
    untouched.
    """
    from llmpick.decision import Decision

    if not isinstance(decision, Decision):
        raise ReportError(
            f"write_report needs a llmpick Decision (what llmpick.decide() returns), got "
            f"{type(decision).__name__}; read a decision.json with Decision.model_validate_json"
        )
    data = decision.model_dump(mode="json")
    out_dir = Path(out_dir)
    contents = {
        JSON_NAME: decision_json(data),
        MARKDOWN_NAME: render_markdown(decision, data=data).encode("utf-8", errors="replace"),
        HTML_NAME: render_html(decision, browser_budget_bytes, data=data).encode(
            "utf-8", errors="replace"
        ),
    }
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReportError(f"cannot create report folder {out_dir}: {error.strerror}") from None
    _refuse_non_files(out_dir)
    temporary: dict[str, Path] = {}
    backups: dict[str, Path] = {}
    try:
        for name, payload in contents.items():
            handle, temp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out_dir)
            temporary[name] = Path(temp_name)
            with os.fdopen(handle, "wb") as stream:
                stream.write(payload)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temp_name, 0o644)
        for name in temporary:
            if (out_dir / name).exists():
                backups[name] = _keep_copy(out_dir / name)
        _replace_all(temporary, backups, out_dir)
    except OSError as error:
        for path in [*temporary.values(), *backups.values()]:
            path.unlink(missing_ok=True)
        raise ReportError(
            f"cannot write the report into {out_dir}: {error.strerror or error}; "
            "check the folder exists, is writable and has free space"
        ) from None
    for path in backups.values():
        path.unlink(missing_ok=True)
    return ReportFiles(out_dir / HTML_NAME, out_dir / MARKDOWN_NAME, out_dir / JSON_NAME)


def _refuse_non_files(out_dir: Path) -> None:
    """A report file's name taken by a folder (or a device) would fail its rename after the
    others were replaced: refuse before anything is written."""
    for name in (JSON_NAME, MARKDOWN_NAME, HTML_NAME):
        target = out_dir / name
        if target.exists() and not target.is_file():
            raise ReportError(
                f"cannot write the report into {out_dir}: {target} exists and is not a file; "
                "move it away or choose another report folder"
            )


def _keep_copy(target: Path) -> Path:
    """A hidden copy of an existing report file (a hard link where the file system has them),
    to put back if a later rename fails."""
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
    os.close(handle)
    backup = Path(name)
    try:
        backup.unlink()
        os.link(target, backup)
    except OSError:
        shutil.copyfile(target, backup)
    return backup


def _replace_all(temporary: Mapping[str, Path], backups: Mapping[str, Path], out_dir: Path) -> None:
    """Rename every temporary file into place; if one rename fails, put back the files already
    replaced (their earlier version, or nothing) and re-raise."""
    replaced: list[str] = []
    try:
        for name, path in temporary.items():
            os.replace(path, out_dir / name)
            replaced.append(name)
    except OSError:
        for name in replaced:
            if name in backups:
                os.replace(backups[name], out_dir / name)
            else:
                (out_dir / name).unlink(missing_ok=True)
        raise
