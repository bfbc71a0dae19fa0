"""The stage graph: edges from outputs to the dependencies that read them, structural
checks (one writer per output, no nesting, no cycles), order, and rendering."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dvlite.errors import CyclicGraphError, PipelineError
from dvlite.pipeline.schema import Stage


def overlaps(a: str, b: str) -> bool:
    """True when one repository-relative path is the other or lies inside it."""
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


@dataclass(frozen=True)
class Graph:
    stages: dict[str, Stage]  # by name, in definition order
    upstream: dict[str, tuple[str, ...]]  # stage -> the stages whose outputs it reads

    def order(self, names: Iterable[str] | None = None) -> list[str]:
        """Topological order (definition order among equals) of `names` and their upstream."""
        wanted = self.with_upstream(names) if names is not None else set(self.stages)
        done: set[str] = set()
        result: list[str] = []
        pending = [n for n in self.stages if n in wanted]
        while pending:
            ready = [n for n in pending if all(u in done for u in self.upstream[n])]
            if not ready:  # cannot happen after check_graph; guard against a loop forever
                raise CyclicGraphError(f"cycle among stages {', '.join(pending)}")
            for n in ready:
                done.add(n)
                result.append(n)
            pending = [n for n in pending if n not in done]
        return result

    def with_upstream(self, names: Iterable[str]) -> set[str]:
        seen: set[str] = set()
        stack = list(names)
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            if name not in self.stages:
                raise PipelineError(f"unknown stage '{name}'",
                                    hint=f"stages: {', '.join(self.stages) or '(none)'}")
            seen.add(name)
            stack.extend(self.upstream[name])
        return seen

    def downstream(self) -> dict[str, list[str]]:
        down: dict[str, list[str]] = {n: [] for n in self.stages}
        for name, ups in self.upstream.items():
            for up in ups:
                down[up].append(name)
        return down


def build_graph(stages: list[Stage]) -> Graph:
    """Check the structure (raising errors that name file and line) and link the stages."""
    by_name = {s.name: s for s in stages}
    _check_outputs(stages)
    upstream: dict[str, tuple[str, ...]] = {}
    for stage in stages:
        ups = {
            other.name for other in stages for out in other.outs for dep in stage.deps
            if overlaps(dep.path, out.path)
        }
        upstream[stage.name] = tuple(sorted(ups))
    graph = Graph(by_name, upstream)
    _check_cycles(graph)
    return graph


def _check_outputs(stages: list[Stage]) -> None:
    owners: list[tuple[str, Stage, int]] = []
    for stage in stages:
        for out in stage.outs:
            for path, other, line in owners:
                if path == out.path:
                    who = ("it" if other is stage
                           else f"stage '{other.name}' ({other.dvfile}:{line})")
                    raise PipelineError(
                        f"{stage.dvfile}:{out.line}: stage '{stage.name}': output '{out.path}' "
                        f"is also written by {who}")
                if overlaps(path, out.path):
                    inner, outer = (out.path, path) if len(out.path) > len(path) else (path,
                                                                                      out.path)
                    raise PipelineError(
                        f"{stage.dvfile}:{out.line}: stage '{stage.name}': output '{inner}' "
                        f"is inside output '{outer}' of stage '{other.name}'")
            owners.append((out.path, stage, out.line))
        for dep in stage.deps:
            for out in stage.outs:
                if overlaps(dep.path, out.path):
                    raise PipelineError(
                        f"{stage.dvfile}:{dep.line}: stage '{stage.name}': '{dep.path}' is both "
                        "a dependency and an output of the stage")


def _check_cycles(graph: Graph) -> None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        path.append(name)
        for up in graph.upstream[name]:
            if state.get(up) == 1:
                cycle = [*path[path.index(up):], up]
                stage = graph.stages[name]
                raise CyclicGraphError(
                    f"{stage.where}: stages form a cycle: {' -> '.join(reversed(cycle))}")
            if state.get(up) is None:
                visit(up, path)
        path.pop()
        state[name] = 2

    for name in graph.stages:
        if name not in state:
            visit(name, [])


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
