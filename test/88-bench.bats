#!/usr/bin/env bats
# tests: the benchmark scripts (scripts/bench-*) run to the end in their smoke
# configurations and print their tables: bench-embed --quick and bench-train --quick
# (drop against the PyTorch twin), bench-scale --quick (2 MPI ranks against 1 process,
# identical outputs), bench-ops on batch 1 with 10 ms a measurement. The figures are not
# checked (timed tests measure the machine, not the code); a script that no longer runs
# is. Skipped under make asan: instrumented binaries make no benchmark.
# also requires: /usr/bin/python3 with numpy and PIL, and torch (scripts/install-deps
# --fixtures) but for bench-scale; mpirun (bench-scale)

load test_helper

setup() {
    T=$(mktemp -d)
    if ldd "$DROP_BIN_DIR/drop-embed" 2>/dev/null | grep -q libasan; then
        skip "benchmarks of ASan binaries"
    fi
    if ! /usr/bin/python3 -c 'import numpy, PIL' 2>/dev/null; then
        [ "${DROP_TEST_STRICT:-0}" = 1 ] && fail "no numpy/PIL for /usr/bin/python3"
        skip "no numpy/PIL for /usr/bin/python3 (scripts/install-deps)"
    fi
    export BUILD=${DROP_BIN_DIR%/bin}
    BUILD=${BUILD#"$DROP_ROOT"/}
}

# The PyTorch twin's rows: torch comes with scripts/install-deps --fixtures.
require_torch() {
    /usr/bin/python3 -c 'import torch' 2>/dev/null ||
        skip "no torch for /usr/bin/python3 (scripts/install-deps --fixtures)"
}

teardown() {
    rm -rf "$T"
}

@test "bench-embed --quick: drop-embed's rows and the twin's, at batches 1 and 8" {
    require_torch
    run "$DROP_ROOT/scripts/bench-embed" --quick
    assert_success
    assert_line --regexp '^\| 1 \| drop-embed .* \| fp32 \| [0-9.]+ \| [0-9.]+ \|'
    assert_line --regexp '^\| 8 \| PyTorch .*jit.* \| fp32 \| - \| [0-9.]+ \|'
}

@test "bench-train --quick: drop-train's rows and the twin's" {
    require_torch
    run "$DROP_ROOT/scripts/bench-train" --quick
    assert_success
    assert_line --regexp '^\| drop-train \| fp32 \| [0-9.]+ \|'
    assert_line --regexp '^\| PyTorch .* \| fp32 \| [0-9.]+ \|'
}

@test "bench-scale --quick: 2 ranks against 1 process, the same outputs" {
    require_mpirun
    run "$DROP_ROOT/scripts/bench-scale" --quick
    assert_success
    assert_line --regexp '^ratio 2x1 / 1x2: [0-9.]+ \(outputs identical\)$'
    assert_line --regexp '^ratio 2x1 / 1x2, --sync-bn: [0-9.]+ after backward, [0-9.]+ in buckets \(checkpoints identical\)$'
}

@test "bench-ops: the convolution and the ops tables" {
    require_torch
    run "$DROP_ROOT/scripts/bench-ops" 1 0.01
    assert_success
    assert_line --regexp '^branch4 256>256 k3 +[0-9.]+ +[0-9]+ '
    assert_line --regexp '^adam 31M params +[0-9.]+ +[0-9.]+ +[0-9.]+$'
}
