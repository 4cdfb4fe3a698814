"""What every benchmark reports alongside its figures: statistics, the machine, the JSON file."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from agent.trajectory.atomic import write_atomic

RESULTS = Path(__file__).parent / "results"


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank `q` quantile (0..1) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    """Median and p95 in milliseconds of a list of durations in seconds."""
    return {
        "median_ms": round(statistics.median(seconds) * 1000, 2),
        "p95_ms": round(percentile(seconds, 0.95) * 1000, 2),
    }


def _proc_field(file: str, key: str) -> str | None:
    """The value of `key:` in a /proc file (Linux), or None elsewhere."""
    path = Path("/proc") / file
    if not path.exists():
        return None
    for line in path.read_text().splitlines():
        if line.startswith((key + ":", key + "\t")):
            return line.split(":", 1)[1].strip()
    return None


def cpu_model() -> str:
    return _proc_field("cpuinfo", "model name") or platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """When and where a figure was measured."""
    memory_kib = int((_proc_field("meminfo", "MemTotal") or "0 kB").split()[0])
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 2**20, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Write `payload` with the machine description to benchmarks/results/<name>.json."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    write_atomic(path, json.dumps({"benchmark": name, "machine": machine(), **payload}, indent=2) + "\n")
    print(f"wrote {path}")
    return path
