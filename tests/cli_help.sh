#!/usr/bin/env bash
# cli_help.sh: the command line's conventions. `szarc help CMD`, `szarc CMD
# --help` and `-h` print that command's usage and options only (exit 0);
# `szarc model` lists its subcommands; a usage error is one line and a hint
# (exit 2), with "did you mean" for a mistyped command or long option;
# -V, --version and `szarc version`; -q on every command; -v on create and
# extract names each member (stdout, or stderr when the archive goes to
# stdout), as tar -v does; extract, list and verify -f - refuse a terminal
# on standard input (exit 2) rather than wait, as tar and zstd do.
SZARC=${1:?usage: cli_help.sh SZARC}
. "$(dirname "$0")/testlib.sh"

# the commands, from the global help
"$SZARC" help > help.txt; rc=$?
check "help: exit 0" '[ $rc = 0 ]'
"$SZARC" --help | cmp -s - help.txt
check "--help is help" '[ $? = 0 ]'
cmds=$(sed -n '/^commands:/,/^$/p' help.txt | awk '/^  [a-z]/ {
         if ($1 == "model") print $1 " " $2; else print $1 }')
n=$(echo "$cmds" | wc -l)
check "help lists the commands ($n)" '[ "$n" -ge 12 ]'
check "help lists exit codes" 'grep -q "^exit codes:" help.txt && grep -q "^  3  no usable model" help.txt'
awk 'length > 80 { bad = 1 } END { exit bad }' help.txt
check "help fits 80 columns" '[ $? = 0 ]'

while read -r c; do
  # shellcheck disable=SC2086
  "$SZARC" help $c > h1.txt; r1=$?
  "$SZARC" $c --help > h2.txt; r2=$?
  "$SZARC" $c -h > h3.txt; r3=$?
  check "help $c, $c --help, $c -h: exit 0, the same text" \
    '[ $r1$r2$r3 = 000 ] && cmp -s h1.txt h2.txt && cmp -s h1.txt h3.txt'
  check "help $c: its own usage" 'head -n1 h1.txt | grep -q "^usage: szarc $c"'
  awk 'length > 80 { bad = 1 } END { exit bad }' h1.txt
  check "help $c fits 80 columns" '[ $? = 0 ]'
done <<< "$cmds"

"$SZARC" help create > hc.txt
"$SZARC" help verify > hv.txt
check "create's help: its options only" \
  'grep -q -- "--embed-model" hc.txt && grep -q -- "--verbose" hc.txt && ! grep -q -- "--quick" hc.txt'
check "verify's help: its options only" \
  'grep -q -- "--quick" hv.txt && grep -q -- "--subset" hv.txt && ! grep -q -- "--embed-model" hv.txt'
"$SZARC" verify -f whatever.szarc --help > h.txt; rc=$?
check "--help after other options: help, exit 0" '[ $rc = 0 ] && cmp -s h.txt hv.txt'

# a group alone lists its subcommands
"$SZARC" model > m.txt; rc=$?
check "model alone: exit 0, lists info and eval" \
  '[ $rc = 0 ] && grep -q "model info" m.txt && grep -q "model eval" m.txt'

# usage errors: one line and a hint, exit 2
usage_error() { # NAME EXPECTED-LINE-1-REGEX HINT-CMD ARGS...
  local name=$1 want=$2 hint=$3
  shift 3
  "$SZARC" "$@" > out.txt 2> err.txt; local rc=$?
  check "$name: exit 2, two lines" '[ $rc = 2 ] && [ "$(wc -l < err.txt)" = 2 ] && [ ! -s out.txt ]'
  check "$name: says '$want'" 'head -n1 err.txt | grep -q -- "$want"'
  check "$name: hint" '[ "$(tail -n1 err.txt)" = "Try '"'"'szarc $hint--help'"'"'." ]'
}
usage_error "no command" "^szarc: missing command" ""
usage_error "mistyped command" "unknown command 'craete'; did you mean 'create'?" "" craete -f x
usage_error "mistyped command (transposed)" "did you mean 'verify'?" "" vreify
usage_error "unknown command, nothing close" "unknown command 'frobnicate'$" "" frobnicate
usage_error "mistyped long option" "create: unknown option '--modle'; did you mean '--model'?" \
  "create " create --modle m.gguf -f a.szarc in
usage_error "abbreviated long option" "did you mean '--verbose'?" "create " create --verb
usage_error "option with =" "write '--model x' (a space" "create " create --model=x
usage_error "option of another command" "list: unknown option '--quick'" "list " list -f a --quick
usage_error "missing value" "option '--model' needs a value" "verify " verify -f a.szarc --model
usage_error "verify without -f" "verify: missing -f ARCHIVE" "verify " verify
usage_error "create without PATH" "create: missing PATH" "create " create -f a.szarc
usage_error "bad --level" "create: --level 9: expected" "create " create -f a.szarc --mode semantic --level 9 x
usage_error "keygen without -o" "keygen: missing -o NAME" "keygen " keygen
usage_error "model subcommand" "did you mean 'model info'?" "model " model inof
usage_error "model eval without FILE" "model eval: missing FILE" "model eval " model eval
usage_error "atoms without FILE" "atoms: missing FILE" "atoms " atoms
usage_error "help of no command" "no such command 'crate'; did you mean 'create'?" "help " help crate

# versions
v1=$("$SZARC" -V); v2=$("$SZARC" --version); v3=$("$SZARC" version)
check "-V, --version, version: the same line" \
  '[ -n "$v1" ] && [ "$v1" = "$v2" ] && [ "$v2" = "$v3" ] && echo "$v1" | grep -q "^szarc [0-9]"'

# -q on every command
mkdir -p in/sub
printf 'one\n' > in/a.txt
printf 'two two\n' > in/sub/b.txt
"$SZARC" create -q -f a.szarc --method zstd in > out.txt 2> err.txt; rc=$?
check "create -q: exit 0, silent" '[ $rc = 0 ] && [ ! -s out.txt ] && [ ! -s err.txt ]'
"$SZARC" list -q -f a.szarc > out.txt; rc=$?
check "list -q: exit 0, lists" '[ $rc = 0 ] && grep -q "in/a.txt" out.txt'
"$SZARC" verify -q --quick -f a.szarc > /dev/null; rc=$?
check "verify -q: exit 0" '[ $rc = 0 ]'
"$SZARC" devices -q > /dev/null; rc=$?
check "devices -q: exit 0" '[ $rc = 0 ]'
"$SZARC" model info -q > /dev/null; rc=$?
check "model info -q: exit 0" '[ $rc = 0 ]'
"$SZARC" atoms -q in/a.txt > /dev/null; rc=$?
check "atoms -q: exit 0" '[ $rc = 0 ]'
"$SZARC" eval -q in/a.txt in/a.txt > /dev/null; rc=$?
check "eval -q: exit 0" '[ $rc = 0 ]'
"$SZARC" keygen -q -o k > out.txt; rc=$?
check "keygen -q: exit 0, silent, keys written" '[ $rc = 0 ] && [ ! -s out.txt ] && [ -s k ] && [ -s k.pub ]'
mkdir x
"$SZARC" extract -q -f a.szarc -C x > out.txt 2> err.txt; rc=$?
check "extract -q: exit 0, silent" '[ $rc = 0 ] && [ ! -s out.txt ] && [ ! -s err.txt ]'

# -v: each member, one a line, as tar -v
printf 'in/a.txt\nin/sub/b.txt\n' > want.txt
"$SZARC" create -v -f v.szarc --method zstd in > out.txt 2> err.txt; rc=$?
check "create -v: exit 0, members on stdout" '[ $rc = 0 ] && cmp -s out.txt want.txt'
check "create -v: the summary on stderr" 'grep -q "^szarc: .*: [0-9]* bytes for 2 files of" err.txt'
check "create: the summary gives each method's files and bytes, the time and the rate" \
  'grep -Eq "; (stored|zstd|model) [0-9]+ \([0-9]+ bytes\).*; [0-9.]+ s, [0-9.]+ KB/s$" err.txt'
"$SZARC" create --verbose -f - --method zstd in > v2.szarc 2> err.txt; rc=$?
check "create -v -f -: members on stderr" '[ $rc = 0 ] && grep -qx "in/a.txt" err.txt && grep -qx "in/sub/b.txt" err.txt'
check "create -v -f -: the archive on stdout" 'tar -tf v2.szarc | grep -qx "data/00000000.szg"'
mkdir y
"$SZARC" extract -v -f v.szarc -C y > out.txt 2> err.txt; rc=$?
check "extract -v: exit 0, members on stdout" '[ $rc = 0 ] && cmp -s out.txt want.txt'
mkdir z
"$SZARC" extract -v -q -f v.szarc -C z in/sub/b.txt > out.txt 2> err.txt; rc=$?
check "extract -v -q MEMBER: only that member, nothing else" \
  '[ $rc = 0 ] && [ "$(cat out.txt)" = in/sub/b.txt ] && [ ! -s err.txt ]'

# -f - with a terminal on standard input: refused at once, not a wait
on_tty() { # runs "$@" with a pseudo-terminal as stdin; prints stderr; exits with its status
  python3 - "$@" <<'PY'
import os, subprocess, sys
master, slave = os.openpty()
try:
    p = subprocess.run(sys.argv[1:], stdin=slave, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=20)
except subprocess.TimeoutExpired:
    print("timed out: waited for the terminal", file=sys.stderr)
    sys.exit(124)
sys.stderr.write(p.stderr.decode())
sys.exit(p.returncode)
PY
}
for c in extract list verify; do
  on_tty "$SZARC" $c -f - 2> err.txt; rc=$?
  check "$c -f - on a terminal: exit 2, one line and a hint" \
    '[ $rc = 2 ] && grep -q "^szarc: $c: refusing to read an archive from a terminal" err.txt &&
     [ "$(wc -l < err.txt)" = 2 ]'
done
"$SZARC" extract -q -f - -C z --force < v.szarc; rc=$?
check "extract -f - from a file: still reads it" '[ $rc = 0 ]'

# verify: the unsigned warning is one line, and --quiet prints no warning
"$SZARC" verify -f v.szarc > vw.txt 2>&1
check "verify: the unsigned warning is one line" \
  '[ "$(grep -c "^warning .*unsigned" vw.txt)" = 1 ] && ! grep -q "what to do" vw.txt'
"$SZARC" verify -q -f v.szarc > vq.txt 2>&1; rc=$?
check "verify -q: exit 0 and no warning" '[ $rc = 0 ] && ! grep -q "^warning" vq.txt'

exit $fail
