"""A local SSM endpoint for tufwatch's tests: moto's SSM, seeded with public parameters, behind a
fault switch.

    python moto_ssm.py SEED.json FAULTS.json

SEED.json is in the format of `aws ssm get-parameters-by-path` output; each parameter goes into
the region its ARN names (moto's PutParameter refuses names under /aws/, as AWS does, so they are
written into moto's store directly). FAULTS.json maps a region to a fault for the requests signed
for it: {"throttle_first": N} answers ThrottlingException to the first N, {"throttle_all": true}
to every one, {"status": 500, "first": N} answers a server error to the first N, {"hang": S}
waits S seconds before it answers (a region that does not answer in time).

GET /__stats answers {region: {operation: count}} for every request seen (faults included).
Prints "PORT <n>" once it listens on 127.0.0.1; exits when its standard input closes (when the
test process that started it ends).
"""

import datetime
import json
import os
import re
import sys
import threading
import time

from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.ssm.models import Parameter, ssm_backends
from werkzeug.serving import make_server

CREDENTIAL_REGION = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/ssm/")


def seed(path):
    with open(path) as f:
        doc = json.load(f)
    for p in doc["Parameters"]:
        region = p["ARN"].split(":")[3]
        when = datetime.datetime.fromisoformat(p.get("LastModifiedDate", "2026-01-01T00:00:00+00:00"))
        backend = ssm_backends[DEFAULT_ACCOUNT_ID][region]
        backend._parameters[p["Name"]].append(
            Parameter(
                account_id=DEFAULT_ACCOUNT_ID,
                name=p["Name"],
                value=p["Value"],
                parameter_type="String",
                description=None,
                allowed_pattern=None,
                keyid=None,
                last_modified_date=when,
                version=1,
                data_type=p.get("DataType", "text"),
            )
        )


class Faults:
    def __init__(self, app, faults):
        self.app = app
        self.faults = faults
        self.lock = threading.Lock()
        self.stats = {}

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/__stats":
            with self.lock:
                body = json.dumps(self.stats).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        m = CREDENTIAL_REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
        region = m.group(1) if m else "?"
        operation = environ.get("HTTP_X_AMZ_TARGET", "?").split(".")[-1]
        with self.lock:
            per_region = self.stats.setdefault(region, {})
            per_region[operation] = per_region.get(operation, 0) + 1
            seen = sum(per_region.values())
        fault = self.faults.get(region, {})
        if "hang" in fault:
            time.sleep(fault["hang"])
        throttle = fault.get("throttle_all") or seen <= fault.get("throttle_first", 0)
        if throttle:
            body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
            start_response(
                "400 Bad Request",
                [
                    ("Content-Type", "application/x-amz-json-1.1"),
                    ("X-Amzn-ErrorType", "ThrottlingException"),
                    ("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000"),
                ],
            )
            return [body]
        if "status" in fault and seen <= fault.get("first", 0):
            body = json.dumps({"__type": "InternalServerError", "message": "injected"}).encode()
            start_response(
                "%d Injected" % fault["status"],
                [("Content-Type", "application/x-amz-json-1.1"), ("X-Amzn-ErrorType", "InternalServerError")],
            )
            return [body]
        return self.app(environ, start_response)


def main():
    seed(sys.argv[1])
    faults = {}
    if len(sys.argv) > 2:
        with open(sys.argv[2]) as f:
            faults = json.load(f)
    app = Faults(DomainDispatcherApplication(create_backend_app), faults)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print("PORT %d" % server.server_port, flush=True)

    def watch_stdin():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
