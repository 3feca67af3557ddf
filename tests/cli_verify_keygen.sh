#!/usr/bin/env bash
# cli_verify_keygen.sh: szarc keygen writes an Ed25519 pair (private key
# mode 0600, PEM that OpenSSL reads), refuses to overwrite without --force,
# and its fingerprint is the one verify reports; create --sign refuses a
# missing or unusable key before writing anything.
# Usage: cli_verify_keygen.sh SZARC
set -eu
SZARC=$1
. "$(dirname "$0")/testlib.sh"

"$SZARC" keygen -o k > out.txt || fail "keygen"
[ "$(stat -c %a k)" = 600 ] || fail "private key mode $(stat -c %a k)"
head -n1 k | grep -qx -- '-----BEGIN PRIVATE KEY-----' || fail "private key is not PEM"
head -n1 k.pub | grep -qx -- '-----BEGIN PUBLIC KEY-----' || fail "public key is not PEM"
fp=$(sed -n 's/^fingerprint  *//p' out.txt)
[ ${#fp} = 64 ] || fail "fingerprint: $(cat out.txt)"
if command -v openssl > /dev/null; then
  openssl pkey -in k -noout -text 2> /dev/null | grep -q ED25519 || fail "openssl: private"
  openssl pkey -pubin -in k.pub -noout 2> /dev/null || fail "openssl: public"
fi

# no overwrite without --force (exit 2, files unchanged); --force replaces both
cp k k.orig
rc=0; "$SZARC" keygen -o k 2> err.txt || rc=$?
[ "$rc" = 2 ] && grep -q "exists (use --force" err.txt || fail "overwrite: exit $rc"
cmp k k.orig || fail "the key changed"
rm k.pub
rc=0; "$SZARC" keygen -o k 2> /dev/null || rc=$?
[ "$rc" = 2 ] && [ ! -e k.pub ] || fail "keygen with only the private key present"
"$SZARC" keygen -o k --force > out2.txt || fail "keygen --force"
cmp -s k k.orig && fail "--force kept the old key"
[ "$(stat -c %a k)" = 600 ] || fail "mode after --force"
rc=0; "$SZARC" keygen 2> /dev/null || rc=$?
[ "$rc" = 2 ] || fail "keygen without -o: exit $rc"

# the fingerprint verify prints is keygen's
fp=$(sed -n 's/^fingerprint  *//p' out2.txt)
mkdir in && cp "$SRC/tests/data/text/sample.txt" in/
"$SZARC" create -f a.szarc --device cpu --quiet --method stored --sign k in || fail "create"
"$SZARC" verify -f a.szarc --quick --pubkey k.pub > out.txt || fail "verify: $(cat out.txt)"
grep -q "^signature: ok, key $fp (the --pubkey key)" out.txt || fail "fingerprint: $(cat out.txt)"

# create --sign with a missing key, or with a public key: exit 2, no archive
rc=0; "$SZARC" create -f b.szarc --quiet --method stored --sign nonexistent in 2> err.txt || rc=$?
[ "$rc" = 2 ] && [ ! -e b.szarc ] || fail "missing key: exit $rc"
rc=0; "$SZARC" create -f b.szarc --quiet --method stored --sign k.pub in 2> err.txt || rc=$?
[ "$rc" = 2 ] && [ ! -e b.szarc ] && grep -q "not a PEM private key" err.txt \
  || fail "public key as signing key: exit $rc: $(cat err.txt)"
[ -z "$(ls -A | grep szarc- || true)" ] || fail "temporary files left: $(ls -A)"
echo ok
