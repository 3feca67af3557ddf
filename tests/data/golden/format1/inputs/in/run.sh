#!/bin/sh
# unpack the notes and count their lines
set -eu
for f in notes/*.txt; do
  printf "%s: %s lines\n" "$f" "$(wc -l < "$f")"
done
