#!/usr/bin/env bash
# deb_smoke.sh [DIR]: installs the szarc package built by `make deb` (DIR,
# default build-deb) into this system with apt, runs /usr/bin/szarc create,
# list, verify and extract on a few files with the installed default model
# (no $SZARC_MODEL), checks the manual page and completion are there, and
# removes the package again. Needs root; changes the system while it runs.
set -euo pipefail
DIR=$(cd "${1:-build-deb}" && pwd)
deb=$(ls "$DIR"/szarc_*.deb)
src=$(cd "$(dirname "$0")/../.." && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"; apt-get remove -y -qq szarc > /dev/null 2>&1 || true' EXIT
unset SZARC_MODEL
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" > "$t/apt.log" 2>&1 ||
  { cat "$t/apt.log"; exit 1; }
cd "$t"
mkdir in
cp "$src/README.md" "$src/LICENSE" in/
/usr/bin/szarc --version
/usr/bin/szarc create -f a.szarc --device cpu in 2> create.txt
cat create.txt
grep -q "model /usr/share/szarc/models/szarc-default.gguf$" create.txt
/usr/bin/szarc list -f a.szarc
/usr/bin/szarc verify -f a.szarc --device cpu | tail -n1 | grep ": verified;"
mkdir out && /usr/bin/szarc extract -q -f a.szarc -C out && diff -r in out/in
man -w szarc-create > /dev/null
[ -s /usr/share/bash-completion/completions/szarc ]
apt-get remove -y -qq szarc > /dev/null
[ ! -e /usr/bin/szarc ] && [ ! -e /usr/share/szarc/models/szarc-default.gguf ]
echo "deb_smoke: installed, create, list, verify, extract with /usr/bin/szarc, removed: ok"
