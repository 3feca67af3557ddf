# testlib.sh: what the CLI tests (tests/cli_*.sh) share. Source it after
# setting SZARC (the szarc binary): it sets SRC (the source tree), makes and
# enters a temporary directory T (removed on exit) and defines
#   fail MSG               print "FAIL: MSG" on stderr and exit 1
#   check NAME EXPR        evaluate EXPR, print "ok   NAME" or "FAIL NAME";
#                          a failure sets fail=1 (scripts end with exit $fail)
#   skip_without_vulkan    exit 77 when szarc sees no vk:0 (1 with
#                          SZARC_REQUIRE_VULKAN=1)
#   field KEY FILE         a top-level JSON value (two-space indent), unquoted
#   jfield KEY FILE        the first JSON value of KEY at any depth, unquoted
#   byte_at FILE OFF       one byte as a decimal number
#   putbyte FILE OFF VAL   overwrite one byte in place
#   flipbits IN OFF MASK OUT   copy IN to OUT with the byte at OFF xor MASK
#   offset_of FILE STRING  offset of the first occurrence of STRING
#   data_offset TAR NAME   offset of member NAME's data (GNU tar's block numbers)
SRC=${SZARC_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
fail=0

fail() { echo "FAIL: $*" >&2; exit 1; }
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
skip_without_vulkan() {
  if ! "$SZARC" devices | grep -q '^vk:0'; then
    echo "no Vulkan device: skipped"
    [ "${SZARC_REQUIRE_VULKAN:-0}" = 1 ] && exit 1
    exit 77
  fi
}
field() {
  sed -n -e "s/^  \"$1\": \"\(.*\)\",\{0,1\}$/\1/p" -e "s/^  \"$1\": \([-0-9.e+]*\),\{0,1\}$/\1/p" "$2"
}
jfield() {
  sed -n -e "s/^ *\"$1\": \"\(.*\)\",\{0,1\}$/\1/p" \
    -e "s/^ *\"$1\": \([-0-9.e+a-z]*\),\{0,1\}$/\1/p" "$2" | head -n1
}
byte_at() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
putbyte() { printf "$(printf '\\%03o' "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
flipbits() {
  cp "$1" "$4"
  putbyte "$4" "$2" $(( $(byte_at "$1" "$2") ^ $3 ))
}
offset_of() { grep -boa -- "$2" "$1" | head -n1 | cut -d: -f1; }
data_offset() {
  local blk
  blk=$(tar -tRvf "$1" | grep " $2\$" | sed 's/^block \([0-9]*\):.*/\1/')
  echo $(( (blk + 1) * 512 ))
}
