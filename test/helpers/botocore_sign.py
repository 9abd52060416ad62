"""Signs requests with the real botocore and prints them as JSON (one object per case, in a list).

Used by src/auth/sigv4/crosssign.test.ts. Input (stdin, JSON): {"endpoint": "http://127.0.0.1:8773",
"access_key": ..., "secret_key": ..., "token": optional, "cases": [{"name", "service", "op", "params",
"signature_version": optional, "presign": optional expires seconds, "addressing_style": optional}]}.
Cases may set "post": <expires> for generate_presigned_post (output: {"name", "url", "fields"}), "stream": true to pass Body as a file object, and "endpoint" to override it.
Output: [{"name", "method", "path", "query", "headers": {lower-name: [values]}, "body_b64"}].
Nothing is sent: a before-send hook captures the prepared request and aborts.
"""
import base64
import io
import json
import sys
from urllib.parse import urlsplit

import botocore
import botocore.session
from botocore.config import Config


class Captured(Exception):
    pass


def to_wire(method, url, headers, body):
    parts = urlsplit(url)
    hs = {}
    for k, v in headers.items():
        if isinstance(v, bytes):
            v = v.decode('latin1')
        hs.setdefault(k.lower(), []).append(v)
    if body is None:
        data = b''
    elif isinstance(body, (bytes, bytearray)):
        data = bytes(body)
    elif isinstance(body, str):
        data = body.encode('utf-8')
    else:
        data = body.read()
        if isinstance(data, str):
            data = data.encode('utf-8')
    hs.setdefault('host', [parts.netloc])
    return {"method": method, "path": parts.path or '/', "query": parts.query, "headers": hs,
            "body_b64": base64.b64encode(data).decode('ascii')}


def main():
    spec = json.load(sys.stdin)
    session = botocore.session.get_session()
    out = []
    for case in spec["cases"]:
        cfg = {"retries": {"max_attempts": 1}}
        if case.get("signature_version"):
            cfg["signature_version"] = case["signature_version"]
        if case.get("addressing_style"):
            cfg["s3"] = {"addressing_style": case["addressing_style"]}
        if case.get("checksum"):
            cfg["request_checksum_calculation"] = case["checksum"]
        client = session.create_client(
            case["service"], region_name=case.get("region", "us-east-1"), endpoint_url=case.get("endpoint", spec["endpoint"]),
            aws_access_key_id=spec["access_key"], aws_secret_access_key=spec["secret_key"],
            aws_session_token=spec.get("token"), config=Config(**cfg))
        if case.get("post"):
            post = client.generate_presigned_post(Bucket=case["params"]["Bucket"], Key=case["params"]["Key"],
                                                  Fields=case["params"].get("Fields"),
                                                  Conditions=case["params"].get("Conditions"),
                                                  ExpiresIn=case["post"])
            out.append({"name": case["name"], "url": post["url"], "fields": post["fields"]})
            continue
        if case.get("presign"):
            url = client.generate_presigned_url(case["op"], Params=case.get("params", {}), ExpiresIn=case["presign"],
                                                HttpMethod=case.get("http_method"))
            rec = to_wire(case.get("http_method") or "GET", url, {"host": urlsplit(url).netloc}, b'')
        else:
            captured = {}

            def hook(request, **kwargs):
                captured["req"] = request
                raise Captured()

            client.meta.events.register("before-send", hook)
            params = dict(case.get("params", {}))
            if case.get("stream") and isinstance(params.get("Body"), str):
                params["Body"] = io.BytesIO(params["Body"].encode("utf-8"))
            try:
                getattr(client, case["op"])(**params)
            except Captured:
                pass
            r = captured["req"]
            rec = to_wire(r.method, r.url, r.headers, r.body)
        rec["name"] = case["name"]
        out.append(rec)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
