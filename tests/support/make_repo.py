#!/usr/bin/env python3
"""Generate a real, signed TUF repository for interoperability tests.

Builds the repository with python-tuf's Metadata API (``tuf.api.metadata``)
and securesystemslib's ``CryptoSigner``, so every file is exactly what the
reference implementation writes and signs. No network access.

Usage:
    make_repo.py --out DIR --shape sigstore-like [--rotations N]
        [--consistent-snapshot | --no-consistent-snapshot]
        [--expires-days D] [--seed S]

Writes (DIR must not exist yet, or be empty):

    DIR/anchor.json         a byte-for-byte copy of metadata/1.root.json: the
                            trust anchor a client bootstraps from
    DIR/metadata/           1.root.json .. (N+1).root.json (always versioned,
                            never an unversioned root.json), timestamp.json, and
                            with consistent snapshots K.snapshot.json,
                            K.targets.json, K.registry.npmjs.org.json for every
                            version K ever published; without them only the
                            final snapshot.json, targets.json,
                            registry.npmjs.org.json
    DIR/targets/            the target files; with consistent snapshots at
                            <dir>/<sha256>.<name> (TUF 1.0 section 5.7.3: the
                            hash prefixes the file name, not the whole path),
                            without them at <dir>/<name>

and prints one JSON line on stdout:

    {"anchor": "anchor.json", "metadata": "metadata", "targets": "targets",
     "targets_list": [...], "root_versions": N+1, "expires": "<RFC 3339>"}

where "expires" is the earliest expiry among the metadata a client ends up
trusting (final root, timestamp, snapshot, targets, delegated role), i.e. the
moment the repository stops verifying. Paths are relative to DIR.

Shape "sigstore-like" follows sigstore's production repository
(github.com/sigstore/root-signing, tuf-on-ci era), scaled down:

* every key is ECDSA P-256 (keytype "ecdsa", scheme "ecdsa-sha2-nistp256",
  public key as PEM), key ids as python-tuf computes them;
* root: 3 keys, threshold 2 (sigstore: 5 keys, threshold 3). The targets role
  uses the root keys and threshold, as in sigstore;
* timestamp and snapshot share one online key (as in sigstore), threshold 1;
* ``--rotations N`` root rotations (default 5), root versions 1..N+1. Each
  rotation replaces the oldest root key (two keys at rotation 2) and the new
  root is signed by exactly a threshold of the old root's root keys
  (preferring the keys being removed) plus a threshold of its own (preferring
  the keys being added), so some keys of each root do not sign. The online
  key is replaced once, at rotation ceil(N/2);
* top-level targets: trusted_root.json, ctfe.pub, rekor.pub at the top and
  subdir/fulcio.crt.pem in a subdirectory, some with sigstore's "custom"
  field; hashes sha256 and sha512 (as sigstore listed them until 2024;
  tuf-on-ci now writes sha256 only);
* one delegated role, "registry.npmjs.org" (paths ["registry.npmjs.org/*"],
  terminating false, its own key, threshold 1) listing
  registry.npmjs.org/keys.json. (Sigstore's delegation is terminating true.)
* snapshot lists targets.json and registry.npmjs.org.json, timestamp lists
  snapshot.json, both by version only (python-tuf's MetaFile default, and what
  sigstore publishes today);
* history: at each root version K the repository publishes targets version K,
  snapshot version K and registry.npmjs.org version ceil(K/2), each signed by
  the keys of that root version; the timestamp is re-signed twice per root
  version (only the last one, version 2(N+1), is kept, as timestamp.json is
  unversioned). Target contents do not change across versions, so there is
  exactly one file per target under DIR/targets.

Expiry: every role expires ``--expires-days`` (default 365) days from now,
except the timestamp: 7 days (or D days if D < 7), to the second.

Target contents are derived from ``--seed`` only (same seed, same bytes, same
target hashes); keys (hence key ids and signatures) are fresh on every run.

Written against tuf 7.0.1 and securesystemslib 1.6.0 (requirements.txt).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import random
import shutil
import sys
from pathlib import Path

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

ROOT_KEYS = 3  # number of root (and targets) keys
ROOT_THRESHOLD = 2
NPM_ROLE = "registry.npmjs.org"
TARGET_HASHES = ["sha256", "sha512"]  # sha256 first, as in sigstore's old metadata
TIMESTAMP_DAYS = 7

# python-tuf's pretty form (indent 1, sorted keys), as in sigstore's files.
SERIALIZER = JSONSerializer(compact=False)


# ---------------------------------------------------------------------------
# Deterministic target contents
# ---------------------------------------------------------------------------


def pem(label: str, der_like: bytes) -> bytes:
    """PEM armour around some bytes, 64 base64 characters a line."""
    b64 = base64.b64encode(der_like).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return (f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n").encode()


def target_contents(seed: int) -> tuple[dict[str, tuple[bytes, dict | None]], dict[str, bytes]]:
    """(top-level targets, delegated targets): name -> bytes (and, for the
    top-level ones, sigstore's "custom" field or None). Depends on the seed
    only. The bytes merely look like sigstore's files; nothing parses them."""
    rng = random.Random(seed)

    def blob(n: int) -> bytes:
        return bytes(rng.getrandbits(8) for _ in range(n))

    def b64(n: int) -> str:
        return base64.b64encode(blob(n)).decode()

    # 91 bytes: the DER length of a P-256 SubjectPublicKeyInfo.
    ctfe = pem("PUBLIC KEY", blob(91))
    rekor = pem("PUBLIC KEY", blob(91))
    fulcio = pem("CERTIFICATE", blob(540))
    trusted_root = {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [{
            "baseUrl": "https://rekor.example.test",
            "hashAlgorithm": "SHA2_256",
            "publicKey": {"rawBytes": b64(91), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                          "validFor": {"start": "2021-01-12T11:53:27.000Z"}},
            "logId": {"keyId": b64(32)},
        }],
        "certificateAuthorities": [{
            "subject": {"organization": "sigstore.test", "commonName": "sigstore"},
            "uri": "https://fulcio.example.test",
            "certChain": {"certificates": [{"rawBytes": b64(540)}]},
            "validFor": {"start": "2022-04-13T20:06:15.000Z"},
        }],
        "ctlogs": [{
            "baseUrl": "https://ctfe.example.test/test",
            "hashAlgorithm": "SHA2_256",
            "publicKey": {"rawBytes": b64(91), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                          "validFor": {"start": "2021-03-14T00:00:00.000Z"}},
            "logId": {"keyId": b64(32)},
        }],
        "seed": seed,
    }
    npm_keys = {
        "keys": [{
            "keyId": "SHA256:" + b64(32).rstrip("="),
            "keyUsage": "npm:signatures",
            "publicKey": {"rawBytes": b64(91), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                          "validFor": {"start": "1999-01-01T00:00:00.000Z"}},
        }],
    }

    def custom(usage: str, uri: str) -> dict:
        return {"sigstore": {"status": "Active", "uri": uri, "usage": usage}}

    top = {
        "trusted_root.json": (json.dumps(trusted_root, indent=2).encode() + b"\n", None),
        "ctfe.pub": (ctfe, custom("CTFE", "https://ctfe.example.test/test")),
        "rekor.pub": (rekor, custom("Rekor", "https://rekor.example.test")),
        "subdir/fulcio.crt.pem": (fulcio, custom("Fulcio", "https://fulcio.example.test")),
    }
    delegated = {f"{NPM_ROLE}/keys.json": json.dumps(npm_keys, indent=2).encode() + b"\n"}
    return top, delegated


# ---------------------------------------------------------------------------
# Keys and root history
# ---------------------------------------------------------------------------


def new_key() -> CryptoSigner:
    """A fresh ECDSA P-256 signer; its public_key carries python-tuf's key id."""
    return CryptoSigner.generate_ecdsa()


def root_history(rotations: int) -> list[dict]:
    """The keys of every root version and who signs it.

    Returns one dict per root version (index 0 is version 1) with
      "root":   the root (and targets) signers, oldest first
      "online": the timestamp/snapshot signer
      "sign":   the signers of this root's metadata
    """
    root_keys = [new_key() for _ in range(ROOT_KEYS)]
    online = new_key()
    history = [{"root": root_keys, "online": online, "sign": root_keys[:ROOT_THRESHOLD]}]
    online_rotation = (rotations + 1) // 2  # ceil(N/2): once, if N >= 1
    for i in range(1, rotations + 1):
        old = history[-1]["root"]
        n_replaced = 2 if i == 2 else 1
        removed, kept = old[:n_replaced], old[n_replaced:]
        added = [new_key() for _ in range(n_replaced)]
        new = kept + added
        # A threshold of the old root's keys, removed keys first, and a
        # threshold of the new root's keys, added keys first; each key signs
        # once. With 2 of 3: old [A,B,C] -> new [B,C,D] is signed by A, B, D
        # (C does not sign); old [B,C,D] -> new [D,E,F] by B, C, E, F.
        old_signers = (removed + kept)[:ROOT_THRESHOLD]
        new_signers = (added + kept)[:ROOT_THRESHOLD]
        sign = old_signers + [s for s in new_signers if s not in old_signers]
        if i == online_rotation:
            online = new_key()
        history.append({"root": new, "online": online, "sign": sign})
    return history


def build_root(version: int, entry: dict, expires: datetime.datetime, consistent: bool) -> Metadata:
    root = Root(version=version, expires=expires, consistent_snapshot=consistent)
    for signer in entry["root"]:
        root.add_key(signer.public_key, Root.type)
        root.add_key(signer.public_key, Targets.type)
    root.add_key(entry["online"].public_key, Timestamp.type)
    root.add_key(entry["online"].public_key, Snapshot.type)
    root.roles[Root.type].threshold = ROOT_THRESHOLD
    root.roles[Targets.type].threshold = ROOT_THRESHOLD
    md = Metadata(root)
    for signer in entry["sign"]:
        md.sign(signer, append=True)
    return md


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def target_path(targets_dir: Path, name: str, sha256: str, consistent: bool) -> Path:
    """Where a target file lives: <dir>/<sha256>.<basename> with consistent
    snapshots (TUF 5.7.3), <dir>/<basename> without."""
    dirname, _, base = name.rpartition("/")
    if consistent:
        base = f"{sha256}.{base}"
    return targets_dir / dirname / base if dirname else targets_dir / base


def rfc3339(t: datetime.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(out: Path, rotations: int, consistent: bool, expires_days: int, seed: int) -> dict:
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    expires = now + datetime.timedelta(days=expires_days)
    ts_expires = now + datetime.timedelta(days=min(TIMESTAMP_DAYS, expires_days))
    meta_dir, targets_dir = out / "metadata", out / "targets"
    meta_dir.mkdir(parents=True)
    targets_dir.mkdir(parents=True)

    # Target files: same bytes for every published version.
    top, delegated = target_contents(seed)
    top_files: dict[str, TargetFile] = {}
    for name, (data, custom) in top.items():
        tf = TargetFile.from_data(name, data, TARGET_HASHES)
        if custom is not None:
            tf.unrecognized_fields["custom"] = custom
        top_files[name] = tf
        write(target_path(targets_dir, name, tf.hashes["sha256"], consistent), data)
    npm_files: dict[str, TargetFile] = {}
    for name, data in delegated.items():
        tf = TargetFile.from_data(name, data, TARGET_HASHES)
        npm_files[name] = tf
        write(target_path(targets_dir, name, tf.hashes["sha256"], consistent), data)

    npm_key = new_key()  # the delegated role's own key; never rotated
    history = root_history(rotations)

    def meta_name(role: str, version: int) -> str:
        return f"{version}.{role}.json" if consistent else f"{role}.json"

    final: dict[str, Metadata] = {}
    npm_version_written = 0
    for index, entry in enumerate(history):
        version = index + 1

        # Root: always N.root.json (a client walks N+1.root.json until 404).
        root_md = build_root(version, entry, expires, consistent)
        write(meta_dir / f"{version}.root.json", root_md.to_bytes(SERIALIZER))

        # Delegated role, re-signed every other root version.
        npm_version = (version + 1) // 2
        if npm_version != npm_version_written:
            npm_md = Metadata(Targets(version=npm_version, expires=expires, targets=dict(npm_files)))
            npm_md.sign(npm_key)
            write(meta_dir / meta_name(NPM_ROLE, npm_version), npm_md.to_bytes(SERIALIZER))
            npm_version_written = npm_version

        # Top-level targets, signed by a threshold of the (root) targets keys.
        delegations = Delegations(
            keys={npm_key.public_key.keyid: npm_key.public_key},
            roles={
                NPM_ROLE: DelegatedRole(
                    name=NPM_ROLE,
                    keyids=[npm_key.public_key.keyid],
                    threshold=1,
                    terminating=False,
                    paths=[f"{NPM_ROLE}/*"],
                )
            },
        )
        targets_md = Metadata(
            Targets(version=version, expires=expires, targets=dict(top_files), delegations=delegations)
        )
        for signer in entry["root"][-ROOT_THRESHOLD:]:  # the newest keys
            targets_md.sign(signer, append=True)
        write(meta_dir / meta_name(Targets.type, version), targets_md.to_bytes(SERIALIZER))

        # Snapshot and timestamp, by the online key of this root version.
        snapshot_md = Metadata(
            Snapshot(
                version=version,
                expires=expires,
                meta={
                    f"{Targets.type}.json": MetaFile(version=version),
                    f"{NPM_ROLE}.json": MetaFile(version=npm_version),
                },
            )
        )
        snapshot_md.sign(entry["online"])
        write(meta_dir / meta_name(Snapshot.type, version), snapshot_md.to_bytes(SERIALIZER))

        timestamp_md = Metadata(
            Timestamp(version=2 * version, expires=ts_expires, snapshot_meta=MetaFile(version=version))
        )
        timestamp_md.sign(entry["online"])
        write(meta_dir / "timestamp.json", timestamp_md.to_bytes(SERIALIZER))

        final = {"root": root_md, "timestamp": timestamp_md, "snapshot": snapshot_md,
                 "targets": targets_md, NPM_ROLE: npm_md}

    shutil.copyfile(meta_dir / "1.root.json", out / "anchor.json")

    earliest = min(md.signed.expires for md in final.values())
    return {
        "anchor": "anchor.json",
        "metadata": "metadata",
        "targets": "targets",
        "targets_list": list(top_files) + list(npm_files),
        "root_versions": len(history),
        "expires": rfc3339(earliest),
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, type=Path, help="output directory (must not exist, or be empty)")
    p.add_argument("--shape", required=True, choices=["sigstore-like"], help="repository shape")
    p.add_argument("--rotations", type=int, default=5, help="root rotations (default 5)")
    p.add_argument("--consistent-snapshot", action=argparse.BooleanOptionalAction, default=True,
                   help="consistent snapshots (default: on)")
    p.add_argument("--expires-days", type=int, default=365,
                   help="days until every role expires (default 365; timestamp: 7)")
    p.add_argument("--seed", type=int, default=0, help="seed for the target contents (default 0)")
    args = p.parse_args(argv)
    if args.rotations < 0:
        p.error("--rotations must be >= 0")
    if args.expires_days < 1:
        p.error("--expires-days must be >= 1")
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        p.error(f"--out {args.out}: exists and is not an empty directory")

    result = generate(args.out, args.rotations, args.consistent_snapshot, args.expires_days, args.seed)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
