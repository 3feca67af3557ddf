#!/usr/bin/env bash
# cli_archive_roundtrip.sh: szarc create / list / extract give every byte
# back: prose, empty and 1-byte files, invalid UTF-8, CRLF, NUL bytes,
# Unicode from several scripts, a 1 MB single line, binary files from the
# Canterbury corpus; by automatic method choice and with model coding forced;
# through files and through stdin/stdout; GNU tar lists and extracts the raw
# members, and zstd decodes a zstd packet's body.
# Usage: cli_archive_roundtrip.sh SZARC   (SZARC_MODEL: a small test model)
set -eu
SZARC=$1
. "$(dirname "$0")/testlib.sh"

mkdir -p in/prose in/odd "in/ünïcode" out
cp "$SRC/tests/data/text/sample.txt" in/prose/sample.txt
: > in/odd/empty
printf 'x' > in/odd/one
printf 'bad \xff\xfe\xc0\xaf utf-8 \xed\xa0\x80 and a lone \xe2\x82\n' > in/odd/invalid-utf8.txt
printf 'first line\r\nsecond line\r\n\r\nlast\r\n' > in/odd/crlf.txt
printf 'a\0b\0\0c\0' > in/odd/nul.bin
cat > "in/ünïcode/scripts.txt" <<'TXT'
English: The quick brown fox jumps over the lazy dog.
Ελληνικά: Η γρήγορη καφέ αλεπού πηδά πάνω από τον τεμπέλη σκύλο.
Русский: Съешь же ещё этих мягких французских булок, да выпей чаю.
中文：快速的棕色狐狸跳过了懒狗。日本語：いろはにほへと ちりぬるを。
한국어: 다람쥐 헌 쳇바퀴에 타고파. العربية: نص حكيم له سر قاطع.
עברית: דג סקרן שט בים מאוכזב. हिन्दी: ऋषियों को सताने वाले दुष्ट राक्षसों के राजा।
Emoji: 🦊🐕 ✓ ∑ ∞ — “quotes” ‘and’ «guillemets»
TXT
chmod 0640 in/prose/sample.txt
chmod 0755 in/odd/one
touch -d '2001-02-03 04:05:06 UTC' in/odd/crlf.txt

# automatic method choice (the test model is untrained: zstd or stored win)
"$SZARC" create --format 1 -f a.szarc --device cpu --quiet in || fail "create (auto)"
"$SZARC" list -f a.szarc > list.txt || fail "list"
grep -q 'in/odd/empty' list.txt || fail "list lacks in/odd/empty"
grep -q 'stored' list.txt || fail "list shows no stored member"
"$SZARC" list -f a.szarc --json | grep -q '"bits_per_byte"' || fail "list --json"
"$SZARC" extract -f a.szarc -C out --device cpu --quiet || fail "extract (auto)"
diff -r in out/in || fail "auto round trip differs"
[ "$(stat -c %a out/in/prose/sample.txt)" = 640 ] || fail "mode 0640 not restored"
[ "$(stat -c %a out/in/odd/one)" = 755 ] || fail "mode 0755 not restored"
[ "$(stat -c %Y out/in/odd/crlf.txt)" = "$(stat -c %Y in/odd/crlf.txt)" ] || fail "mtime not restored"

# model coding forced for every member (exercises the coder with several
# chunks per member and all members decoded together); through stdout/stdin
"$SZARC" create --format 1 -f - --device cpu --quiet --method model --chunk 16 in > m.szarc || fail "create (model)"
"$SZARC" list -f m.szarc | grep -q ' model ' || fail "no model-coded member"
rm -rf out && mkdir out
"$SZARC" extract -f - -C out --device cpu --quiet < m.szarc || fail "extract (model, stdin)"
diff -r in out/in || fail "model round trip differs"

# a single member by name, and a directory by name
rm -rf out && mkdir out
"$SZARC" extract -f m.szarc -C out --quiet "in/odd/nul.bin" ./in/prose/ || fail "extract MEMBER"
[ "$(find out -type f | sort | tr '\n' ' ')" = "out/in/odd/nul.bin out/in/prose/sample.txt " ] \
  || fail "extract MEMBER restored: $(find out -type f | tr '\n' ' ')"
"$SZARC" extract -f m.szarc -C out --quiet in/nothing 2>/dev/null && fail "unknown MEMBER accepted"

# relative paths as given: "./" stripped, "." stores names without a prefix
(cd in && "$SZARC" create --format 1 -f ../dot.szarc --device cpu --quiet . ./prose/) || fail "create ."
"$SZARC" list -f dot.szarc | grep -q ' odd/empty$' || fail "'.' member names"
[ "$("$SZARC" list -f dot.szarc | grep -c 'prose/sample.txt$')" = 1 ] || fail "duplicates kept"

# GNU tar reads the archive: lists it, extracts the raw members; a zstd
# packet's body is one zstd frame
tar -tvf a.szarc > tar.txt || fail "tar -tvf"
head -1 tar.txt | grep -q 'szarc/manifest.json' || fail "first member is not the manifest"
grep -q 'szarc/README.txt' tar.txt || fail "no README member"
grep -q 'data/in/ünïcode/scripts.txt.szp' tar.txt || fail "Unicode member name"
mkdir raw && tar -xf a.szarc -C raw 2> tarerr.txt || fail "GNU tar extract"
[ ! -s tarerr.txt ] || fail "GNU tar complained: $(cat tarerr.txt)"
grep -q 'szarc extract' raw/szarc/README.txt || fail "README lacks instructions"
"$SZARC" create --format 1 -f z.szarc --device cpu --quiet --method zstd in/prose || fail "create (zstd)"
tar -xf z.szarc -C raw
tail -c +17 raw/data/in/prose/sample.txt.szp | zstd -dcq | cmp - in/prose/sample.txt \
  || fail "zstd packet body is not a plain zstd frame"

# a 1 MB single line; model coding of 1 MB costs minutes on the C reference
# with a test model, so this round trip takes the zstd and stored paths
mkdir big
yes 'szarc packs one long line of words ' | tr -d '\n' | head -c 1000000 > big/line.txt
[ "$(wc -c < big/line.txt)" = 1000000 ] && [ "$(wc -l < big/line.txt)" = 0 ] || fail "1 MB line"
"$SZARC" create --format 1 -f big.szarc --device cpu --quiet --method zstd big || fail "create (1 MB)"
"$SZARC" create --format 1 -f bigs.szarc --device cpu --quiet --method stored big || fail "create (1 MB stored)"
for a in big bigs; do
  rm -rf out && mkdir out
  "$SZARC" extract -f $a.szarc -C out --quiet || fail "extract $a"
  cmp big/line.txt out/big/line.txt || fail "1 MB line differs ($a)"
done

# binary files: never model-coded, never larger than input + 16 bytes
CANT="$SRC/../shared/bench/canterbury"
if [ -f "$CANT/fireworks.jpeg" ] && [ -f "$CANT/paper-100k.pdf" ]; then
  mkdir bin && cp "$CANT/fireworks.jpeg" "$CANT/paper-100k.pdf" bin/
  "$SZARC" create --format 1 -f bin.szarc --device cpu --quiet bin || fail "create (binary)"
  rm -rf out && mkdir out
  "$SZARC" extract -f bin.szarc -C out --quiet || fail "extract (binary)"
  cmp bin/fireworks.jpeg out/bin/fireworks.jpeg && cmp bin/paper-100k.pdf out/bin/paper-100k.pdf \
    || fail "binary round trip differs"
  "$SZARC" list -f bin.szarc --json > bin.json
  jpg=$(wc -c < bin/fireworks.jpeg)
  "$SZARC" list -f bin.szarc | awk -v max=$((jpg + 16)) '/fireworks/ { exit !($3 <= max) }' \
    || fail "fireworks.jpeg grew by more than the packet header"
else
  echo "skipping the Canterbury binaries: $CANT not found"
fi
echo ok
