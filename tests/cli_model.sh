#!/usr/bin/env bash
# cli_model.sh: the model commands as a user runs them. `model eval` on two
# devices (the C reference and Vulkan) gives the same digest, teacher-forced
# and in decode mode; JSON carries the documented keys; bad input gets a
# clear message and the documented exit code.
set -u
SZARC=$1
. "$(dirname "$0")/testlib.sh"
szarc=$SZARC
tmp=$T
src=${SZARC_SOURCE_DIR:?}
models=${SZARC_BUILD_DIR:?}/models
sample=$src/tests/data/text/sample.txt

have_vk=1
"$szarc" devices --json > "$tmp/dev.json" || fail=1
grep -q '"id": "vk:0"' "$tmp/dev.json" || have_vk=0
if [ $have_vk = 0 ] && [ "${SZARC_REQUIRE_VULKAN:-0}" = 1 ]; then echo "FAIL no Vulkan device"; exit 1; fi

for m in tiny-gqa small-mha; do
  "$szarc" model eval "$sample" --model "$models/$m.gguf" --device cpu --json --quiet > "$tmp/cpu.json"
  check "$m: eval on cpu exits 0" '[ $? = 0 ]'
  for k in tokens bytes bits bits_per_byte tokens_per_s device digest; do
    check "$m: JSON has $k" 'grep -q "\"$k\":" "$tmp/cpu.json"'
  done
  check "$m: bytes is the file size" '[ "$(field bytes "$tmp/cpu.json")" = "$(wc -c < "$sample")" ]'
  "$szarc" model eval "$sample" --model "$models/$m.gguf" --device cpu --no-digest --json --quiet > "$tmp/nod.json"
  check "$m: --no-digest: no digest, the same bits" \
    '! grep -q "\"digest\":" "$tmp/nod.json" && [ "$(field bits "$tmp/nod.json")" = "$(field bits "$tmp/cpu.json")" ]'
  "$szarc" model eval "$sample" --model "$models/$m.gguf" --device cpu --decode --json --quiet > "$tmp/cpud.json"
  check "$m: decode mode has the same digest" '[ "$(field digest "$tmp/cpu.json")" = "$(field digest "$tmp/cpud.json")" ]'
  if [ $have_vk = 1 ]; then
    "$szarc" model eval "$sample" --model "$models/$m.gguf" --device vk:0 --json --quiet > "$tmp/vk.json"
    check "$m: Vulkan digest equals C reference digest" \
      '[ -n "$(field digest "$tmp/vk.json")" ] && [ "$(field digest "$tmp/cpu.json")" = "$(field digest "$tmp/vk.json")" ]'
    "$szarc" model eval "$sample" --model "$models/$m.gguf" --device vk:0 --decode --chunk 64 --json --quiet > "$tmp/vkd.json"
    "$szarc" model eval "$sample" --model "$models/$m.gguf" --device cpu --chunk 64 --json --quiet > "$tmp/cpu64.json"
    check "$m: Vulkan decode, chunk 64, equals C" '[ "$(field digest "$tmp/vkd.json")" = "$(field digest "$tmp/cpu64.json")" ]'
  fi
  "$szarc" model info --model "$models/$m.gguf" --json > "$tmp/info.json"
  check "$m: model info pins the GGUF sha256" \
    'grep -q "\"gguf_sha256\": \"$(sha256sum "$models/$m.gguf" | cut -c1-64)\"" "$tmp/info.json"'
  check "$m: model info has weights_sha256" 'grep -q "\"weights_sha256\": \"[0-9a-f]\{64\}\"" "$tmp/info.json"'
done

# errors: exit codes and messages that name the file and the cause
"$szarc" model info --model "$tmp/missing.gguf" 2> "$tmp/err"; rc=$?
check "missing model: exit 3" '[ $rc = 3 ]'
check "missing model: message names the file" 'grep -q "missing.gguf" "$tmp/err"'
printf 'GGUF\003\000\000\000garbage' > "$tmp/bad.gguf"
"$szarc" model info --model "$tmp/bad.gguf" 2> "$tmp/err"; rc=$?
check "truncated model: exit 3" '[ $rc = 3 ]'
check "truncated model: message names the file" 'grep -q "bad.gguf" "$tmp/err"'
head -c 1000 "$models/tiny-gqa.gguf" > "$tmp/cut.gguf"
"$szarc" model eval "$sample" --model "$tmp/cut.gguf" 2> "$tmp/err"; rc=$?
check "cut model: exit 3" '[ $rc = 3 ]'
"$szarc" model eval "$tmp/nope.txt" --model "$models/tiny-gqa.gguf" 2> "$tmp/err"; rc=$?
check "missing input: exit 2" '[ $rc = 2 ] && grep -q "nope.txt" "$tmp/err"'
"$szarc" model eval "$sample" --model "$models/tiny-gqa.gguf" --device vk:99 2> "$tmp/err"; rc=$?
check "bad device: exit 4 or 2 with a message" '[ $rc = 4 -o $rc = 2 ] && [ -s "$tmp/err" ]'
"$szarc" model eval "$sample" --device gpu7 2> "$tmp/err"; rc=$?
check "unknown device name: exit 2" '[ $rc = 2 ]'
# "auto" runs the faster engine, and `devices` says which: a CPU-type Vulkan
# device (lavapipe) is slower than the C reference, so with only such devices
# auto runs the C reference, without a warning (it is a choice, not a fallback)
"$szarc" devices > "$tmp/devs.txt"
check "devices: says what auto runs" '[ "$(grep -c "^auto: " "$tmp/devs.txt")" = 1 ]'
check "devices --json: says what auto runs" 'grep -q "\"auto\": \"" "$tmp/dev.json"'
# each device names the kernel variant an engine on it runs; lavapipe runs
# the portable kernels unless SZARC_VK_VARIANT says otherwise
if [ $have_vk = 1 ]; then
  check "devices: names a kernel variant per device" 'grep -Eq "^      kernels (portable|tile|dot|subgroup): " "$tmp/devs.txt"'
  check "devices --json: kernels and features" 'grep -q "\"kernels\": \"" "$tmp/dev.json" && grep -q "\"features\": \"" "$tmp/dev.json"'
  if grep -q llvmpipe "$tmp/devs.txt"; then
    check "devices: lavapipe runs the portable kernels" 'grep -q "^      kernels portable: .*dot product" "$tmp/devs.txt"'
    SZARC_VK_VARIANT=dot "$szarc" devices > "$tmp/devs_dot.txt"
    check "devices: SZARC_VK_VARIANT=dot is what lavapipe would run" 'grep -q "^      kernels dot: " "$tmp/devs_dot.txt"'
  fi
fi
if grep -q "^auto: cpu (C reference; vk:[0-9]* is a CPU device)" "$tmp/devs.txt"; then
  "$szarc" model eval "$sample" --model "$models/tiny-gqa.gguf" --json --quiet \
    > "$tmp/auto.json" 2> "$tmp/err"; rc=$?
  check "CPU-type devices only: auto exits 0, no warning" '[ $rc = 0 ] && [ ! -s "$tmp/err" ]'
  check "CPU-type devices only: auto runs the C reference" \
    'case "$(field device "$tmp/auto.json")" in "cpu (C reference"*) true ;; *) false ;; esac'
  "$szarc" model eval "$sample" --model "$models/tiny-gqa.gguf" --device vk:0 --json --quiet \
    > "$tmp/vk0.json"
  check "CPU-type devices only: vk:0 still runs on the device" \
    'case "$(field device "$tmp/vk0.json")" in "cpu (C reference"*) false ;; *) true ;; esac'
elif grep -q "^auto: vk:" "$tmp/devs.txt"; then
  "$szarc" model eval "$sample" --model "$models/tiny-gqa.gguf" --json --quiet > "$tmp/auto.json"
  check "a GPU: auto runs on it" 'case "$(field device "$tmp/auto.json")" in "cpu (C reference"*) false ;; *) true ;; esac'
fi
# no Vulkan loader at all: auto falls back to the C reference with one warning
SZARC_VK_LOADER=/nonexistent/libvulkan.so.1 "$szarc" model eval "$sample" \
  --model "$models/tiny-gqa.gguf" --json --quiet > "$tmp/noloader.json" 2> "$tmp/err"; rc=$?
"$szarc" model eval "$sample" --model "$models/tiny-gqa.gguf" --device cpu --json --quiet > "$tmp/ref.json"
check "no loader: auto exits 0" '[ $rc = 0 ]'
check "no loader: one warning line" '[ "$(wc -l < "$tmp/err")" = 1 ] && grep -q "C reference" "$tmp/err"'
check "no loader: same digest as the C reference" \
  '[ "$(field digest "$tmp/noloader.json")" = "$(field digest "$tmp/ref.json")" ]'
SZARC_VK_LOADER=/nonexistent/libvulkan.so.1 "$szarc" model eval "$sample" \
  --model "$models/tiny-gqa.gguf" --device vk:0 2> "$tmp/err" > /dev/null; rc=$?
check "no loader: --device vk:0 exits 4" '[ $rc = 4 ] && grep -q "loader" "$tmp/err"'
SZARC_VK_LOADER=/nonexistent/libvulkan.so.1 "$szarc" devices > "$tmp/out"; rc=$?
check "no loader: devices still lists the C reference" '[ $rc = 0 ] && grep -q "^cpu" "$tmp/out"'
check "no loader: auto is the C reference" 'grep -q "^auto: cpu (C reference; no Vulkan device" "$tmp/out"'
"$szarc" frobnicate 2> /dev/null; rc=$?
check "unknown command: exit 2" '[ $rc = 2 ]'
"$szarc" --help | grep -q "exit codes"
check "help documents exit codes" '[ $? = 0 ]'
# gen_model's shape options: a model of any size with seeded weights
gen=${SZARC_BUILD_DIR}/tools/gen_model
"$gen" --out custom.gguf --shape tiny-gqa --dim 128 --layers 3 --heads 4 --kv-heads 2 --ffn 320
check "gen_model --dim/--layers/...: exit 0" '[ $? = 0 ]'
"$szarc" model info --model custom.gguf > custom.txt
check "the custom shape is the one asked for" \
  'grep -q "d 128, layers 3, heads 4 (kv 2, head dim 32), ffn 320" custom.txt'
"$gen" --out baddim.gguf --shape tiny-gqa --dim 100 --heads 3 2> baddim.err; rc=$?
check "gen_model refuses a dimension the heads do not divide" '[ $rc = 2 ] && [ ! -e baddim.gguf ]'
exit $fail
