"""A local AWS endpoint for tufwatch's tests: moto's SSM, EC2 and STS, seeded with public
parameters and a fleet, behind a fault switch.

    python moto_ssm.py SEED.json FAULTS.json [EC2SEED.json]

SEED.json is in the format of `aws ssm get-parameters-by-path` output; each parameter goes into
the region its ARN names (moto's PutParameter refuses names under /aws/, as AWS does, so they are
written into moto's store directly). FAULTS.json maps a region to a fault for the requests signed
for it: {"throttle_first": N} answers ThrottlingException to the first N, {"throttle_all": true}
to every one, {"status": 500, "first": N} answers a server error to the first N, {"hang": S}
waits S seconds before it answers (a region that does not answer in time), {"deny_roles":
[ARN, ...]} refuses AssumeRole of those roles (AccessDenied, as STS answers a role whose trust
policy does not admit the caller), {"deny_operations": [OPERATION, ...]} refuses those operations
in the region (UnauthorizedOperation, as for a role whose policy lacks the action). A fault answers in the protocol of the service called: JSON for
SSM, EC2's and STS's XML for theirs (EC2 throttles with RequestLimitExceeded).

EC2SEED.json seeds a fleet through the API, before any fault or count applies:
{"amis": [{"ami_id", "name", "owner_id", "architecture", "deprecation_time"?}, ...]} are public
images of Bottlerocket's publisher (moto gives them the owner alias amazon; moto has no
deprecation, so DeprecationTime is set on its image objects), {"instances": [{"account",
"region", "image": AMI or {"register": NAME, "architecture"}, "count", "name"?,
"per_reservation"?}, ...]} are
launched (an account other than moto's default through a role assumed in it; "register" makes
the image in that account first, owned by it), {"deregister": [{"account", "region", "image"}]}
are deregistered after; {"launch_templates": [{"account", "region", "name", "versions": [IMAGE,
...]}]} are made, each version's ImageId in turn (the first stays the default);
{"launch_configurations": [{"account", "region", "name", "image", "deleted"?}]} are made (a
"deleted" one is deleted once the groups naming it are made); {"auto_scaling_groups":
[{"account", "region", "name", "template", "version"} or {..., "launch_configuration"}]} launch
nothing (desired capacity 0); {"node_groups": [{"account", "region", "cluster", "kubernetes_version",
"name", "amiType"?, "releaseVersion"?, "template"?, "version"?}]} are made in their clusters.

KMS signs as AWS does (kms_as_aws): moto 5.2.5 hashes a MessageType=DIGEST message again, and
gives RSASSA-PSS signatures the longest salt, where AWS signs the digest given and uses a salt as
long as the hash.

GET /__stats answers {region: {operation: count}} for every request seen (faults included); a
REST operation is named by its method and path ("GET /clusters").
Prints "PORT <n>" once it listens on 127.0.0.1; exits when its standard input closes (when the
test process that started it ends).
"""

import datetime
import io
import json
import os
import re
import sys
import tempfile
import threading
import time
import urllib.parse

CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/")
DEFAULT_ACCOUNT_ID = "123456789012"


def seed(path):
    from moto.ssm.models import Parameter, ssm_backends

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


def xml_error(service, code, message):
    """An error document as EC2 (and other query services, STS among them) write it."""
    if service == "ec2":
        return (
            "<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors>"
            "<RequestID>00000000-0000-0000-0000-000000000000</RequestID></Response>" % (code, message)
        ).encode()
    return (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
        "<Code>%s</Code><Message>%s</Message></Error>"
        "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>" % (code, message)
    ).encode()


class Faults:
    def __init__(self, app, faults):
        self.app = app
        self.faults = faults
        self.lock = threading.Lock()
        self.stats = {}
        self.seeding = True

    def answer(self, start_response, service, status, code, message):
        """A fault, in the protocol of the service called."""
        if service in ("ec2", "sts", "autoscaling"):
            start_response(status, [("Content-Type", "text/xml")])
            return [xml_error(service, code, message)]
        start_response(
            status,
            [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("X-Amzn-ErrorType", code),
                ("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000"),
            ],
        )
        return [json.dumps({"__type": code, "message": message}).encode()]

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/__stats":
            with self.lock:
                body = json.dumps(self.stats).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        if self.seeding:
            return self.app(environ, start_response)
        m = CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        region, service = (m.group(1), m.group(2)) if m else ("?", "?")
        # Query services (EC2, STS) name the operation in the form body: read it, and put it back.
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        # REST services (EKS) by method and path: "GET /clusters".
        rest = "%s %s" % (environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
        operation = environ.get("HTTP_X_AMZ_TARGET", "").split(".")[-1] or form.get("Action", [rest])[0]
        with self.lock:
            per_region = self.stats.setdefault(region, {})
            per_region[operation] = per_region.get(operation, 0) + 1
            seen = sum(per_region.values())
        fault = self.faults.get(region, {})
        if operation in fault.get("deny_operations", []):
            # As AWS says it: EC2's own code, the others' AccessDenied.
            denied = "UnauthorizedOperation" if service == "ec2" else "AccessDenied"
            return self.answer(start_response, service, "403 Forbidden", denied, "You are not authorized to perform this operation.")
        if operation == "AssumeRole" and form.get("RoleArn", [""])[0] in self.faults.get("deny_roles", []):
            return self.answer(start_response, service, "403 Forbidden", "AccessDenied", "not authorized to perform sts:AssumeRole")
        if "hang" in fault:
            time.sleep(fault["hang"])
        throttle = fault.get("throttle_all") or seen <= fault.get("throttle_first", 0)
        if throttle:
            if service == "ec2":
                return self.answer(start_response, service, "503 Service Unavailable", "RequestLimitExceeded", "Request limit exceeded.")
            return self.answer(start_response, service, "400 Bad Request", "ThrottlingException", "Rate exceeded")
        if "status" in fault and seen <= fault.get("first", 0):
            return self.answer(start_response, service, "%d Injected" % fault["status"], "InternalError", "injected")
        return self.app(environ, start_response)


def seed_ec2(doc, url):
    """Launch the fleet EC2SEED.json describes, through the API of the server at `url`."""
    import boto3

    def client(service, region, account):
        creds = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
        if account != DEFAULT_ACCOUNT_ID:
            sts = boto3.client("sts", region_name="us-east-1", endpoint_url=url, **creds)
            c = sts.assume_role(RoleArn="arn:aws:iam::%s:role/seed" % account, RoleSessionName="seed")["Credentials"]
            creds = {
                "aws_access_key_id": c["AccessKeyId"],
                "aws_secret_access_key": c["SecretAccessKey"],
                "aws_session_token": c["SessionToken"],
            }
        return boto3.client(service, region_name=region, endpoint_url=url, **creds)

    registered = {}
    for i in doc.get("instances", []):
        ec2 = client("ec2", i["region"], i["account"])
        image = i["image"]
        if isinstance(image, dict):
            key = (i["account"], i["region"], image["register"])
            if key not in registered:
                registered[key] = ec2.register_image(
                    Name=image["register"], Architecture=image.get("architecture", "x86_64"), RootDeviceName="/dev/xvda"
                )["ImageId"]
            image = registered[key]
        tags = [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": i["name"]}]}] if i.get("name") else []
        left = i.get("count", 1)
        while left > 0:
            n = min(left, i.get("per_reservation", 500))
            ec2.run_instances(ImageId=image, MinCount=n, MaxCount=n, TagSpecifications=tags)
            left -= n
    for t in doc.get("launch_templates", []):
        ec2 = client("ec2", t["region"], t["account"])
        versions = [
            registered[(t["account"], t["region"], v["register"])] if isinstance(v, dict) else v for v in t["versions"]
        ]
        ec2.create_launch_template(LaunchTemplateName=t["name"], LaunchTemplateData={"ImageId": versions[0]})
        for image in versions[1:]:
            ec2.create_launch_template_version(LaunchTemplateName=t["name"], LaunchTemplateData={"ImageId": image})
    for c in doc.get("launch_configurations", []):
        client("autoscaling", c["region"], c["account"]).create_launch_configuration(
            LaunchConfigurationName=c["name"], ImageId=c["image"], InstanceType="m5.large"
        )
    for g in doc.get("auto_scaling_groups", []):
        if "launch_configuration" in g:
            launch = {"LaunchConfigurationName": g["launch_configuration"]}
        else:
            launch = {"LaunchTemplate": {"LaunchTemplateName": g["template"], "Version": g["version"]}}
        client("autoscaling", g["region"], g["account"]).create_auto_scaling_group(
            AutoScalingGroupName=g["name"],
            **launch,
            MinSize=0,
            MaxSize=1,
            DesiredCapacity=0,
            AvailabilityZones=[g["region"] + "a"],
        )
    for c in doc.get("launch_configurations", []):
        if c.get("deleted"):
            client("autoscaling", c["region"], c["account"]).delete_launch_configuration(LaunchConfigurationName=c["name"])
    clusters = set()
    for n in doc.get("node_groups", []):
        eks = client("eks", n["region"], n["account"])
        role = "arn:aws:iam::%s:role/eks" % n["account"]
        if (n["account"], n["region"], n["cluster"]) not in clusters:
            clusters.add((n["account"], n["region"], n["cluster"]))
            eks.create_cluster(
                name=n["cluster"], version=n["kubernetes_version"], roleArn=role, resourcesVpcConfig={"subnetIds": ["subnet-1"]}
            )
        extra = {k: n[k] for k in ("amiType", "releaseVersion") if k in n}
        if "template" in n:
            extra["launchTemplate"] = {"name": n["template"], "version": n["version"]}
        eks.create_nodegroup(
            clusterName=n["cluster"], nodegroupName=n["name"], nodeRole=role, subnets=["subnet-1"],
            version=n["kubernetes_version"], **extra
        )
    for d in doc.get("deregister", []):
        client("ec2", d["region"], d["account"]).deregister_image(ImageId=d["image"])
    from moto.ec2.models import ec2_backends

    regions = {i["region"] for i in doc.get("instances", [])}
    for ami in doc.get("amis", []):
        if "deprecation_time" not in ami:
            continue
        for account in {i["account"] for i in doc.get("instances", [])} | {DEFAULT_ACCOUNT_ID}:
            for region in regions:
                image = ec2_backends[account][region].amis.get(ami["ami_id"])
                if image is not None:
                    image.deprecation_time = ami["deprecation_time"]


def kms_as_aws():
    """Make moto's KMS Sign answer as AWS's does where moto 5.2.5 differs (its own verify says
    "The MessageType-parameter DIGEST is not yet implemented"; moto pull request 10202):
    - MessageType=DIGEST: the message is the digest, signed as such (moto hashes it again), and
      must be as long as the algorithm's hash;
    - RSASSA_PSS_*: the salt is as long as the hash (the AWS KMS Developer Guide's key spec
      reference: "RSASSA_PSS_SHA_256 ... SHA-256 ... with a 256-bit salt"), not the longest the
      key allows.
    Anything else goes to moto as it is."""
    import base64
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
    from moto.kms import responses
    from moto.kms.exceptions import ValidationException

    moto_sign = responses.KmsResponse.sign
    hash_of = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}

    def sign(self):
        algorithm = self._get_param("SigningAlgorithm") or ""
        digest = self._get_param("MessageType") == "DIGEST"
        key = self.kms_backend.describe_key(self._get_param("KeyId"))
        usable = key.key_usage == "SIGN_VERIFY" and algorithm in (key.signing_algorithms or [])
        if not usable or not (digest or algorithm.startswith("RSASSA_PSS_")):
            return moto_sign(self)
        message = self._get_param("Message")
        hash_ = hash_of[algorithm[-3:]]
        if digest and len(message) != hash_.digest_size:
            raise ValidationException("Digest is invalid length for algorithm " + algorithm + ".")
        signed = Prehashed(hash_) if digest else hash_
        private = key.private_key.private_key
        if algorithm.startswith("ECDSA_"):
            sig = private.sign(message, ec.ECDSA(signed))
        elif algorithm.startswith("RSASSA_PSS_"):
            pss = padding.PSS(mgf=padding.MGF1(hash_), salt_length=padding.PSS.DIGEST_LENGTH)
            sig = private.sign(message, pss, signed)
        else:
            sig = private.sign(message, padding.PKCS1v15(), signed)
        return json.dumps(
            {
                "KeyId": key.arn,
                "Signature": base64.b64encode(sig).decode(),
                "SigningAlgorithm": algorithm,
            }
        )

    responses.KmsResponse.sign = sign


def main():
    ec2_seed = {}
    if len(sys.argv) > 3:
        with open(sys.argv[3]) as f:
            ec2_seed = json.load(f)
    # The public images load as moto starts (MOTO_AMIS_PATH): set it before moto is imported.
    amis = [
        dict(
            ami_id=a["ami_id"],
            name=a["name"],
            owner_id=a["owner_id"],
            public=True,
            virtualization_type="hvm",
            architecture=a["architecture"],
            state="available",
            root_device_type="ebs",
            root_device_name="/dev/xvda",
            description=a["name"],
        )
        for a in ec2_seed.get("amis", [])
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(amis, f)
    os.environ["MOTO_AMIS_PATH"] = f.name
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    seed(sys.argv[1])
    kms_as_aws()
    faults = {}
    if len(sys.argv) > 2:
        with open(sys.argv[2]) as f:
            faults = json.load(f)
    app = Faults(DomainDispatcherApplication(create_backend_app), faults)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    seed_ec2(ec2_seed, "http://127.0.0.1:%d" % server.server_port)
    app.seeding = False
    print("PORT %d" % server.server_port, flush=True)

    def watch_stdin():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
