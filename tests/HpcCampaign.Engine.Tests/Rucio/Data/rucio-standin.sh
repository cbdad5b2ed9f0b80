#!/usr/bin/env bash
# STAND-IN for the `rucio` CLI (rucio-clients cannot reach a Rucio server here). It accepts the command line
# `rucio [--config F] [-v] upload --scope S --rse R [--lifetime N] [--impl I] [--protocol P] [--summary] PATHS... [SCOPE:DATASET]`
# and, like rucio upload --summary, writes rucio_upload.json into the CURRENT directory: one object keyed
# "scope:name" with scope, name, bytes, rse, pfn, guid, adler32, md5 (indent=1, sorted keys), successful files only.
# Files whose name contains "fail" are not uploaded (error on stderr, exit code 1 like NotAllFilesUploaded).
# Every call is appended as one JSON line (cwd, argv) to $RUCIO_STANDIN_LOG when that is set.
exec python3 - "$@" <<'PY'
import hashlib, json, os, sys, uuid, zlib
args = sys.argv[1:]
if os.environ.get("RUCIO_STANDIN_LOG"):
    with open(os.environ["RUCIO_STANDIN_LOG"], "a") as log:
        log.write(json.dumps({"cwd": os.getcwd(), "argv": args}) + "\n")
opts, paths, dataset, i = {}, [], None, 0
while i < len(args):
    a = args[i]
    if a in ("--config", "--scope", "--rse", "--lifetime", "--impl", "--protocol", "-a", "--account"):
        opts[a] = args[i + 1]; i += 2; continue
    if a in ("-v", "--verbose", "--summary", "--register-after-upload", "upload"):
        opts[a] = True; i += 1; continue
    if ":" in a and not os.path.exists(a):
        dataset = dataset or a
    else:
        paths.append(a)
    i += 1
if "upload" not in opts or "--rse" not in opts:
    print("usage: rucio upload --rse RSE [--scope SCOPE] PATHS", file=sys.stderr); sys.exit(2)
scope, rse = opts.get("--scope", "user.standin"), opts["--rse"]
summary, failed = {}, 0
for p in paths:
    name = os.path.basename(p)
    if "fail" in name or not os.path.isfile(p):
        print(f"ERROR Failed to upload file {p}", file=sys.stderr); failed += 1; continue
    adler, md5, size = 1, hashlib.md5(), 0
    with open(p, "rb") as f:
        for block in iter(lambda: f.read(65536), b""):
            adler = zlib.adler32(block, adler); md5.update(block); size += len(block)
    h = hashlib.md5(f"{scope}:{name}".encode()).hexdigest()
    sp = scope.replace(".", "/") if scope.startswith(("user", "group")) else scope
    summary[f"{scope}:{name}"] = {"scope": scope, "name": name, "bytes": size, "rse": rse,
        "pfn": f"davs://standin.example:443/rucio/{sp}/{h[0:2]}/{h[2:4]}/{name}", "guid": uuid.uuid4().hex,
        "adler32": "%08x" % (adler & 0xffffffff), "md5": md5.hexdigest()}
    print(f"INFO Successfully uploaded file {name}")
if "--summary" in opts:
    with open("rucio_upload.json", "w") as f:
        json.dump(summary, f, sort_keys=True, indent=1)
sys.exit(1 if failed else 0)
PY
