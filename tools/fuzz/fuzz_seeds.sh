#!/usr/bin/env bash
# fuzz_seeds.sh: regenerates the seed corpora of the whole-archive and
# decoding fuzz targets (tests/fuzz/) from real archives made by the built szarc
# with the tiny test model:
#   tests/data/fuzz/archive/, tests/data/fuzz/verify/   whole archives: stored,
#       zstd, model-coded and mixed members, an empty file member, semantic
#       mode (with and without --protect; format 1 and 2), signed (--sign),
#       --embed-model, and
#       damaged variants (cut short, a flipped packet, manifest or signature
#       byte, a member hidden after the end, a reordered member, foreign tars)
#   tests/data/fuzz/decode/   model and semantic packets of a few hundred
#       tokens at most (fuzz_decode skips larger ones), and damaged variants
#   tests/data/fuzz/{packet,manifest,statement}/archive_*   members of these
#       archives, next to the hand-made seeds
#   tests/data/fuzz/index/index_*   collection indexes (create --volumes)
# The output is the same on every run (SOURCE_DATE_EPOCH, fixed mtimes and
# modes, a fixed throwaway signing key, the C reference); files are written
# over, never deleted, so crash reproducers kept in the corpora stay.
#   tools/fuzz/fuzz_seeds.sh [BUILD_DIR]     (default: build)
# BUILD_DIR must hold szarc, tools/gen_model and models/tiny-gqa.gguf.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
szarc=$build/szarc
model=$build/models/tiny-gqa.gguf
for f in "$szarc" "$build/tools/gen_model" "$model"; do
  [ -e "$f" ] || { echo "fuzz_seeds.sh: $f is missing: build $build first" >&2; exit 2; }
done
out=$src/tests/data/fuzz
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
export SOURCE_DATE_EPOCH=1700000000 TZ=UTC LC_ALL=C

# A throwaway Ed25519 key, fixed so that the signed seeds are reproducible.
# It signs nothing but these test files.
cat > seed.key <<'EOF'
-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIPFfeX5N+6jXtAKI/+rdppY2eJb/2AO1gM9G/u9Hu3Ra
-----END PRIVATE KEY-----
EOF
chmod 600 seed.key

# Inputs: short texts (a few hundred tokens), a binary file and an empty one.
mkdir in
head -c 640 "$src/tests/data/text/sample.txt" > in/note.txt
printf 'Invoice 2024-117: pay EUR 1,250.00 to ACME Ltd. by 31 March 2025; do not ship before payment. Contact j.doe@example.org or +44 20 7946 0958.\n' > in/record.txt
printf 'The river runs past the old mill and under the stone bridge.\n' > in/short.txt
head -c 260 "$src/tests/data/text/sample.txt" > in/mid.txt
: > in/empty.txt
awk 'BEGIN { x = 7; for (i = 0; i < 600; i++) { x = (x * 1103515245 + 12345) % 2147483648; printf "%c", int(x / 65536) % 256 } }' > in/blob.bin
mkdir in/sub
printf 'a file in a directory\n' > in/sub/deep.txt
chmod 644 in/*.* in/sub/*
chmod 755 in/sub
find in -exec touch -h -d @1700000000 {} +

# szarc create with the tiny model on the C reference, run inside in/: format 1
# (mk), format 2 (mk2, named f2_*).
mk() {
  local name=$1; shift
  (cd in && "$szarc" create -q -f "$T/$name" --device cpu --chunk 64 --format 1 "$@")
}
mk2() {
  local name=$1; shift
  (cd in && "$szarc" create -q -f "$T/$name" --device cpu --chunk 64 "$@")
}
mk stored.szarc --model "$model" --method stored note.txt empty.txt
mk zstd.szarc --model "$model" --method zstd note.txt record.txt
mk model.szarc --model "$model" --method model note.txt empty.txt
mk auto.szarc --model "$model" note.txt record.txt blob.bin empty.txt sub
mk empty_member.szarc --model "$model" empty.txt
mk semantic.szarc --model "$model" --mode semantic --level 3 --method semantic note.txt
mk semantic_protect.szarc --model "$model" --mode semantic --level 2 --method semantic \
  --protect 'ACME [A-Z][a-z]+' --protect 'j\.doe' record.txt
mk signed.szarc --model "$model" --sign "$T/seed.key" note.txt empty.txt record.txt
mk signed_semantic.szarc --model "$model" --sign "$T/seed.key" --mode semantic --level 1 \
  --method semantic record.txt
# --embed-model: the tiny model in Q8_0 (the same weights, a quarter of the bytes)
"$build/tools/gen_model" --out tiny-q8_0.gguf --shape tiny-gqa --type q8_0
mk embed.szarc --model "$T/tiny-q8_0.gguf" --embed-model --method model short.txt
# small model-coded archives for the decode corpus
mk model_small.szarc --model "$model" --method model short.txt mid.txt
(cd in && "$szarc" create -q -f "$T/model_chunk16.szarc" --device cpu --chunk 16 \
  --format 1 --model "$model" --method model record.txt)
mk2 f2_auto.szarc --model "$model" note.txt record.txt blob.bin empty.txt sub
mk2 f2_model.szarc --model "$model" --method model note.txt short.txt empty.txt
mk2 f2_zstd.szarc --model "$model" --method zstd note.txt record.txt mid.txt
mk2 f2_signed.szarc --model "$model" --sign "$T/seed.key" note.txt empty.txt record.txt
mk2 f2_semantic.szarc --model "$model" --mode semantic --level 3 --method semantic \
  --protect 'ACME [A-Z][a-z]+' note.txt record.txt empty.txt
mk2 f2_signed_semantic.szarc --model "$model" --sign "$T/seed.key" --mode semantic --level 1 \
  --method semantic record.txt short.txt

# Byte surgery (as tests/testlib.sh does it).
byte_at() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
putbyte() { printf "$(printf '\\%03o' "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
flip() { cp "$1" "$4"; putbyte "$4" "$2" $(( $(byte_at "$1" "$2") ^ $3 )); }
# another hex digit in place of the one at OFF: the text still parses
hexflip() { cp "$1" "$3"; putbyte "$3" "$2" $(( $(byte_at "$1" "$2") == 48 ? 49 : 48 )); }
data_offset() {
  local blk
  blk=$(tar -tRvf "$1" | grep " $2\$" | sed 's/^block \([0-9]*\):.*/\1/')
  echo $(( (blk + 1) * 512 ))
}
damaged() {
  local a=signed.szarc sz
  sz=$(stat -c %s $a)
  head -c $(( sz / 2 )) $a > damaged_truncated.szarc
  head -c $(( sz - 1024 )) $a > damaged_no_end.szarc
  flip $a $(( $(data_offset $a data/note.txt.szp) + 40 )) 1 damaged_packet.szarc
  flip $a $(( $(data_offset $a szarc/manifest.json) + 30 )) 4 damaged_manifest.szarc
  # the statement: a broken keyword, a digest that is not the manifest's, a
  # signature that does not match, a key that did not sign it
  local st line
  st=$(data_offset $a szarc/signature)
  tar -xOf $a szarc/signature > statement.txt
  flip $a $(( st + 3 )) 4 damaged_statement_syntax.szarc
  line=$(grep -boa '^manifest-sha256 ' statement.txt | cut -d: -f1)
  hexflip $a $(( st + line + 16 )) damaged_statement_digest.szarc
  line=$(grep -boa '^signature ed25519 ' statement.txt | cut -d: -f1)
  hexflip $a $(( st + line + 18 + 65 + 9 )) damaged_signature.szarc
  hexflip $a $(( st + line + 18 + 5 )) damaged_signature_key.szarc
  flip $a 100 1 damaged_header_mode.szarc
  # a member after the end-of-archive marker (tar -i lists it)
  (cd in && tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime=@1700000000 \
    -cf "$T/hidden.tar" short.txt)
  cat model.szarc hidden.tar > damaged_hidden_member.szarc
  # a foreign tar, and the packets of model.szarc in the wrong order
  (cd in && tar --format=pax --owner=0 --group=0 --numeric-owner --mtime=@1700000000 \
    --pax-option=delete=atime,delete=ctime -cf "$T/foreign.tar" note.txt)
  mkdir swap && (cd swap && tar -xf ../auto.szarc)
  (cd swap && tar --format=pax --owner=0 --group=0 --numeric-owner --mtime=@1700000000 \
    --pax-option=delete=atime,delete=ctime -cf ../damaged_reordered.szarc \
    szarc/manifest.json szarc/README.txt data/record.txt.szp data/note.txt.szp \
    data/blob.bin.szp data/empty.txt.szp data/sub/deep.txt.szp)
  : > empty.bin
  head -c 3000 "$src/tests/data/text/sample.txt" > not_tar.txt
  # format 2: a damaged group, a damaged manifest frame, cut short
  a=f2_signed.szarc
  sz=$(stat -c %s $a)
  flip $a $(( $(data_offset $a data/00000000.szg) + 40 )) 1 f2_damaged_group.szarc
  flip $a $(( $(data_offset $a szarc/manifest.json.zst) + 30 )) 4 f2_damaged_manifest.szarc
  head -c $(( sz / 2 )) $a > f2_damaged_truncated.szarc
}
damaged

# Every corpus gets only its own kind of input.
copy() { local dir=$out/$1; shift; mkdir -p "$dir"; for f; do cp "$f" "$dir/"; done; }
archives=(stored.szarc zstd.szarc model.szarc auto.szarc empty_member.szarc semantic.szarc
          semantic_protect.szarc signed.szarc signed_semantic.szarc embed.szarc
          damaged_*.szarc foreign.tar empty.bin not_tar.txt f2_*.szarc)
copy archive "${archives[@]}"
copy verify "${archives[@]}"

# Packets: what fuzz_decode decodes (model and semantic, small), damaged copies.
pk() { tar -xOf "$1" "data/$2.szp" > "$3"; }
pk model_small.szarc short.txt decode_model_short.szp
pk model_chunk16.szarc record.txt decode_model_chunk16.szp
pk model_small.szarc mid.txt decode_model_mid.szp
pk semantic_protect.szarc record.txt decode_semantic_protect.szp
sz=$(stat -c %s decode_model_chunk16.szp)
head -c $(( sz - 3 )) decode_model_chunk16.szp > decode_damaged_truncated.szp
flip decode_model_chunk16.szp $(( sz - 20 )) 16 decode_damaged_stream.szp
flip decode_model_short.szp 40 1 decode_damaged_table.szp
copy decode decode_*.szp
for f in "$out"/decode/decode_*.szp; do mv "$f" "$out/decode/$(basename "$f" | sed 's/^decode_//')"; done

# Members of the archives for the parsers' own targets.
pk auto.szarc blob.bin archive_blob.szp
pk model.szarc empty.txt archive_stored_empty.szp
pk zstd.szarc record.txt archive_zstd_record.szp
copy packet archive_*.szp
tar -xOf semantic_protect.szarc szarc/manifest.json > archive_semantic_protect.json
tar -xOf auto.szarc szarc/manifest.json > archive_auto.json
tar -xOf embed.szarc szarc/manifest.json > archive_embed.json
copy manifest archive_*.json
tar -xOf signed.szarc szarc/signature > archive_signed.txt
tar -xOf signed_semantic.szarc szarc/signature > archive_signed_semantic.txt
copy statement archive_signed.txt archive_signed_semantic.txt
tar -xOf f2_auto.szarc szarc/manifest.json.zst > archive_f2_auto.json.zst
tar -xOf f2_signed.szarc szarc/manifest.json.zst > archive_f2_signed.json.zst
tar -xOf f2_semantic.szarc szarc/manifest.json.zst > archive_f2_semantic.json.zst
tar -xOf f2_signed_semantic.szarc szarc/manifest.json.zst > archive_f2_signed_semantic.json.zst
copy manifest2 archive_f2_*.json.zst
tar -xOf f2_signed.szarc szarc/signature > archive_signed_v2.txt
tar -xOf f2_signed_semantic.szarc szarc/signature > archive_signed_v2_semantic.txt
copy statement archive_signed_v2.txt archive_signed_v2_semantic.txt

# Collection indexes (docs/format.md section V), unsigned and signed, for
# fuzz_index (its hand-made seeds, damaged and hostile, sit next to them).
(cd in && "$szarc" create -q -f "$T/coll" --device cpu --chunk 64 --model "$model" --volumes 2 \
  note.txt record.txt short.txt)
(cd in && "$szarc" create -q -f "$T/scoll" --device cpu --chunk 64 --model "$model" --volumes 3 \
  --sign "$T/seed.key" note.txt record.txt short.txt mid.txt)
cp coll.szarc-index index_unsigned.szarc-index
cp scoll.szarc-index index_signed.szarc-index
copy index index_unsigned.szarc-index index_signed.szarc-index

for d in archive verify decode; do
  printf '%-10s %3d files %8d bytes\n' "$d" "$(find "$out/$d" -type f | wc -l)" "$(cat "$out/$d"/* | wc -c)"
done
