#!/usr/bin/env bash
# cli_install.sh: `cmake --install` into a temporary prefix, then the prefix
# copied elsewhere (so the installed szarc cannot lean on where it was
# installed) and run with no $SZARC_MODEL: it finds its default model from
# its own location, create names it and verify passes; manual pages,
# completion, header, library and szarc.pc are there, and a program built
# with pkg-config links and runs. A prefix holding only the build's
# placeholder model: said loudly, and create refuses it unless named with
# --model. A prefix with no model: exit 3, naming where szarc looked.
SZARC=${1:?usage: cli_install.sh SZARC}
. "$(dirname "$0")/testlib.sh"
BUILD=${SZARC_BUILD_DIR:-$(dirname "$SZARC")}
unset SZARC_MODEL

cmake --install "$BUILD" --prefix "$T/p" > install.log 2>&1 || { cat install.log; fail "cmake --install"; }
cp -a "$T/p" "$T/moved"
rm -rf "$T/p"
P=$T/moved
for f in bin/szarc share/szarc/models/szarc-default.gguf share/man/man1/szarc.1 \
         share/man/man1/szarc-create.1 share/bash-completion/completions/szarc \
         include/szarc/szarc.h include/szarc/status.h lib/libszarc.a lib/pkgconfig/szarc.pc; do
  if [ "${f#share/man}" != "$f" ] && [ ! -d "$BUILD/man" ]; then
    continue # built without scdoc
  fi
  check "installed: $f" '[ -s "$P/$f" ]'
done
check "the default model is the source tree's, not the placeholder" \
  'cmp -s "$P/share/szarc/models/szarc-default.gguf" "$SRC/models/szarc-default.gguf"'

mkdir -p in
cp "$SRC/LICENSE" in/LICENSE.txt
printf 'The quick brown fox jumps over the lazy dog.\n' > in/fox.txt
"$P/bin/szarc" model info > info.txt 2> err.txt; rc=$?
check "model info: the moved prefix's model" \
  '[ $rc = 0 ] && grep -q "^file  *$P/share/szarc/models/szarc-default.gguf$" info.txt && [ ! -s err.txt ]'
"$P/bin/szarc" create -f a.szarc --device cpu in > out.txt 2> err.txt; rc=$?
check "create: exit 0" '[ $rc = 0 ] || { cat err.txt; false; }'
check "create: the summary names the model" \
  'tail -n1 err.txt | grep -q "model $P/share/szarc/models/szarc-default.gguf$"'
"$P/bin/szarc" verify -f a.szarc --device cpu > out.txt 2> err.txt; rc=$?
check "verify: exit 0" '[ $rc = 0 ] && grep -q ": verified;" out.txt || { cat out.txt err.txt; false; }'
mkdir x
"$P/bin/szarc" extract -q -f a.szarc -C x && diff -r in x/in > /dev/null
check "extract: the same files" '[ $? = 0 ]'

# only the placeholder: loud, and create refuses it unless --model names it
cp -a "$P" "$T/ph"
cp "$BUILD/models/szarc-default.gguf" "$T/ph/share/szarc/models/szarc-default.gguf"
"$T/ph/bin/szarc" create -f ph.szarc in > out.txt 2> err.txt; rc=$?
check "placeholder: create exits 3, no archive" '[ $rc = 3 ] && [ ! -e ph.szarc ]'
check "placeholder: said loudly" 'grep -q "WARNING: .*PLACEHOLDER test model" err.txt && grep -q "refusing the placeholder" err.txt'
"$T/ph/bin/szarc" model info > out.txt 2> err.txt; rc=$?
check "placeholder: model info works, with the warning" '[ $rc = 0 ] && grep -q "PLACEHOLDER" err.txt'
"$T/ph/bin/szarc" create -q -f ph.szarc --model "$T/ph/share/szarc/models/szarc-default.gguf" in \
  > out.txt 2> err.txt; rc=$?
check "placeholder named with --model: created, no warning" '[ $rc = 0 ] && [ -s ph.szarc ] && [ ! -s err.txt ]'

# no model at all
cp -a "$P" "$T/none"
rm "$T/none/share/szarc/models/szarc-default.gguf"
"$T/none/bin/szarc" create -f n.szarc in > out.txt 2> err.txt; rc=$?
check "no model: exit 3, names where it looked" \
  '[ $rc = 3 ] && grep -q "$T/none/share/szarc/models/szarc-default.gguf" err.txt'

# the job library through pkg-config
cat > prog.c <<'C'
#include <stdio.h>
#include <szarc.h>
int main(void)
{
    char path[4096];
    const szarc_default_model w = szarc_model_default(path, sizeof path);
    printf("%d %s %s\n", (int)w, path, szarc_status_str(SZARC_E_MODEL));
    return w == SZARC_DEFAULT_MODEL_INSTALLED ? 0 : 1;
}
C
mkdir -p "$T/prog/bin"
export PKG_CONFIG_PATH=$P/lib/pkgconfig
if cc -std=c11 -o "$T/prog/bin/prog" prog.c $(pkg-config --cflags --libs szarc) 2> cc.txt; then
  check "pkg-config: a program links with libszarc" 'true'
  ln -s "$P/share" "$T/prog/share"
  "$T/prog/bin/prog" > prog.txt; rc=$?
  check "the program finds the model beside it" '[ $rc = 0 ] || { cat prog.txt; false; }'
else
  cat cc.txt
  check "pkg-config: a program links with libszarc" 'false'
fi
exit $fail
