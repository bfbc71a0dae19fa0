"""A loopback S3 endpoint for trying dvlite's S3 remote without AWS.

Runs moto's S3 server on 127.0.0.1, creates a bucket, prints the `dvlite remote`
commands that point a repository at it, and serves until Ctrl-C. Everything lives in
memory: stopping the server forgets every object.

    python remotes/s3_server.py [--port 5555] [--bucket dvlite] [--name s3local]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from typing import Any

ACCESS_KEY = "testing"
SECRET_KEY = "testing"  # moto accepts any credentials; these are not secrets


def start(port: int, bucket: str) -> tuple[Any, str]:
    """Start the server and create `bucket`; returns (server, endpoint URL)."""
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, real_port = server.get_host_and_port()
    endpoint = f"http://{host}:{real_port}"
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    client.create_bucket(Bucket=bucket)
    return server, endpoint


def commands(name: str, bucket: str, endpoint: str) -> list[str]:
    return [
        f"dvlite remote add {name} s3://{bucket}/dvlite --default",
        f"dvlite remote modify {name} endpoint_url {endpoint}",
        f"dvlite remote modify {name} access_key_id {ACCESS_KEY} --local",
        f"dvlite remote modify {name} secret_access_key {SECRET_KEY} --local",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5555, help="0 picks a free port")
    parser.add_argument("--bucket", default="dvlite")
    parser.add_argument("--name", default="s3local", help="remote name in the commands")
    args = parser.parse_args(argv)
    server, endpoint = start(args.port, args.bucket)
    print(f"S3 endpoint {endpoint}, bucket '{args.bucket}' (in memory; Ctrl-C stops it)")
    print("In a dvlite repository, run:\n")
    for line in commands(args.name, args.bucket, endpoint):
        print(f"  {line}")
    print(flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
