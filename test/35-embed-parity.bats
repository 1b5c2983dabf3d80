#!/usr/bin/env bats
# tests: drop-embed against the PyTorch twin (scripts/drop_twin.py) with random HRNet-W32
# weights: the model `drop-train --epochs 0` writes (hrnet-w32, 256x128, K 8, D 512,
# seed 1) on the 256x128 PNGs of test/fixtures/embed (scripts/make-embed-fixtures): the
# backbone maps of --dump p1..p4 and the parsing logits of --dump parsing (per-channel
# means and standard deviations, 256 sampled values each) and the embedding stream
# (global, fg, parts, vis) within float32 tolerances of the twin's float64 outputs
# (tolerances and measured errors: test/tools/drop-test-embedcmp.c); the same images in
# another order do not match.
# also requires: drop-test-embedcmp (test/tools), drop-train.

load test_helper
model_tools_on_cpu

E="$FIX/embed"
IMAGES=("$E/a.png" "$E/b.png" "$E/c.png")

# The model, made once (about 5 s and a 400 MB checkpoint): drop-train needs a training
# list with labels, and with --epochs 0 only checks that the label files exist, so each
# fixture image stands in as its own label.
setup_file() {
    local d="$BATS_FILE_TMPDIR" f
    for f in "${IMAGES[@]}"; do
        printf '%s\t1\t0\t%s\n' "$f" "$f"
    done > "$d/train.tsv"
    drop-train --list "$d/train.tsv" --backbone hrnet-w32 --size 256x128 --seed 1 \
        --epochs 0 --batch 4 --threads 1 -q -o "$d/w32.safetensors"
}

setup() {
    T=$(mktemp -d)
    M="$BATS_FILE_TMPDIR/w32.safetensors"
}

# drop-embed on one thread: OpenMP's spinning threads slow a busy machine down a lot.
embed() {
    drop-embed --threads 1 -m "$M" "$@"
}

# Dump map $1 of the fixture images and compare it with the twin's.
check_map() {
    embed --dump "$1" -o "$T/$1.npy" "${IMAGES[@]}"
    run drop-test-embedcmp "$E" "$1" "$T/$1.npy"
    assert_success
    assert_line --partial "ok - $1: 3 tensors within tolerance"
}

@test "--dump p1 (stride 4, 128 channels) matches the twin" {
    check_map p1
}

@test "--dump p2 (stride 8, 256 channels) matches the twin" {
    check_map p2
}

@test "--dump p3 (stride 16, 512 channels) matches the twin" {
    check_map p3
}

@test "--dump p4 (stride 32, 1024 channels) matches the twin" {
    check_map p4
}

@test "--dump parsing (the K + 1 logits) matches the twin" {
    check_map parsing
}

@test "the embedding stream (global, fg, parts, vis) matches the twin" {
    embed -o "$T/e.npy" "${IMAGES[@]}"
    run drop-test-embedcmp "$E" emb "$T/e.npy"
    assert_success
    assert_line --partial "ok - emb: 4 tensors within tolerance"
}

@test "the images in another order do not match (the comparison can fail)" {
    embed -o "$T/e.npy" "$E/c.png" "$E/b.png" "$E/a.png"
    run drop-test-embedcmp "$E" emb "$T/e.npy"
    assert_failure 1
    assert_line --partial "not ok - emb"
}
