#!/usr/bin/env bash
# Runs every fuzz target for a bounded time and prints the executions each made, for
# docs/reliability.md. Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
#   fuzz/run.sh [SECONDS_PER_TARGET=60] [PARALLEL=2] [TARGET...]
# SANITIZER=address runs under AddressSanitizer (about 7x slower here; it watches the unsafe code of
# simd-json and the decompressors); the default, none, spends the time on more inputs.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
parallel=${2:-2}
shift 2 || true
targets=(sniff flat_jsonl claude_code codex openai_chat anthropic_messages anthropic_events otel langsmith gemini_cli)
[ $# -gt 0 ] && targets=("$@")
export SANITIZER=${SANITIZER:-none}
cargo +nightly fuzz build -O -s "$SANITIZER" >/dev/null

# Seeds: the project's own fixtures, each presented plain (a leading 0 byte selects "plain").
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    for f in ../testdata/fixtures/* ../testdata/sample/*.jsonl ../testdata/sample/runs/* ../testdata/hostile/*.json*; do
        seed="corpus/$t/seed-$(basename "$f")"
        [ -f "$seed" ] || { printf '\0' > "$seed"; cat "$f" >> "$seed"; }
    done
done

run() {
    local t=$1
    cargo +nightly fuzz run -O -s "$SANITIZER" "$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -timeout=20 \
        > "artifacts-$t.log" 2>&1 || echo "$t: FAILED (see fuzz/artifacts-$t.log and fuzz/artifacts/$t/)"
    local done_line
    done_line=$(grep -E '^Done [0-9]+ runs' "artifacts-$t.log" | tail -1 || true)
    local cov
    cov=$(grep -oE 'cov: [0-9]+' "artifacts-$t.log" | tail -1 || true)
    echo "$t ($SANITIZER): ${done_line:-no summary} ($cov)"
}
export -f run
export secs
printf '%s\n' "${targets[@]}" | xargs -P "$parallel" -I{} bash -c 'run {}'
