"""The HTML page in a real headless browser (Debian's chromium, which `make test`
installs): opened from disk with every network request refused and recorded, it draws
one chart per plot with no console error. Never skipped: without chromium it fails."""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Route, sync_playwright

from tests.helpers import gen, run
from tests.plots.util import FILES, commit

CHROMIUM = "/usr/bin/chromium"


def _open(page_file: Path) -> tuple[int, list[int], list[str], list[str]]:
    """(body's rendered count, charts drawn per plot, network requests, console errors)."""
    assert shutil.which("chromium") == CHROMIUM, "chromium is missing: run `make chromium`"
    requests: list[str] = []
    errors: list[str] = []

    def route(r: Route) -> None:
        requests.append(r.request.url)
        if r.request.url == page_file.as_uri():
            r.continue_()
        else:
            r.abort()  # nothing but the page itself may load

    def console(msg: ConsoleMessage) -> None:
        if msg.type in ("error", "warning"):
            errors.append(f"{msg.type}: {msg.text}")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page()
            page.route("**/*", route)
            page.on("console", console)
            page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            page.goto(page_file.as_uri())
            # the page's script marks the body when every chart has rendered (or failed)
            page.wait_for_selector("body[data-rendered], body[data-failed]",
                                   state="attached", timeout=60_000)
            failed = page.get_attribute("body", "data-failed")
            assert failed is None, failed
            rendered = int(page.get_attribute("body", "data-rendered") or "-1")
            drawn = page.eval_on_selector_all(
                ".plot", "els => els.map(e => e.querySelectorAll('svg, canvas').length)")
        finally:
            browser.close()
    return rendered, drawn, requests, errors


def test_the_page_renders_every_chart_offline(plots_repo: Path) -> None:
    commit(plots_repo, FILES, "base")
    gen(plots_repo, {"eval": {"roc.csv": "fpr,tpr\n0,0\n0.5,0.8\n1,1\n"},
                     "odd.json": '[{"a.b": 1, "</script>": 2}, {"a.b": 3, "</script>": 4}]'})
    r = run("plots", "diff", "-o", "out")  # several revisions: legends and facets too
    assert r.exit_code == 0, r.stderr
    page = plots_repo / "out" / "index.html"
    rendered, drawn, requests, errors = _open(page)
    assert (rendered, drawn) == (4, [1, 1, 1, 1])
    assert requests == [page.as_uri()]
    assert errors == []
    # field names that look like paths or markup, from a file outside the section
    r = run("plots", "show", "odd.json", "-o", "odd")
    assert r.exit_code == 0, r.stderr
    rendered, drawn, requests, errors = _open(plots_repo / "odd" / "index.html")
    assert (rendered, drawn, errors) == (1, [1], [])
    assert len(requests) == 1
