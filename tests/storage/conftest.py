"""Storage fixtures: the moto S3 server (shared with tests/remote)."""

from tests.remote.s3fixtures import moto_endpoint, s3

__all__ = ["moto_endpoint", "s3"]
