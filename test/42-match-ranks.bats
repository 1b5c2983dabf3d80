#!/usr/bin/env bats
# tests: drop-match as ranks of an MPI job (lib/run/match_run.h): the gallery dealt to the
# ranks in chunks of 1024 records, each rank reading only its own (rank 0's gallery table
# sent by the others), each rank's best k per query merged on rank 0; every output (ranked
# lists, --text, --matrix) byte for byte one process's, with several chunks per rank, with
# ranks that hold no record, with --top past the gallery and with a multi-document gallery
# file (ranks seek over others' chunks); --gallery-block under ranks (each rank streams its
# share) the same bytes again; --rerank, --sheet, --matrix with --gallery-block and queries
# on stdin refused.
# also requires: mpirun (Open MPI), drop-synth-embed (test/tools); strace for one test

load test_helper

setup_file() {
    local d="$BATS_FILE_TMPDIR"
    drop-synth-embed -n 2500 --parts 4 --dim 32 --ids 50 --seed 1 -o "$d/g.npy"
    drop-synth-embed -n 300 --first 5000 --parts 4 --dim 32 --ids 50 --seed 1 -o "$d/q.npy"
    drop-synth-embed -n 40 --parts 4 --dim 32 --ids 5 --seed 2 -o "$d/small.npy"
    # 5 chunks: over 2 ranks rank 0 holds chunks 0, 2, 4 and rank 1 chunks 1, 3
    drop-synth-embed -n 4500 --parts 4 --dim 32 --ids 50 --seed 3 -o "$d/g5.npy"
}

setup() {
    T=$(mktemp -d)
    D="$BATS_FILE_TMPDIR"
    require_mpirun
}

# same NP OPTIONS...: drop-match on 1 process and on NP ranks write the same bytes.
same() {
    local np=$1
    shift
    drop-match "$@" -o "$T/one" || return 1
    mpirun_np "$np" drop-match "$@" -o "$T/many" || return 1
    cmp "$T/one" "$T/many"
}

@test "3 ranks over 3 chunks: ranked lists, text and matrix equal one process's" {
    same 3 --block 64 "$D/g.npy" "$D/q.npy"
    same 3 --block 64 --text "$D/g.npy" "$D/q.npy"
    same 3 --block 100 --matrix "$D/g.npy" "$D/q.npy"
    same 2 --top 5 --use G+F+P "$D/g.npy" "$D/q.npy"
    same 2 --top 3000 --text --metric cosine "$D/g.npy" "$D/q.npy"
}

@test "a multi-document gallery file: ranks seek over others' chunks across documents" {
    # written to a pipe, drop-synth-embed sends a document per 64 records: the chunks of
    # 1024 end inside documents, and the ranks other than 0 walk the headers to seek
    drop-synth-embed -n 2500 --parts 4 --dim 32 --ids 50 --seed 1 | cat > "$T/gm.npy"
    drop-match --text "$D/g.npy" "$D/q.npy" -o "$T/whole"
    mpirun_np 3 drop-match --text "$T/gm.npy" "$D/q.npy" -o "$T/many"
    cmp "$T/whole" "$T/many"
    same 2 --top 7 "$T/gm.npy" "$D/q.npy"
    same 3 --matrix "$T/gm.npy" "$D/q.npy"
}

@test "--gallery-block under ranks: each rank streams its share, the output one process's" {
    local mode
    for mode in "--top 5" "--text --block 64" "--top 2000 --metric cosine --use F+P"; do
        # shellcheck disable=SC2086
        drop-match $mode "$D/g5.npy" "$D/q.npy" -o "$T/whole"
        # blocks of 300 (512 in GEMM chunks) records of a rank's 2048 or 3476
        # shellcheck disable=SC2086
        mpirun_np 2 drop-match $mode --gallery-block 300 "$D/g5.npy" "$D/q.npy" -o "$T/many"
        cmp "$T/whole" "$T/many" || fail "$mode"
    done
    # 3 ranks: rank 2 holds one chunk, fewer records than --top 2000
    drop-match --top 2000 "$D/g5.npy" "$D/q.npy" -o "$T/whole"
    mpirun_np 3 drop-match --top 2000 --gallery-block 256 "$D/g5.npy" "$D/q.npy" -o "$T/many"
    cmp "$T/whole" "$T/many"
    # a multi-document file (a document per 64 records): blocks and chunks end inside them
    drop-synth-embed -n 4500 --parts 4 --dim 32 --ids 50 --seed 3 | cat > "$T/gm5.npy"
    drop-match --text "$D/g5.npy" "$D/q.npy" -o "$T/whole"
    mpirun_np 3 drop-match --text --gallery-block 100 "$T/gm5.npy" "$D/q.npy" -o "$T/many"
    cmp "$T/whole" "$T/many"
    # a gallery of one chunk: rank 1 streams nothing
    same 2 --top 7 --gallery-block 10 "$D/small.npy" "$D/q.npy"
}

@test "--gallery-block under ranks: drop-score scores the ranked lists as one process's" {
    drop-match --top 50 -o "$T/a.rl" "$D/g5.npy" "$D/q.npy"
    mpirun_np 2 drop-match --top 50 --gallery-block 700 -o "$T/b.rl" "$D/g5.npy" "$D/q.npy"
    cmp "$T/a.rl" "$T/b.rl"
    diff <(drop-score "$T/a.rl") <(drop-score "$T/b.rl")
}

@test "each rank reads only its share of the gallery file (rank 0 too)" {
    command -v strace >/dev/null || skip "no strace"
    if ldd "$(command -v drop-match)" 2>/dev/null | grep -q libasan; then
        skip "strace under ASan"
    fi
    local size r bytes opt
    size=$(stat -c %s "$D/g5.npy")
    # 3 ranks: rank 0 holds chunks 0 and 3 (2048 of 4500 records), 1 and 2 fewer
    for opt in "" "--gallery-block 300"; do
        # shellcheck disable=SC2016,SC2086
        mpirun_np 3 bash -c 'exec strace -qq -e trace=openat,read,close \
            -o "$0.$OMPI_COMM_WORLD_RANK" "$@"' "$T/trace" drop-match --top 5 $opt \
            "$D/g5.npy" "$D/q.npy" -o "$T/many"
        drop-match --top 5 "$D/g5.npy" "$D/q.npy" -o "$T/whole"
        cmp "$T/whole" "$T/many"
        for r in 0 1 2; do
            # the bytes read from the gallery's descriptor while it is open
            bytes=$(awk '/^openat\(.*g5\.npy"/ { fd = $NF }
                         fd != "" && index($0, "close(" fd ")") == 1 { fd = "" }
                         fd != "" && index($0, "read(" fd ",") == 1 { s += $NF }
                         END { print s + 0 }' "$T/trace.$r")
            [ "$bytes" -gt 0 ] || fail "rank $r read nothing of the gallery"
            [ "$bytes" -lt $((size * 55 / 100)) ] ||
                fail "rank $r $opt: $bytes bytes of a $size-byte gallery read"
        done
    done
}

@test "under several ranks --gallery-block refuses --matrix, as one process does" {
    run mpirun_np 2 drop-match --gallery-block 256 --matrix -o "$T/x" "$D/g.npy" "$D/q.npy"
    assert_failure
    assert_output --partial "--gallery-block does not apply to --matrix"
    [ ! -e "$T/x" ]
    run bash -c "$(declare -f mpirun_np); DROP_ROOT='$DROP_ROOT'; mpirun_np 2 drop-match --gallery-block 256 --top 5 -o '$T/x' '$D/g.npy' - < '$D/q.npy' 2>&1"
    assert_failure
    assert_output --partial "stdin: every rank reads the queries"
    [ ! -e "$T/x" ]
}

@test "a gallery of one chunk: ranks without records still answer" {
    same 2 --text "$D/small.npy" "$D/q.npy"
    same 3 --matrix "$D/small.npy" "$D/q.npy"
}

@test "the ranked lists score the same (drop-score reads rank 0's stream)" {
    drop-match -o "$T/a.rl" "$D/g.npy" "$D/q.npy"
    mpirun_np 2 drop-match -o "$T/b.rl" "$D/g.npy" "$D/q.npy"
    diff <(drop-score "$T/a.rl") <(drop-score "$T/b.rl")
}

@test "under several ranks --rerank, --sheet and stdin queries are refused" {
    run mpirun_np 2 drop-match --rerank -o "$T/x" "$D/g.npy" "$D/q.npy"
    assert_failure
    assert_output --partial "--rerank cannot run over several ranks"
    run mpirun_np 2 drop-match --sheet "$T/s.png" -o "$T/x" "$D/g.npy" "$D/q.npy"
    assert_failure
    assert_output --partial "--sheet cannot run over several ranks"
    run bash -c "$(declare -f mpirun_np); DROP_ROOT='$DROP_ROOT'; mpirun_np 2 drop-match -o '$T/x' '$D/g.npy' - < '$D/q.npy' 2>&1"
    assert_failure
    assert_output --partial "stdin: every rank reads the queries"
    [ ! -e "$T/x" ]
}
