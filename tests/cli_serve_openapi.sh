#!/usr/bin/env bash
# cli_serve_openapi.sh: docs/openapi.json describes the service: it is an
# OpenAPI 3.0 document (checked against a structural schema with
# python3-jsonschema: versions, info, paths, operations, responses, every
# $ref resolving), every route of the service's table (`szarc serve routes`)
# is in it with its method, and it names no route the service lacks; every
# route is in docs/api.md too.
SZARC=${1:?usage: cli_serve_openapi.sh SZARC}
. "$(dirname "$0")/testlib.sh"
python3 -c 'import jsonschema' 2> /dev/null || { echo "no python3-jsonschema: skipped"; exit 77; }
"$SZARC" serve routes > routes.txt
check "the service lists its routes" '[ "$(wc -l < routes.txt)" -ge 7 ]'
python3 - "$SRC/docs/openapi.json" routes.txt "$SRC/docs/api.md" << 'PY'
import json, re, sys
import jsonschema
spec = json.load(open(sys.argv[1]))
routes = [l.split() for l in open(sys.argv[2]) if l.strip()]
api = open(sys.argv[3]).read()
fail = 0
def check(name, cond, detail=""):
    global fail
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + str(detail)))
    fail |= not cond
ref = {"type": "object", "required": ["$ref"], "properties": {"$ref": {"type": "string"}}}
response = {"anyOf": [ref, {"type": "object", "required": ["description"]}]}
operation = {"type": "object", "required": ["responses"], "properties": {
    "summary": {"type": "string"}, "parameters": {"type": "array"},
    "requestBody": {"type": "object", "required": ["content"]},
    "responses": {"type": "object", "minProperties": 1,
                  "patternProperties": {"^([1-5][0-9][0-9]|default)$": response},
                  "additionalProperties": False},
    "security": {"type": "array"}}}
methods = ["get", "put", "post", "delete", "patch", "head", "options"]
schema = {"type": "object", "required": ["openapi", "info", "paths"], "properties": {
    "openapi": {"type": "string", "pattern": r"^3\.0\.[0-9]+$"},
    "info": {"type": "object", "required": ["title", "version"]},
    "paths": {"type": "object", "propertyNames": {"pattern": "^/"},
              "additionalProperties": {"type": "object", "properties":
                  dict({m: operation for m in methods}, parameters={"type": "array"}),
                  "additionalProperties": False}},
    "components": {"type": "object"}}}
try:
    jsonschema.validate(spec, schema)
    check("openapi.json: an OpenAPI 3.0 document", True)
except jsonschema.ValidationError as e:
    check("openapi.json: an OpenAPI 3.0 document", False, e.message)
def refs(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "$ref":
                yield v
            else:
                yield from refs(v)
    elif isinstance(o, list):
        for v in o:
            yield from refs(v)
def resolve(r):
    node = spec
    for part in r.lstrip("#/").split("/"):
        node = node[part]
    return node
bad = []
for r in refs(spec):
    try:
        resolve(r)
    except (KeyError, TypeError):
        bad.append(r)
check("every $ref resolves", not bad, bad)
documented = {(m.upper(), p) for p, item in spec["paths"].items() for m in item if m in methods}
served = {(m, p) for m, p in routes}
check("every route of the service is in openapi.json", served <= documented, served - documented)
check("openapi.json names no route the service lacks", documented <= served, documented - served)
for m, p in sorted(served):
    check("docs/api.md documents %s %s" % (m, p), ("%s %s" % (m, p)) in api)
sys.exit(fail)
PY
check "openapi.json and the route table agree" '[ $? = 0 ]'
exit $fail
