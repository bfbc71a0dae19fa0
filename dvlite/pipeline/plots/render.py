"""Rendering Vega-Lite specs: one self-contained HTML page (the charting code inlined, so
it opens without a network), or an SVG or PNG image per plot.

`vl_convert` (a compiled Vega runtime) is imported here only, inside the functions, so
no command but `plots` pays for loading it. Building its JavaScript bundle takes about
two seconds, so the bundle is kept in `.dvlite/plots/`, one file per vl-convert version.
"""

from __future__ import annotations

import html
import json
import re
from importlib import metadata
from pathlib import Path
from typing import Any

from dvlite.errors import DvliteError
from dvlite.storage.atomic import atomic_write

FORMATS = ("html", "svg", "png")
SNIPPET = "window.vegaEmbed = vegaEmbed;"  # what the page's own script calls
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
.plot {{ margin: 0 0 2.5em 0; }}
</style>
<script>{bundle}</script>
</head>
<body>
<h1>{title}</h1>
{divs}
<script type="application/json" id="dvlite-specs">{specs}</script>
<script>
const failed = (e) => {{ document.body.dataset.failed = String(e); console.error(e); }};
try {{
  const specs = JSON.parse(document.getElementById("dvlite-specs").textContent);
  const options = {{actions: false, mode: "vega-lite", renderer: "canvas"}};
  Promise.all(specs.map((spec, i) => vegaEmbed("#plot-" + i, spec, options)))
    .then(() => {{ document.body.dataset.rendered = String(specs.length); }})
    .catch(failed);
}} catch (e) {{
  failed(e);
}}
</script>
</body>
</html>
"""


_SCRIPT_END = re.compile(r"<(/script|!--)", re.IGNORECASE)


def _script_safe(text: str) -> str:
    """`text` unable to end (or, with `<!--`, to confuse) the <script> element it sits
    in: only those sequences change, as `<\\/script` and `<\\!--`, which mean the same in
    JavaScript strings and regular expressions (a blanket `</` -> `<\\/` would break a
    regular expression like `/</g`)."""
    return _SCRIPT_END.sub(lambda m: "<\\" + m[1], text)


def bundle(cache_dir: Path) -> str:
    """Vega, Vega-Lite and vega-embed as one script defining `window.vegaEmbed`."""
    version = metadata.version("vl-convert-python")
    path = cache_dir / f"vega-bundle-{version}.js"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        pass
    import vl_convert

    text = vl_convert.javascript_bundle(SNIPPET)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(path, text.encode(), fsync=False)
    except (OSError, DvliteError):
        pass  # a cache that cannot be written costs time, not the page
    return text


def html_page(specs: list[dict[str, Any]], cache_dir: Path, title: str = "dvlite plots") -> str:
    """One page showing every spec (their data inlined), in order, in `#plot-0`, ...;
    once all have rendered, `body[data-rendered]` holds their count."""
    divs = "\n".join(f'<div class="plot" id="plot-{i}"></div>' for i in range(len(specs)))
    # json.dumps escapes nothing HTML cares about: '<' becomes \\u003c so no data
    # (a field named "</script>") can end the element early
    data = json.dumps(specs, separators=(",", ":")).replace("<", "\\u003c")
    return PAGE.format(title=html.escape(title), bundle=_script_safe(bundle(cache_dir)),
                       divs=divs, specs=data)


def image(spec: dict[str, Any], fmt: str) -> bytes:
    """The spec drawn as SVG or PNG bytes."""
    import vl_convert

    if fmt == "svg":
        return str(vl_convert.vegalite_to_svg(spec)).encode()
    if fmt == "png":
        return bytes(vl_convert.vegalite_to_png(spec))
    raise ValueError(f"unknown image format {fmt!r}")
