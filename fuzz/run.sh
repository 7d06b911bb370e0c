#!/usr/bin/env bash
# Long coverage-guided runs of the fuzz targets with cargo-fuzz (libFuzzer;
# needs the nightly toolchain and `cargo install cargo-fuzz`).
#
#   fuzz/run.sh                    every target for an hour each
#   fuzz/run.sh odata_filter 600   one target for ten minutes
#   RELATA_FUZZ_BACKEND=postgres RELATA_TEST_POSTGRES_URL=postgres://… fuzz/run.sh
#
# New inputs go to fuzz/corpus/<target> (not checked in); the checked-in
# seeds in crates/fuzz/corpus/<target> are read, never written. Crashes are
# written to fuzz/artifacts/<target>/; replay one with
#   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/crash-…
# or with the stable runner:
#   RELATA_FUZZ_TARGET=<target> RELATA_FUZZ_INPUT=fuzz/artifacts/<target>/crash-… cargo test -p relata-fuzz
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(odata_filter odata_orderby odata_select odata_expand odata_apply odata_skiptoken odata_query fetchxml json_body batch form)
if [ $# -ge 1 ] && [ -n "$1" ]; then targets=("$1"); fi
seconds="${2:-3600}"

for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  echo "== $t for $seconds s"
  # -s none: no sanitizer (the code is safe Rust; the bundled SQLite is
  # tested upstream), for several times the speed.
  cargo +nightly fuzz run -s none "$t" "fuzz/corpus/$t" "crates/fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -dict="crates/fuzz/dict/$t.txt" -timeout=30 -rss_limit_mb=4096 \
    -max_len=262144 -print_final_stats=1
done
