#!/usr/bin/env bats
# tests: drop-embed as ranks of an MPI job (lib/run/embed_run.h): 2 and 3 ranks write the
# bytes one process writes (records, --dump maps, a pipe, stdin operands, --masks), a
# rank left without a batch, a corrupt image on rank 1 ends the job naming the rank and
# leaves no output.
# also requires: mpirun (Open MPI), drop-test-model and drop-test-png (test/tools)

load test_helper
model_tools_on_cpu

setup_file() {
    local d="$BATS_FILE_TMPDIR"
    drop-test-model --seed 3 "$d/m.safetensors"
    mkdir -p "$d/imgs/a" "$d/imgs/b"
    local i
    for i in 1 2 3 4 5 6 7; do
        drop-test-png jpeg $((20 + 4 * i)) $((60 + 6 * i)) "$d/imgs/a/000${i}_c1_f000000${i}.jpg"
    done
    drop-test-png png 50 100 "$d/imgs/b/0008_c2_f0000008.png"
}

setup() {
    T=$(mktemp -d)
    D="$BATS_FILE_TMPDIR"
    M="$D/m.safetensors"
    I="$D/imgs"
    require_mpirun
}

@test "2 ranks write the bytes of one process (batches 2 and 3, 8 images)" {
    for b in 2 3; do
        drop-embed -m "$M" --threads 1 --batch $b "$I" > "$T/one.npy"
        mpirun_np 2 drop-embed -m "$M" --threads 1 --batch $b -o "$T/two.npy" "$I"
        cmp "$T/one.npy" "$T/two.npy"
    done
}

@test "3 ranks, one of them without a batch" {
    drop-embed -m "$M" --threads 1 --batch 4 "$I" > "$T/one.npy"
    mpirun_np 3 drop-embed -m "$M" --threads 1 --batch 4 -o "$T/three.npy" "$I"
    cmp "$T/one.npy" "$T/three.npy"
}

@test "under mpirun stdout is a terminal (Open MPI forwards it through one): refused" {
    run mpirun_np 2 drop-embed -m "$M" --threads 1 "$I"
    assert_failure
    assert_output --partial "drop-embed: rank 0: stdout: refusing to write binary data to a terminal"
}

@test "stdin operands reach every rank (rank 0 reads them)" {
    find "$I" -name '*.jpg' | sort > "$T/list"
    drop-embed -m "$M" --threads 1 --batch 2 - < "$T/list" > "$T/one.npy"
    mpirun_np 2 drop-embed -m "$M" --threads 1 --batch 2 -o "$T/two.npy" - < "$T/list"
    cmp "$T/one.npy" "$T/two.npy"
}

@test "--dump and --masks under 2 ranks: the same map bytes and the same PNGs" {
    drop-embed -m "$M" --threads 1 --batch 3 --dump p2 --masks "$T/m1" "$I" > "$T/one.npy"
    mpirun_np 2 drop-embed -m "$M" --threads 1 --batch 3 --dump p2 --masks "$T/m2" \
        -o "$T/two.npy" "$I"
    cmp "$T/one.npy" "$T/two.npy"
    [ "$(find "$T/m1" -type f | wc -l)" -eq 8 ]
    diff -r "$T/m1" "$T/m2"
}

@test "a corrupt image in rank 2's batch: the job fails naming rank 2, no output file" {
    cp -r "$I" "$T/imgs"
    echo "not a jpeg" > "$T/imgs/b/0009_c2_f0000009.jpg"
    # 9 images in batches of 4: the corrupt one, the last, is in global batch 2, rank 2's
    run mpirun_np 3 drop-embed -m "$M" --threads 1 --batch 4 -o "$T/out.npy" "$T/imgs"
    assert_failure
    assert_output --partial "drop-embed: rank 2: "
    assert_output --partial "0009_c2_f0000009.jpg"
    [ ! -e "$T/out.npy" ]
}
