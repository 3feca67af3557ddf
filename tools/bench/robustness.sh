#!/usr/bin/env bash
# robustness.sh: runs szarc on every hostile input of issue 10 and prints a
# Markdown table: input | command | exit | peak RSS MiB | seconds | first line.
#
#   tools/bench/robustness.sh SZARC [--big-mib N] [--bombs K] [--readme-mb N] [--only NAME,...]
#
# Builds nothing. tests/hostile.py crafts the inputs (from a small archive
# that SZARC itself writes) into a temporary directory, removed at the end;
# `python3 tests/hostile.py --names` lists them. Each input goes through
# `list`, `extract` (into a fresh directory, removed after each run),
# `verify` and `verify --quick`, each on --device ${SZARC_DEVICE:-cpu}, with
# the model of $SZARC_MODEL or szarc's default. Peak RSS is GNU time's %M
# when /usr/bin/time exists, else Python's RUSAGE_CHILDREN (see
# `hostile.py measure`). "first line" is the first line of standard error,
# else verify's first FAILED line, else the last line of standard output;
# control characters are shown escaped (\x1b), never sent to the terminal.
# Defaults: the issue's sizes (1 GiB bombs, five of them, a 300 MB README):
# the inputs take little disk (holes, zstd RLE frames) except the README
# (300 MB), but a binary that expands them writes 1 GiB per bomb member on
# extract (5 GiB for bomb-x5; skipped with a note when $TMPDIR has less than
# twice that free) and may hold it all in memory. Each command is killed
# after ${SZARC_ROBUSTNESS_TIMEOUT:-300} seconds.
set -eu
[ $# -ge 1 ] || { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
SZARC=$(readlink -f "$1")
shift
[ -x "$SZARC" ] || { echo "robustness.sh: $SZARC is not executable" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")/../.." && pwd)
HOSTILE=$HERE/tests/hostile.py
DEVICE=${SZARC_DEVICE:-cpu}
TIMEOUT=${SZARC_ROBUSTNESS_TIMEOUT:-300}
W=$(mktemp -d "${TMPDIR:-/tmp}/szarc-robustness.XXXXXX")
trap 'rm -rf "$W"' EXIT

big_mib=1024 bombs=5
args=("$@")
while [ $# -gt 0 ]; do
  case $1 in
    --big-mib) big_mib=$2; shift ;;
    --bombs) bombs=$2; shift ;;
  esac
  shift
done

echo "crafting the inputs in $W/in ..." >&2
python3 "$HOSTILE" --szarc "$SZARC" "${args[@]}" "$W/in" >&2

rows=$W/rows.tsv
: > "$rows"
free_mib=$(df -Pm "$W" | awk 'NR == 2 { print $4 }')
names=$(python3 -c 'import json, sys; [print(e["name"], e["input"]) for e in json.load(open(sys.argv[1]))]' "$W/in/index.json")
while read -r name num; do
  f=$W/in/$name.szarc
  for cmd in list extract verify "verify --quick"; do
    echo "$name: $cmd" >&2
    rm -rf "$W/out"
    mkdir "$W/out"
    case $cmd in
      list) argv=(list -f "$f") ;;
      extract) argv=(extract -f "$f" -C "$W/out" --device "$DEVICE" --quiet) ;;
      verify) argv=(verify -f "$f" --device "$DEVICE" --quiet) ;;
      "verify --quick") argv=(verify -f "$f" --quick --device "$DEVICE" --quiet) ;;
    esac
    if [ "$cmd" = extract ] && [ "$name" = bomb-x5 ] && [ "$free_mib" -lt $((2 * bombs * big_mib)) ]; then
      printf '%s\t%s\t%s\t-\t-\t-\tskipped: %s MiB free in %s, %s MiB needed\n' \
        "$name" "$num" "$cmd" "$free_mib" "$W" $((2 * bombs * big_mib)) >> "$rows"
      continue
    fi
    m=$(python3 "$HOSTILE" measure --timeout "$TIMEOUT" --stdout "$W/stdout" --stderr "$W/stderr" \
          -- "$SZARC" "${argv[@]}")
    written=$(find "$W/out" -type f | wc -l)
    python3 - "$name" "$num" "$cmd" "$m" "$W/stdout" "$W/stderr" "$written" >> "$rows" << 'PY'
import json, sys
name, num, cmd, m, so, se, written = sys.argv[1:]
m = json.loads(m)
def lines(p):
    with open(p, "rb") as f:
        return [l for l in f.read().split(b"\n") if l.strip()]
err, out = lines(se), lines(so)
failed = [l for l in out if l.startswith(b"FAILED")]
first = err[0] if err else failed[0] if failed else out[-1] if out else b""
text = first.decode("utf-8", "backslashreplace")
text = "".join(c if c.isprintable() and c not in "\u202e\u202d\u2066\u2067\u2068\u2069"
               else c.encode("unicode_escape").decode() for c in text)
if len(text) > 160:
    text = text[:157] + "..."
if cmd == "extract":
    text = "(%s file%s written) %s" % (written, "" if written == "1" else "s", text)
text = text.replace("|", "\\|")
rss = "-" if m["exit"] == "timeout" else "%.0f" % m["rss_mib"]
print("\t".join([name, num, cmd, str(m["exit"]), rss, "%.2f" % m["seconds"], text]))
PY
  done
done <<< "$names"
rm -rf "$W/out"

via=$(python3 "$HOSTILE" measure -- true | python3 -c 'import json, sys; print(json.load(sys.stdin)["via"])')
echo "szarc robustness, $(date -u +%Y-%m-%dT%H:%M:%SZ): binary $SZARC;" \
  "inputs from tests/hostile.py of $(git -C "$HERE" describe --always --dirty 2> /dev/null || echo unknown);" \
  "--device $DEVICE, model ${SZARC_MODEL:-default}; bombs of $big_mib MiB; peak RSS via $via"
echo
echo "| input | command | exit | peak RSS MiB | seconds | first line |"
echo "|---|---|---|---|---|---|"
awk -F'\t' '{ printf "| %s (%s) | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }' "$rows"
