"""dvlite: Git-native data and model versioning."""

__version__ = "0.1.0"
