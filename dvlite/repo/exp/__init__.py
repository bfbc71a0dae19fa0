"""Experiments: runs recorded as git commits under `refs/exps/<NAME>` (see
docs/experiments.md)."""
