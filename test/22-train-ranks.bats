#!/usr/bin/env bats
# tests: drop-train as 2 ranks of an MPI job (doc/scale-out.md, lib/run/train_ranks.h) on
# the tiny synthetic set: with --sync-bn the losses of the first steps are one process's
# for the same global batch within 1e-3 relative (the triplet over the gathered batch
# with --triplet part-avg, the PCT memory bank over 2 epochs), the gradients of the first
# step (Adam's first moment) and the weights after 3 steps agree, a checkpoint written by
# 2 ranks resumes on 1, gradient sums in buckets during backward give the bytes of one
# sum after it, a rank killed mid-run or failing on an image ends the job
# non-zero naming a rank with the last checkpoint whole, a batch that does not split
# over the ranks is refused, cpu-strict's checked split batch norm gives cpu's bytes.
# also requires: mpirun (Open MPI), /usr/bin/python3 with numpy and PIL
# (scripts/make-synthetic-reid), jq, drop-test-ckptcmp (test/tools)

load test_helper
model_tools_on_cpu

# --conv-algo auto (the default): each layer takes Winograd or the direct kernel by the
# global batch (drop_conv2d_desc.auto_n), so a rank's slice takes what the whole batch
# takes alone
TINY=(--backbone hrnet-tiny --size 64x32 --batch 8 --threads 1 -q --warmup 0 --lr 1e-3)

setup_file() {
    tiny_set_make
}

setup() {
    tiny_set_setup
    require_mpirun
}

# Each step's "loss" of log A within REL relative of log B's, the same number of steps.
same_losses() {
    local a b
    a=$(jq -r .loss "$1") b=$(jq -r .loss "$2")
    [ "$(wc -l <<<"$a")" = "$(wc -l <<<"$b")" ] || fail "step counts differ: $a / $b"
    paste <(echo "$a") <(echo "$b") | awk -v rel="$3" '
        { d = $1 - $2; if (d < 0) d = -d; r = d / ($2 < 0 ? -$2 : $2)
          if (r > rel) { print "step " NR ": " $1 " vs " $2 " (" r " relative)"; bad = 1 } }
        END { exit bad }'
}

@test "--sync-bn: 2 ranks' losses within 1e-3 of one process's (triplet over the gathered batch)" {
    drop-train "${SET[@]}" "${TINY[@]}" --sync-bn --triplet part-avg -o "$T/one.st" \
        --epochs 1 --log "$T/one.log" --log-every 1
    mpirun_np 2 drop-train "${SET[@]}" "${TINY[@]}" --sync-bn --triplet part-avg \
        -o "$T/two.st" --epochs 1 --log "$T/two.log" --log-every 1
    [ "$(wc -l < "$T/two.log")" = 4 ]
    run jq -r .pct "$T/two.log"
    refute_line 0 # the triplet is in play
    same_losses "$T/two.log" "$T/one.log" 1e-3
}

# The batch-hard triplet picks its hardest pairs by comparisons that a rounding difference
# can flip, after which the runs part (about 1e-3 by step 6 here): the first 5 steps, the
# bank holding 1 to 3 earlier global batches, are compared.
@test "--sync-bn: the PCT memory bank holds the global batches" {
    drop-train "${SET[@]}" "${TINY[@]}" --sync-bn --vis-threshold 0 -o "$T/one.st" \
        --epochs 2 --log "$T/one.log" --log-every 1
    mpirun_np 2 drop-train "${SET[@]}" "${TINY[@]}" --sync-bn --vis-threshold 0 \
        -o "$T/two.st" --epochs 2 --log "$T/two.log" --log-every 1
    run jq -r .pct "$T/two.log"
    refute_line 0
    head -5 "$T/one.log" > "$T/one5.log"
    head -5 "$T/two.log" > "$T/two5.log"
    same_losses "$T/two5.log" "$T/one5.log" 1e-3
    run drop-test-ckptcmp "$T/two.st" "$T/one.st" 0 0 train.bank_pid
    assert_success # the same identities in the same places
}

# The gradient of the first step is Adam's first moment / 0.1. The weights after 3 steps
# (Adam, lr 1e-3): an element moves by at most about lr a step whatever its gradient, and
# elements whose gradient is 0 in exact arithmetic (a linear layer's bias before a batch
# norm) move by +-lr on the sign of their rounding error, which the summation order
# changes: 2 lr absolute.
@test "--sync-bn: the first step's gradients and the weights after 3 steps agree" {
    drop-train "${LIST[@]}" "${TINY[@]}" --sync-bn --triplet part-avg -o "$T/one.st" --epochs 1
    mpirun_np 2 drop-train "${LIST[@]}" "${TINY[@]}" --sync-bn --triplet part-avg \
        -o "$T/two.st" --epochs 1
    run drop-test-ckptcmp "$T/two.st" "$T/one.st" 1e-7 1e-2 optim.m.
    assert_success
    drop-train "${LIST[@]}" "${TINY[@]}" --sync-bn --triplet part-avg -o "$T/one.st" --epochs 3
    mpirun_np 2 drop-train "${LIST[@]}" "${TINY[@]}" --sync-bn --triplet part-avg \
        -o "$T/two.st" --epochs 3
    run drop-test-ckptcmp "$T/two.st" "$T/one.st" 2e-3 0 '!optim.' '!train.'
    assert_success
    assert_line --partial "ok - 622 tensors"
}

# Two ranks' sum is one rounding whatever the bucket, so summing in buckets started
# during backward must give the bytes of one sum after it, unless a bucket was started
# before its gradients were final (grad_buckets.h). 0.05 MiB: about 40 buckets.
@test "--grad-bucket: sums started during backward give the bytes of one sum after it" {
    mpirun_np 2 drop-train "${LIST[@]}" "${TINY[@]}" --sync-bn --triplet part-avg \
        --grad-bucket 0.05 -o "$T/b.st" --epochs 2
    mpirun_np 2 drop-train "${LIST[@]}" "${TINY[@]}" --sync-bn --triplet part-avg \
        --grad-bucket 0 -o "$T/one.st" --epochs 2
    cmp "$T/b.st" "$T/one.st"
}

@test "--device cpu-strict: 2 ranks with --sync-bn write the bytes of cpu" {
    mpirun_np 2 drop-train "${LIST[@]}" "${TINY[@]}" --sync-bn --triplet part-avg \
        --device cpu-strict -o "$T/s.st" --epochs 2
    mpirun_np 2 drop-train "${LIST[@]}" "${TINY[@]}" --sync-bn --triplet part-avg \
        --device cpu -o "$T/c.st" --epochs 2
    cmp "$T/s.st" "$T/c.st"
}

@test "a checkpoint written by 2 ranks resumes on 1" {
    mpirun_np 2 drop-train "${LIST[@]}" "${TINY[@]}" --sync-bn -o "$T/two.st" --epochs 1
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/two.st" --epochs 3 --resume "$T/two.st"
    drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/one.st" --epochs 3
    run drop-test-ckptcmp "$T/two.st" "$T/one.st" 2e-3 0 '!optim.' '!train.'
    assert_success
}

@test "without --sync-bn each rank normalises alone: it trains, and differs from one process" {
    mpirun_np 2 drop-train "${SET[@]}" "${TINY[@]}" -o "$T/two.st" --epochs 1 \
        --log "$T/two.log" --log-every 1
    drop-train "${SET[@]}" "${TINY[@]}" -o "$T/one.st" --epochs 1 --log "$T/one.log" \
        --log-every 1
    [ "$(wc -l < "$T/two.log")" = 4 ]
    run same_losses "$T/two.log" "$T/one.log" 1e-6
    assert_failure
}

@test "a rank killed mid-run ends the job non-zero naming it; the last checkpoint is whole" {
    mpirun_np 2 drop-train "${LIST[@]}" "${TINY[@]}" -o "$T/k.st" --epochs 1000 \
        >"$T/out" 2>&1 &
    local mp=$! i p victim=
    for i in $(seq 600); do [ -e "$T/k.st" ] && break; sleep 0.1; done
    [ -e "$T/k.st" ] || fail "no checkpoint after 60 s"
    for p in $(ps --ppid "$mp" -o pid=); do # the subshell of mpirun_np, mpirun, the ranks
        for p in $p $(ps --ppid "$p" -o pid=); do
            for p in $p $(ps --ppid "$p" -o pid=); do
                tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null |
                    grep -qx OMPI_COMM_WORLD_RANK=1 && victim=$p
            done
        done
    done
    [ -n "$victim" ] || fail "no rank 1 under mpirun $mp"
    kill -9 "$victim"
    local st=0
    wait "$mp" || st=$?
    [ "$st" -ne 0 ] || fail "mpirun exited 0"
    run cat "$T/out"
    assert_output --regexp "process rank 1 .*(signal 9|Killed)"
    run drop-test-ckptcmp "$T/k.st" "$T/k.st" 0 0 # opens whole
    assert_success
    [ "$(ls "$T")" = "$(printf 'k.st\nout')" ] # and no temporary beside it
}

@test "a corrupt image ends the job naming the failing rank; the checkpoint stays" {
    mkdir "$T/bad"
    cp "$D/train.tsv" "$T/bad.tsv"
    mpirun_np 2 drop-train --list "$T/bad.tsv" --labels "$D/labels" "${TINY[@]}" \
        -o "$T/m.st" --epochs 1
    cp "$T/m.st" "$T/m0.st"
    # every image of identity 2 broken: one rank's slice of the next batch
    local f
    for f in $(awk -F'\t' '$2 == 2 { print $1 }' "$D/train.tsv"); do
        head -c 100 "$f" > "$T/bad/${f##*/}"
        sed -i "s|$f|$T/bad/${f##*/}|" "$T/bad.tsv"
    done
    run mpirun_np 2 drop-train --list "$T/bad.tsv" --labels "$D/labels" "${TINY[@]}" \
        -o "$T/m.st" --epochs 2 --resume "$T/m.st"
    assert_failure
    assert_output --regexp "drop-train: rank [01]: .*bad/"
    cmp "$T/m.st" "$T/m0.st"
}

@test "a batch that does not split evenly over the ranks is refused before reading anything" {
    run mpirun_np 2 drop-train "${LIST[@]}" --backbone hrnet-tiny --size 64x32 --batch 9 \
        --instances 3 -o "$T/m.st"
    assert_failure
    assert_output --partial "--batch 9 does not split evenly over 2 ranks"
    [ ! -e "$T/m.st" ]
}
