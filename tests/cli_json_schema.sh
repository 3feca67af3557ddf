#!/usr/bin/env bash
# cli_json_schema.sh: every JSON output of szarc, taken from real runs,
# validates against its JSON Schema in docs/schemas/ (draft 2020-12): list
# (formats 1 and 2, an embedded model, a damaged member), devices, model
# info, model eval (with --compare-float, --no-digest), each line of verify
# (full, quick, signed, damaged), and the format-2 manifest itself (with
# semantic files too: list, verify and the manifest's semantic column). The
# schemas share one vocabulary (docs/api.md): their common definitions (sha256,
# created, the model pin, hyperparameters) must be identical. The validator
# must reject outputs that break a schema (checked on altered documents), so
# the test cannot pass by validating nothing.
# Needs python3's jsonschema (Debian: python3-jsonschema, in the Makefile's
# DEBS); without it the test is skipped (exit 77).
# Usage: cli_json_schema.sh SZARC
set -u
SZARC=$1
. "$(dirname "$0")/testlib.sh"
SCHEMAS=$SRC/docs/schemas

if ! python3 -c 'from jsonschema import Draft202012Validator' 2> /dev/null; then
  echo "python3 jsonschema (Draft 2020-12) not installed (Debian: python3-jsonschema): skipped"
  exit 77
fi

# validate SCHEMA FILE [lines]: FILE is one JSON document, or with "lines"
# one document per line. Prints each violation; exit 1 when any.
cat > validate.py <<'EOF'
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
v = Draft202012Validator(schema)
text = open(sys.argv[2]).read()
docs = [json.loads(l) for l in text.splitlines() if l.strip()] if sys.argv[3:] == ["lines"] \
    else [json.loads(text)]
bad = 0
for i, d in enumerate(docs):
    for e in v.iter_errors(d):
        bad += 1
        print(f"  {sys.argv[2]}[{i}] at /{'/'.join(map(str, e.absolute_path))}: {e.message}")
sys.exit(1 if bad or not docs else 0)
EOF
valid() { python3 validate.py "$SCHEMAS/$1" "$2" ${3:-}; }
invalid() { ! python3 validate.py "$SCHEMAS/$1" "$2" ${3:-} > /dev/null; }

# every schema is a valid draft 2020-12 schema, and the shared definitions agree
python3 - "$SCHEMAS"/*.json > vocab.txt 2>&1 <<'EOF'
import json, sys
from jsonschema import Draft202012Validator
seen, bad = {}, 0
for p in sys.argv[1:]:
    s = json.load(open(p))
    Draft202012Validator.check_schema(s)
    assert s.get("$schema") == "https://json-schema.org/draft/2020-12/schema", p
    for name, d in s.get("$defs", {}).items():
        props = d.get("properties", {})
        if "gguf_sha256" in props:  # a model pin: the same five keys everywhere
            name, d = "model pin", {k: props[k] for k in
                                    ("name", "gguf_sha256", "weights_sha256", "tokenizer_sha256",
                                     "numerics_version")}
        elif name not in ("sha256", "created", "hex", "hyperparameters"):
            continue
        if name in seen and seen[name][1] != d:
            print(f"{p}: $defs {name} differs from {seen[name][0]}")
            bad = 1
        seen.setdefault(name, (p, d))
print("shared:", ", ".join(sorted(seen)))
sys.exit(bad)
EOF
check "schemas: valid draft 2020-12, shared definitions identical ($(tail -n1 vocab.txt))" '[ $? = 0 ]'
cat vocab.txt | grep -v '^shared:' >&2

# --- real outputs ------------------------------------------------------------
mkdir -p in/sub
cp "$SRC/tests/data/text/sample.txt" in/sample.txt
printf 'STORED-%s\n' 1 2 3 > in/sub/s.txt
head -c 3000 /dev/urandom > in/sub/r.bin
head -c 2000 "$SRC/tests/data/text/sample.txt" > small.txt
"$SZARC" keygen -o key > /dev/null && chmod 600 key
"$SZARC" create -q -f f2.szarc --device cpu --sign key in || fail "create format 2"
"$SZARC" create -q -f f1.szarc --device cpu --format 1 in || fail "create format 1"
"$SZARC" create -q -f emb.szarc --device cpu --embed-model --method zstd in/sub/s.txt ||
  fail "create --embed-model"

"$SZARC" list -f f2.szarc --json > list2.json
check "list --json, format 2 (signed)" 'valid list.json list2.json'
"$SZARC" list -f f1.szarc --json > list1.json
check "list --json, format 1" 'valid list.json list1.json'
"$SZARC" list -f emb.szarc --json > liste.json
check "list --json, embedded model" 'valid list.json liste.json && grep -q "\"member\": \"szarc/model.gguf\"" liste.json'
check "list --json: created as the manifest writes it" \
  '[ "$(field created list2.json)" = "$(tar -xOf f2.szarc szarc/manifest.json.zst | zstd -dc |
      sed -n "s/.*\"created\":\"\([^\"]*\)\".*/\1/p")" ]'

tar -xOf f2.szarc szarc/manifest.json.zst | zstd -dc > manifest2.json
check "format-2 manifest" 'valid manifest-2.json manifest2.json'
tar -xOf emb.szarc szarc/manifest.json.zst | zstd -dc > manifeste.json
check "format-2 manifest, embedded model" 'valid manifest-2.json manifeste.json'
# semantic mode in format 2: the manifest's semantic column, list and verify
"$SZARC" create -q -f sem.szarc --device cpu --mode semantic --method semantic --level 3 \
  --protect 'ACME [A-Z][a-z]+' --sign key in || fail "create --mode semantic"
tar -xOf sem.szarc szarc/manifest.json.zst | zstd -dc > manifests.json
check "format-2 manifest, semantic files" \
  'valid manifest-2.json manifests.json && grep -q "\"semantic\":{\"atoms_version\":1," manifests.json'
"$SZARC" list -f sem.szarc --json > lists.json
check "list --json, format 2, semantic files" \
  'valid list.json lists.json && grep -q "\"method\": \"semantic\"" lists.json'
"$SZARC" verify -f sem.szarc --device cpu --pubkey key.pub --json > vs.jsonl
check "verify --json, format 2, semantic files, full" \
  'valid verify.json vs.jsonl lines && grep -q "\"method\":\"semantic\"" vs.jsonl'
sed 's/"atoms_version":1/"atoms_version":2/' manifests.json > broken5.json
check "rejected: a format-2 manifest with atoms version 2" 'invalid manifest-2.json broken5.json'

"$SZARC" devices --json > devices.json
check "devices --json" 'valid devices.json devices.json'
SZARC_VK_LOADER=/nonexistent/libvulkan.so.1 "$SZARC" devices --json > devices0.json
check "devices --json, no Vulkan loader" \
  'valid devices.json devices0.json && ! grep -q "\"vulkan_error\": null" devices0.json'

"$SZARC" model info --json > info.json
check "model info --json" 'valid model-info.json info.json'
"$SZARC" model eval small.txt --device cpu --json --quiet > eval.json
check "model eval --json" 'valid model-eval.json eval.json'
"$SZARC" model eval small.txt --device cpu --json --quiet --compare-float --no-digest > evalf.json
check "model eval --json --compare-float --no-digest" 'valid model-eval.json evalf.json'
check "model info, model eval and list name the same pin" \
  '[ "$(jfield weights_sha256 info.json)" = "$(jfield weights_sha256 eval.json)" ] &&
   [ "$(jfield weights_sha256 info.json)" = "$(jfield weights_sha256 list2.json)" ] &&
   [ "$(jfield tokenizer_sha256 info.json)" = "$(jfield tokenizer_sha256 list1.json)" ]'

"$SZARC" verify -f f2.szarc --device cpu --pubkey key.pub --json > v2.jsonl
check "verify --json, signed format 2, full" 'valid verify.json v2.jsonl lines'
"$SZARC" verify -f f1.szarc --quick --subset 1/2 --json > v1.jsonl
check "verify --json, format 1, quick, subset (unsigned: a warning line)" \
  'valid verify.json v1.jsonl lines && grep -q "\"type\":\"archive\"" v1.jsonl'
# a damaged packet: a member line with findings, list marks it
off=$(data_offset f1.szarc data/in/sub/s.txt.szp)
flipbits f1.szarc $((off + 20)) 1 bad.szarc
"$SZARC" verify -f bad.szarc --device cpu --json > vb.jsonl
check "verify --json, a damaged member (findings)" \
  'valid verify.json vb.jsonl lines && grep -q "\"status\":\"failed\",\"message\"" vb.jsonl'
"$SZARC" list -f bad.szarc --json > listb.json 2> /dev/null
check "list --json, a damaged member" 'valid list.json listb.json && grep -q "\"damage\"" listb.json'
printf 'x' > x.txt && tar -cf foreign.tar x.txt
"$SZARC" verify -f foreign.tar --json > vf.jsonl
check "verify --json, not a szarc archive" 'valid verify.json vf.jsonl lines'

# --- the validator rejects what breaks a schema ----------------------------
sed 's/^  "created": "[^"]*",$/  "created": 1796036263,/' list2.json > broken1.json
check "rejected: list with created as an integer" 'invalid list.json broken1.json'
sed 's/"weights_sha256"/"pin_weights_sha256"/' info.json > broken2.json
check "rejected: model info with a renamed pin key" 'invalid model-info.json broken2.json'
sed 's/^      "id": "cpu",$/      "id": 7,/' devices.json > broken3.json
check "rejected: devices with a wrong type" 'invalid devices.json broken3.json'
sed 's/"exit":[0-9]*/"exit":"zero"/' v2.jsonl > broken4.jsonl
check "rejected: a verify summary with a wrong type" 'invalid verify.json broken4.jsonl lines'
exit $fail
