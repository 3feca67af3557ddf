#!/usr/bin/env bash
# cli_output_safety.sh: an archive cannot forge szarc's output. Member names
# with escape sequences (ESC [2K, CR, ESC [8m), a bidi override (U+202E), C1
# controls (as UTF-8 and as raw bytes), bytes that are not UTF-8 and a
# newline, appended to a real archive: verify prints them quoted (no raw
# control, C1 or bidi character reaches stdout or stderr), no fake line, the
# FAILED summary; verify --json gives every finding its documented keys, in
# order, and carries names that are not UTF-8 losslessly (message_hex). A
# manifest whose paths hold U+202E and C1 controls: verify and list quote
# them, their JSON keeps them exactly. A tar that is not a szarc archive is
# one line (one JSON object with --json) and exit 1; a directory given as
# -f is an I/O error (exit 2).
# Usage: cli_output_safety.sh SZARC
set -eu
SZARC=$1
. "$(dirname "$0")/testlib.sh"
command -v python3 > /dev/null || { echo "no python3: skipped"; exit 77; }

# clean FILE...: every file is UTF-8 without C0 controls (but newline), DEL,
# C1 controls or bidi formatting characters
cat > clean.py << 'EOF'
import sys
BIDI = {0x061C, 0x200E, 0x200F} | set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A))
ok = True
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        print(f"{path}: not UTF-8 at byte {e.start}: {data[max(0, e.start - 20):e.start + 8]!r}")
        ok = False
        continue
    for i, ch in enumerate(text):
        c = ord(ch)
        if (c < 0x20 and ch != "\n") or 0x7F <= c <= 0x9F or c in BIDI:
            print(f"{path}: raw U+{c:04X} at character {i}: {text[max(0, i - 30):i + 10]!r}")
            ok = False
            break
sys.exit(0 if ok else 1)
EOF
clean() { python3 clean.py "$@"; }

# jsonok FILE [HEX...]: every line of FILE is an ASCII JSON object with the
# documented keys of its type, in the documented order (other keys may only
# follow); a message_hex or path_hex decodes to bytes that, with each
# invalid byte replaced by U+FFFD, give the message or path; each HEX (the
# bytes of a name that is not UTF-8) is found in a message_hex or path_hex.
cat > jsonok.py << 'EOF'
import json, sys
KEYS = {
    "archive": ["type", "check", "status", "message", "advice"],
    "member": ["type", "index", "path", "method", "size", "status", "expanded", "findings"],
    "summary": ["type", "archive", "mode", "signature", "key_fingerprint", "key_required",
                "key_ok", "members", "selected", "subset", "ok", "failed", "unchecked",
                "archive_failures", "warnings", "bytes", "model_unusable", "device", "seconds",
                "members_per_second", "mb_per_second", "result", "exit"],
}
FINDING = ["check", "status", "message", "advice"]

def lossy(b):
    # each byte that does not start a valid UTF-8 sequence becomes U+FFFD
    out, i = [], 0
    while i < len(b):
        for n in (1, 2, 3, 4):
            try:
                out.append(b[i:i + n].decode("utf-8"))
                i += n
                break
            except UnicodeDecodeError:
                pass
        else:
            out.append("\ufffd")
            i += 1
    return "".join(out)

def keys_ok(o, want, where):
    ks = [k for k in o if not k.endswith("_hex")]
    if ks[:len(want)] != want:
        sys.exit(f"{where}: keys {list(o)}, want {want} first")
    for k in o:
        if k.endswith("_hex"):
            base = k[:-4]
            if lossy(bytes.fromhex(o[k])) != o.get(base):
                sys.exit(f"{where}: {k} does not give {base}: {o}")
            raw.append(bytes.fromhex(o[k]))
    if "status" in want and o["status"] not in ("ok", "failed", "warning", "unchecked"):
        sys.exit(f"{where}: status {o['status']}")

path, wanted = sys.argv[1], [bytes.fromhex(h) for h in sys.argv[2:]]
raw = []
data = open(path, "rb").read()
if not data.isascii():
    sys.exit(f"{path}: not ASCII")
lines = data.decode().splitlines()
if not lines:
    sys.exit(f"{path}: empty")
for n, line in enumerate(lines, 1):
    o = json.loads(line)
    where = f"{path}:{n}"
    if not isinstance(o, dict) or o.get("type") not in KEYS:
        sys.exit(f"{where}: no known type: {line}")
    keys_ok(o, KEYS[o["type"]], where)
    for f in o.get("findings", []):
        keys_ok(f, FINDING, where + " finding")
for w in wanted:
    if not any(w in r for r in raw):
        sys.exit(f"{path}: the bytes {w!r} are in no _hex key")
EOF
jsonok() { python3 jsonok.py "$@"; }

# names.py TAR OUT NAME_HEX...: OUT is TAR (or a new tar when TAR is -) with
# one member of one byte per name appended (ustar headers, raw bytes)
cat > names.py << 'EOF'
import io, shutil, sys, tarfile
src, dst, names = sys.argv[1], sys.argv[2], [bytes.fromhex(h) for h in sys.argv[3:]]
if src != "-":
    shutil.copy(src, dst)
with tarfile.open(dst, "a" if src != "-" else "w", format=tarfile.USTAR_FORMAT,
                  encoding="utf-8", errors="surrogateescape") as t:
    for n in names:
        ti = tarfile.TarInfo(n.decode("utf-8", "surrogateescape"))
        ti.size, ti.mtime = 1, 1700000000
        t.addfile(ti, io.BytesIO(b"x"))
EOF
hex() { printf "$1" | od -An -tx1 | tr -d ' \n'; }

# jhas FILE KEY STRING...: some string value under KEY (at any depth) of the
# JSON in FILE (one document, or one per line) contains each STRING, given
# with Python's escapes (\u202e)
cat > jhas.py << 'EOF'
import codecs, json, sys
path, key, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
text = open(path, encoding="utf-8").read()
try:
    docs = [json.loads(text)]
except ValueError:
    docs = [json.loads(l) for l in text.splitlines() if l.strip()]
found = []
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == key and isinstance(v, str):
                found.append(v)
            walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
for d in docs:
    walk(d)
for w in wanted:
    w = codecs.decode(w, "unicode_escape")
    if not any(w in f for f in found):
        sys.exit(f"{path}: no {key} contains {w!r}")
EOF
jhas() { python3 jhas.py "$@"; }

# verify_run NAME ARCHIVE [OPTIONS...]: verify on the C reference; NAME.out,
# NAME.err, NAME.rc
verify_run() {
  local name=$1 arc=$2 rc=0
  shift 2
  "$SZARC" verify -f "$arc" --device cpu --quiet "$@" > "$name.out" 2> "$name.err" || rc=$?
  echo "$rc" > "$name.rc"
}

export SOURCE_DATE_EPOCH=1700000000
mkdir in
printf 'hello, world\n' > in/a.txt
"$SZARC" create -f good.szarc --device cpu --quiet in

# 1. hostile members appended to a real archive
N_FAKE='x\033[2K\rok        in/harmless.txt (stored, 1 bytes)\033[8m'
N_RLO='rlo\342\200\256txt.exe'
N_C1='c1\302\2332J'
N_RAWC1='raw\23331m'
N_BAD='bad\377\376utf8'
N_NL='nl\nFAKE'
python3 names.py good.szarc hostile.szarc "$(hex "$N_FAKE")" "$(hex "$N_RLO")" "$(hex "$N_C1")" \
  "$(hex "$N_RAWC1")" "$(hex "$N_BAD")" "$(hex "$N_NL")"
verify_run h hostile.szarc
check "hostile names: verify exits 1" '[ "$(cat h.rc)" = 1 ]'
check "hostile names: no raw control, C1 or bidi character in verify's output" 'clean h.out h.err'
check "hostile names: the FAILED summary" 'grep -q "^hostile.szarc: FAILED; " h.out'
check "hostile names: six unexpected members" \
  '[ "$(grep -c "^FAILED  *archive: unexpected-member: " h.out)" = 6 ]'
check "hostile names: no fake ok line" \
  '! grep -q "^ok  *in/harmless" h.out && [ "$(grep -c "^ok " h.out)" = 1 ]'
for q in "'x\\033[2K\\rok        in/harmless.txt (stored, 1 bytes)\\033[8m'" \
  "'rlo\\u202etxt.exe'" "'c1\\u009b2J'" "'raw\\x9b31m'" "'bad\\xff\\xfeutf8'" "'nl\\nFAKE'"; do
  check "hostile names: verify shows $q" 'grep -qF -- "$q" h.out'
done
verify_run hq hostile.szarc --quick
check "hostile names: verify --quick output clean, FAILED" \
  '[ "$(cat hq.rc)" = 1 ] && clean hq.out hq.err && grep -q "^hostile.szarc: FAILED; " hq.out'
verify_run hj hostile.szarc --json
check "hostile names: verify --json exits 1" '[ "$(cat hj.rc)" = 1 ]'
check "hostile names: verify --json: documented keys, names not UTF-8 kept (message_hex)" \
  'jsonok hj.out "$(hex "$N_RAWC1")" "$(hex "$N_BAD")" && clean hj.err'
check "hostile names: verify --json: one finding per member, then the summary" \
  '[ "$(grep -c "\"check\":\"unexpected-member\"" hj.out)" = 6 ] &&
   tail -n1 hj.out | grep -q "^{\"type\":\"summary\",.*\"result\":\"failed\",\"exit\":1}$"'
check "hostile names: verify --json keeps valid UTF-8 names exactly" \
  'jhas hj.out message "rlo\\u202etxt.exe" "x\\x1b[2K\\rok " "c1\\x9b2J" "nl\\nFAKE"'

# 2. a manifest whose paths hold U+202E and C1 controls (valid UTF-8 paths)
P_RLO=$(printf 'in2/rlo\342\200\256txt.exe')
P_C1=$(printf 'in2/c1\302\2332J\302\205.txt')
mkdir in2
printf 'one\n' > "$P_RLO"
printf 'two\n' > "$P_C1"
"$SZARC" create -f paths.szarc --device cpu --quiet in2
verify_run p paths.szarc
check "manifest paths: verify exits 0" '[ "$(cat p.rc)" = 0 ]'
check "manifest paths: verify output clean" 'clean p.out p.err'
check "manifest paths: verify shows them quoted" \
  'grep -qF "ok        in2/rlo\\u202etxt.exe (" p.out && grep -qF "in2/c1\\u009b2J\\u0085.txt (" p.out'
verify_run pj paths.szarc --json
check "manifest paths: verify --json keeps the paths exactly" \
  'jsonok pj.out && jhas pj.out path "in2/rlo\\u202etxt.exe" "in2/c1\\x9b2J\\x85.txt"'
rc=0
"$SZARC" list -f paths.szarc > l.out 2> l.err || rc=$?
check "manifest paths: list exits 0" '[ $rc = 0 ]'
check "manifest paths: list output clean" 'clean l.out l.err'
check "manifest paths: list shows them quoted" \
  'grep -qF "in2/rlo\\u202etxt.exe" l.out && grep -qF "in2/c1\\u009b2J\\u0085.txt" l.out'
rc=0
"$SZARC" list -f paths.szarc --json > lj.out 2> lj.err || rc=$?
check "manifest paths: list --json keeps the paths exactly" \
  '[ $rc = 0 ] && jhas lj.out path "in2/rlo\\u202etxt.exe" "in2/c1\\x9b2J\\x85.txt"'
rc=0
"$SZARC" eval "$P_RLO" "$P_RLO" --archive paths.szarc > ev.out 2> ev.err || rc=$?
check "manifest paths: eval --archive names the member quoted" \
  '[ $rc = 0 ] && clean ev.out ev.err && grep -qF "in2/rlo\\u202etxt.exe" ev.out'
rc=0
"$SZARC" eval "$P_RLO" "$P_RLO" --archive paths.szarc --json > evj.out 2> evj.err || rc=$?
check "manifest paths: eval --archive --json keeps the member exactly" \
  '[ $rc = 0 ] && clean evj.out && jhas evj.out archive_member "in2/rlo\\u202etxt.exe"'

# 3. a tar that is not a szarc archive: one line, exit 1, not findings
python3 names.py - foreign.tar "$(hex 'x')"
verify_run f foreign.tar
check "foreign tar: verify exits 1" '[ "$(cat f.rc)" = 1 ]'
check "foreign tar: one line, as list and extract say it" \
  '[ ! -s f.out ] && [ "$(cat f.err)" = "szarc: foreign.tar: archive: not a szarc archive (first member is '"'x'"', not '"'szarc/manifest.json'"')" ]'
verify_run fj foreign.tar --json
check "foreign tar: verify --json: one object with the documented keys, exit 1" \
  '[ "$(cat fj.rc)" = 1 ] && [ "$(wc -l < fj.out)" = 1 ] && jsonok fj.out &&
   grep -q "^{\"type\":\"archive\",\"check\":\"not-szarc\",\"status\":\"failed\",\"message\":\"archive: not a szarc archive (first member is '"'x'"', not '"'szarc/manifest.json'"')\",\"advice\":\"[^\"]*\"}$" fj.out'
N_FIRST='\033[2K\233evil\377'
python3 names.py - foreign2.tar "$(hex "$N_FIRST")"
verify_run g foreign2.tar
check "foreign tar, hostile first member: one quoted line, exit 1" \
  '[ "$(cat g.rc)" = 1 ] && [ ! -s g.out ] && [ "$(wc -l < g.err)" = 1 ] && clean g.err &&
   grep -qF "(first member is '"'"'\\033[2K\\x9bevil\\xff'"'"'" g.err'
verify_run gj foreign2.tar --json
check "foreign tar, hostile first member: --json keeps its bytes (message_hex)" \
  '[ "$(cat gj.rc)" = 1 ] && [ "$(wc -l < gj.out)" = 1 ] && jsonok gj.out "$(hex "$N_FIRST")"'
tar -cf empty.tar -T /dev/null
verify_run e empty.tar
check "empty tar: one line, exit 1" \
  '[ "$(cat e.rc)" = 1 ] && [ ! -s e.out ] && [ "$(wc -l < e.err)" = 1 ] &&
   grep -q "not a szarc archive" e.err'

# 4. a directory: an I/O error, exit 2, naming it
mkdir adir
verify_run d adir
check "directory: verify exits 2 naming it" \
  '[ "$(cat d.rc)" = 2 ] && [ ! -s d.out ] && [ "$(wc -l < d.err)" = 1 ] &&
   grep -q "adir" d.err && grep -q "directory" d.err'
verify_run dj adir --json
check "directory: verify --json exits 2" '[ "$(cat dj.rc)" = 2 ] && [ ! -s dj.out ]'

exit $fail
