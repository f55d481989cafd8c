#!/usr/bin/env python3
"""An independent check of a tufwatch evidence bundle, with third-party libraries only.

Nothing here comes from tufwatch: the signature is checked by securesystemslib's DSSE
``Envelope``, the statement by the in-toto attestation framework's Python bindings
(``in_toto_attestation``), and the metadata by python-tuf's Metadata API, following the TUF
specification's client workflow (section 5) from the bundle's own files. A bundle that passes
here rests on those libraries and the specifications, not on the tool that made it
(``docs/evidence.md``, "Checking a bundle by hand").

Usage:
    verify_bundle.py BUNDLE_DIR [--pubkey PEM_FILE] [--expect-result PASSED|FAILED]

BUNDLE_DIR is the evidence of one repository, or of a job (``job.json`` at the top, one
repository's evidence under each ``repositories/<name>/``). For each repository:

1. with ``--pubkey`` (PEM SubjectPublicKeyInfo: Ed25519, ECDSA P-256, or RSA with RSASSA-PSS /
   SHA-256), ``statement.dsse.json`` must verify with that key, and its payload must be
   ``statement.json``'s exact bytes;
2. ``statement.json`` must be an in-toto Statement v1 whose predicate is a SLSA Verification
   Summary v1, with ``verificationResult`` equal to ``--expect-result`` when given;
3. the metadata must verify from ``trusted-root.json`` (whose SHA-512 is the statement's policy
   digest) at the statement's reference time; every subject must be signed by the verified
   targets metadata with its digests (or, for a ``metadata/...`` subject, be that file), and
   ``targets/manifest.json`` must have the length and hashes the targets metadata lists.
   A statement that records ``FAILED`` is negative evidence: its metadata may fail to verify,
   which is then reported, not rejected.

Then ``SHA256SUMS`` must list every other file of the bundle with its SHA-256, and no other.

Prints one line per check. Exit 0: every check passed; 1: the first rejection, named on the
last line (any exception a library raises is a rejection); 2: usage (bad arguments, a bundle or
key file that cannot be read, a library missing).

Written against tuf 7.0.1, securesystemslib 1.6.0 and in-toto-attestation 0.9.3 (with
protobuf 7.36.2), the versions pinned in requirements.txt next to this file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

try:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        PublicFormat,
        load_pem_public_key,
    )
    from google.protobuf import json_format
    from google.protobuf.timestamp_pb2 import Timestamp as PbTimestamp
    from in_toto_attestation.predicates.vsa.v1 import vsa_pb2
    from in_toto_attestation.v1 import resource_descriptor_pb2, statement_pb2
    from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
    from in_toto_attestation.v1.statement import STATEMENT_TYPE_URI, Statement
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey
    from tuf.api.metadata import Metadata, Root, Snapshot, Targets, Timestamp
except ImportError as e:  # pragma: no cover - environment problem, not a verdict
    print(
        f"verify_bundle.py: {e}; install tests/support/requirements.txt",
        file=sys.stderr,
    )
    sys.exit(2)

PAYLOAD_TYPE = "application/vnd.in-toto+json"
VSA_TYPE = "https://slsa.dev/verification_summary/v1"
SUMS = "SHA256SUMS"
HEX = re.compile(r"^[0-9a-f]+$")
# python-tuf's ngclient bounds the walk of delegations the same way.
MAX_DELEGATIONS = 32


class Rejection(Exception):
    """The first check that failed: which one, and why."""

    def __init__(self, check: str, why: str) -> None:
        why = " ".join(why.split())  # one line: protobuf's ParseError spans two
        super().__init__(f"{check}: {why}")
        self.check = check
        self.why = why


class UsageError(Exception):
    """Exit 2: the arguments or the files given cannot be used at all."""


def say(label: str, check: str, detail: str) -> None:
    print(f"ok    {label}{check}: {detail}", flush=True)


@contextmanager
def checking(check: str) -> Iterator[None]:
    """Any exception raised inside (a library's or ours) is a rejection named ``check``."""
    try:
        yield
    except Rejection:
        raise
    except Exception as e:  # every library failure is a rejection
        raise Rejection(check, f"{type(e).__name__}: {e}") from e


def require(cond: bool, check: str, why: str) -> None:
    if not cond:
        raise Rejection(check, why)


def read(path: Path, check: str) -> bytes:
    with checking(check):
        return path.read_bytes()


def rfc3339(text: object, check: str) -> datetime:
    """An RFC 3339 time, parsed by protobuf's Timestamp (the type the VSA proto gives
    ``timeVerified``), which demands the ``T``, the seconds and a ``Z`` or an offset.
    Nanoseconds are cut to microseconds; that cannot change an expiry verdict, because TUF
    ``expires`` values are whole seconds (python-tuf parses them as ``%Y-%m-%dT%H:%M:%SZ``)."""
    require(isinstance(text, str), check, f"{text!r} is not a string")
    with checking(check):
        ts = PbTimestamp()
        ts.FromJsonString(text)  # type: ignore[arg-type]
        return ts.ToDatetime(tzinfo=timezone.utc)


# --- the public key --------------------------------------------------------------------------


def load_pubkey(path: str) -> SSlibKey:
    """securesystemslib's key for a PEM SubjectPublicKeyInfo.

    The key id is the SHA-256 (hex) of the key's SPKI DER: tufwatch's envelope convention.
    securesystemslib's ``Envelope.verify`` only tries a key on signatures whose ``keyid`` equals
    the key's (its docstring notes this is stricter than DSSE, securesystemslib issue #416), so
    ``from_crypto``'s default key id (a hash of the key's TUF JSON form) would match nothing.
    """
    try:
        pem = Path(path).read_bytes()
        public = load_pem_public_key(pem)
    except Exception as e:
        raise UsageError(f"--pubkey {path}: {type(e).__name__}: {e}") from e
    der = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    keyid = hashlib.sha256(der).hexdigest()
    if isinstance(public, ed25519.Ed25519PublicKey):
        scheme = "ed25519"
    elif isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1):
        # DER-encoded (r, s) signatures over SHA-256, as tufwatch's ECDSA_P256_SHA256_ASN1.
        scheme = "ecdsa-sha2-nistp256"
    elif isinstance(public, rsa.RSAPublicKey):
        # RSASSA-PSS with SHA-256 (MGF1-SHA-256). securesystemslib 1.6.0 verifies PSS with
        # salt_length=PSS.AUTO, so a salt length of 32 verifies, as would any other: the salt
        # length is not pinned by this check.
        scheme = "rsassa-pss-sha256"
    else:
        raise UsageError(
            f"--pubkey {path}: {type(public).__name__} is neither Ed25519, ECDSA P-256 nor RSA"
        )
    return SSlibKey.from_crypto(public, keyid=keyid, scheme=scheme)


# --- 1. the signature ------------------------------------------------------------------------


def check_signature(repo: Path, label: str, key: SSlibKey | None, statement_bytes: bytes) -> None:
    path = repo / "statement.dsse.json"
    if key is None:
        if path.exists():
            say(label, "signature", "statement.dsse.json present, not checked (no --pubkey)")
        else:
            say(label, "signature", "unsigned bundle, not checked (no --pubkey)")
        return
    check = "signature"
    require(path.is_file(), check, "--pubkey given, but there is no statement.dsse.json")
    raw = read(path, check)
    with checking(check):
        envelope = Envelope.from_dict(json.loads(raw))
    require(
        envelope.payload_type == PAYLOAD_TYPE,
        check,
        f"payloadType {envelope.payload_type!r}, expected {PAYLOAD_TYPE}",
    )
    with checking(check):
        # Raises VerificationError unless a signature whose keyid is key.keyid verifies over
        # DSSE's PAE(payloadType, payload).
        accepted = envelope.verify([key], threshold=1)
    say(label, check, f"statement.dsse.json verifies with key {', '.join(accepted)} ({key.scheme})")
    require(
        envelope.payload == statement_bytes,
        "signed payload",
        "the envelope's payload is not statement.json's bytes",
    )
    say(label, "signed payload", "the envelope's payload is statement.json, byte for byte")


# --- 2. the statement ------------------------------------------------------------------------


def check_statement(
    label: str, statement_bytes: bytes, expect: str | None
) -> tuple[dict, dict, datetime]:
    """The statement, validated; returns its JSON, its predicate, and the reference time."""
    check = "statement"
    with checking(check):
        text = statement_bytes.decode("utf-8")
        # Strict protobuf JSON parsing: an unknown field, a duplicate key or a wrong type is a
        # ParseError. The predicate is a google.protobuf.Struct here, so anything goes in it.
        pb = json_format.Parse(text, statement_pb2.Statement())
    for i, subject in enumerate(pb.subject):
        with checking(f"statement subject[{i}]"):
            ResourceDescriptor.copy_from_pb(subject).validate()
        require(
            all(HEX.match(v) for v in subject.digest.values()),
            f"statement subject[{i}]",
            f"{subject.name!r}: a digest is not lower-case hex",
        )
    with checking(check):
        # _type is Statement v1, a subject at least, each with a digest, a predicate type and a
        # predicate.
        Statement.copy_from_pb(pb).validate()
    require(
        pb.predicate_type == VSA_TYPE,
        check,
        f"predicateType {pb.predicate_type!r}, expected {VSA_TYPE}",
    )
    say(
        label,
        check,
        f"in-toto {STATEMENT_TYPE_URI} with {len(pb.subject)} subject(s), predicate {VSA_TYPE}",
    )

    # The predicate from the JSON itself (a Struct would have made tufRootVersion a float).
    doc = json.loads(text)
    predicate = doc["predicate"]
    check = "predicate"
    require(isinstance(predicate, dict), check, "not an object")

    # The VSA v1 message of in-toto-attestation 0.9.3 (in_toto_attestation.predicates.vsa.v1.
    # vsa_pb2.VerificationSummary; the package has no Python wrapper with a validate() for it)
    # departs from the SLSA VSA v1 specification in three places, each of which would make a
    # strict parse reject a conforming predicate:
    #   - verifiedLevels is a single string there, an array in the specification (in-toto/
    #     attestation issue #425);
    #   - Verifier has only `id`: no `version` map;
    #   - Policy has only `uri` and `digest`, where the specification makes it a resource
    #     descriptor (so no `annotations`).
    # So the predicate is parsed strictly into VerificationSummary without those three (any
    # other unknown field is still rejected), the policy is parsed strictly as the framework's
    # ResourceDescriptor and validated by it, and the three are checked here.
    projected = json.loads(json.dumps(predicate))
    verifier_version = None
    if isinstance(projected.get("verifier"), dict):
        verifier_version = projected["verifier"].pop("version", None)
    policy = predicate.get("policy")
    require(isinstance(policy, dict), "predicate.policy", "missing, or not an object")
    projected["policy"] = {k: v for k, v in policy.items() if k in ("uri", "digest")}
    levels = projected.pop("verifiedLevels", None)
    with checking(check):
        vsa = json_format.ParseDict(projected, vsa_pb2.VerificationSummary())

    verifier_id = vsa.verifier.id
    require(
        bool(urlparse(verifier_id).scheme),
        "predicate.verifier.id",
        f"{verifier_id!r} is not a URI",
    )
    require(
        verifier_version is None
        or (
            isinstance(verifier_version, dict)
            and all(isinstance(v, str) for v in verifier_version.values())
        ),
        "predicate.verifier.version",
        "not a map of strings",
    )
    require(vsa.HasField("time_verified"), "predicate.timeVerified", "missing")
    rfc3339(predicate["timeVerified"], "predicate.timeVerified")
    require(bool(vsa.resource_uri), "predicate.resourceUri", "missing")
    require(
        bool(vsa.policy.uri) and len(vsa.policy.digest) > 0,
        "predicate.policy",
        "needs a uri and a digest",
    )
    with checking("predicate.policy"):
        policy_rd = json_format.ParseDict(policy, resource_descriptor_pb2.ResourceDescriptor())
        ResourceDescriptor.copy_from_pb(policy_rd).validate()
    require(
        all(HEX.match(v) for v in vsa.policy.digest.values()),
        "predicate.policy.digest",
        "not lower-case hex",
    )
    result = vsa.verification_result
    require(
        result in ("PASSED", "FAILED"),
        "predicate.verificationResult",
        f"{result!r}, expected PASSED or FAILED",
    )
    require(
        isinstance(levels, list)
        and len(levels) > 0
        and all(isinstance(x, str) and x for x in levels),
        "predicate.verifiedLevels",
        "needs a non-empty array of strings",
    )
    if result == "FAILED":
        require(
            levels == ["FAILED"],
            "predicate.verifiedLevels",
            f'{levels!r}: a FAILED verification has ["FAILED"]',
        )
    else:
        require(
            "FAILED" not in levels,
            "predicate.verifiedLevels",
            f"{levels!r} with a PASSED verification",
        )
    require(
        not vsa.slsa_version or vsa.slsa_version.startswith("1."),
        "predicate.slsaVersion",
        f"{vsa.slsa_version!r}, expected 1.x",
    )

    annotations = policy.get("annotations", {})
    if "referenceTime" in annotations:
        when = rfc3339(annotations["referenceTime"], "predicate.policy.annotations.referenceTime")
        source = "policy.annotations.referenceTime"
    else:
        # A statement from before policy.annotations (tufwatch's first shape) records the
        # reference time, at which expiry was judged, as timeVerified.
        when = rfc3339(predicate["timeVerified"], "predicate.timeVerified")
        source = "timeVerified (no policy.annotations.referenceTime)"
    if "tufRootVersion" in annotations:
        v = annotations["tufRootVersion"]
        require(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1,
            "predicate.policy.annotations.tufRootVersion",
            f"{v!r} is not a version",
        )
    say(
        label,
        check,
        f"SLSA VSA v1 by {verifier_id}: {result} {levels}, resource {vsa.resource_uri}, "
        f"reference time {when.isoformat()} from {source}",
    )
    if expect is not None:
        require(
            result == expect,
            "expected result",
            f"the statement records {result}, --expect-result is {expect}",
        )
        say(label, "expected result", result)
    return doc, predicate, when


# --- 3. the metadata -------------------------------------------------------------------------


class Verified:
    """What the client workflow verified: the final root and the targets metadata, with the
    snapshot to find delegated roles by."""

    def __init__(self, root: Root, snapshot: Snapshot, targets: Targets) -> None:
        self.root = root
        self.snapshot = snapshot
        self.targets = targets
        self.delegated: dict[str, Targets] = {}


def file_of(root: Root, version: int, role: str) -> str:
    return (
        f"metadata/{version}.{role}.json" if root.consistent_snapshot else f"metadata/{role}.json"
    )


def not_expired(signed: Root | Timestamp | Snapshot | Targets, when: datetime, check: str) -> None:
    require(
        not signed.is_expired(when),
        check,
        f"expired at {signed.expires.isoformat()}, before the reference time {when.isoformat()}",
    )


def verify_metadata(repo: Path, label: str, when: datetime) -> Verified:
    # 5.2: the trusted root, the anchor.
    check = "5.2 trusted root"
    with checking(check):
        root_md = Metadata[Root].from_bytes(read(repo / "trusted-root.json", check))
        require(isinstance(root_md.signed, Root), check, "not root metadata")
        # The anchor is trusted as given; its self-signature is checked all the same.
        root_md.signed.verify_delegate("root", root_md.signed_bytes, root_md.signatures)
    root = root_md.signed
    say(label, check, f"trusted-root.json, root version {root.version}")

    # 5.3: each newer root, signed by a threshold of the old root's keys and of its own.
    n = root.version + 1
    while (repo / f"metadata/{n}.root.json").exists():
        check = f"5.3 root v{n}"
        with checking(check):
            new_md = Metadata[Root].from_bytes(read(repo / f"metadata/{n}.root.json", check))
            require(isinstance(new_md.signed, Root), check, "not root metadata")
            root.verify_delegate("root", new_md.signed_bytes, new_md.signatures)
            new_md.signed.verify_delegate("root", new_md.signed_bytes, new_md.signatures)
        require(new_md.signed.version == n, check, f"version {new_md.signed.version}, expected {n}")
        say(label, check, f"metadata/{n}.root.json signed by roots v{n - 1} and v{n}")
        root = new_md.signed
        n += 1
    # 5.3.10: the final root.
    not_expired(root, when, "5.3.10 root expiry")
    say(label, "5.3.10 root expiry", f"root v{root.version} expires {root.expires.isoformat()}")

    # 5.4: the timestamp.
    check = "5.4 timestamp"
    with checking(check):
        ts_md = Metadata[Timestamp].from_bytes(read(repo / "metadata/timestamp.json", check))
        require(isinstance(ts_md.signed, Timestamp), check, "not timestamp metadata")
        root.verify_delegate("timestamp", ts_md.signed_bytes, ts_md.signatures)
    ts = ts_md.signed
    not_expired(ts, when, check)
    say(label, check, f"version {ts.version}, expires {ts.expires.isoformat()}")

    # 5.5: the snapshot, with the length and hashes the timestamp lists.
    check = "5.5 snapshot"
    meta = ts.snapshot_meta
    name = file_of(root, meta.version, "snapshot")
    with checking(check):
        raw = read(repo / name, check)
        meta.verify_length_and_hashes(raw)
        sn_md = Metadata[Snapshot].from_bytes(raw)
        require(isinstance(sn_md.signed, Snapshot), check, "not snapshot metadata")
        root.verify_delegate("snapshot", sn_md.signed_bytes, sn_md.signatures)
    sn = sn_md.signed
    require(
        sn.version == meta.version,
        check,
        f"version {sn.version}, the timestamp lists {meta.version}",
    )
    not_expired(sn, when, check)
    say(label, check, f"{name}: version {sn.version}, expires {sn.expires.isoformat()}")

    # 5.6: the targets, with the length and hashes (if any) the snapshot lists.
    check = "5.6 targets"
    require("targets.json" in sn.meta, check, "the snapshot does not list targets.json")
    meta = sn.meta["targets.json"]
    name = file_of(root, meta.version, "targets")
    with checking(check):
        raw = read(repo / name, check)
        meta.verify_length_and_hashes(raw)
        tg_md = Metadata[Targets].from_bytes(raw)
        require(isinstance(tg_md.signed, Targets), check, "not targets metadata")
        root.verify_delegate("targets", tg_md.signed_bytes, tg_md.signatures)
    tg = tg_md.signed
    require(
        tg.version == meta.version,
        check,
        f"version {tg.version}, the snapshot lists {meta.version}",
    )
    not_expired(tg, when, check)
    delegations = "no delegations"
    if tg.delegations is not None:
        delegations = "delegations: verified below for the subjects that need them"
    say(
        label,
        check,
        f"{name}: version {tg.version}, expires {tg.expires.isoformat()}, "
        f"{len(tg.targets)} target(s), {delegations}",
    )
    return Verified(root, sn, tg)


def delegated_role(
    v: Verified, repo: Path, label: str, role: str, parent: Targets, when: datetime
) -> Targets:
    """A delegated targets role from the bundle, verified as 5.6 says for delegated roles:
    the snapshot's length and hashes, a threshold of the delegator's keys, version, expiry."""
    if role in v.delegated:
        return v.delegated[role]
    check = f"5.6.7 delegated role {role}"
    require(f"{role}.json" in v.snapshot.meta, check, "the snapshot does not list it")
    meta = v.snapshot.meta[f"{role}.json"]
    name = file_of(v.root, meta.version, role)
    with checking(check):
        raw = read(repo / name, check)
        meta.verify_length_and_hashes(raw)
        md = Metadata[Targets].from_bytes(raw)
        require(isinstance(md.signed, Targets), check, "not targets metadata")
        parent.verify_delegate(role, md.signed_bytes, md.signatures)
    require(
        md.signed.version == meta.version,
        check,
        f"version {md.signed.version}, the snapshot lists {meta.version}",
    )
    not_expired(md.signed, when, check)
    say(
        label,
        check,
        f"{name}: version {md.signed.version}, expires {md.signed.expires.isoformat()}",
    )
    v.delegated[role] = md.signed
    return md.signed


def find_target(v: Verified, repo: Path, label: str, target: str, when: datetime):
    """The TUF client's search for a target (5.6.7): the top-level targets, then the delegated
    roles trusted for its path, pre-order depth-first, as python-tuf's ngclient does."""
    stack: list[tuple[str, Targets | None]] = [("targets", None)]
    visited: set[str] = set()
    while stack and len(visited) <= MAX_DELEGATIONS:
        role, parent = stack.pop()
        if role in visited:
            continue
        signed = v.targets if parent is None else delegated_role(v, repo, label, role, parent, when)
        if target in signed.targets:
            return signed.targets[target], role
        visited.add(role)
        if signed.delegations is not None:
            children = []
            for child, terminating in signed.delegations.get_roles_for_target(target):
                children.append((child, signed))
                if terminating:
                    stack.clear()
                    break
            stack.extend(reversed(children))
    return None, None


def check_content(
    repo: Path, label: str, v: Verified | None, doc: dict, predicate: dict, when: datetime
) -> None:
    # The anchor is the policy: its digests (SHA-512 at least) are trusted-root.json's.
    check = "policy digest"
    anchor = read(repo / "trusted-root.json", check)
    digest = predicate["policy"]["digest"]
    require("sha512" in digest, check, "the policy has no sha512 digest")
    for alg, want in sorted(digest.items()):
        require(alg in ("sha256", "sha512"), check, f"unknown digest algorithm {alg!r}")
        got = hashlib.new(alg, anchor).hexdigest()
        require(got == want, check, f"{alg}(trusted-root.json) is {got}, the policy says {want}")
    say(label, check, f"sha512(trusted-root.json) = {digest['sha512'][:16]}... as the policy says")

    annotations = predicate["policy"].get("annotations", {})
    if "tufRootVersion" in annotations:
        check = "policy tufRootVersion"
        with checking(check):
            version = Metadata[Root].from_bytes(anchor).signed.version
        require(
            annotations["tufRootVersion"] == version,
            check,
            f"trusted-root.json is root version {version}, the policy says {annotations['tufRootVersion']}",
        )
        say(label, check, f"trusted-root.json is root version {version}")

    # The subjects: a metadata file of the bundle by its bytes, any other name a target the
    # verified metadata signs, with the same digest for every algorithm both list.
    targets = 0
    for subject in doc["subject"]:
        name = subject["name"]
        check = f"subject {name}"
        if name.startswith("metadata/"):
            require(".." not in name.split("/"), check, "not a file of the bundle")
            raw = read(repo / name, check)
            for alg, want in subject["digest"].items():
                require(alg in ("sha256", "sha512"), check, f"unknown digest algorithm {alg!r}")
                require(
                    hashlib.new(alg, raw).hexdigest() == want,
                    check,
                    f"{alg} differs from the file's",
                )
            say(label, check, "the bundle's file, digests recomputed")
            continue
        if v is None:
            continue
        target, role = find_target(v, repo, label, name, when)
        require(target is not None, check, "not a target of the verified targets metadata")
        common = sorted(set(target.hashes) & set(subject["digest"]))
        require(bool(common), check, "no digest algorithm in common with the targets metadata")
        for alg in common:
            require(
                target.hashes[alg] == subject["digest"][alg],
                check,
                f"{alg} {subject['digest'][alg]}, the {role} metadata signs {target.hashes[alg]}",
            )
        targets += 1
    if targets:
        say(
            label,
            "subjects",
            f"{targets} target subject(s) signed with these digests by the verified metadata",
        )

    manifest = repo / "targets/manifest.json"
    if manifest.exists() and v is not None:
        check = "targets/manifest.json"
        target, _ = find_target(v, repo, label, "manifest.json", when)
        require(
            target is not None, check, "the verified targets metadata does not list manifest.json"
        )
        with checking(check):
            target.verify_length_and_hashes(read(manifest, check))
        say(
            label, check, f"length {target.length} and {', '.join(sorted(target.hashes))} as signed"
        )


# --- SHA256SUMS ------------------------------------------------------------------------------


def check_sums(bundle: Path, label: str) -> None:
    check = SUMS
    listed: dict[str, str] = {}
    for line in read(bundle / SUMS, check).decode("utf-8", "replace").splitlines():
        m = re.fullmatch(r"([0-9a-f]{64}) [ *](.+)", line)
        require(m is not None, check, f"malformed line {line!r}")
        digest, name = m.group(1), m.group(2)
        require(
            not name.startswith("/") and ".." not in name.split("/") and name not in listed,
            check,
            f"{name!r} is not a file of the bundle, or listed twice",
        )
        listed[name] = digest
    present = {
        p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file() or p.is_symlink()
    } - {SUMS}
    missing = sorted(set(listed) - present)
    extra = sorted(present - set(listed))
    require(not missing, check, f"listed but absent: {', '.join(missing)}")
    require(not extra, check, f"present but not listed: {', '.join(extra)}")
    for name, digest in sorted(listed.items()):
        require(
            hashlib.sha256(read(bundle / name, check)).hexdigest() == digest,
            check,
            f"{name}: SHA-256 differs from the one listed",
        )
    digest = hashlib.sha256(read(bundle / SUMS, check)).hexdigest()
    say(label, check, f"{len(listed)} file(s) as listed, no other; bundle digest {digest}")


# --- the bundle ------------------------------------------------------------------------------


def verify_repository(repo: Path, label: str, key: SSlibKey | None, expect: str | None) -> None:
    try:
        verify_repository_checks(repo, label, key, expect)
    except Rejection as r:
        raise Rejection(f"{label}{r.check}", r.why) from r


def verify_repository_checks(
    repo: Path, label: str, key: SSlibKey | None, expect: str | None
) -> None:
    statement_bytes = read(repo / "statement.json", "statement")
    check_signature(repo, label, key, statement_bytes)
    doc, predicate, when = check_statement(label, statement_bytes, expect)
    result = predicate["verificationResult"]
    try:
        verified: Verified | None = verify_metadata(repo, label, when)
    except Rejection as r:
        if result != "FAILED":
            raise
        # Negative evidence: the statement says the verification failed, and it does.
        say(label, "metadata", f"does not verify, as the statement records (FAILED): {r}")
        verified = None
    check_content(repo, label, verified, doc, predicate, when)


def verify_bundle(bundle: Path, key: SSlibKey | None, expect: str | None) -> int:
    if (bundle / "job.json").is_file():
        check = "job.json"
        with checking(check):
            job = json.loads(read(bundle / "job.json", check))
        repos = sorted(p for p in (bundle / "repositories").glob("*") if p.is_dir())
        require(bool(repos), check, "a job's bundle with no repositories/<name>/")
        named = {
            r.get("evidence_dir")
            for r in job.get("repositories", [])
            if isinstance(r, dict) and r.get("evidence_dir")
        }
        present = {p.relative_to(bundle).as_posix() for p in repos}
        require(
            named <= present,
            check,
            f"names evidence that is absent: {', '.join(sorted(named - present))}",
        )
        # Every repository's evidence is named by job.json, when it names any.
        require(
            not named or present <= named,
            check,
            f"does not name {', '.join(sorted(present - named))}",
        )
        say("", check, f"a job's bundle: {len(repos)} repository(ies)")
        for repo in repos:
            verify_repository(repo, f"[{repo.name}] ", key, expect)
    else:
        verify_repository(bundle, "", key, expect)
    check_sums(bundle, "")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Check a tufwatch evidence bundle with securesystemslib, in-toto-attestation "
        "and python-tuf (no tufwatch)."
    )
    parser.add_argument("bundle", metavar="BUNDLE_DIR")
    parser.add_argument("--pubkey", metavar="PEM_FILE", help="demand a DSSE signature by this key")
    parser.add_argument(
        "--expect-result",
        choices=["PASSED", "FAILED"],
        help="demand this verificationResult",
    )
    args = parser.parse_args(argv)  # exits 2 on bad usage
    bundle = Path(args.bundle)
    try:
        if not bundle.is_dir():
            raise UsageError(f"{bundle}: not a directory")
        key = load_pubkey(args.pubkey) if args.pubkey else None
    except UsageError as e:
        print(f"verify_bundle.py: {e}", file=sys.stderr)
        return 2
    try:
        verify_bundle(bundle, key, args.expect_result)
    except Rejection as r:
        print(f"REJECTED {r.check}: {r.why}", flush=True)
        return 1
    except Exception as e:  # noqa: BLE001 - a malformed bundle not foreseen: still a rejection
        print(f"REJECTED unexpected {type(e).__name__}: {' '.join(str(e).split())}", flush=True)
        return 1
    print(f"bundle {os.fspath(bundle)}: every check passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
