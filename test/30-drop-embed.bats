#!/usr/bin/env bats
# tests: drop-embed - the embedding stream's layout (fields, dtypes, K and D from the
# model), pid/camid from file names, TSV lists and stdin, input order (folders sorted,
# operands in order), the same bytes for the same threads and batch, the same rankings and
# near-zero distances across --threads and --batch, --masks PNGs (names, sizes, palette),
# --dump shapes, --bf16 (within rounding of float), --tf32 (a usage error on the CPU),
# --conv-algo (auto is direct, winograd within 1e-4 of it), -o, --size, the drop-embed |
# drop-match | drop-score pipeline, bad inputs (missing or incompatible model, corrupt
# image, unknown option), man examples.
# also requires: drop-test-model and drop-test-png (test/tools), drop-match, drop-score,
# od, awk; scripts/make-synthetic-reid (/usr/bin/python3 with numpy and PIL) for the
# pipeline test only.

load test_helper
model_tools_on_cpu
bats_require_minimum_version 1.5.0

# One tiny model (hrnet-tiny, 64x32, K 4, D 32) and a few images, made once.
setup_file() {
    local d="$BATS_FILE_TMPDIR"
    drop-test-model --seed 3 "$d/m.safetensors"
    mkdir -p "$d/imgs/query" "$d/imgs/gallery/sub"
    drop-test-png jpeg 40 90 "$d/imgs/query/0001_c1_f0000001.jpg"
    drop-test-png jpeg 30 70 "$d/imgs/query/0002_c3_f0000002.jpg"
    drop-test-png png 50 100 "$d/imgs/gallery/0001_c2_f0000003.png"
    drop-test-png jpeg 36 80 "$d/imgs/gallery/0002_c4_f0000004.jpg"
    drop-test-png jpeg 20 60 "$d/imgs/gallery/sub/0003_c5_f0000005.jpg"
    drop-test-png png 64 128 "$d/imgs/gallery/sub/noid.png"
    echo "not an image" > "$d/imgs/gallery/README"
}

setup() {
    T=$(mktemp -d)
    D="$BATS_FILE_TMPDIR"
    M="$D/m.safetensors"
    I="$D/imgs"
}

# drop-embed on one thread: the machine running the suite may be busy, and OpenMP's
# spinning threads then slow every small run down (the thread tests name --threads).
embed() {
    drop-embed --threads 1 "$@"
}

# The header text of the first .npy document of $1.
npy_header() {
    local hl
    hl=$(od -An -tu2 -j8 -N2 "$1" | tr -d ' ')
    dd if="$1" bs=1 skip=10 count="$hl" 2>/dev/null
}

# "pid camid" of every record of an embedding stream file (one document, K 4, D 32).
npy_ids() {
    local hl plen size
    hl=$(od -An -tu2 -j8 -N2 "$1" | tr -d ' ')
    plen=$(npy_header "$1" | sed -n "s/.*('path', '|S\([0-9]*\)').*/\1/p")
    size=$((plen + 8 + 4 * (32 + 32 + 4 * 32 + 4)))
    local n i
    n=$(( ($(stat -c %s "$1") - 10 - hl) / size ))
    for ((i = 0; i < n; i++)); do
        od -An -td4 -j $((10 + hl + i * size + plen)) -N8 "$1" | awk '{ print $1, $2 }'
    done
}

# The record paths of an embedding stream, in order (each record's nearest is itself).
paths() {
    drop-match --top 1 --text "$1" "$1" | cut -f1
}

# "W H" of a PNG (its IHDR).
png_size() {
    od -An -tu1 -j16 -N8 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4,
                                          $5 * 16777216 + $6 * 65536 + $7 * 256 + $8 }'
}

@test "--help lists every option; --version" {
    run drop-embed --help
    assert_success
    for o in --model --output --batch --size --list --masks --masks-size --dump --threads \
             --device --progress --quiet --verbose --help --version; do
        assert_output --partial -- "$o"
    done
    run drop-embed --version
    assert_success
}

@test "usage errors exit 2" {
    run drop-embed --bogus -m "$M" "$I"
    assert_failure 2
    assert_output --partial "Try 'drop-embed --help'"
    run drop-embed "$I"
    assert_failure 2
    assert_output --partial "missing -m MODEL"
    run embed -m "$M"
    assert_failure 2
    run embed -m "$M" --batch 0 "$I"
    assert_failure 2
    run embed -m "$M" --dump p5 "$I"
    assert_failure 2
    run embed -m "$M" --size 64by32 "$I"
    assert_failure 2
    run embed -m "$M" --masks-size image "$I"
    assert_failure 2
    assert_output --partial "needs --masks"
}

@test "records: fields, dtypes and shapes from the model; one document on a file" {
    embed -m "$M" "$I/query" > "$T/q.npy"
    run npy_header "$T/q.npy"
    assert_output --partial "('pid', '<i4'), ('camid', '<i4'), ('global', '<f4', (32,)), ('fg', '<f4', (32,)), ('parts', '<f4', (4, 32)), ('vis', '<f4', (4,))"
    assert_output --partial "'shape': (2,)"
    drop-test-model --parts 6 --dim 16 --seed 4 "$T/k6.safetensors"
    embed -m "$T/k6.safetensors" -o "$T/k6.npy" "$I/query"
    run npy_header "$T/k6.npy"
    assert_output --partial "('parts', '<f4', (6, 16)), ('vis', '<f4', (6,))"
}

@test "visibility scores lie in [0, 1]; embeddings are finite (drop-match reads them)" {
    embed -m "$M" "$I" > "$T/a.npy"
    run drop-match --top 1 --text "$T/a.npy" "$T/a.npy"
    assert_success
    [ "${#lines[@]}" -eq 6 ]
    hl=$(od -An -tu2 -j8 -N2 "$T/a.npy" | tr -d ' ')
    plen=$(npy_header "$T/a.npy" | sed -n "s/.*('path', '|S\([0-9]*\)').*/\1/p")
    size=$((plen + 8 + 4 * (32 + 32 + 4 * 32 + 4)))
    for i in 0 5; do
        run od -An -tf4 -j $((10 + hl + i * size + size - 16)) -N16 "$T/a.npy"
        for v in $output; do
            awk -v v="$v" 'BEGIN { exit !(v >= 0 && v <= 1) }' || fail "vis $v"
        done
    done
}

@test "input order: folders sorted recursively, operands in order; ids from names else -1" {
    embed -m "$M" "$I/gallery" "$I/query/0002_c3_f0000002.jpg" > "$T/a.npy"
    run paths "$T/a.npy"
    assert_output "$I/gallery/0001_c2_f0000003.png
$I/gallery/0002_c4_f0000004.jpg
$I/gallery/sub/0003_c5_f0000005.jpg
$I/gallery/sub/noid.png
$I/query/0002_c3_f0000002.jpg"
    run npy_ids "$T/a.npy"
    assert_output "1 1
2 3
3 4
-1 -1
2 2"
}

@test "TSV lists (by extension, --list) and stdin (paths or TSV rows) give pid and camid" {
    printf '# test list\n%s\t7\t0\n%s\t8\t5\textra\n' "$I/query/0001_c1_f0000001.jpg" \
        "$I/gallery/sub/noid.png" > "$T/l.tsv"
    embed -m "$M" "$T/l.tsv" > "$T/a.npy"
    run npy_ids "$T/a.npy"
    assert_output "7 0
8 5"
    cp "$T/l.tsv" "$T/l.lst"
    embed -m "$M" --list "$T/l.lst" > "$T/b.npy"
    cmp "$T/a.npy" "$T/b.npy"
    embed -m "$M" - < "$T/l.tsv" > "$T/c.npy"
    cmp "$T/a.npy" "$T/c.npy"
    printf '%s\n\n%s\n' "$I/gallery/sub/noid.png" "$I/query/0002_c3_f0000002.jpg" |
        embed -m "$M" - > "$T/d.npy"
    run npy_ids "$T/d.npy"
    assert_output "-1 -1
2 2"
    run bash -c "printf 'a.jpg\tx\t1\n' | drop-embed -m '$M' -"
    assert_failure 1
    assert_output --partial "line 1: pid 'x' is not an integer"
}

@test "the same threads and batch give the same bytes; other threads and batches the same rankings" {
    drop-embed -m "$M" --threads 2 --batch 7 "$I" > "$T/a.npy"
    drop-embed -m "$M" --threads 2 --batch 7 "$I" > "$T/b.npy"
    cmp "$T/a.npy" "$T/b.npy"
    drop-embed -m "$M" --threads 1 --batch 1 "$I" > "$T/c.npy"
    drop-embed -m "$M" --threads 2 --batch 2 "$I" > "$T/d.npy"
    for x in c d; do
        # Every record's nearest counterpart in the other run is itself, at distance ~0.
        drop-match --top 1 --text "$T/a.npy" "$T/$x.npy" |
            awk -F'\t' '$1 != $3 || $4 > 1e-4 { print "far:", $0; bad = 1 } END { exit bad }'
        diff <(drop-match --text "$T/a.npy" "$T/a.npy" | cut -f1-3) \
             <(drop-match --text "$T/$x.npy" "$T/$x.npy" | cut -f1-3)
    done
    # The comparison can fail: another model is far.
    drop-test-model --seed 9 "$T/m9.safetensors"
    embed -m "$T/m9.safetensors" "$I" > "$T/e.npy"
    run bash -c "drop-match --top 1 --text '$T/a.npy' '$T/e.npy' | awk -F'\t' '\$4 > 1e-3' | wc -l"
    [ "$output" -gt 0 ]
}

@test "a pipe gets complete documents that drop-match reads" {
    embed -m "$M" --batch 2 "$I" | cat > "$T/p.npy"
    embed -m "$M" --batch 2 "$I" > "$T/f.npy"
    run bash -c "grep -a -o NUMPY '$T/p.npy' | wc -l"
    [ "$output" -ge 3 ]
    diff <(drop-match --text "$T/f.npy" "$T/f.npy") <(drop-match --text "$T/f.npy" "$T/p.npy")
}

@test "--masks writes palette PNGs named after the inputs, at the feature size or another" {
    embed -m "$M" --masks "$T/mk" "$I/gallery" "$I/query/0001_c1_f0000001.jpg" > /dev/null
    run bash -c "cd '$T/mk' && find . -type f | LC_ALL=C sort"
    assert_output "./0001_c1_f0000001.png
./0001_c2_f0000003.png
./0002_c4_f0000004.png
./sub/0003_c5_f0000005.png
./sub/noid.png"
    run drop-test-png info "$T/mk/sub/noid.png"
    assert_output "indexed 8 16 5"
    embed -m "$M" --masks "$T/m2" --masks-size image "$I/query" > /dev/null
    run png_size "$T/m2/0002_c3_f0000002.png"
    assert_output "30 70"
    embed -m "$M" --masks "$T/m3" --masks-size 32x16 "$I/query" > /dev/null
    run drop-test-png info "$T/m3/0002_c3_f0000002.png"
    assert_output "indexed 16 32 5"
    cp "$I/gallery/sub/noid.png" "$T/noid.png"
    run bash -c "drop-embed -m '$M' --masks '$T/m4' '$I/gallery/sub/noid.png' '$T/noid.png' >/dev/null"
    assert_failure 1
    assert_output --partial "noid.png would be written for both"
}

@test "--dump writes [N, C, h, w] float32 maps" {
    for m in "preid 480 16 8" "parsing 5 16 8" "p1 32 16 8" "p2 64 8 4" "p3 128 4 2" "p4 256 2 1"; do
        set -- $m
        embed -m "$M" --dump "$1" "$I" > "$T/$1.npy"
        run npy_header "$T/$1.npy"
        assert_output --partial "'descr': '<f4'"
        assert_output --partial "'shape': (6, $2, $3, $4)"
        size=$(stat -c %s "$T/$1.npy")
        hl=$(od -An -tu2 -j8 -N2 "$T/$1.npy" | tr -d ' ')
        [ "$size" -eq $((10 + hl + 4 * 6 * $2 * $3 * $4)) ]
    done
}

@test "--bf16: each record within bf16 rounding of float's; without native bf16, exit 3" {
    run --separate-stderr embed --bf16 -m "$M" "$I"
    if [ "$status" = 3 ]; then
        [[ "$stderr" == *"--bf16"*"AVX512-BF16"* ]]
        assert_output ""
        return
    fi
    assert_success
    embed --bf16 -m "$M" "$I" > "$T/b.npy"
    embed -m "$M" "$I" > "$T/f.npy"
    run cmp -s "$T/b.npy" "$T/f.npy"
    assert_failure
    # every bf16 record's own float record is within 0.02 (F+P distance, 0..2)
    drop-match --top 6 --text "$T/b.npy" "$T/f.npy" | awk -F'\t' '$1 == $3' > "$T/self"
    [ "$(wc -l < "$T/self")" -eq 6 ]
    run awk -F'\t' '$4 >= 0.02' "$T/self"
    assert_output ""
}

@test "--tf32: a usage error on the CPU backends, nothing written" {
    for dev in cpu cpu-strict; do
        run --separate-stderr embed --tf32 --device "$dev" -m "$M" "$I"
        [ "$status" = 2 ]
        [[ "$stderr" == *"--tf32: the $dev backend has no TF32 math"* ]]
        assert_output ""
    done
}

@test "--conv-algo: auto is direct; winograd's records within 1e-4 of direct's; else exit 3" {
    run --separate-stderr embed --conv-algo winograd -m "$M" "$I"
    if [ "$status" = 3 ]; then
        [[ "$stderr" == *"--conv-algo winograd"*"AVX-512"* ]]
        assert_output ""
        skip "Winograd: this CPU lacks avx512_core"
    fi
    assert_success
    embed --conv-algo winograd -m "$M" "$I" > "$T/w.npy"
    embed --conv-algo direct -m "$M" "$I" > "$T/d.npy"
    embed -m "$M" "$I" > "$T/a.npy"
    run cmp -s "$T/w.npy" "$T/d.npy"
    assert_failure
    # auto, the default, is direct in inference (lib/model/graph.c: conv_desc)
    cmp "$T/a.npy" "$T/d.npy"
    # Winograd's products lose ~2 bits (test/unit/test_ops_winograd.c): every record's own
    # direct record is within 1e-4 (F+P distance, 0..2; bf16 is allowed 0.02)
    drop-match --top 6 --text "$T/w.npy" "$T/d.npy" | awk -F'\t' '$1 == $3' > "$T/self"
    [ "$(wc -l < "$T/self")" -eq 6 ]
    run awk -F'\t' '$4 >= 1e-4' "$T/self"
    assert_output ""
    run embed --conv-algo winograd --bf16 -m "$M" "$I"
    assert_failure 2
    assert_output --partial "not with --bf16"
}

@test "-o writes a file; --size must be the model's" {
    embed -m "$M" -o "$T/o.npy" --size 64x32 "$I/query"
    [ -s "$T/o.npy" ]
    run embed -m "$M" -o "$T/p.npy" --size 256x128 "$I/query"
    assert_failure 1
    assert_output --partial "takes 64x32 images"
    [ ! -e "$T/p.npy" ]
}

@test "bad inputs: missing, corrupt or incompatible model; corrupt image; no images" {
    run embed -m "$T/none.safetensors" "$I"
    assert_failure 1
    assert_output --partial "none.safetensors: cannot open"
    echo hello > "$T/text.safetensors"
    run embed -m "$T/text.safetensors" "$I"
    assert_failure 1
    assert_output --partial "text.safetensors:"
    head -c 5000 "$M" > "$T/cut.safetensors"
    run embed -m "$T/cut.safetensors" "$I"
    assert_failure 1
    drop-test-model --lie-parts 6 "$T/lie.safetensors"
    run embed -m "$T/lie.safetensors" "$I"
    assert_failure 1
    assert_output --partial "lie.safetensors: parsing.classifier.weight: expected shape"
    head -c 300 "$I/query/0001_c1_f0000001.jpg" > "$T/0009_c1_f1.jpg"
    run embed -m "$M" -o "$T/out.npy" "$I/query" "$T/0009_c1_f1.jpg"
    assert_failure 1
    assert_output --partial "$T/0009_c1_f1.jpg:"
    [ ! -e "$T/out.npy" ]
    run embed -m "$M" "$T/nothing.jpg"
    assert_failure 1
    assert_output --partial "nothing.jpg: No such file or directory"
    mkdir "$T/empty"
    run embed -m "$M" "$T/empty"
    assert_failure 1
    assert_output --partial "no images"
}

@test "drop-embed | drop-match | drop-score on a synthetic occluded set" {
    if ! /usr/bin/python3 -c 'import numpy, PIL' 2>/dev/null; then
        [ "${DROP_TEST_STRICT:-0}" = 1 ] && fail "no numpy or PIL for /usr/bin/python3"
        skip "no numpy or PIL for /usr/bin/python3"
    fi
    "$DROP_ROOT/scripts/make-synthetic-reid" -q -o "$T/s" --ids-train 2 --ids-test 5 \
        --images-per-id 2 --queries-per-id 1 --gallery-per-id 2 -j 1
    S="$T/s/Occluded_Duke"
    embed -m "$M" "$S/bounding_box_test" > "$T/g.npy"
    run bash -o pipefail -c "drop-embed --threads 1 -m '$M' '$S/query' | drop-match '$T/g.npy' | drop-score"
    assert_success
    assert_output --partial "5 valid queries"
    assert_output --partial "mAP"
}

@test "man page: lint clean, examples run" {
    run mandoc -Tlint -W warning "$DROP_ROOT/man/drop-embed.1"
    assert_output ""
    cd "$T"
    cp "$M" model.safetensors
    mkdir -p data/query data/bounding_box_test
    drop-test-png jpeg 40 90 data/query/0001_c1_f0000001.jpg
    drop-test-png jpeg 30 70 data/query/0002_c3_f0000002.jpg
    drop-test-png jpeg 36 80 data/bounding_box_test/0001_c2_f0000003.jpg
    drop-test-png jpeg 20 60 data/bounding_box_test/0002_c4_f0000004.jpg
    drop-test-png jpeg 50 100 one.jpg
    printf 'data/query/0001_c1_f0000001.jpg\t1\t0\n' > query.tsv
    run_man_examples "$DROP_ROOT/man/drop-embed.1"
}
