#!/usr/bin/env bash
# gpu_check.sh: the one-shot check of szarc's Vulkan engine on a machine with a
# real GPU (written for an NVIDIA machine with 16 cores, run as root, no
# network), within about 8 minutes:
#   1. Vulkan: if no loader is installed, unpacks the .deb files under .gl/
#      (see below); points the loader at NVIDIA's ICD when it finds none;
#      checks that the Khronos validation layer is there.
#   2. builds szarc (cmake Release, -j$(nproc)) into build-gpu/;
#   3. runs the Vulkan tests (ctest -L vulkan, and every golden test, each
#      kernel variant forced in turn) with the validation layer on;
#   4. prints the frequency digests of the default model and of the test
#      model from the C reference and from the Vulkan engine, each variant
#      forced in turn, side by side: EQUAL or DIFFER;
#   5. prints throughput per variant: teacher-forced and 64-stream decode
#      tokens/s (`szarc model eval`), create and extract MB/s, on a text made
#      from the tree's own docs/*.md (the canterbury corpus is not in the tree).
# Every section says what ran and on which device; a step skipped for time,
# a missing tool or a CPU device says so.
#
#   tools/bench/gpu_check.sh [--device vk:N] [--build DIR] [--no-build] [--quick]
#     --device   the Vulkan device (default: the first that is not a CPU device)
#     --no-build use DIR (default build-gpu) as it is
#     --quick    small texts, golden tests only: a dry run of the script itself,
#                e.g. here on lavapipe; its numbers are not a GPU's
# Writes the report to $OUT/gpu_check.md as well when OUT is set. Exit status:
# 0 when every test passed and every digest was EQUAL, 1 otherwise.
#
# Preparing .gl/ (on a Debian 12 machine with network, in the repository root,
# before the tree travels; .gl/ is not committed):
#   echo /.gl/ >> .git/info/exclude; mkdir -p .gl /tmp/amd64/partial
#   o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
#   apt-get $o update
#   (cd .gl && apt-get $o download libvulkan1 libvulkan-dev vulkan-validationlayers \
#       glslang-tools spirv-tools libarchive-dev libzstd-dev libjansson-dev \
#       libpcre2-dev libmd-dev libssl-dev pkg-config)
# The script unpacks a .deb only when its package is not installed there, and
# never a C library or compiler runtime. The GPU image must be close enough to
# Debian 12 for these to load (glibc >= 2.36); if the build fails for that
# reason, build on a matching machine and pass --no-build with that build.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
budget=480 # seconds for everything; later steps are skipped when it runs out
device="" build=build-gpu do_build=1 quick=0
while [ $# -gt 0 ]; do
  case $1 in
    --device) device=${2:?}; shift 2 ;;
    --build) build=${2:?}; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --quick) quick=1; shift ;;
    *) echo "usage: $0 [--device vk:N] [--build DIR] [--no-build] [--quick]" >&2; exit 2 ;;
  esac
done
report=$(mktemp)
out() { printf '%s\n' "$*" | tee -a "$report"; }
left() { echo $((budget - SECONDS)); }
status=0
finish() {
  out ""
  out "gpu_check: $( [ $status = 0 ] && echo PASS || echo FAIL ) after ${SECONDS}s"
  if [ -n "${OUT:-}" ]; then mkdir -p "$OUT" && cp "$report" "$OUT/gpu_check.md"; fi
  rm -f "$report"
  exit $status
}
field() { sed -n -e "s/^  \"$1\": \"\(.*\)\",\{0,1\}$/\1/p" -e "s/^  \"$1\": \([-0-9.e+]*\),\{0,1\}$/\1/p"; }

out "# szarc gpu_check, $(date -u '+%Y-%m-%d %H:%M UTC')"
out "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
command -v nvidia-smi >/dev/null &&
  out "nvidia-smi: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)"

# ---- 1. Vulkan loader, driver, validation layer ----
unpack() { # the .gl/*.deb whose package is missing here, into /
  local f p n=0
  for f in .gl/*.deb; do
    [ -e "$f" ] || continue
    p=$(dpkg-deb -f "$f" Package 2>/dev/null) || continue
    case $p in libc6*|libgcc*|libstdc++*|gcc-*|libcrypt1|zlib1g) continue ;; esac
    dpkg -s "$p" >/dev/null 2>&1 && continue
    dpkg -x "$f" / && n=$((n + 1))
  done
  ldconfig
  out "unpacked $n package(s) from .gl/"
}
if ! ldconfig -p | grep -q libvulkan; then
  out "no Vulkan loader installed: unpacking .gl/"
  unpack
  ldconfig -p | grep -q libvulkan || { out "FAIL: still no libvulkan (put libvulkan1's .deb in .gl/)"; status=1; finish; }
elif [ -d .gl ] && { ! command -v glslangValidator >/dev/null || ! command -v spirv-val >/dev/null; }; then
  unpack # build tools only
fi
icd=0
for d in /etc/vulkan/icd.d /usr/share/vulkan/icd.d /usr/local/share/vulkan/icd.d; do
  ls "$d"/*.json >/dev/null 2>&1 && icd=1
done
if [ $icd = 0 ] && [ -z "${VK_DRIVER_FILES:-}" ] &&
   [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  out "no ICD in the standard places: VK_DRIVER_FILES=$VK_DRIVER_FILES"
fi
layer=0
for d in /etc/vulkan/explicit_layer.d /usr/share/vulkan/explicit_layer.d \
         /usr/local/share/vulkan/explicit_layer.d ${VK_LAYER_PATH:+"$VK_LAYER_PATH"}; do
  [ -f "$d/VkLayer_khronos_validation.json" ] && layer=1
done
[ $layer = 1 ] && out "validation layer: VK_LAYER_KHRONOS_validation found" ||
  out "validation layer: MISSING (vulkan-validationlayers' .deb in .gl/): the Vulkan tests will fail"

# ---- 2. build ----
if [ $do_build = 1 ]; then
  out ""; out "## build ($build, Release, -j$(nproc))"
  if ! { cmake -B "$build" -DCMAKE_BUILD_TYPE=Release >"$build.log" 2>&1 &&
         cmake --build "$build" -j"$(nproc)" >>"$build.log" 2>&1; }; then
    out "FAIL: build; the end of $build.log:"; tail -20 "$build.log" | tee -a "$report"
    status=1; finish
  fi
  out "built in ${SECONDS}s"
fi
szarc=$root/$build/szarc
[ -x "$szarc" ] || { out "FAIL: no $szarc"; status=1; finish; }

out ""; out "## devices"
"$szarc" devices | tee -a "$report"
if [ -z "$device" ]; then # the first device that is not a CPU device
  device=$("$szarc" devices --json | awk -F'"' '/"id":/ {d=$4} /"type":/ && $4 != "cpu" && !f {print d; f=1}')
  [ -n "$device" ] || { out "FAIL: no GPU among the Vulkan devices (pass --device vk:N to check a CPU device)"; status=1; finish; }
fi
dtype=$("$szarc" devices --json | awk -F'"' -v d="$device" '/"id":/ {c=($4 == d)} c && /"type":/ {print $4; exit}')
out "checking $device (type ${dtype:-unknown})"
[ "$dtype" = cpu ] && out "NOTE: $device is a CPU device, not a GPU: this run checks the script and the variants' equality, its speeds are not a GPU's"
variants=(portable tile dot subgroup)

# ---- 3. tests ----
out ""; out "## tests (validation layer on)"
if [ "$(left)" -lt 60 ]; then
  out "SKIPPED: out of time"
else
  # quick: the golden digests (C kernels and every Vulkan variant); else every
  # Vulkan test (the golden_vk_* and fwd_match_* of each variant among them)
  sel=(-R golden); [ $quick = 0 ] && sel=(-L vulkan)
  # the test models are built with the tests; every test runs on vk:0 (ctest's default)
  [ "$device" != vk:0 ] && out "NOTE: the tests run on vk:0, not $device"
  if timeout "$(left)" ctest --test-dir "$build" "${sel[@]}" -j4 --timeout 240 >"$build/gpu_check_ctest.log" 2>&1; then
    out "$(grep -E 'tests passed' "$build/gpu_check_ctest.log")"
  else
    status=1
    grep -E 'tests passed|\(Failed\)|\(Timeout\)|Not Run|\*\*\*' "$build/gpu_check_ctest.log" | tee -a "$report"
  fi
fi

# ---- texts: the tree's own prose ----
tmpd=$(mktemp -d); text=$tmpd/text.txt; small=$tmpd/small.txt
trap 'rm -rf "$tmpd"' EXIT
cat docs/*.md README.md > "$text"
if [ $quick = 1 ]; then head -c 6000 "$text" > "$small"; cp "$small" "$text"; else head -c 65536 "$text" > "$small"; fi

# ---- 4. digests: the C reference against each variant ----
out ""; out "## frequency digests ($(wc -c < "$small") bytes of docs/*.md, teacher-forced)"
out "| model | engine | digest | |"
out "|---|---|---|---|"
for m in "$root/models/szarc-default.gguf" "$root/$build/models/tiny-gqa.gguf"; do
  name=$(basename "$m" .gguf)
  [ -f "$m" ] || { out "| $name | - | missing | |"; status=1; continue; }
  ref=$(SZARC_THREADS=$(nproc) "$szarc" model eval "$small" --model "$m" --device cpu --json --quiet | field digest)
  out "| $name | cpu (C reference) | $ref | |"
  for v in "${variants[@]}"; do
    [ "$(left)" -lt 20 ] && { out "| $name | $device $v | SKIPPED: out of time | |"; continue; }
    got=$(SZARC_VK_VARIANT=$v "$szarc" model eval "$small" --model "$m" --device "$device" --json --quiet 2>"$tmpd/err" | field digest)
    if [ -z "$got" ]; then
      if grep -q "cannot run kernel variant" "$tmpd/err"; then verdict="not on this device"; got="-"
      else verdict="ERROR: $(head -c 200 "$tmpd/err")"; got="-"; status=1; fi
    elif [ "$got" = "$ref" ]; then verdict=EQUAL
    else verdict=DIFFER; status=1; fi
    out "| $name | $device $v | $got | $verdict |"
  done
done

# ---- 5. throughput per variant ----
out ""; out "## throughput ($device; text $(wc -c < "$text") bytes of docs/*.md; default model)"
out "| engine | teacher-forced tok/s | decode (64 streams) tok/s | create MB/s | extract MB/s |"
out "|---|---:|---:|---:|---:|"
mbps() { printf '%.4f' "$(echo "$1 / 1000000 / $2" | bc -l)"; }
now() { date +%s.%N; }
for e in cpu "${variants[@]}"; do
  if [ "$(left)" -lt 30 ]; then out "| $e | SKIPPED: out of time | | | |"; continue; fi
  if [ $e = cpu ]; then d=cpu; label="cpu (C reference, $(nproc) threads)"; export SZARC_THREADS=$(nproc)
  else d=$device; label="$device $e"; export SZARC_VK_VARIANT=$e; fi
  tf=$("$szarc" model eval "$text" --device "$d" --json --quiet --no-digest 2>/dev/null | field tokens_per_s)
  if [ -z "$tf" ]; then out "| $label | not run on this device | | | |"; unset SZARC_VK_VARIANT; continue; fi
  dec=$("$szarc" model eval "$small" --device "$d" --decode --streams 64 --json --quiet --no-digest 2>/dev/null | field tokens_per_s)
  rm -rf "$tmpd/x" "$tmpd/a.szarc"; mkdir -p "$tmpd/x"; cp "$text" "$tmpd/in.txt"
  t0=$(now); (cd "$tmpd" && "$szarc" create -f a.szarc --device "$d" --method model --quiet in.txt) && t1=$(now)
  (cd "$tmpd/x" && "$szarc" extract -f ../a.szarc --device "$d" --quiet) && t2=$(now)
  cmp -s "$text" "$tmpd/x/in.txt" || { out "FAIL: $label: extract did not give the text back"; status=1; }
  n=$(wc -c < "$text")
  out "| $label | $(printf '%.0f' "${tf:-0}") | $(printf '%.0f' "${dec:-0}") | $(mbps "$n" "$(echo "$t1 - $t0" | bc -l)") | $(mbps "$n" "$(echo "$t2 - $t1" | bc -l)") |"
  unset SZARC_VK_VARIANT
done
finish
