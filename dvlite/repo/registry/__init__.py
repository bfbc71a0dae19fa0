"""The model registry on git tags, in GTO's formats (see docs/registry.md)."""
