#!/usr/bin/env bats
# tests: --device cpu-strict (kernels/strict/: the CPU ops behind a device's discipline -
# memory apart from the host's, explicit copies, every op's pointers checked) runs the
# representative pipelines with exactly --device cpu's outputs: drop-train (hrnet-tiny
# fresh, --resume mid-way, --log, --eval on a dataset layout, --recompute, --init,
# --epochs 0, the part-averaged triplet without the PPE, the coupled model without a
# bank, --bf16 where the CPU has it, resnet50-ibn), drop-embed (embeddings with a short
# last batch, --masks, --dump, two threads) and drop-match (its products on device memory,
# every --use, --rerank, two threads) | drop-score. A run under cpu-strict aborts on the first violation
# (test/unit/test_strict.c checks that), so a pass here also says that lib/ never handed a
# host pointer to an op or read device memory directly on these paths. DROP_DEVICE chooses
# the backend as --device does.
# also requires: /usr/bin/python3 with numpy and PIL (scripts/make-synthetic-reid; skipped
# without them, a failure under DROP_TEST_STRICT=1), drop-labels, drop-synth-embed, cmp

load test_helper
model_tools_on_cpu

# One thread: OpenMP's spinning threads slow a busy machine down a lot (the two-thread
# case below names --threads).
TINY=(--backbone hrnet-tiny --size 64x32 --batch 8 --threads 1 -q)

# The tiny set of test/test_helper.bash (4 training ids x 8 images, 3 test ids, a list
# of 2 ids x 4 images), made once.
setup_file() {
    tiny_set_make
}

setup() {
    tiny_set_setup
    IMAGES=("$D/syn/Occluded_Duke/query" "$D/syn/Occluded_Duke/bounding_box_test")
}

# train NAME ARGS...: drop-train ARGS under both devices into $T/NAME.{cpu,strict}.st, its
# stdout into $T/NAME.{cpu,strict}.out; then the two checkpoints and stdouts must be the
# same bytes.
train_both() {
    local name=$1
    shift
    drop-train "$@" --device cpu -o "$T/$name.cpu.st" > "$T/$name.cpu.out"
    drop-train "$@" --device cpu-strict -o "$T/$name.strict.st" > "$T/$name.strict.out"
    cmp "$T/$name.cpu.st" "$T/$name.strict.st"
    cmp "$T/$name.cpu.out" "$T/$name.strict.out"
}

# The log's lines without the field that is a speed.
log_values() {
    sed 's/,"images_per_s":[^,}]*//' "$1"
}

@test "--device cpu-strict and DROP_DEVICE=cpu-strict choose the checked backend" {
    drop-train "${LIST[@]}" "${TINY[@]}" --epochs 0 -o "$T/m.st"
    run --separate-stderr drop-embed -v --threads 1 --device cpu-strict -m "$T/m.st" \
        -o /dev/null "${IMAGES[0]}"
    assert_success
    [[ "$stderr" == *"drop-embed: device: the cpu-strict backend"* ]]
    DROP_DEVICE=cpu-strict run --separate-stderr drop-embed -v --threads 1 -m "$T/m.st" \
        -o /dev/null "${IMAGES[0]}"
    [[ "$stderr" == *"drop-embed: device: the cpu-strict backend"* ]]
    DROP_DEVICE=cpu-strict run --separate-stderr drop-embed -v --threads 1 --device cpu \
        -m "$T/m.st" -o /dev/null "${IMAGES[0]}"
    [[ "$stderr" == *"drop-embed: device: the cpu backend"* ]]
    run --separate-stderr drop-embed --device cpu-strictly -m "$T/m.st" "${IMAGES[0]}"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--device: unknown value 'cpu-strictly' (one of: cpu, cuda, cpu-strict)"* ]]
}

@test "drop-train: 1 epoch, then --resume to 2 under cpu-strict = 2 epochs under cpu, byte for byte" {
    drop-train "${LIST[@]}" "${TINY[@]}" --epochs 2 --device cpu -o "$T/a.st" \
        --log "$T/a.log" --log-every 1
    drop-train "${LIST[@]}" "${TINY[@]}" --epochs 1 --device cpu-strict -o "$T/b.st" \
        --log "$T/b.log" --log-every 1
    drop-train "${LIST[@]}" "${TINY[@]}" --epochs 2 --device cpu-strict -o "$T/b.st" \
        --log "$T/b.log" --log-every 1 --resume "$T/b.st"
    cmp "$T/a.st" "$T/b.st"
    [ "$(log_values "$T/a.log")" = "$(log_values "$T/b.log")" ]
    run grep -c . "$T/b.log"
    assert_output 2
}

@test "drop-train --eval on a dataset layout: the same checkpoint and the same report" {
    train_both ev "${SET[@]}" "${TINY[@]}" --epochs 2 --eval --eval-every 1
    run grep -c '^epoch [12]: Rank-1 ' "$T/ev.strict.out"
    assert_output 2
}

@test "drop-train --recompute, --init and --epochs 0: the same bytes" {
    train_both rc "${LIST[@]}" "${TINY[@]}" --epochs 1 --recompute
    train_both z "${LIST[@]}" "${TINY[@]}" --epochs 0
    train_both in "${LIST[@]}" "${TINY[@]}" --epochs 1 --init "$T/z.cpu.st"
}

@test "drop-train --triplet part-avg --no-ppe, and --no-decouple --pemb 1: the same bytes" {
    train_both pa "${LIST[@]}" "${TINY[@]}" --epochs 2 --triplet part-avg --no-ppe
    train_both cp "${LIST[@]}" "${TINY[@]}" --epochs 2 --no-decouple --pemb 1
}

@test "drop-train --bf16: the same bytes (where the CPU multiplies bf16)" {
    run --separate-stderr drop-train "${LIST[@]}" "${TINY[@]}" --epochs 0 --bf16 \
        -o "$T/probe.st"
    [ "$status" = 3 ] && skip "no native bf16 on this CPU"
    train_both bf "${LIST[@]}" "${TINY[@]}" --epochs 2 --bf16
}

@test "drop-train --backbone resnet50-ibn (max pooling, instance norm): the same bytes" {
    train_both ibn "${LIST[@]}" --backbone resnet50-ibn --size 64x32 --batch 8 --threads 1 \
        -q --epochs 1
}

@test "drop-embed: embeddings, --masks and --dump under cpu-strict = under cpu" {
    drop-train "${LIST[@]}" "${TINY[@]}" --epochs 1 -o "$T/m.st"
    local dev
    for dev in cpu cpu-strict; do
        # batches of 3 over 3 + 6 images: the last batch of each folder's run is short
        drop-embed --threads 1 --device "$dev" -m "$T/m.st" --batch 3 --masks "$T/masks.$dev" \
            -o "$T/e.$dev.npy" "${IMAGES[@]}"
        drop-embed --threads 2 --device "$dev" -m "$T/m.st" -o "$T/e2.$dev.npy" "${IMAGES[@]}"
        drop-embed --threads 1 --device "$dev" -m "$T/m.st" --masks "$T/mi.$dev" \
            --masks-size image -o /dev/null "${IMAGES[0]}"
        for map in preid parsing p1 p4; do
            drop-embed --threads 1 --device "$dev" -m "$T/m.st" --batch 2 --dump "$map" \
                -o "$T/d.$map.$dev.npy" "${IMAGES[0]}"
        done
    done
    cmp "$T/e.cpu.npy" "$T/e.cpu-strict.npy"
    cmp "$T/e2.cpu.npy" "$T/e2.cpu-strict.npy"
    diff -r "$T/masks.cpu" "$T/masks.cpu-strict"
    diff -r "$T/mi.cpu" "$T/mi.cpu-strict"
    for map in preid parsing p1 p4; do
        cmp "$T/d.$map.cpu.npy" "$T/d.$map.cpu-strict.npy"
    done
}

@test "drop-match | drop-score under DROP_DEVICE=cpu-strict: the same bytes" {
    # a gallery of several chunks (256) with a short last one: the products on device
    # memory, copied back a block at a time (lib/reid/match.c)
    drop-synth-embed -n 600 --parts 4 --dim 32 --ids 40 --noise 1.5 -o "$T/g.npy"
    drop-synth-embed -n 30 --parts 4 --dim 32 --ids 40 --noise 1.5 --first 1000 -o "$T/q.npy"
    local dev use
    for dev in cpu cpu-strict; do
        DROP_DEVICE=$dev drop-match "$T/g.npy" "$T/q.npy" | DROP_DEVICE=$dev drop-score \
            > "$T/s.$dev.txt"
        for use in F+P G P; do
            drop-match --device $dev --threads 2 --use $use --matrix "$T/g.npy" "$T/q.npy" \
                > "$T/m.$use.$dev.npy"
        done
        DROP_DEVICE=$dev drop-match --text --rerank "$T/g.npy" "$T/q.npy" > "$T/t.$dev.txt"
    done
    cmp "$T/s.cpu.txt" "$T/s.cpu-strict.txt"
    for use in F+P G P; do
        cmp "$T/m.$use.cpu.npy" "$T/m.$use.cpu-strict.npy"
    done
    cmp "$T/t.cpu.txt" "$T/t.cpu-strict.txt"
    grep -q 'mAP' "$T/s.cpu-strict.txt"
}
