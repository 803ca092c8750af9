"""The static demo report: output/report/index.html with PNG charts drawn from the marts, so whoever ran
`make demo` sees results without starting a server. `python -m reporting --output DIR` writes it again."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: files only

import matplotlib.pyplot as plt

DEFAULT_REPORT_DIR = Path("output/report")
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
STAGES = ["event_to_landed", "landed_to_mediated", "mediated_to_rated", "end_to_end"]


@dataclass
class Report:
    index: Path
    charts: list[Path]


def _rows(conn, sql: str) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def _save(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=110)
    plt.close(figure)
    return path


def revenue_by_service(conn, path: Path) -> Path:
    rows = _rows(
        conn,
        "select cycle_month, case when service = 'none' then line_type else service end, sum(net_amount)"
        " from analytics.revenue_by_month group by 1, 2 order by 1, 2",
    )
    months = sorted({r[0] for r in rows})
    streams = sorted({r[1] for r in rows})
    amounts = {(r[0], r[1]): float(r[2]) for r in rows}
    figure, axes = plt.subplots(figsize=(8, 4.5))
    bottom = [0.0] * len(months)
    for stream in streams:
        values = [amounts.get((m, stream), 0.0) for m in months]
        axes.bar(months, values, bottom=bottom, label=stream)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set(title="Billed revenue by service and fee (excl. tax)", xlabel="cycle month", ylabel="EUR")
    axes.legend(fontsize="small")
    return _save(figure, path)


def usage_heatmap(conn, path: Path) -> Path:
    rows = _rows(conn, "select iso_weekday, local_hour, sum(events) from analytics.usage_heatmap group by 1, 2")
    grid = [[0.0] * 24 for _ in WEEKDAYS]
    for weekday, hour, events in rows:
        grid[weekday - 1][hour] = float(events)
    figure, axes = plt.subplots(figsize=(9, 3.8))
    image = axes.imshow(grid, aspect="auto", cmap="Blues")
    axes.set(title="Usage events by weekday and local hour (all services)", xlabel="hour", yticks=range(7))
    axes.set_yticklabels(WEEKDAYS)
    axes.set_xticks(range(0, 24, 2))
    figure.colorbar(image, ax=axes, label="events")
    return _save(figure, path)


def reject_reasons(conn, path: Path) -> Path:
    rows = _rows(
        conn,
        "select raw_topic || ' · ' || reason_code, sum(records) from monitoring.reject_rates group by 1 order by 2",
    )
    figure, axes = plt.subplots(figsize=(8, max(3.0, 0.35 * len(rows) + 1)))
    axes.barh([r[0] for r in rows], [int(r[1]) for r in rows], color="#d62728")
    axes.set(title="Mediation: rejects by reason, duplicates and pending", xlabel="records")
    return _save(figure, path)


def latency_percentiles(conn, path: Path) -> Path:
    columns = ", ".join(f"max({stage}_{p}_s)" for stage in STAGES for p in ("p50", "p95", "p99"))
    values = _rows(conn, f"select {columns} from monitoring.pipeline_latency")[0]
    figure, axes = plt.subplots(figsize=(8, 4))
    width = 0.27
    for offset, percentile in enumerate(("p50", "p95", "p99")):
        heights = [float(values[i * 3 + offset] or 0) for i in range(len(STAGES))]
        axes.bar([i + (offset - 1) * width for i in range(len(STAGES))], heights, width, label=percentile)
    axes.set_xticks(range(len(STAGES)), [s.replace("_", " ") for s in STAGES])
    axes.set_yscale("symlog")
    axes.set(title="Latency percentiles by stage (worst landing hour)", ylabel="seconds (symlog)")
    axes.legend()
    return _save(figure, path)


CHARTS = {
    "revenue_by_service.png": revenue_by_service,
    "usage_heatmap.png": usage_heatmap,
    "reject_reasons.png": reject_reasons,
    "latency_percentiles.png": latency_percentiles,
}


def _headline(conn) -> list[tuple[str, str]]:
    kpis = _rows(
        conn,
        "select cycle_month, invoices, revenue_amount, arpu, leakage_amount from analytics.revenue_kpis"
        " order by cycle_month limit 1",
    )
    landed = _rows(conn, "select coalesce(sum(records), 0) from monitoring.landing_per_minute")[0][0]
    facts = [("records landed", f"{landed:,}")]
    if kpis:
        month, invoices, revenue, arpu, leakage = kpis[0]
        facts += [
            (f"invoices for cycle {month}", f"{invoices:,}"),
            (f"revenue {month} (excl. tax)", f"{revenue:,.2f} EUR"),
            (f"ARPU {month}", f"{arpu:,.2f} EUR"),
            (f"leakage {month} (rated − billed)", f"{leakage:,.2f} EUR"),
        ]
    return facts


def write_report(conn, output_dir: Path) -> Report:
    """Draw every chart from the marts and write index.html next to them."""
    output_dir.mkdir(parents=True, exist_ok=True)
    charts = [draw(conn, output_dir / name) for name, draw in CHARTS.items()]
    facts = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in _headline(conn))
    images = "".join(f'<figure><img src="{c.name}" alt="{c.stem.replace("_", " ")}"></figure>' for c in charts)
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    index = output_dir / "index.html"
    index.write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Telecom platform report</title>"
        "<style>body{font-family:sans-serif;margin:2em;max-width:1000px}th{text-align:left;padding-right:2em}"
        "img{max-width:100%;border:1px solid #ddd}</style></head><body>"
        f"<h1>Telecom platform: demo report</h1><p>Generated {generated} from the reporting marts.</p>"
        f"<table>{facts}</table>{images}</body></html>"
    )
    return Report(index=index, charts=charts)
