#!/usr/bin/env bash
# cli_atoms.sh: szarc atoms and szarc eval as a user runs them. atoms lists
# the corpus's atoms (text and JSON with the documented keys, counts per
# type, the same result twice), honours --protect and --protect-file; eval
# gives exactly 1.0 for identical texts, lower critical recall for a changed
# number and lower precision for an inserted one; bad input gets a message
# and exit 2.
set -u
SZARC=$1
. "$(dirname "$0")/testlib.sh"
szarc=$SZARC
tmp=$T
data=${SZARC_SOURCE_DIR:?}/tests/data/atoms
below1() { awk -v x="$1" 'BEGIN { exit !(x != "" && x + 0 < 1) }'; }

# atoms: text and JSON on every corpus file
for f in prose.txt changelog.txt log.txt record.json invalid.txt; do
  "$szarc" atoms "$data/$f" > "$tmp/a.txt"; rc=$?
  check "atoms $f: exit 0" '[ $rc = 0 ]'
  "$szarc" atoms "$data/$f" --json > "$tmp/a.json"; rc=$?
  check "atoms $f --json: exit 0" '[ $rc = 0 ]'
  for k in file bytes total critical counts atoms; do
    check "atoms $f: JSON has $k" 'grep -q "^  \"$k\":" "$tmp/a.json"'
  done
  for t in user money date time percent url email phone number ident commitment name; do
    check "atoms $f: counts has $t" 'grep -q "^    \"$t\": [0-9]" "$tmp/a.json"'
  done
  check "atoms $f: bytes is the file size" '[ "$(field bytes "$tmp/a.json")" = "$(wc -c < "$data/$f")" ]'
  golden=$data/${f%.*}.atoms
  check "atoms $f: as many atoms as the golden list" \
    '[ "$(field total "$tmp/a.json")" = "$(wc -l < "$golden")" ] && [ "$(($(wc -l < "$tmp/a.txt") - 2))" = "$(wc -l < "$golden")" ]'
  if command -v python3 > /dev/null; then
    check "atoms $f: JSON parses" 'python3 -m json.tool "$tmp/a.json" > /dev/null'
  fi
  "$szarc" atoms "$data/$f" --json > "$tmp/b.json"
  check "atoms $f: deterministic" 'cmp -s "$tmp/a.json" "$tmp/b.json"'
done
"$szarc" atoms - < "$data/prose.txt" > "$tmp/stdin.txt"
"$szarc" atoms "$data/prose.txt" > "$tmp/file.txt"
check "atoms -: reads stdin" 'cmp -s "$tmp/stdin.txt" "$tmp/file.txt"'
grep -q ' money  *critical \$1,200.50$' "$tmp/file.txt"
check "atoms: text output has type, critical flag and text" '[ $? = 0 ]'
check "atoms: names are not critical" 'grep -q " name  *-  *Alice Smith$" "$tmp/file.txt"'

# user additions
"$szarc" atoms "$data/prose.txt" --protect-file "$data/protect.txt" --protect 'Lis[a-z]+' --json > "$tmp/u.json"
check "protect: user atoms counted" '[ "$(sed -n "s/^    \"user\": \([0-9]*\),$/\1/p" "$tmp/u.json")" = 5 ]'
check "protect: a regex atom" 'grep -q "\"text\": \"Lisbon\"" "$tmp/u.json"'
"$szarc" atoms "$data/prose.txt" --protect '(' 2> "$tmp/err"; rc=$?
check "protect: bad regex exits 2 with PCRE2's reason" '[ $rc = 2 ] && grep -q "missing closing parenthesis" "$tmp/err"'
printf 'ok\nre:[z-a]\n' > "$tmp/bad.txt"
"$szarc" atoms "$data/prose.txt" --protect-file "$tmp/bad.txt" 2> "$tmp/err"; rc=$?
check "protect-file: bad line exits 2, names file and line" '[ $rc = 2 ] && grep -q "bad.txt:2" "$tmp/err"'
"$szarc" atoms "$data/prose.txt" --protect-file "$tmp/none.txt" 2> "$tmp/err"; rc=$?
check "protect-file: missing file exits 2" '[ $rc = 2 ] && grep -q "none.txt" "$tmp/err"'

# usage and I/O errors
"$szarc" atoms 2> "$tmp/err"; rc=$?
check "atoms without FILE: exit 2" '[ $rc = 2 ] && [ -s "$tmp/err" ]'
"$szarc" atoms "$tmp/missing.txt" 2> "$tmp/err"; rc=$?
check "atoms missing file: exit 2, names it" '[ $rc = 2 ] && grep -q "missing.txt" "$tmp/err"'
"$szarc" atoms "$data/prose.txt" --bogus 2> "$tmp/err"; rc=$?
check "atoms unknown option: exit 2" '[ $rc = 2 ]'

# eval
"$szarc" eval "$data/prose.txt" "$data/prose.txt" --json > "$tmp/e.json"; rc=$?
check "eval identical: exit 0" '[ $rc = 0 ]'
for k in original_bytes expansion_bytes original_atoms expansion_atoms original_critical matched \
         matched_critical critical_atom_recall weighted_atom_recall atom_precision chrf missing spurious; do
  check "eval: JSON has $k" 'grep -q "^  \"$k\":" "$tmp/e.json"'
done
for k in critical_atom_recall weighted_atom_recall atom_precision chrf; do
  check "eval identical: $k is exactly 1.0" '[ "$(field $k "$tmp/e.json")" = 1.0 ]'
done
sed 's/EUR 12,500,000/EUR 12,600,000/' "$data/prose.txt" > "$tmp/changed.txt"
"$szarc" eval "$data/prose.txt" "$tmp/changed.txt" --json > "$tmp/c.json"
check "eval changed number: critical recall < 1" 'below1 "$(field critical_atom_recall "$tmp/c.json")"'
check "eval changed number: chrf < 1" 'below1 "$(field chrf "$tmp/c.json")"'
sed 's/The new warehouse/The 2 new warehouses/' "$data/prose.txt" > "$tmp/inserted.txt"
"$szarc" eval "$data/prose.txt" "$tmp/inserted.txt" --json > "$tmp/i.json"
check "eval inserted number: critical recall stays 1.0" '[ "$(field critical_atom_recall "$tmp/i.json")" = 1.0 ]'
check "eval inserted number: precision < 1" 'below1 "$(field atom_precision "$tmp/i.json")"'
"$szarc" eval "$data/prose.txt" "$tmp/changed.txt" > "$tmp/c.txt"; rc=$?
check "eval text: exit 0, reports the missing atom" '[ $rc = 0 ] && grep -q "^missing .*EUR 12,500,000$" "$tmp/c.txt"'
"$szarc" eval "$data/prose.txt" 2> "$tmp/err"; rc=$?
check "eval with one file: exit 2" '[ $rc = 2 ]'
"$szarc" eval "$data/prose.txt" "$tmp/missing.txt" 2> "$tmp/err"; rc=$?
check "eval missing expansion: exit 2, names it" '[ $rc = 2 ] && grep -q "missing.txt" "$tmp/err"'
"$szarc" eval "$data/prose.txt" "$data/prose.txt" --archive x.szarc 2> "$tmp/err"; rc=$?
check "eval --archive: missing archive, exit 2, names it" '[ $rc = 2 ] && grep -q "x.szarc" "$tmp/err"'

exit $fail
