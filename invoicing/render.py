"""Write each issued invoice's JSON, XML and PDF under <output>/<cycle month>/, on every core.

Rendering is idempotent: a document that exists is never rewritten, so an invoice's files keep the bytes they
were first written with (each is written to a temporary name and renamed, so a crash leaves no half file).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from invoicing.cii import build_xml
from invoicing.pdf import build_pdf

SUFFIXES = ("json", "xml", "pdf")


@dataclass
class RenderStats:
    invoices: int = 0
    written: int = 0
    kept: int = 0
    paths: list[Path] = field(default_factory=list)


def document_paths(output_dir: Path, document: dict) -> dict[str, Path]:
    folder = output_dir / document["billing_period"]["cycle_month"]
    return {suffix: folder / f"{document['invoice_number']}.{suffix}" for suffix in SUFFIXES}


def _write_new(path: Path, data: bytes) -> bool:
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return True


def json_bytes(document: dict) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


def render_one(document: dict, output_dir: Path) -> tuple[str, int, int, str]:
    """Write the missing documents of one invoice; returns (number, written, kept, pdf path)."""
    paths = document_paths(output_dir, document)
    if all(p.exists() for p in paths.values()):
        return document["invoice_number"], 0, len(paths), str(paths["pdf"])
    xml = build_xml(document)
    written = _write_new(paths["json"], json_bytes(document))
    written += _write_new(paths["xml"], xml)
    if not paths["pdf"].exists():
        written += _write_new(paths["pdf"], build_pdf(document, xml))
    return document["invoice_number"], written, len(paths) - written, str(paths["pdf"])


def _render_chunk(args: tuple[list[dict], Path]) -> list[tuple[str, int, int, str]]:
    documents, output_dir = args
    return [render_one(document, output_dir) for document in documents]


def render_all(
    documents: list[dict],
    output_dir: Path,
    workers: int,
    on_progress: Callable[[int], None] | None = None,
    chunk_size: int = 20,
) -> RenderStats:
    stats = RenderStats()
    chunks = [(documents[i : i + chunk_size], output_dir) for i in range(0, len(documents), chunk_size)]
    results: Iterable[list[tuple[str, int, int, str]]]
    if workers <= 1:
        results = map(_render_chunk, chunks)
        return _collect(results, stats, on_progress)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return _collect(pool.map(_render_chunk, chunks), stats, on_progress)


def _collect(results, stats: RenderStats, on_progress) -> RenderStats:
    for chunk in results:
        for _number, written, kept, pdf_path in chunk:
            stats.invoices += 1
            stats.written += written
            stats.kept += kept
            stats.paths.append(Path(pdf_path))
        if on_progress:
            on_progress(len(chunk))
    return stats
