#!/usr/bin/env bash
# The whole test-suite, as CI runs it (.ci/run calls exactly this). Needs only the Rust
# toolchain; data-driven tests read ../shared/data beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d ../shared/data ]; then
  echo "scripts/test.sh: ../shared/data is missing: the conformance tests read the shared test data beside the checkout" >&2
  exit 1
fi
# --show-output: the conformance tests print their counts (passed / failed / skipped).
cargo test --workspace --locked --no-fail-fast -- --show-output
