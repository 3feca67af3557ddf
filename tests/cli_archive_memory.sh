#!/usr/bin/env bash
# cli_archive_memory.sh: create, extract and verify keep their memory
# bounded whatever the input (issue 13: peak RSS at most 256 MiB plus the
# model): a 2 GiB tree (three sparse 620 MiB files, 200 MiB of text in one
# file, 2,000 small files) is archived with zstd groups, extracted and
# verified, each under /usr/bin/time; the extracted tree must equal the
# input. Then 1 MiB of random words, model-coded by the default model
# (every context new: the count model's worst case), created and extracted
# under the same limit. Takes about three minutes and 2.2 GB of disk (the
# extracted copy).
#   tests/cli_archive_memory.sh SZARC
SZARC=$1
. "$(dirname "$0")/testlib.sh"
model=${SZARC_MODEL:?the tiny test model (SZARC_MODEL)}
[ -x /usr/bin/time ] || { echo "no /usr/bin/time: skipped"; exit 77; }
avail=$(df -Pk . | awk 'NR==2 {print $4}')
[ "$avail" -gt $((3 * 1024 * 1024)) ] || { echo "less than 3 GiB of disk: skipped"; exit 77; }

mkdir -p in/big in/small
for i in 1 2 3; do truncate -s 620M in/big/sparse$i.bin; done
yes 'the same line of text, again and again, for two hundred megabytes' |
  head -c 200M > in/big/text.txt
for i in $(seq 1 2000); do printf 'small file %d\n' "$i" > in/small/f$i.txt; done
in_bytes=$(du -b --apparent-size -s in | cut -f1)
check "input is 2 GiB" "[ $in_bytes -ge $((2 * 1024 * 1024 * 1024)) ]"

model_kib=$(( $(stat -c %s "$model") / 1024 ))
limit=$(( 256 * 1024 + model_kib ))
bounded() { # LABEL LIMIT WHAT CMD...: runs CMD; its peak RSS at most LIMIT KiB
  local label=$1 lim=$2 what=$3; shift 3
  /usr/bin/time -f '%M' -o "$label.rss" "$@" > "$label.out" 2>&1 ||
    { cat "$label.out"; fail "$label exited non-zero"; }
  local kib
  kib=$(tail -n1 "$label.rss")
  echo "$what: peak RSS $kib KiB (limit $lim)"
  check "$what: memory bounded" "[ $kib -le $lim ]"
}
bounded create $limit create "$SZARC" create -q --device cpu --model "$model" --method zstd \
  -f a.szarc in
mkdir out
bounded extract $limit extract "$SZARC" extract -q --device cpu --model "$model" -f a.szarc -C out
check "extracted tree equals the input" "diff -r in out/in > /dev/null"
rm -rf out
bounded verify $limit verify "$SZARC" verify -q --device cpu --model "$model" -f a.szarc

# a model-coded group whose every context is new (1 MiB of random words):
# the count model's memory stays bounded too (format.md, "Count model")
mkdir -p words
python3 -c "
import random
random.seed(1)
a = 'abcdefghijklmnopqrstuvwxyz'
out, n = [], 0
while n < 1048000:
    w = ''.join(random.choice(a) for _ in range(random.randint(1, 9)))
    out.append(w)
    n += len(w) + 1
open('words/random.txt', 'w').write(' '.join(out)[:1048000])"
# the default model: its 4,096 tokens make more distinct contexts than the
# tiny model's (counting every position of this group took 299 MB with it)
default=$SRC/models/szarc-default.gguf
[ -f "$default" ] || fail "$default: no default model"
dlimit=$(( 256 * 1024 + $(stat -c %s "$default") / 1024 ))
bounded wcreate $dlimit "create, model-coded random words" \
  "$SZARC" create -q --device cpu --model "$default" --method model -f w.szarc words
mkdir wout
bounded wextract $dlimit "extract, model-coded random words" \
  "$SZARC" extract -q --device cpu --model "$default" -f w.szarc -C wout
check "the random words come back" "cmp words/random.txt wout/words/random.txt"
exit $fail
