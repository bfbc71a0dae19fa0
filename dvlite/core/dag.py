"""The stage graph: edges from outputs to the dependencies that read them, structural
checks (one writer per output, no nesting, no cycles), order, and rendering."""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from dvlite.core.artifacts import Artifact, merge
from dvlite.core.checks import Check
from dvlite.core.plots import PlotSpec
from dvlite.core.stages import Out, Stage, parse_sections
from dvlite.errors import CyclicGraphError, FormatError, PipelineError

T = TypeVar("T")


def overlaps(a: str, b: str) -> bool:
    """True when one repository-relative path is the other or lies inside it."""
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


class PathMap(Generic[T]):
    """Values by repository-relative path, answering "which paths overlap this one?"
    without a scan: ancestors by their prefixes, descendants by bisection of the sorted list."""

    def __init__(self, items: Iterable[tuple[str, T]]) -> None:
        self._by_path: dict[str, list[T]] = {}
        for path, value in items:
            self._by_path.setdefault(path, []).append(value)
        self._sorted = sorted(self._by_path)

    def overlapping(self, path: str) -> list[T]:
        found = list(self._by_path.get(path, ()))
        parts = path.split("/")
        for i in range(1, len(parts)):
            found.extend(self._by_path.get("/".join(parts[:i]), ()))
        prefix = path + "/"
        i = bisect.bisect_left(self._sorted, prefix)
        while i < len(self._sorted) and self._sorted[i].startswith(prefix):
            found.extend(self._by_path[self._sorted[i]])
            i += 1
        return found


@dataclass(frozen=True)
class Graph:
    stages: dict[str, Stage]  # by name, in definition order
    upstream: dict[str, tuple[str, ...]]  # stage -> the stages whose outputs it reads

    def order(self, names: Iterable[str] | None = None) -> list[str]:
        """Topological order of `names` and their upstream (all stages by default);
        among stages ready at the same time, definition order."""
        wanted = self.with_upstream(names) if names is not None else set(self.stages)
        rank = {n: i for i, n in enumerate(self.stages)}
        waiting = {n: len(self.upstream[n]) for n in wanted}
        down = self.downstream()
        ready = [rank[n] for n, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        names_by_rank = list(self.stages)
        result: list[str] = []
        while ready:
            name = names_by_rank[heapq.heappop(ready)]
            result.append(name)
            for d in down[name]:
                if d in waiting:
                    waiting[d] -= 1
                    if waiting[d] == 0:
                        heapq.heappush(ready, rank[d])
        if len(result) != len(wanted):  # cannot happen after build_graph's cycle check
            raise CyclicGraphError("the stages form a cycle")
        return result

    def with_upstream(self, names: Iterable[str]) -> set[str]:
        seen: set[str] = set()
        stack = list(names)
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            if name not in self.stages:
                names = list(self.stages)
                more = f" and {len(names) - 10} more" if len(names) > 10 else ""
                raise PipelineError(f"unknown stage '{name}'",
                                    hint=f"stages: {', '.join(names[:10]) or '(none)'}{more}")
            seen.add(name)
            stack.extend(self.upstream[name])
        return seen

    def downstream(self) -> dict[str, list[str]]:
        down: dict[str, list[str]] = {n: [] for n in self.stages}
        for name, ups in self.upstream.items():
            for up in ups:
                down[up].append(name)
        return down


def output_map(stages: Iterable[Stage]) -> PathMap[tuple[Stage, Out]]:
    return PathMap((o.path, (s, o)) for s in stages for o in s.outs)


def build_graph(stages: list[Stage]) -> Graph:
    """Check the structure (raising errors that name file and line) and link the stages."""
    by_name = {s.name: s for s in stages}
    outputs = output_map(stages)
    _check_outputs(stages, outputs)
    upstream: dict[str, tuple[str, ...]] = {}
    for stage in stages:
        ups = {other.name for dep in stage.deps for other, _ in outputs.overlapping(dep.path)}
        upstream[stage.name] = tuple(sorted(ups))
    graph = Graph(by_name, upstream)
    _check_cycles(graph)
    return graph


def _check_outputs(stages: list[Stage], outputs: PathMap[tuple[Stage, Out]]) -> None:
    for stage in stages:
        for out in stage.outs:
            for other, theirs in outputs.overlapping(out.path):
                if theirs is out:
                    continue
                if theirs.path == out.path:
                    first, second = sorted([(stage, out), (other, theirs)],
                                           key=lambda so: (so[0].dvfile, so[1].line))
                    who = ("it" if first[0] is second[0]
                           else f"stage '{first[0].name}' ({first[0].dvfile}:{first[1].line})")
                    raise PipelineError(
                        f"{second[0].dvfile}:{second[1].line}: stage '{second[0].name}': "
                        f"output '{out.path}' is also written by {who}")
                inner, outer = ((stage, out), (other, theirs)) if len(out.path) > len(
                    theirs.path) else ((other, theirs), (stage, out))
                raise PipelineError(
                    f"{inner[0].dvfile}:{inner[1].line}: stage '{inner[0].name}': output "
                    f"'{inner[1].path}' is inside output '{outer[1].path}' of stage "
                    f"'{outer[0].name}'")
        for dep in stage.deps:
            for out in stage.outs:
                if overlaps(dep.path, out.path):
                    raise PipelineError(
                        f"{stage.dvfile}:{dep.line}: stage '{stage.name}': '{dep.path}' is both "
                        "a dependency and an output of the stage")


def _check_cycles(graph: Graph) -> None:
    """Depth-first search without recursion (a chain of thousands of stages is fine);
    the first cycle found is reported in the direction data flows."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    for root in graph.stages:
        if root in state:
            continue
        path: list[str] = []
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(graph.upstream[root]))]
        state[root] = 1
        path.append(root)
        while stack:
            name, ups = stack[-1]
            up = next(ups, None)
            if up is None:
                stack.pop()
                path.pop()
                state[name] = 2
            elif state.get(up) == 1:
                cycle = [*path[path.index(up):], up]
                raise CyclicGraphError(f"{graph.stages[name].where}: stages form a cycle: "
                                       f"{' -> '.join(reversed(cycle))}")
            elif up not in state:
                state[up] = 1
                path.append(up)
                stack.append((up, iter(graph.upstream[up])))


def render(graph: Graph, fmt: str = "text") -> str:
    order = graph.order()
    edges = [(up, name) for name in order for up in graph.upstream[name]]
    if fmt == "mermaid":
        lines = ["flowchart TD"]
        ids = {n: f"s{i}" for i, n in enumerate(order)}
        lines += [f'  {ids[n]}["{n}"]' for n in order]
        lines += [f"  {ids[a]} --> {ids[b]}" for a, b in edges]
        return "\n".join(lines)
    if fmt == "dot":
        lines = ["strict digraph {"]
        lines += [f'  "{n}";' for n in order]
        lines += [f'  "{a}" -> "{b}";' for a, b in edges]
        return "\n".join([*lines, "}"])
    width = max((len(n) for n in order), default=0)
    return "\n".join(
        f"{n.ljust(width)}  <- {', '.join(graph.upstream[n])}" if graph.upstream[n] else n
        for n in order
    )


@dataclass(frozen=True)
class Pipeline:
    stages: list[Stage]
    graph: Graph
    files: tuple[str, ...]  # repository-relative dvlite.yaml paths
    checks: tuple[Check, ...] = ()  # the files' `checks:`, in file order
    plots: tuple[PlotSpec, ...] = ()  # the files' `plots:`, in file order
    artifacts: tuple[Artifact, ...] = ()  # the files' `artifacts:`, names unique


def parse_files(texts: dict[str, bytes]) -> Pipeline:
    """Parse and link pipeline files given as {repository-relative path: bytes}."""
    stages: list[Stage] = []
    checks: list[Check] = []
    plots: list[PlotSpec] = []
    artifacts: list[Artifact] = []
    seen: dict[str, Stage] = {}
    for path in sorted(texts):
        sections = parse_sections(texts[path], path)
        checks.extend(sections.checks)
        plots.extend(sections.plots)
        artifacts.extend(sections.artifacts)
        for stage in sections.stages:
            if stage.name in seen:
                raise FormatError(f"{stage.where}: stage '{stage.name}' is already defined "
                                  f"at {seen[stage.name].where}")
            seen[stage.name] = stage
            stages.append(stage)
    return Pipeline(stages, build_graph(stages), tuple(sorted(texts)), tuple(checks),
                    tuple(plots), tuple(merge(artifacts).values()))
