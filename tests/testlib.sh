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
#   need_default_model     MODEL := models/szarc-default.gguf, or exit 77 without it
#   golden_archive DIR NAME MODEL   the checks of one committed golden archive
#                          DIR/NAME.szarc (list, extract, modes, verify) against
#                          its records NAME.list, NAME.sha256, NAME.files;
#                          MODEL a model path, or "" for the embedded one
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
need_default_model() { # sets MODEL to the trained default model, or skips (77)
  MODEL=$SRC/models/szarc-default.gguf
  if [ ! -f "$MODEL" ]; then
    echo "no trained default model at $MODEL: skipped"
    exit 77
  fi
}
golden_archive() {
  local dir=$1 name=$2 archive=$1/$2.szarc model=() env=()
  if [ -n "$3" ]; then
    model=(--model "$3")
  else # it carries its own model: point SZARC_MODEL nowhere
    env=(SZARC_MODEL=/nonexistent/model.gguf)
  fi
  "$SZARC" list -f "$archive" > "$name.list" 2> "$name.list.err"
  check "$name: list exits 0" "[ $? = 0 ]"
  check "$name: list prints the recorded listing" "diff -u '$dir/$name.list' '$name.list'"
  mkdir "x.$name"
  env "${env[@]}" "$SZARC" extract -q --device cpu "${model[@]}" -f "$archive" -C "x.$name" \
    2> "$name.extract.err"
  check "$name: extract exits 0" "[ $? = 0 ] || { cat '$name.extract.err'; false; }"
  (cd "x.$name" && find . -type f | sort | sed 's#^\./##' | xargs -d '\n' -r sha256sum) \
    > "$name.sha256"
  check "$name: extract writes exactly the recorded files and sha256s" \
    "diff -u '$dir/$name.sha256' '$name.sha256'"
  (cd "x.$name" && find . -type f | sort | sed 's#^\./##' | xargs -d '\n' -r stat -c '%a %Y %s %n') \
    > "$name.files"
  check "$name: extracted modes, mtimes and sizes are the recorded ones" \
    "diff -u '$dir/$name.files' '$name.files'"
  check "$name: extract writes nothing but regular files and their folders" \
    "[ -z \"\$(find x.$name ! -type f ! -type d)\" ]"
  env "${env[@]}" "$SZARC" verify --device cpu "${model[@]}" -f "$archive" > "$name.verify" 2>&1
  check "$name: verify (full) exits 0" "[ $? = 0 ] || { cat '$name.verify'; false; }"
}
