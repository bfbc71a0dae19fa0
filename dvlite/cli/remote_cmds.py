"""CLI commands for remotes (registered on the app by importing this module)."""

from __future__ import annotations
