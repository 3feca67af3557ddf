#!/usr/bin/env bash
# cli_create_inputs.sh: create loses nothing silently. A symbolic link named
# on the command line is followed (file or directory, stored under the name
# given); links met in a walk are still skipped with a warning. A path that is
# missing or cannot be read is warned about and skipped, the rest is stored,
# a summary names what was skipped and the exit is 1; --strict makes it fatal
# (exit 2, no archive). An archive that would store nothing is never written
# (exit 2). --sign warns about a private key that others can read.
# Usage: cli_create_inputs.sh SZARC   (SZARC_MODEL: a small test model)
set -eu
SZARC=$1
. "$(dirname "$0")/testlib.sh"
# run CODE CMD...: CMD must exit with CODE; its stderr is left in err.txt
run() {
  local code=$1 rc=0
  shift
  "$@" 2> err.txt > out.txt || rc=$?
  [ "$rc" = "$code" ] || fail "$*: exit $rc, want $code ($(cat err.txt))"
}
no_tmp() { [ -z "$(find . -name '.*szarc*')" ] || fail "temporary files left: $(find . -name '.*szarc*')"; }
# stored ARCHIVE NAME...: each NAME is a member of ARCHIVE
stored() {
  local a=$1 n
  shift
  "$SZARC" list -f "$a" > list.txt || fail "list $a"
  for n in "$@"; do grep -q " $n\$" list.txt || fail "$a lacks $n: $(cat list.txt)"; done
}
C="--device cpu --method zstd"

mkdir -p in/sub
cp "$SRC/tests/data/text/sample.txt" in/sample.txt
printf 'hello\n' > in/sub/hello.txt
ln -s ../sample.txt in/sub/link

# a symbolic link named on the command line: followed, stored under its name
ln -s in/sample.txt only-link
run 0 "$SZARC" create -f l.szarc $C only-link
stored l.szarc only-link
mkdir out
run 0 "$SZARC" extract -f l.szarc -C out --quiet
cmp out/only-link in/sample.txt || fail "the followed link's content"
[ ! -L out/only-link ] || fail "extract made a link"

# a link to a directory: walked; the link met inside it is still skipped
ln -s in dirlink
run 0 "$SZARC" create -f d.szarc $C dirlink/
stored d.szarc dirlink/sample.txt dirlink/sub/hello.txt
grep -q "dirlink/sub/link: symbolic link not stored" err.txt || fail "no warning for the inner link"
grep -q "link\$" list.txt && fail "a link met in the walk was stored"

# nothing to store: exit 2, a message that says why, no archive, no
# temporary file (found before the model is loaded)
mkdir empty
mkfifo fifo
ln -s nowhere dangling-link
for what in empty:"no regular file in the paths given" fifo:"no regular file in the paths given" \
            missing:"no path given could be stored" dangling-link:"no path given could be stored"; do
  run 2 "$SZARC" create -f n.szarc $C "${what%%:*}"
  grep -q "nothing to archive: ${what#*:}" err.txt || fail "create ${what%%:*}: $(cat err.txt)"
  [ ! -e n.szarc ] || fail "create ${what%%:*} wrote an archive that stores nothing"
done
run 2 "$SZARC" create -f - $C missing
[ ! -s out.txt ] || fail "-f -: something was written to stdout"
no_tmp

# a missing path among others: warned, skipped, the rest stored, exit 1
run 1 "$SZARC" create -f m.szarc $C in missing.txt dangling-link
grep -q "warning: missing.txt: No such file or directory" err.txt || fail "no warning for missing.txt: $(cat err.txt)"
grep -q "warning: dangling-link: cannot follow symbolic link" err.txt || fail "no warning for the dangling link"
tail -n1 err.txt | grep -q "2 paths could not be stored: missing.txt, dangling-link" \
  || fail "no closing summary: $(cat err.txt)"
stored m.szarc in/sample.txt in/sub/hello.txt
tar -tf m.szarc > /dev/null || fail "tar cannot read the archive"
# --quiet keeps the failures and the summary (they explain the exit code)
run 1 "$SZARC" create -f q.szarc $C --quiet in missing.txt
grep -q "missing.txt: No such file" err.txt && grep -q "1 path could not be stored: missing.txt" err.txt \
  || fail "--quiet hid the failure: $(cat err.txt)"
# --strict: fatal, no archive
run 2 "$SZARC" create -f s.szarc $C --strict in missing.txt
grep -q -- "--strict" err.txt || fail "--strict message: $(cat err.txt)"
[ ! -e s.szarc ] || fail "--strict wrote an archive"
no_tmp

# a file that cannot be read, even by root: /proc/self/mem is a regular file
# whose first page is not mapped, so read() fails with EIO (at read time,
# after collecting: the path of a file that vanishes or turns unreadable)
if [ -f /proc/self/mem ] && ! head -c1 /proc/self/mem > /dev/null 2>&1; then
  ln -s /proc/self/mem mem
  run 1 "$SZARC" create -f u.szarc $C in mem
  grep -q "warning: mem: Input/output error" err.txt || fail "no warning for mem: $(cat err.txt)"
  tail -n1 err.txt | grep -q "1 path could not be stored: mem" || fail "summary: $(cat err.txt)"
  stored u.szarc in/sample.txt in/sub/hello.txt
  run 2 "$SZARC" create -f us.szarc $C --strict in mem
  grep -q "mem: Input/output error; --strict" err.txt || fail "--strict at read time: $(cat err.txt)"
  [ ! -e us.szarc ] || fail "--strict wrote an archive (read time)"
  run 2 "$SZARC" create -f un.szarc $C mem
  grep -q "nothing to archive" err.txt || fail "only an unreadable file: $(cat err.txt)"
  [ ! -e un.szarc ] || fail "an archive that stores nothing (read time)"
  no_tmp
else
  echo "no /proc/self/mem that fails to read: the read-time case is not checked"
fi

# a file whose name is not UTF-8, found in a walk: it cannot be stored, the
# rest is (as with an unreadable file: exit 1, named in the summary)
mkdir -p names && echo keep > names/good.txt && echo lost > "names/bad-$(printf '\377')-name.txt"
run 1 "$SZARC" create -f names.szarc $C names
grep -q "cannot store this name" err.txt || fail "non-UTF-8 name: $(cat err.txt)"
grep -q "could not be stored" err.txt || fail "non-UTF-8 name: no summary: $(cat err.txt)"
"$SZARC" list -f names.szarc | grep -q "names/good.txt" || fail "non-UTF-8 name: the rest"
run 2 "$SZARC" create -f names2.szarc $C --strict names
[ ! -e names2.szarc ] || fail "--strict wrote an archive (non-UTF-8 name)"

# --sign with a private key others can read: a warning, as ssh gives
"$SZARC" keygen -o k > /dev/null || fail "keygen"
chmod 644 k
run 0 "$SZARC" create -f k.szarc $C --quiet --sign k in
grep -q "warning: private key k is readable by others (mode 0644); chmod 600 it" err.txt \
  || fail "no warning for a readable key: $(cat err.txt)"
chmod 600 k
run 0 "$SZARC" create -f k2.szarc $C --quiet --sign k in
grep -q "private key" err.txt && fail "warning for a key of mode 0600: $(cat err.txt)"
echo ok
