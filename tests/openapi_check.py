"""/openapi.json against the server that serves it (run by ctest with .venv's python).

    openapi_check.py EMOCLASS_BIN SOURCE_DIR

Uses a held-out RAVDESS clip from ../shared/data; exits 77 (skipped, and says so) without it.

1. The document is valid OpenAPI 3.1 (openapi-spec-validator) and its Label enum is the running
   model's labels.
2. Routes, both ways: for every path of the document, OPTIONS answers an Allow header naming
   exactly the document's methods, and each of those methods is answered (not 404/405) while every
   other method gets 405; and every route literal registered in classify/tools/server/server.cpp is a path of
   the document (so no route can be added without being described).
3. Real answers validate: each request below is sent to a real `emoclass serve`; its status must
   be one the document lists for that operation, its Content-Type one listed for that status, and
   a JSON body must validate against the listed schema (jsonschema, JSON Schema 2020-12, which
   OpenAPI 3.1 schemas are).
4. The same results as the command line: POST /v1/classify?segments=1 equals
   `emoclass --format jsonl`, POST /v1/explain equals `emoclass --explain` byte for byte.
"""
import glob
import json
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import uuid

import jsonschema
import referencing
from openapi_spec_validator import validate as validate_openapi

emoclass, source_dir = sys.argv[1:3]
clips = glob.glob(f"{source_dir}/../shared/data/ravdess/Actor_13/03-01-05-01-01-02-13.*")
if not clips:
    print("../shared/data is missing: OpenAPI check not run")
    sys.exit(77)
clip = clips[0]
METHODS = ["get", "post", "put", "patch", "delete"]
failures = []


def check(ok, message):
    if not ok:
        failures.append(message)
        print("FAIL:", message)


def start_server():
    proc = subprocess.Popen([emoclass, "serve", "--port", "0", "--workers", "1", "--max-body", "2000000"],
                            stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        m = re.search(r"serving on (http://[0-9.]+:\d+)", line)
        if m:
            return proc, m.group(1)
    raise SystemExit("server did not start")


def request(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method.upper(), headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def multipart(field, filename, data):
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


server, base = start_server()
try:
    status, headers, body = request("get", base + "/openapi.json")
    spec = json.loads(body)
    validate_openapi(spec)
    print(f"/openapi.json: valid OpenAPI {spec['openapi']}, {len(spec['paths'])} paths")
    _, _, model_body = request("get", base + "/v1/model")
    model = json.loads(model_body)
    check(spec["components"]["schemas"]["Label"].get("enum") == model["labels"],
          "the Label enum is not the model's labels")

    registry = referencing.Registry().with_resource(
        "urn:openapi", referencing.Resource.from_contents(spec, default_specification=referencing.jsonschema.DRAFT202012))

    def escape(token):
        return token.replace("~", "~0").replace("/", "~1")

    def resolve(pointer):
        """The object at a JSON pointer of the document, following $ref; and where it was found."""
        obj = registry.resolver().lookup("urn:openapi#" + pointer).contents
        while "$ref" in obj:
            pointer = obj["$ref"][1:]
            obj = registry.resolver().lookup("urn:openapi#" + pointer).contents
        return obj, pointer

    def example_path(path):
        return re.sub(r"\{file\}", "app.js", path)

    # 2. Routes, document -> server.
    for path, item in spec["paths"].items():
        documented = sorted(m for m in item if m in METHODS)
        st, hd, _ = request("options", base + example_path(path))
        allow = sorted(m.strip().lower() for m in (hd.get("Allow") or "").split(",") if m.strip())
        check(st == 204, f"OPTIONS {path}: {st}")
        check([m for m in allow if m in METHODS] == documented, f"{path}: Allow {allow}, document {documented}")
        for method in METHODS:
            st, _, _ = request(method, base + example_path(path), body=b"" if method != "get" else None)
            if method in documented:
                check(st not in (404, 405), f"{method.upper()} {path} is documented but answers {st}")
            else:
                check(st == 405, f"{method.upper()} {path} is not documented but answers {st} (not 405)")
    # 2. Routes, server -> document: every route literal in server.cpp.
    source = open(f"{source_dir}/classify/tools/server/server.cpp", encoding="utf-8").read()
    literals = set(re.findall(r'"(/[A-Za-z0-9_./-]*(?:\(\[[^"]*\]\+\))?)"', source))
    templated = {re.sub(r"\(\[[^\]]*\]\+\)", "{file}", lit) for lit in literals}
    check(len(templated) >= 8, f"found only {sorted(templated)} in server.cpp")
    for route in sorted(templated):
        check(route in spec["paths"], f"server.cpp registers {route}, which /openapi.json does not describe")
    print(f"routes: {sorted(templated)} registered, all described, methods as documented")

    # 3. Real answers against the document.
    audio = open(clip, "rb").read()
    form, form_headers = multipart("audio", "clip.flac", audio)
    cases = [
        ("post", "/v1/classify", "", audio, {"Content-Type": "application/octet-stream"}),
        ("post", "/v1/classify", "?segments=1", form, form_headers),
        ("post", "/v1/classify", "", b"this is not audio", {}),
        ("post", "/v1/classify", "", b"", {}),
        ("post", "/v1/classify", "", b"\0" * 2_000_001, {}),
        ("get", "/v1/classify", "", None, {}),
        ("post", "/v1/explain", "", form, form_headers),
        ("post", "/v1/explain", "", b"RIFF....WAVEfmt ", {}),
        ("get", "/v1/model", "", None, {}),
        ("get", "/healthz", "", None, {}),
        ("get", "/", "", None, {}),
        ("get", "/docs", "", None, {}),
        ("get", "/openapi.json", "", None, {}),
        ("get", "/static/{file}", "", None, {}),
        ("get", "/static/{file}", "#missing", None, {}),
    ]
    for method, path, extra, data, hdrs in cases:
        url_path = example_path(path)
        if extra == "#missing":
            url_path, extra = "/static/no-such-file.js", ""
        st, hd, payload = request(method, base + url_path + extra, data, hdrs)
        where = f"{method.upper()} {url_path}{extra} -> {st}"
        op = spec["paths"][path].get(method)
        if op is None:  # an undocumented method: the server's 405 error body
            check(st == 405 and json.loads(payload).keys() == {"error"}, where)
            print(f"  {where}: {payload[:80]!r}")
            continue
        responses = op["responses"]
        check(str(st) in responses, f"{where}: status not in the document ({sorted(responses)})")
        if str(st) not in responses:
            continue
        response, pointer = resolve(f"/paths/{escape(path)}/{method}/responses/{st}")
        ctype = (hd.get("Content-Type") or "").split(";")[0].strip()
        content = response.get("content", {})
        check(ctype in content, f"{where}: Content-Type {ctype} not in {sorted(content)}")
        if ctype == "application/json" and ctype in content:
            schema = {"$ref": f"urn:openapi#{pointer}/content/{escape(ctype)}/schema"}
            try:
                jsonschema.Draft202012Validator(schema, registry=registry).validate(json.loads(payload))
            except jsonschema.ValidationError as e:
                check(False, f"{where}: {e.message} at {list(e.absolute_path)}")
        elif ctype == "image/png":
            check(payload[:8] == b"\x89PNG\r\n\x1a\n", f"{where}: not a PNG")
        print(f"  {where} {ctype} ({len(payload)} bytes): as documented")
    # The same numbers as the command line (docs/api.md promises it).
    st, _, payload = request("post", base + "/v1/classify?segments=1", form, form_headers)
    cli = json.loads(subprocess.run([emoclass, "--format", "jsonl", clip], capture_output=True, text=True,
                                    check=True).stdout)
    got = json.loads(payload)
    check({k: v for k, v in got.items() if k != "file"} == {k: v for k, v in cli.items() if k != "file"},
          "POST /v1/classify?segments=1 differs from emoclass --format jsonl")
    # /v1/explain draws what `emoclass --explain` draws: byte for byte, for the same file name.
    named, named_headers = multipart("audio", clip.rsplit("/", 1)[-1], audio)
    st, _, served_png = request("post", base + "/v1/explain", named, named_headers)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([emoclass, "--explain", f"{tmp}/cli.png", clip], capture_output=True, check=True)
        cli_png = open(f"{tmp}/cli.png", "rb").read()
    check(st == 200 and served_png == cli_png, "POST /v1/explain differs from emoclass --explain")
    print(f"POST /v1/explain equals emoclass --explain ({len(cli_png)} bytes)")
finally:
    server.terminate()
    server.wait(timeout=30)

if failures:
    print(f"{len(failures)} problem(s)")
    sys.exit(1)
print("openapi: the document, the routes and the real answers agree")
