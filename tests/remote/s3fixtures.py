"""S3 for tests: one moto server per session on 127.0.0.1 (real HTTP, port 0), reset and
given a fresh bucket for each test. Fake credentials; never the EC2 metadata service."""

from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

BUCKET = "dvlite-bucket"  # the word "bucket" in a key must not confuse error mapping
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
    "AWS_CONFIG_FILE": "/nonexistent/config",
}


@dataclass(frozen=True)
class S3:
    endpoint: str
    bucket: str

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def keys(self, prefix: str = "") -> list[str]:
        out: list[str] = []
        pages = self.client().get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
            out.extend(obj["Key"] for obj in page.get("Contents", []))
        return sorted(out)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    os.environ.update(FAKE_ENV)
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(moto_endpoint: str) -> S3:
    """A reset moto with an empty bucket."""
    req = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(req, timeout=10):
        pass
    s3 = S3(moto_endpoint, BUCKET)
    s3.client().create_bucket(Bucket=BUCKET)
    return s3


def s3_remote_options(endpoint: str) -> dict[str, object]:
    """Small retries and timeouts so faults end quickly."""
    return {"endpoint_url": endpoint, "retries": 2, "connect_timeout": 2.0,
            "read_timeout": 10.0}
