#!/usr/bin/env bash
# collections.sh: szarc against xz, zstd and bzip2 on five collections of
# text built from what a Debian machine holds (issue 13).
#
#   tools/bench/collections.sh WORKDIR [SZARC [MODEL]]
#
# WORKDIR      made if missing; collections/, archives/ and extracted/ go
#              there (rebuilt on every run), and results.md (the table)
# SZARC        the szarc binary (default: $SZARC, else build/szarc)
# MODEL        the model (default: $SZARC_MODEL, else models/szarc-default.gguf)
# Environment:
#   SZARC_DEVICE        --device for create and extract (default cpu)
#   SZARC_CREATE_OPTS   more create options, word-split (for example
#                       "--chunk 512"), so the same script measures format 1
#                       and format 2 writers
#   SZARC_EXTRACT_OPTS  more extract options, word-split
#   CANTERBURY          folder holding alice29.txt (default /work/shared/bench/canterbury)
#   COLLECTIONS         which to run, space-separated (default: all five)
#   REUSE=1             keep the collections already in WORKDIR/collections
#                       (build only the missing ones): the machine's files
#                       change as packages come and go, so a before/after
#                       comparison (format 1, format 2) should run twice on
#                       one WORKDIR, the second time with REUSE=1
#
# The collections (every list sorted bytewise, LC_ALL=C; every file copied
# with mode 0644 and mtime 1600000000; SOURCE_DATE_EPOCH=1700000000):
#   copyright   /usr/share/doc/*/copyright that are regular files (not
#               through a symlinked folder) of at most 3000 bytes, in path
#               order, the first 300 (exact duplicates kept), stored as
#               copyright/PKG/copyright
#   man         the section-1 man pages of 40 fixed commands (MAN_PAGES
#               below: coreutils, tar, grep, sed, findutils, gzip, diffutils,
#               procps), rendered by man-db as plain text: LC_ALL=C.UTF-8,
#               MANWIDTH=80, `man -l PAGE | col -bx`, as man/CMD.1.txt. A
#               command without a page is skipped with a warning. Where
#               man-db is missing, the roff sources (zcat) stand in, named
#               man/CMD.1 and the table says "man (roff sources)"
#   licences+source  /usr/share/common-licenses/{GPL-3,Apache-2.0} and the
#               Python modules of PY_MODULES (about 150 KB) from the newest
#               /usr/lib/python3.N (sort -V)
#   logs+dpkg   /var/lib/dpkg/status, /var/log/dpkg.log and
#               /var/log/apt/history.log when present, each cut to its
#               first whole lines within 204800 bytes (the start of a log
#               is what stays the same as it grows)
#   alice29     alice29.txt of the Canterbury corpus
# Each collection's digest (sha256 of its sorted sha256sum list, first 12
# digits) is printed so runs on one machine can be compared.
#
# Measured per collection: files, input bytes, `tar -c | xz -9e`,
# `| zstd -19 --long`, `| bzip2 -9` (GNU tar, --sort=name, owner 0, fixed
# mtime), the szarc archive's bytes with create's wall time, extract's
# wall time, szarc/xz, and the sum of the archive's packets (list --json
# packet_bytes: the archive less its manifest, README and tar framing). The extracted tree must equal the input
# (diff -r), else the script stops with exit 1.
set -euo pipefail
export LC_ALL=C
export SOURCE_DATE_EPOCH=1700000000
src=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -ge 1 ] || { sed -n '4,5p' "$0" >&2; exit 2; }
work=$(realpath -m "$1")
szarc=$(realpath "${2:-${SZARC:-$src/build/szarc}}")
model=$(realpath "${3:-${SZARC_MODEL:-$src/models/szarc-default.gguf}}")
device=${SZARC_DEVICE:-cpu}
canterbury=${CANTERBURY:-/work/shared/bench/canterbury}
collections=${COLLECTIONS:-copyright man licences+source logs+dpkg alice29}
read -r -a create_opts <<< "${SZARC_CREATE_OPTS:-}"
read -r -a extract_opts <<< "${SZARC_EXTRACT_OPTS:-}"

MAN_PAGES="cat chmod chown cmp cp cut date dd df diff du env find grep gzip head id
join kill ln ls mkdir mv paste ps rm sed sha256sum sort split stat tail tar tee
touch tr uname uniq wc xargs"
PY_MODULES="base64.py bisect.py csv.py fnmatch.py glob.py heapq.py json/decoder.py
json/encoder.py shlex.py string.py textwrap.py"
CAP=204800

die() { echo "collections.sh: $*" >&2; exit 1; }
note() { echo "collections.sh: $*" >&2; }
for t in tar xz zstd bzip2 diff; do
  command -v $t > /dev/null || die "$t is missing"
done
[ -x "$szarc" ] || die "$szarc: no szarc binary"
[ -f "$model" ] || die "$model: no model"

mkdir -p "$work"
cd "$work"
[ "${REUSE:-0}" = 1 ] || rm -rf collections
rm -rf archives extracted
mkdir -p collections archives extracted

put() { # SRC DEST: copy one file into the collection
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2"
}
head_lines() { # FILE: its first whole lines within $CAP bytes
  awk -v cap=$CAP '{ n += length($0) + 1; if (n > cap) exit; print }' "$1"
}

build_copyright() {
  find /usr/share/doc -mindepth 2 -maxdepth 2 -name copyright -type f -size -3001c |
    sort | head -n 300 | while read -r f; do
      put "$f" "copyright/$(basename "$(dirname "$f")")/copyright"
    done
}
man_label=man
build_man() {
  mkdir -p man
  local c page
  for c in $MAN_PAGES; do
    page=$(ls /usr/share/man/man1/"$c".1.gz /usr/share/man/man1/"$c".1 2>/dev/null | head -n1 || true)
    [ -n "$page" ] || { note "warning: no man page for $c; skipped"; continue; }
    if command -v man > /dev/null && command -v col > /dev/null; then
      LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$page" 2> /dev/null | col -bx > "man/$c.1.txt"
      [ -s "man/$c.1.txt" ] || die "man -l $page gave nothing"
    else
      man_label="man (roff sources)"
      zcat -f "$page" > "man/$c.1"
    fi
  done
}
build_licences() {
  local py m
  py=$(ls -d /usr/lib/python3.*/ 2>/dev/null | sort -V | tail -n1)
  [ -n "$py" ] || die "no /usr/lib/python3.N"
  put /usr/share/common-licenses/GPL-3 licences+source/GPL-3
  put /usr/share/common-licenses/Apache-2.0 licences+source/Apache-2.0
  for m in $PY_MODULES; do
    put "$py$m" "licences+source/python/$m"
  done
}
build_logs() {
  local f
  mkdir -p logs+dpkg
  for f in /var/lib/dpkg/status /var/log/dpkg.log /var/log/apt/history.log; do
    [ -f "$f" ] || { note "$f: not here; skipped"; continue; }
    head_lines "$f" > "logs+dpkg/$(basename "$f")"
  done
}
build_alice() {
  put "$canterbury"/alice29.txt alice29/alice29.txt
}

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
tarc() { tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1600000000 -cf - "$1"; }

version=$("$szarc" --version 2>/dev/null || true)
{
  echo "szarc: $szarc ${version:+($version)}"
  echo "model: $model ($(sha256sum < "$model" | cut -c1-12)...)"
  echo "device: $device; create options: ${SZARC_CREATE_OPTS:-none}; extract options: ${SZARC_EXTRACT_OPTS:-none}"
  echo "machine: $(uname -srm), $(nproc) CPUs; $(uptime)"
  echo
} | tee results.md >&2

rows=()
fmt=?
for c in $collections; do
  cd "$work/collections"
  if [ "${REUSE:-0}" = 1 ] && [ -d "$c" ]; then
    note "$c: reused"
  else case $c in
    copyright) build_copyright ;;
    man) build_man ;;
    licences+source) build_licences ;;
    logs+dpkg) build_logs ;;
    alice29) build_alice ;;
    *) die "$c: unknown collection" ;;
  esac; fi
  [ -d "$c" ] || die "$c: nothing collected"
  find "$c" -type d -exec chmod 755 {} +
  find "$c" -type f -exec chmod 644 {} +
  find "$c" -exec touch -h -d @1600000000 {} +
  files=$(find "$c" -type f | wc -l)
  bytes=$(find "$c" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
  digest=$(find "$c" -type f | sort | xargs -d '\n' sha256sum | sha256sum | cut -c1-12)
  label=$c
  [ "$c" = man ] && label=$man_label
  note "$label: $files files, $bytes bytes, digest $digest"

  xz_b=$(tarc "$c" | xz -9e -T1 | wc -c)
  zstd_b=$(tarc "$c" | zstd -19 --long -q -c | wc -c)
  bz_b=$(tarc "$c" | bzip2 -9 | wc -c)

  archive=$work/archives/$c.szarc
  t0=$(now)
  "$szarc" create -q --device "$device" --model "$model" "${create_opts[@]}" -f "$archive" "$c" ||
    die "$c: szarc create exited $?"
  t1=$(now)
  sz_b=$(wc -c < "$archive")
  out=$work/extracted/$c
  mkdir -p "$out"
  t2=$(now)
  "$szarc" extract -q --device "$device" --model "$model" "${extract_opts[@]}" -f "$archive" -C "$out" ||
    die "$c: szarc extract exited $?"
  t3=$(now)
  diff -r "$c" "$out/$c" > /dev/null || {
    diff -r "$c" "$out/$c" | head -n 20 >&2
    die "$c: THE EXTRACTED TREE DIFFERS FROM THE INPUT"
  }
  "$szarc" list --json -f "$archive" > "$work/archives/$c.list.json"
  fmt=$(sed -n 's/^  "format_version": \([0-9]*\),$/\1/p' "$work/archives/$c.list.json")
  packets=$(sed -n 's/^  "packet_bytes": \([0-9]*\),$/\1/p' "$work/archives/$c.list.json")
  ratio=$(awk -v a="$sz_b" -v b="$xz_b" 'BEGIN { printf "%.3f", a / b }')
  row="| $label | $digest | $files | $bytes | $xz_b | $zstd_b | $bz_b | $sz_b | ${packets:--} | $ratio | $(secs "$t0" "$t1") | $(secs "$t2" "$t3") |"
  note "$row"
  rows+=("$row")
done

{
  echo "| collection | digest | files | input bytes | xz -9e | zstd -19 --long | bzip2 -9 | szarc (format $fmt) | its packets | szarc/xz | create s | extract s |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
} | tee -a results.md
