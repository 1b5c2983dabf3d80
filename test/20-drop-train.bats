#!/usr/bin/env bats
# tests: drop-train on a tiny synthetic set (hrnet-tiny at 64x32, batches of 2 ids x 4):
# a run on a TSV list with --log (valid JSON lines with every field, the loss falls over a
# few epochs), --resume continuing bit for bit (1 + 1 epochs = 2 epochs, byte-identical
# checkpoints), SIGINT after the first step (exit 130, a checkpoint that resumes to the
# uninterrupted result) on the Occluded-Duke layout with --eval, --epochs 0, --init by
# name, bad input (missing label, corrupt image, unknown dataset, incompatible or foreign
# --resume, --init matching nothing), --recompute (the same run within rounding, resumable
# either way), --bf16 (recorded, resumes exactly), --tf32 (a usage error on the CPU; in the
# metadata, resumed only with it; on a GPU when there is one), --conv-algo winograd (learns,
# recorded, resumes exactly), usage errors, the man page's examples.
# also requires: /usr/bin/python3 with numpy and PIL (scripts/make-synthetic-reid; skipped
# without them, a failure under DROP_TEST_STRICT=1) and json, drop-labels, cmp, grep

load test_helper
model_tools_on_cpu

TINY=(--backbone hrnet-tiny --size 64x32 --batch 8 --threads 2 -q)

# The tiny set of test/test_helper.bash (4 training ids x 8 images, 3 test ids, a list
# of 2 ids x 4 images), made once.
setup_file() {
    tiny_set_make
}

setup() {
    tiny_set_setup
}

@test "the list holds 2 ids x 4 images" {
    run cut -f2 "$D/train.tsv"
    assert_output "$(printf '1\n1\n1\n1\n2\n2\n2\n2')"
}

@test "--log writes JSON lines with every field; the parsing loss falls on a fixed set" {
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/m.st" --epochs 6 --warmup 0 --lr 1e-3 \
        --flip 0 --log "$T/log" --log-every 1
    [ -s "$T/m.st" ]
    run /usr/bin/python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = ["epoch", "step", "lr", "loss", "id_global", "id_fore", "id_concat", "pct",
        "hp_ce", "hp_smooth", "parsing_acc", "parsing_fg_iou", "parsing_part_iou",
        "images_per_s"]
assert len(rows) == 6, len(rows)
for i, r in enumerate(rows):
    assert sorted(r) == sorted(keys), r
    assert r["step"] == i + 1 and r["epoch"] == i + 1 and r["lr"] == 1e-3, r
    assert 0 <= r["parsing_acc"] <= 1 and r["images_per_s"] > 0, r
    assert r["parsing_fg_iou"] is None or 0 <= r["parsing_fg_iou"] <= 1, r
    assert r["parsing_part_iou"] is None or 0 <= r["parsing_part_iou"] <= 1, r
hp = [r["hp_ce"] for r in rows]
assert all(b < a for a, b in zip(hp, hp[1:])), hp
assert rows[-1]["parsing_acc"] > rows[0]["parsing_acc"], "parsing accuracy did not rise"
' "$T/log"
    assert_success
}

@test "--resume continues exactly: 1 + 1 epochs = 2 epochs, byte for byte" {
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/a.st" --epochs 2
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/b.st" --epochs 1
    run cmp -s "$T/a.st" "$T/b.st"
    assert_failure
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/b.st" --epochs 2 --resume "$T/b.st"
    cmp "$T/a.st" "$T/b.st"
    grep -aq '"epoch":"2"' "$T/b.st"
    grep -aq '"step":"2"' "$T/b.st"
}

@test "SIGINT after the first step: exit 130, the checkpoint resumes exactly; --eval" {
    # 8 batches of 1 id x 4 at 128x64: steps long enough for the signal to land mid-epoch
    local slow=(--size 128x64 --batch 4)
    drop-train "${SET[@]}" "${TINY[@]}" "${slow[@]}" -o "$T/a.st" --epochs 1
    set -m   # job control: a background job must not ignore SIGINT
    drop-train "${SET[@]}" "${TINY[@]}" "${slow[@]}" -o "$T/i.st" --epochs 1 --log "$T/log" \
        --log-every 1 &
    local pid=$! n=0
    while ! [ -s "$T/log" ] && [ $((n++)) -lt 600 ]; do sleep 0.02; done
    kill -INT "$pid"
    local rc=0
    wait "$pid" || rc=$?
    set +m
    [ "$rc" = 130 ]
    run grep -ac '"batch":"[1-7]"' "$T/i.st"
    assert_output 1
    run drop-train "${SET[@]}" "${TINY[@]}" "${slow[@]}" -o "$T/i.st" --epochs 1 \
        --resume "$T/i.st" --eval
    assert_success
    assert_output --regexp '^epoch 1: Rank-1 [0-9.]+%  Rank-5 [0-9.]+%  Rank-10 [0-9.]+%  mAP [0-9.]+%  mINP [0-9.]+%  \(3 queries, 6 gallery\)$'
    cmp "$T/a.st" "$T/i.st"
}

@test "--epochs 0 writes the initialised model; --init loads it by name" {
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/z.st" --epochs 0
    grep -aq '"epoch":"0"' "$T/z.st"
    grep -aq '"format":"drop-checkpoint"' "$T/z.st"
    run drop-train "${LIST[@]}" --backbone hrnet-tiny --size 64x32 --batch 8 -o "$T/y.st" \
        --epochs 0 --init "$T/z.st" --seed 2
    assert_success
    assert_output --regexp 'z.st: loaded [0-9]+ tensors; 0 model entries not in the file'
    # the weights of z.st whatever the seed: only the two seed digits differ
    run cmp -l "$T/z.st" "$T/y.st"
    assert_equal "${#lines[@]}" 2
}

@test "--init with no matching name is an error" {
    local h='{"foo.weight":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
    { printf "\\x$(printf %02x ${#h})\\x00\\x00\\x00\\x00\\x00\\x00\\x00"; printf %s "$h"
      printf '\x00\x00\x80\x3f'; } > "$T/w.safetensors"
    run drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/m.st" --epochs 0 --init "$T/w.safetensors"
    assert_failure 1
    assert_output --partial "w.safetensors: no tensor name matches a model parameter"
    [ ! -e "$T/m.st" ]
}

@test "a missing label is an error naming the file" {
    cp -r "$D/labels" "$T/labels"
    rm "$T/labels/bounding_box_train/0002_"*.png
    run drop-train --dataset occluded_duke --root "$D/syn" --labels "$T/labels" "${TINY[@]}" \
        -o "$T/m.st" --epochs 1
    assert_failure 1
    assert_output --regexp "^drop-train: .*bounding_box_train/0002_c[0-9]_f[0-9]+\.jpg: label $T/labels/bounding_box_train/0002_.*\.png: No such file or directory$"
    [ ! -e "$T/m.st" ]
}

@test "a corrupt image is an error naming it" {
    mkdir "$T/bounding_box_train"
    cp $(cut -f1 "$D/train.tsv") "$T/bounding_box_train/"
    local first
    first=$(head -n1 "$D/train.tsv" | cut -f1)
    head -c 300 "$first" > "$T/bounding_box_train/${first##*/}"
    sed "s|^[^\t]*/|$T/bounding_box_train/|" "$D/train.tsv" > "$T/bad.tsv"
    run drop-train --list "$T/bad.tsv" --labels "$D/labels" "${TINY[@]}" -o "$T/m.st" \
        --epochs 1
    assert_failure 1
    assert_output --regexp "^drop-train: $T/bounding_box_train/${first##*/}: JPEG"
    [ ! -e "$T/m.st" ]
}

@test "an incompatible or foreign --resume is an error" {
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/z.st" --epochs 0
    run drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/m.st" --epochs 1 --resume "$T/z.st" \
        --parts 4
    assert_failure 1
    assert_output "drop-train: $T/z.st: incompatible checkpoint: it was trained with --parts 8, this run asks for 4"
    run drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/m.st" --epochs 1 --resume "$T/z.st" \
        --lr 1e-3
    assert_failure 1
    assert_output "drop-train: $T/z.st: incompatible checkpoint: it was trained with --lr 0.00035, this run asks for 0.001"
    run drop-train "${SET[@]}" "${TINY[@]}" -o "$T/m.st" --epochs 1 --resume "$T/z.st"
    assert_failure 1
    assert_output "drop-train: $T/z.st: incompatible checkpoint: it was trained with 2 identities, this training set has 4"
    echo 'not a checkpoint' > "$T/x.st"
    run drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/m.st" --epochs 1 --resume "$T/x.st"
    assert_failure 1
    assert_output --regexp "^drop-train: $T/x.st: "
    [ ! -e "$T/m.st" ]
}

@test "--pad, --erase and --label-smooth change the run and are recorded in the checkpoint" {
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/a.st" --epochs 1
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/p.st" --epochs 1 --pad 2
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/e.st" --epochs 1 --erase 0
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/s.st" --epochs 1 --label-smooth 0
    grep -aq 'pad\\":10,\\"erase\\":0.5' "$T/a.st"
    grep -aq 'pad\\":2,' "$T/p.st"
    grep -aq 'erase\\":0}' "$T/e.st"
    grep -aq 'label_smooth\\":0,' "$T/s.st"
    grep -aq 'label_smooth\\":0.1' "$T/a.st"
    local f
    for f in p e s; do
        run cmp -s "$T/a.st" "$T/$f.st"
        assert_failure
    done
}

@test "--recompute: the same losses, a checkpoint within rounding, resumable either way" {
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/a.st" --epochs 2 --log "$T/a.log" --log-every 1
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/r.st" --epochs 2 --log "$T/r.log" --log-every 1 \
        --recompute
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/h.st" --epochs 1 --recompute
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/h.st" --epochs 2 --resume "$T/h.st"
    run /usr/bin/python3 -c '
import json, sys
import numpy as np
a, r = ([json.loads(l) for l in open(f)] for f in sys.argv[1:3])
assert len(a) == len(r) == 2
assert a[0]["loss"] == r[0]["loss"], (a[0], r[0])  # step 1: the same forward pass
assert abs(a[1]["loss"] - r[1]["loss"]) <= 1e-5 * abs(a[1]["loss"]), (a[1], r[1])

def tensors(path):
    b = open(path, "rb").read()
    n = int.from_bytes(b[:8], "little")
    head = json.loads(b[8:8 + n])
    out = {}
    for k, v in head.items():
        if k != "__metadata__" and v["dtype"] == "F32":
            s, e = v["data_offsets"]
            out[k] = np.frombuffer(b[8 + n + s:8 + n + e], dtype="<f4")
    return out

x = tensors(sys.argv[3])
for other in sys.argv[4:]:
    y = tensors(other)
    assert x.keys() == y.keys()
    for k in x:
        d = np.abs(x[k] - y[k]).max() if x[k].size else 0
        assert d <= 1e-4 + 1e-3 * np.abs(x[k]).max(), (other, k, d)
' "$T/a.log" "$T/r.log" "$T/a.st" "$T/r.st" "$T/h.st"
    assert_success
}

@test "--bf16: recorded in the checkpoint, resumed only with it; without native bf16, exit 3" {
    run --separate-stderr drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/b.st" --epochs 1 --bf16
    if [ "$status" = 3 ]; then
        [[ "$stderr" == *"--bf16"*"AVX512-BF16"* ]]
        [ ! -e "$T/b.st" ]
        return
    fi
    assert_success
    grep -aq 'erase\\":0.5,\\"bf16\\":1}' "$T/b.st"
    run --separate-stderr drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/b.st" --epochs 2 \
        --resume "$T/b.st"
    [ "$status" = 1 ]
    [[ "$stderr" == *"incompatible checkpoint: it was trained with --bf16"* ]]
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/b.st" --epochs 2 --resume "$T/b.st" --bf16
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/c.st" --epochs 2 --bf16
    cmp "$T/b.st" "$T/c.st"
}

@test "--tf32: a usage error on the CPU backends; a checkpoint made with it resumes only with it" {
    for dev in cpu cpu-strict; do
        run --separate-stderr drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/t.st" --epochs 1 \
            --tf32 --device "$dev"
        [ "$status" = 2 ]
        [[ "$stderr" == *"--tf32: the $dev backend has no TF32 math"* ]]
        [ ! -e "$T/t.st" ]
    done
    # the metadata field: a CPU checkpoint given the "tf32":1 a GPU run records
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/a.st" --epochs 1
    /usr/bin/python3 -c '
import json, sys
b = open(sys.argv[1], "rb").read()
n = int.from_bytes(b[:8], "little")
head = json.loads(b[8:8 + n])
meta = head["__metadata__"]
assert meta["train"].endswith("}") and "tf32" not in meta["train"], meta["train"]
meta["train"] = meta["train"][:-1] + ",\"tf32\":1}"
h = json.dumps(head).encode()
h += b" " * (-len(h) % 8)
open(sys.argv[2], "wb").write(len(h).to_bytes(8, "little") + h + b[8 + n:])
' "$T/a.st" "$T/t.st"
    run --separate-stderr drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/t.st" --epochs 2 \
        --resume "$T/t.st"
    [ "$status" = 1 ]
    [[ "$stderr" == *"incompatible checkpoint: it was trained with --tf32, this run is not"* ]]
}

@test "--tf32 on the GPU: recorded in the checkpoint, resumed only with it" {
    require_cuda
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/t.st" --epochs 1 --tf32 --device cuda
    grep -aq 'erase\\":0.5,\\"tf32\\":1}' "$T/t.st"
    run --separate-stderr drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/t.st" --epochs 2 \
        --resume "$T/t.st" --device cuda
    [ "$status" = 1 ]
    [[ "$stderr" == *"incompatible checkpoint: it was trained with --tf32"* ]]
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/t.st" --epochs 2 --resume "$T/t.st" --tf32 \
        --device cuda
    grep -aq 'tf32\\":1}' "$T/t.st"
}

@test "--conv-algo winograd: still learns; recorded, resumed only with it; else exit 3" {
    run --separate-stderr drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/w.st" --epochs 6 \
        --warmup 0 --lr 1e-3 --flip 0 --log "$T/log" --log-every 1 --conv-algo winograd
    if [ "$status" = 3 ]; then
        [[ "$stderr" == *"--conv-algo winograd"*"AVX-512"* ]]
        [ ! -e "$T/w.st" ]
        skip "Winograd: this CPU lacks avx512_core"
    fi
    assert_success
    run /usr/bin/python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
hp = [r["hp_ce"] for r in rows]
assert len(rows) == 6 and all(b < a for a, b in zip(hp, hp[1:])), hp
assert rows[-1]["parsing_acc"] > rows[0]["parsing_acc"], "parsing accuracy did not rise"
' "$T/log"
    assert_success
    grep -aq '\\"conv-algo\\":\\"winograd\\"}' "$T/w.st"
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/a.st" --epochs 1 --conv-algo winograd
    run --separate-stderr drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/a.st" --epochs 2 \
        --resume "$T/a.st"
    [ "$status" = 1 ]
    [[ "$stderr" == *"incompatible checkpoint: it was trained with --conv-algo"* ]]
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/a.st" --epochs 2 --resume "$T/a.st" \
        --conv-algo winograd
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/b.st" --epochs 2 --conv-algo winograd
    cmp "$T/a.st" "$T/b.st"
    # direct: other bits, and not recorded when auto
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/d.st" --epochs 2 --conv-algo direct
    run cmp -s "$T/b.st" "$T/d.st"
    assert_failure
    grep -aq '\\"conv-algo\\":\\"direct\\"}' "$T/d.st"
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/u.st" --epochs 1
    run grep -aq 'conv-algo' "$T/u.st"
    assert_failure
    run drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/x.st" --conv-algo winograd --bf16
    assert_failure 2
    assert_output --partial "not with --bf16"
    run drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/x.st" --conv-algo fast
    assert_failure 2
}

@test "usage errors exit 2" {
    run drop-train --dataset nope --root "$T" --labels "$T" -o "$T/m.st"
    assert_failure 2
    assert_output --partial "unknown dataset 'nope'"
    run drop-train "${LIST[@]}"
    assert_failure 2
    assert_output --partial "no output"
    run drop-train "${LIST[@]}" "${SET[@]}" -o "$T/m.st"
    assert_failure 2
    run drop-train "${LIST[@]}" -o "$T/m.st" --size 100x50
    assert_failure 2
    assert_output --partial "--size '100x50'"
    run drop-train "${LIST[@]}" -o "$T/m.st" --batch 10
    assert_failure 2
    assert_output --partial "not a multiple of --instances 4"
    run drop-train "${LIST[@]}" -o "$T/m.st" --eval
    assert_failure 2
    run drop-train "${LIST[@]}" -o "$T/m.st" --triplet hard
    assert_failure 2
    run drop-train "${LIST[@]}" -o "$T/m.st" --steps 70,40
    assert_failure 2
    run drop-train "${LIST[@]}" -o "$T/m.st" --grad-bucket -1
    assert_failure 2
    assert_output --partial "--grad-bucket"
    run drop-train "${LIST[@]}" -o "$T/m.st" --erase 1.5
    assert_failure 2
    assert_output --partial "--erase: 1.5 is out of range [0, 1]"
    run drop-train "${LIST[@]}" -o "$T/m.st" --pad -1
    assert_failure 2
    run drop-train "${LIST[@]}" -o "$T/m.st" --label-smooth 1
    assert_failure 2
    run drop-train --bogus
    assert_failure 2
    assert_output --partial "Try 'drop-train --help'"
    run drop-train --help
    assert_success
    assert_output --partial "Usage: drop-train"
    [ ! -e "$T/m.st" ]
}

@test "man page: lint and examples" {
    run mandoc -Tlint -W warning "$DROP_ROOT/man/drop-train.1"
    assert_output ""
    cd "$T"
    cp "$D/train.tsv" train.tsv
    cp -r "$D/labels" labels
    run_man_examples "$DROP_ROOT/man/drop-train.1"
    [ -s model.safetensors ]
}
