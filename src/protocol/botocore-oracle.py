"""botocore as a test oracle for the protocol layer (used by botocore.test.ts).

stdin: {"service": "ec2", "model": "<path to models/ec2.json>", "cases": [{"op": ..., "input": {...}, "xml": "..."}]}
stdout: {"version": botocore.__version__, "results": {op: {"body": <serialized form body>, "parsed": <parsed xml> } | {"error": "..."}}}
Inputs use {"$date": iso} and {"$blob": base64} for timestamps and blobs; outputs use the same encoding.
The model is OUR vendored JSON, so any botocore version exercises the same shapes.
"""
import base64, datetime, json, sys
import botocore
from botocore import model as bmodel, serialize, parsers


def decode(v):
    if isinstance(v, dict):
        if set(v) == {"$date"}:
            return datetime.datetime.fromisoformat(v["$date"].replace("Z", "+00:00"))
        if set(v) == {"$blob"}:
            return base64.b64decode(v["$blob"])
        return {k: decode(x) for k, x in v.items()}
    if isinstance(v, list):
        return [decode(x) for x in v]
    return v


def encode(v):
    if isinstance(v, datetime.datetime):
        v = v.astimezone(datetime.timezone.utc)
        return {"$date": v.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (v.microsecond // 1000)}
    if isinstance(v, (bytes, bytearray)):
        return {"$blob": base64.b64encode(bytes(v)).decode()}
    if isinstance(v, dict):
        return {k: encode(x) for k, x in v.items() if k != "ResponseMetadata"}
    if isinstance(v, list):
        return [encode(x) for x in v]
    return v


def main():
    req = json.load(sys.stdin)
    with open(req["model"]) as f:
        sm = bmodel.ServiceModel(json.load(f), service_name=req["service"])
    protocol = sm.metadata["protocol"]
    ser = serialize.create_serializer(protocol, include_validation=False)
    par = parsers.create_parser(protocol)
    results = {}
    for case in req["cases"]:
        op = sm.operation_model(case["op"])
        try:
            wire = ser.serialize_to_request(decode(case["input"]), op)
            body = wire["body"]
            if isinstance(body, dict):
                from urllib.parse import urlencode
                body = urlencode(body)
            parsed = par.parse({"body": case["xml"].encode("utf-8"), "headers": {}, "status_code": 200}, op.output_shape)
            results[case["op"]] = {"body": body, "parsed": encode(parsed)}
        except Exception as e:  # reported per case by the test
            results[case["op"]] = {"error": "%s: %s" % (type(e).__name__, e)}
    json.dump({"version": botocore.__version__, "results": results}, sys.stdout)


main()
