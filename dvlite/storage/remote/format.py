"""A remote's format file, ``<root>/dvlite-format``: its epoch and its layout version.

Layout 1 holds every object loose (``<algo>/<2 hex>/<hex>``, like the cache). Layout 2
adds pack files for small objects (``packs/<algo>/<hex>.pack`` plus ``.idx``) and still
reads loose objects, so a layout-1 remote becomes layout 2 by rewriting this file alone.
A dvlite that reads only layout 1 refuses a layout-2 remote instead of missing objects.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from dvlite.errors import ConfigError, FormatError

REMOTE_LAYOUT = 2  # what new remotes get
READABLE_LAYOUTS = (1, 2)


@dataclass(frozen=True, slots=True)
class RemoteFormat:
    epoch: str  # "" in a format file written before epochs existed
    layout: int

    @property
    def packed(self) -> bool:
        return self.layout >= 2


def new_epoch() -> str:
    return uuid.uuid4().hex


def format_text(fmt: RemoteFormat) -> bytes:
    # The epoch goes first: readers without epochs take the last word as the version.
    return f"epoch {fmt.epoch}\ndvlite remote layout {fmt.layout}\n".encode()


def check_format_text(name: str, text: str) -> RemoteFormat:
    """Parse a format file, refusing a layout this dvlite cannot read."""
    words = text.split()
    version = words[-1] if words else ""
    if version not in {str(v) for v in READABLE_LAYOUTS}:
        raise ConfigError(
            f"remote '{name}' uses layout version '{version}'; this dvlite reads versions "
            f"{', '.join(map(str, READABLE_LAYOUTS))}", hint="upgrade dvlite")
    epoch = words[1] if len(words) > 2 and words[0] == "epoch" else ""
    if epoch and not (len(epoch) == 32 and all(c in "0123456789abcdef" for c in epoch)):
        raise FormatError(f"remote '{name}': malformed epoch in its format file")
    return RemoteFormat(epoch, int(version))
