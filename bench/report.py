"""Turn bench/results.json into bench/report.md: each figure beside its target."""

from __future__ import annotations

import json

from bench.ingest import RESULTS

TARGETS = [
    ("ingest_to_ceiling_ratio", "ingest rate / COPY ceiling", ">= 0.5", lambda v: v >= 0.5),
    ("ingest_peak_rss_mb", "ingest peak RSS (MB)", "< 1024", lambda v: v < 1024),
    (
        "incremental_to_backfill_time_ratio",
        "incremental / backfill time (1 % changed)",
        "< 0.05",
        lambda v: v < 0.05,
    ),
    (
        "dbt_incremental_to_full_ratio",
        "incremental / full dbt build (1 % changed)",
        "< 0.10",
        lambda v: v < 0.10,
    ),
    (
        "reverse_etl_enqueue_to_dbt_ratio",
        "reverse-ETL enqueue / per-load dbt build (1 % changed)",
        "< 0.20",
        lambda v: v is not None and v < 0.20,
    ),
    (
        "reverse_etl_limit_utilisation",
        "reverse-ETL share of CallRail's limit used (two workers)",
        ">= 0.9",
        lambda v: v >= 0.9,
    ),
    ("reverse_etl_limit_breaches", "reverse-ETL rate-limit breaches", "0", lambda v: v == 0),
    ("crm_match_precision", "contact matching precision", ">= 0.995", lambda v: v >= 0.995),
    (
        "crm_match_recall_with_identifiers",
        "contact matching recall, shared phone or email",
        ">= 0.99",
        lambda v: v >= 0.99,
    ),
    (
        "crm_match_recall_no_identifiers",
        "contact matching recall, no shared phone or email",
        ">= 0.95",
        lambda v: v >= 0.95,
    ),
]


def main() -> None:
    results = json.loads(RESULTS.read_text())
    lines = ["# Benchmark report", "", "| figure | value | target | met |", "|---|---|---|---|"]
    for key, label, target, met in TARGETS:
        if key in results:
            lines.append(
                f"| {label} | {results[key]} | {target} | {'yes' if met(results[key]) else 'NO'} |"
            )
    for kind, ms in results.get("bi_lookup_p95_ms", {}).items():
        lines.append(
            f"| BI lookup p95 by {kind} (ms) | {ms} | < 20 | {'yes' if ms < 20 else 'NO'} |"
        )
    lines += ["", "All figures:", "", "```json", json.dumps(results, indent=2), "```", ""]
    report = RESULTS.with_name("report.md")
    report.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
