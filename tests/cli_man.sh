#!/usr/bin/env bash
# cli_man.sh: every command of `szarc help` has a manual page (docs/man/,
# szarc-CMD.1.scd; `model info` and `model eval` share szarc-model), every
# option its --help lists is in that page, and the pages built at build time
# (build/man/, when scdoc was found) render without warnings (man -l or
# groff; without either, that they are not empty). szarc(1) names every page.
SZARC=${1:?usage: cli_man.sh SZARC}
. "$(dirname "$0")/testlib.sh"
MAN_SRC=$SRC/docs/man
MAN_OUT=${SZARC_BUILD_DIR:-$(dirname "$SZARC")}/man

"$SZARC" help | awk '/^commands:/ { on = 1; next } /^$/ { on = 0 } on && /^  [a-z]/ {
  if ($1 == "model" || $1 == "slurm") print $1 " " $2; else print $1 }' > cmds.txt
check "szarc help lists commands" '[ "$(wc -l < cmds.txt)" -ge 10 ]'
pages=szarc
while read -r c; do
  case $c in help|version) continue ;; esac
  page=szarc-${c%% *}
  src=$MAN_SRC/$page.1.scd
  check "$c: page $page.1.scd" '[ -s "$src" ]'
  grep -q " $page " <<< " $pages " || pages="$pages $page"
  # shellcheck disable=SC2086
  "$SZARC" help $c | sed -n '/^options:/,/^$/p' | grep -o -- '^  \(-[a-zA-Z], \|    \)--[a-z-]*' |
    grep -o -- '--[a-z-]*' > opts.txt
  while read -r o; do
    check "$c: $page documents $o" 'grep -q -- "\*$o\*" "$src"'
  done < opts.txt
done < cmds.txt
for p in $pages; do
  [ "$p" = szarc ] && continue
  check "szarc(1) refers to $p(1)" 'grep -q "\*$p\*(1)" "$MAN_SRC/szarc.1.scd"'
done

if [ ! -d "$MAN_OUT" ]; then
  echo "no built pages in $MAN_OUT (scdoc missing at build time): sources checked only"
  exit $fail
fi
for p in $pages; do
  out=$MAN_OUT/$p.1
  check "$p.1 built" '[ -s "$out" ]'
  if command -v groff > /dev/null; then
    groff -man -Tutf8 -ww -z "$out" > w.txt 2>&1
    check "$p.1 renders (groff) without warnings" '[ ! -s w.txt ]'
    groff -man -Tutf8 "$out" 2> /dev/null | grep -q "^NAME\|N.*A.*M.*E"
    check "$p.1 renders a NAME section" '[ $? = 0 ]'
  elif command -v man > /dev/null; then
    MANWIDTH=80 man -l "$out" > r.txt 2> w.txt
    check "$p.1 renders (man -l)" '[ -s r.txt ] && [ ! -s w.txt ]'
  fi
done
exit $fail
