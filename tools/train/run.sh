#!/bin/sh
# Reproduce the szarc default model: corpus -> tokenizer -> tokens -> train -> export -> eval.
# Runs on CPU (2 threads) or CUDA (--device auto).  Everything big lives in tools/train/work.
set -eu
cd "$(dirname "$0")"
PY=${PY:-/usr/bin/python3}
mkdir -p work
# Debian's python3-torch links the reference BLAS (about 3 GFLOP/s); use
# OpenBLAS from the Debian package, unpacked locally (not installed).
if [ ! -d work/blas/x ]; then
  mkdir -p work/blas && (cd work/blas && apt-get download libopenblas0-pthread=0.3.21+ds-4 && dpkg-deb -x libopenblas0-pthread_*.deb x)
fi
export LD_LIBRARY_PATH="$PWD/work/blas/x/usr/lib/x86_64-linux-gnu/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export OPENBLAS_NUM_THREADS=2
[ -f corpus/corpus.txt ] || nice -n 10 $PY build_corpus.py
[ -f work/tokenizer.json ] || nice -n 10 $PY train_bpe.py --vocab 4096 --out work/tokenizer.json
[ -f work/train.bin ] || nice -n 10 $PY train.py --encode
nice -n 10 $PY train.py --device auto --threads 2 --seed 1 \
  --d-model 256 --layers 4 --heads 4 --kv-heads 2 --d-ff 704 --ctx 256 \
  --batch 8 --steps 3400 --resched 0:3000,1351:2100,2100:2800,2800:3400 --warmup 100 --lr 1.5e-3 --min-lr-frac 0.1 --wd 0.1 \
  --eval-every 200 --ckpt-minutes 5 --max-minutes 80 \
  --loss-png ../../docs/loss.png \
  --export-cmd "$PY export_gguf.py --ckpt work/run/ckpt.pt --out ../../models/szarc-default.gguf --verify" \
  "$@"
# Phase 2: continue from step 3400 with a fresh warm-up and cosine, 3 of
# every 8 batch rows drawn from the literary packages (verse, scripture,
# aphorisms), which the technical majority of the corpus under-represents.
nice -n 10 $PY train.py --device auto --threads 2 --seed 1 --resume \
  --d-model 256 --layers 4 --heads 4 --kv-heads 2 --d-ff 704 --ctx 256 \
  --batch 8 --steps 8400 --resched 0:3000,1351:2100,2100:2800,2800:3400 --warmup 100 --lr 1.5e-3 --min-lr-frac 0.1 --wd 0.1 \
  --restart 3400:7e-4:8400 --mix bible-kjv-text,fortunes,fortunes-min,dict-devil --mix-frac 0.375 \
  --eval-every 200 --ckpt-minutes 5 --max-minutes 240 \
  --loss-png ../../docs/loss.png \
  "$@"
nice -n 10 $PY train.py --bench-eval work/run/ckpt.pt
$PY export_gguf.py --ckpt work/run/ckpt.pt --out ../../models/szarc-default.gguf --verify
