"""`dvlite metrics check`: every `checks:` entry of the pipeline evaluated on the
workspace's metrics files, against the same files at a baseline revision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dvlite.core.checks import Check, Limit
from dvlite.errors import UsageError
from dvlite.pipeline.load import load_pipeline
from dvlite.pipeline.metrics import Values, values_of
from dvlite.workspace.repo import Repo


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: Check
    value: Any  # None when missing
    baseline: Any  # None when missing or not read
    ok: bool
    reason: str  # why it failed ("" when it passed)

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.check.metric, "file": self.check.file, "key": self.check.key,
                "value": self.value, "baseline": self.baseline, "rules": self.check.rules(),
                "ok": self.ok, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class CheckReport:
    against: str
    results: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


def check_metrics(repo: Repo, against: str = "HEAD") -> CheckReport:
    """Evaluate every check. A check fails when a rule is broken, when its metric is
    missing from the workspace (or not a number), or when a `max_drop`/`max_rise` rule has
    no numeric baseline value at `against`. The baseline is read from git only if some
    check's rules need it (or git is there to show it)."""
    checks = load_pipeline(repo, check_workspace=False).checks
    files = sorted({c.file for c in checks})
    current, bad_now = values_of(repo, None, files)
    needed = any(c.needs_baseline for c in checks)
    if needed and repo.scm is None:
        raise UsageError("max_drop and max_rise compare against a git revision; this "
                         "repository was initialised with --no-scm")
    base: Values = {}
    bad_base: dict[str, str] = {}
    if checks and repo.scm is not None:
        base, bad_base = values_of(repo, against, files)
    results = []
    for check in checks:
        value, why = _get(current, bad_now, check, "the workspace")
        baseline, why_base = _get(base, bad_base, check, against)
        if not why and check.needs_baseline and why_base:
            why = why_base
        if not why:
            why = _broken(check, value, baseline)
        results.append(CheckResult(check, value, baseline, not why, why))
    return CheckReport(against, tuple(results))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _get(values: Values, bad: dict[str, str], check: Check, where: str) -> tuple[Any, str]:
    """(value, "") or (None or the raw value, why it cannot be used)."""
    if check.file in bad:
        return None, f"{check.file} cannot be read in {where}: {bad[check.file]}"
    if check.file not in values:
        return None, f"{check.file} is missing in {where}"
    if check.key not in values[check.file]:
        return None, f"{check.metric} is missing in {where}"
    value = values[check.file][check.key]
    if not _number(value):
        return value, f"{check.metric} is not a number in {where}: {value!r}"
    return value, ""


def _round(x: float) -> float:
    # 0.92 - 0.91 is 0.010000000000000009 in binary; compare what a person reads.
    return float(f"{x:.12g}")


def _broken(check: Check, value: float, baseline: Any) -> str:
    """The first rule `value` breaks, said in words ("" when none)."""
    if check.min is not None and value < check.min:
        return f"below min {check.min:g}"
    if check.max is not None and value > check.max:
        return f"above max {check.max:g}"
    if check.max_drop is not None:
        drop = _round(baseline - value)
        if drop > _allowed(check.max_drop, baseline):
            return f"dropped {drop:g} from {baseline:g}, more than max_drop {check.max_drop}"
    if check.max_rise is not None:
        rise = _round(value - baseline)
        if rise > _allowed(check.max_rise, baseline):
            return f"rose {rise:g} from {baseline:g}, more than max_rise {check.max_rise}"
    return ""


def _allowed(limit: Limit, baseline: float) -> float:
    return _round(limit.allowed(baseline))
