# test_helper.bash - shared setup of the bats suites: finds the tools through
# DROP_BIN_DIR (default: build/bin), loads bats-support and bats-assert, and gives each
# test a scratch folder $T.
DROP_ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
: "${DROP_BIN_DIR:=$DROP_ROOT/build/bin}"
: "${DROP_TEST_DIR:=$DROP_ROOT/build/test}"
export PATH="$DROP_BIN_DIR:$DROP_TEST_DIR/tools:$PATH"
FIX="$DROP_ROOT/test/fixtures"

bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup() {
    T=$(mktemp -d)
}

teardown() {
    rm -rf "$T"
}

# A GPU test: skipped without a CUDA device, a failure under DROP_TEST_STRICT=1.
require_cuda() {
    if ! drop-score --device cuda --version >/dev/null 2>&1; then
        [ "${DROP_TEST_STRICT:-0}" = 1 ] && fail "no CUDA device (DROP_TEST_STRICT=1)"
        skip "no CUDA device"
    fi
}

# The model's tools (drop-train, drop-embed) run on the CPU backend only: the CUDA backend
# has no convolutions yet (kernels/README.md). Under DROP_DEVICE=cuda their suites test the
# CPU path; test/00-common.bats checks that --device cuda stops them with exit 3.
model_tools_on_cpu() {
    if [ "${DROP_DEVICE:-cpu}" = cuda ]; then export DROP_DEVICE=cpu; fi
}

# The shell commands of a man page's EXAMPLES: lines "$ cmd" between .EX and .EE,
# troff escapes undone (\- -> -, \(aq -> ', \e -> \).
man_examples() {
    awk '/^\.EX/ { ex = 1; next } /^\.EE/ { ex = 0; next }
         ex && /^\$ / { sub(/^\$ /, ""); print }' "$1" |
        sed -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\e/\\/g'
}

# Run every example of a man page in the current folder (prepared by the caller with the
# files the examples name); fails on the first example that exits non-zero.
run_man_examples() {
    local n=0 cmd
    while IFS= read -r cmd; do
        n=$((n + 1))
        bash -o pipefail -c "$cmd" >/dev/null || fail "example failed: $cmd"
    done < <(man_examples "$1")
    [ "$n" -gt 0 ] || fail "no examples in $1"
}
