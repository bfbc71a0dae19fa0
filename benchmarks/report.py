"""Result rows, the targets they are checked against, and the markdown tables."""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass, field
from typing import Any

from floors import Floor
from tools import Sample

# (dataset, operation prefix) -> (minimum DVC/dvlite ratio, max dvlite seconds, max RSS MiB)
TARGETS: dict[tuple[str, str], tuple[float | None, float | None, float | None]] = {
    ("big", "add"): (5.0, None, 150.0),
    ("small", "add"): (3.0, None, None),
    ("small", "status (no-op)"): (5.0, 0.3, None),
    ("big", "checkout"): (2.0, None, None),
    ("small", "checkout"): (3.0, None, None),
    ("-", "--help"): (None, 0.3, None),
    ("-", "status (empty repo)"): (None, 0.3, None),
}


@dataclass
class Row:
    dataset: str
    op: str
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    extra: dict[str, list[Any]] = field(default_factory=dict)
    note: str = ""

    def seconds(self, tool: str) -> float | None:
        s = self.samples.get(tool)
        return statistics.median(x.seconds for x in s) if s else None

    def cpu(self, tool: str) -> float | None:
        s = self.samples.get(tool)
        return statistics.median(x.cpu for x in s) if s else None

    def rss(self, tool: str) -> float | None:
        s = self.samples.get(tool)
        return max(x.rss_mib for x in s) if s else None

    def ratio(self) -> float | None:
        """Median over rounds of DVC's time / dvlite's time in the same round: the two
        ran back to back, so each pair saw the same machine load."""
        a, b = self.samples.get("dvc"), self.samples.get("dvlite")
        if not a or not b:
            return None
        pairs = [x.seconds / y.seconds for x, y in zip(a, b, strict=False) if y.seconds]
        return statistics.median(pairs) if pairs else None

    def cpu_ratio(self) -> float | None:
        a, b = self.cpu("dvc"), self.cpu("dvlite")
        return a / b if a is not None and b else None

    def target(self) -> tuple[float | None, float | None, float | None] | None:
        for (ds, prefix), t in TARGETS.items():
            if ds == self.dataset and self.op.startswith(prefix):
                return t
        return None

    def verdict(self) -> str:
        """'yes'/'NO' against the target, '' when there is none or it can't be judged."""
        if self.note.startswith("expected re-hashes"):
            want = int(self.note.rsplit(" ", 1)[1])
            got = self.extra.get("dvlite", [])
            return "yes" if got and all(g == want for g in got) else "NO"
        t = self.target()
        if t is None:
            return ""
        min_ratio, max_s, max_rss = t
        checks = []
        if min_ratio is not None and self.ratio() is not None:
            checks.append(self.ratio() >= min_ratio)  # type: ignore[operator]
        if max_s is not None:
            checks.append((self.seconds("dvlite") or 0) < max_s)
        if max_rss is not None:
            checks.append((self.rss("dvlite") or 0) < max_rss)
        if not checks:
            return ""
        return "yes" if all(checks) else "NO"

    def target_text(self) -> str:
        if self.note.startswith("expected re-hashes"):
            return f"re-hashes only {self.note.rsplit(' ', 1)[1]}"
        t = self.target()
        if t is None:
            return ""
        parts = []
        if t[0] is not None:
            parts.append(f">= {t[0]:g}x")
        if t[1] is not None:
            parts.append(f"< {t[1]:g} s")
        if t[2] is not None:
            parts.append(f"RSS < {t[2]:g} MiB")
        return ", ".join(parts)

    def progress_line(self) -> str:
        parts = [f"{self.dataset:6} {self.op:38}"]
        for tool in self.samples:
            parts.append(f"{tool} {self.seconds(tool):7.2f} s (cpu {self.cpu(tool):6.2f}) "
                         f"{self.rss(tool):5.0f} MiB")
        if "dvlite" in self.extra:
            parts.append(f"re-hashed {self.extra['dvlite']}")
        return "  ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "op": self.op, "note": self.note,
                "samples": {k: [(s.seconds, s.rss_mib, s.cpu) for s in v]
                            for k, v in self.samples.items()},
                "extra": self.extra, "ratio": self.ratio(), "met": self.verdict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Row:
        samples = {k: [Sample(a, b, 0, c) for a, b, c in v] for k, v in d["samples"].items()}
        return cls(d["dataset"], d["op"], samples, d["extra"], d["note"])


def _f(x: float | None, fmt: str) -> str:
    return "" if x is None else format(x, fmt)


def render(rows: list[Row], floors: list[Floor], info: dict[str, str],
           args: argparse.Namespace, elapsed: float) -> str:
    with_dvc = any("dvc" in r.samples for r in rows)
    lines = [
        f"Machine: {info['nproc']} cores ({info['cpu']}), {info['ram']} RAM, "
        f"{info['filesystem']} filesystem, Linux {info['kernel']}, Python {info['python']}. "
        f"Scale {args.scale:g}, median of {args.runs} run(s), total {elapsed / 60:.1f} min.",
        "",
    ]
    head = "| dataset | operation | dvlite s | dvlite CPU s | dvlite peak RSS MiB |"
    rule = "| --- | --- | ---: | ---: | ---: |"
    if with_dvc:
        head += " DVC s | DVC CPU s | DVC peak RSS MiB | DVC / dvlite | same, CPU |"
        rule += " ---: | ---: | ---: | ---: | ---: |"
    head += " target | met | notes |"
    rule += " --- | --- | --- |"
    lines += [head, rule]
    for r in rows:
        cells = [r.dataset, r.op, _f(r.seconds("dvlite"), ".2f"), _f(r.cpu("dvlite"), ".2f"),
                 _f(r.rss("dvlite"), ".0f")]
        if with_dvc:
            ratio = r.ratio()
            cpu_ratio = r.cpu_ratio()
            cells += [_f(r.seconds("dvc"), ".2f"), _f(r.cpu("dvc"), ".2f"), _f(r.rss("dvc"), ".0f"),
                      f"{ratio:.1f}x" if ratio is not None else "",
                      f"{cpu_ratio:.1f}x" if cpu_ratio is not None else ""]
        note = ""
        if "dvlite" in r.extra:
            note = "files re-hashed per run: " + ", ".join(str(x) for x in r.extra["dvlite"])
        cells += [r.target_text(), r.verdict() if with_dvc or r.target_text() else "", note]
        lines.append("| " + " | ".join(cells) + " |")
    if floors:
        lines += ["", "Floors (same data, same run):", "", "| dataset | what | seconds |",
                  "| --- | --- | ---: |"]
        lines += [f"| {f.dataset} | {f.what} | {f.seconds:.2f} |" for f in floors]
    return "\n".join(lines)
