#!/usr/bin/env python3
# Writes fuzz/corpus/legal_archive/: seed archives for fuzz_legal_archive. One package that verifies
# (signed with the fixed test seed 00 01 .. 1f, whose public key fuzz_legal_archive.cpp holds), the
# same flat, gzipped, and with each kind of hostile entry `vigil legal verify` refuses. Needs
# python3-cryptography. A developer tool: the seeds are committed; builds never run this.
import gzip
import hashlib
import io
import json
import os
import tarfile

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SEED = bytes(range(32))
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "legal_archive")


def field(value):
    data = value.encode()
    return str(len(data)).encode() + b":" + data + b";"


def record_hash(prev, rid, at, actor, action, target, detail):  # store/audit_chain.cpp
    framed = b"".join(field(v) for v in (prev, str(rid), str(at), actor, action, target, detail))
    return hashlib.sha256(framed).hexdigest()


def package():
    photo = b"\xff\xd8\xff\xe0 not really a photo \xff\xd9"
    context = b'{"case":1}'
    records, prev = [], "vigil-audit-v1"
    for rid, action, target in ((1, "evidence.preserve", "evidence:1"), (2, "evidence.read", "evidence:1")):
        h = record_hash(prev, rid, 1700000000000000 + rid, "carl", action, target, "{}")
        records.append({"id": rid, "at": 1700000000000000 + rid, "time": "2023-11-14T22:13:20Z", "actor": "carl",
                        "action": action, "target": target, "detail": "{}", "prev_hash": prev, "hash": h})
        prev = h
    custody = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode()
    files = {"files/1-media.jpg": photo, "files/2-context.json": context}
    manifest = {"format": "vigil-legal-package/1",
                "request": {"id": 1, "type": "subpoena", "agency": "Example PD", "case_number": "X-1",
                            "received_at": "2026-11-01T00:00:00Z", "scope": "subscriber records"},
                "cases": [1],
                "files": [{"path": p, "sha256": hashlib.sha256(b).hexdigest(), "size": len(b)} for p, b in files.items()],
                "custody_log": {"path": "custody.jsonl", "sha256": hashlib.sha256(custody).hexdigest(), "records": 2},
                "produced_by": "carl", "produced_at": "2026-11-02T00:00:00Z"}
    text = (json.dumps(manifest, separators=(",", ":")) + "\n").encode()
    sig = (Ed25519PrivateKey.from_private_bytes(SEED).sign(text).hex() + "\n").encode()
    return {**files, "custody.jsonl": custody, "manifest.json": text, "manifest.sig": sig}


def tar(entries, top="legal-request-1-20261102T000000Z"):
    """entries: (name, bytes) for files, or (name, TarInfo-type, linkname)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t:
        if top:
            for d in (top, top + "/files"):
                info = tarfile.TarInfo(d)
                info.type, info.mode = tarfile.DIRTYPE, 0o700
                t.addfile(info)
        for e in entries:
            name = (top + "/" + e[0]) if top and not e[0].startswith(("/", "..")) else e[0]
            info = tarfile.TarInfo(name)
            info.mode = 0o600
            if len(e) == 2:
                info.size = len(e[1])
                t.addfile(info, io.BytesIO(e[1]))
            else:
                info.type, info.linkname = e[1], e[2]
                t.addfile(info)
    return out.getvalue()


def main():
    os.makedirs(OUT, exist_ok=True)
    files = list(package().items())
    seeds = {
        "valid.tar": tar(files),
        "flat.tar": tar(files, top=None),
        "valid.tar.gz": gzip.compress(tar(files), mtime=0),
        "dotdot.tar": tar(files + [("../outside", b"x")]),
        "absolute.tar": tar(files + [("/tmp/outside", b"x")]),
        "symlink.tar": tar([f for f in files if f[0] != "files/1-media.jpg"] +
                           [("files/1-media.jpg", tarfile.SYMTYPE, "/etc/passwd")]),
        "hardlink-and-fifo.tar": tar(files + [("files/3-link", tarfile.LNKTYPE, "manifest.json"),
                                              ("files/4-fifo", tarfile.FIFOTYPE, "")]),
        "twice.tar": tar(files + [("manifest.json", b'{"files":[]}\n')]),
        "malformed.tar": tar([("manifest.json", b'{"files":[{"path":7},3,{"path":"files/x","size":"big"}],'
                                                b'"custody_log":[]}\n'),
                              ("manifest.sig", b"zz\n"), ("files/x", b"x"),
                              ("custody.jsonl", b'{"id":"1"}\nnot json\n{"id":1,"at":2}\n')]),
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
