#!/usr/bin/env python3
"""Vendor the botocore service models we serve (ec2, s3, iam, sts), with documentation stripped.

Usage: python3 tools/vendor-models.py   (needs botocore 1.43.11 importable; run by a developer, not by CI)
Writes models/<svc>.json, models/<svc>.paginators.json and models/PROVENANCE.
"""
import gzip, hashlib, json, os, sys
import botocore

VERSIONS = {"ec2": "2016-11-15", "s3": "2006-03-01", "iam": "2010-05-08", "sts": "2011-06-15"}
DROP = {"documentation", "documentationUrl", "examples", "deprecatedMessage"}

def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in DROP}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node

def main():
    root = os.path.join(os.path.dirname(botocore.__file__), "data")
    out = os.path.join(os.path.dirname(__file__), "..", "models")
    os.makedirs(out, exist_ok=True)
    lines = [f"Source: botocore {botocore.__version__} (Apache-2.0, https://github.com/boto/botocore), botocore/data/<svc>/<version>/",
             "Transformation: every 'documentation', 'documentationUrl', 'examples' and 'deprecatedMessage' key removed; JSON re-serialized with sorted keys.",
             "Files (svc, api version, sha256 of the original file, sha256 of the vendored file):"]
    for svc, ver in VERSIONS.items():
        d = os.path.join(root, svc, ver)
        raw = gzip.open(os.path.join(d, "service-2.json.gz")).read()
        model = strip(json.loads(raw))
        text = json.dumps(model, sort_keys=True, separators=(",", ":")) + "\n"
        with open(os.path.join(out, f"{svc}.json"), "w") as f:
            f.write(text)
        lines.append(f"  {svc} {ver} service-2.json {hashlib.sha256(raw).hexdigest()} -> {svc}.json {hashlib.sha256(text.encode()).hexdigest()}")
        pag = os.path.join(d, "paginators-1.json")
        if os.path.exists(pag):
            praw = open(pag, "rb").read()
            ptext = json.dumps(json.loads(praw), sort_keys=True, separators=(",", ":")) + "\n"
            with open(os.path.join(out, f"{svc}.paginators.json"), "w") as f:
                f.write(ptext)
            lines.append(f"  {svc} {ver} paginators-1.json {hashlib.sha256(praw).hexdigest()} -> {svc}.paginators.json {hashlib.sha256(ptext.encode()).hexdigest()}")
    with open(os.path.join(out, "PROVENANCE"), "w") as f:
        f.write("\n".join(lines) + "\n")

if __name__ == "__main__":
    sys.exit(main())
