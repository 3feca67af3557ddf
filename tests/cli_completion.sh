#!/usr/bin/env bash
# cli_completion.sh: bash completion (tools/cli/szarc.bash-completion)
# offers every command, and for each command exactly the options its --help
# lists; the values of --mode, --method and --device; files for -f; the
# members of the archive for extract.
SZARC=${1:?usage: cli_completion.sh SZARC}
. "$(dirname "$0")/testlib.sh"
mkdir bin && ln -s "$SZARC" bin/szarc
PATH=$T/bin:$PATH
. "$SRC/tools/cli/szarc.bash-completion"

complete_words() { # the words typed, the last one being completed
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMPREPLY=()
  _szarc
  printf '%s\n' "${COMPREPLY[@]}" | sort
}

"$SZARC" help | awk '/^commands:/ { on = 1; next } /^$/ { on = 0 } on && /^  [a-z]/ {
  if ($1 == "model" || $1 == "slurm") print $1 " " $2; else print $1 }' > cmds.txt
complete_words szarc "" > got.txt
while read -r c; do
  check "command ${c%% *} offered" 'grep -qx "${c%% *}" got.txt'
done < cmds.txt

while read -r c; do
  # shellcheck disable=SC2086
  "$SZARC" help $c | sed -n '/^options:/,/^$/p' | grep -o -- '^  \(-[a-zA-Z], \|    \)--[a-z-]*' |
    grep -o -- '-\{1,2\}[a-zA-Z][a-z-]*' | sort > want.txt
  [ -s want.txt ] || printf -- '--help\n-h\n' | sort > want.txt
  # shellcheck disable=SC2086
  complete_words szarc $c - > got.txt
  check "$c: the options of its --help" 'cmp -s want.txt got.txt || diff want.txt got.txt'
done < cmds.txt

check "model: its subcommands" '[ "$(complete_words szarc model "" | tr "\n" " ")" = "eval info " ]'
check "slurm: its subcommands" \
  '[ "$(complete_words szarc slurm "" | tr "\n" " ")" = "create status verify " ]'
check "create --mode: exact, semantic" \
  '[ "$(complete_words szarc create --mode "" | tr "\n" " ")" = "exact semantic " ]'
check "create --method: five" '[ "$(complete_words szarc create --method "" | wc -l)" = 5 ]'
check "--device: auto and cpu" \
  'complete_words szarc verify --device "" | grep -qx auto && complete_words szarc verify --device "" | grep -qx cpu'
mkdir -p in && printf 'one\n' > in/a.txt && printf 'two\n' > in/b.txt
check "-f: files" 'complete_words szarc list -f "in/" | grep -qx in/a.txt'
"$SZARC" create -q -f a.szarc --method stored in
check "extract: the archive's members" \
  '[ "$(complete_words szarc extract -f a.szarc in/ | tr "\n" " ")" = "in/a.txt in/b.txt " ]'
exit $fail
