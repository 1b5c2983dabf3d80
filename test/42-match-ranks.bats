#!/usr/bin/env bats
# tests: drop-match as ranks of an MPI job (lib/run/match_run.h): the gallery dealt to the
# ranks in chunks of 1024 records, each rank's best k per query merged on rank 0; every
# output (ranked lists, --text, --matrix) byte for byte one process's, with several chunks
# per rank, with ranks that hold no record, with --top past the gallery and with a
# multi-document gallery file (ranks seek over others' chunks); --rerank, --sheet,
# --gallery-block and queries on stdin refused.
# also requires: mpirun (Open MPI), drop-synth-embed (test/tools)

load test_helper

setup_file() {
    local d="$BATS_FILE_TMPDIR"
    drop-synth-embed -n 2500 --parts 4 --dim 32 --ids 50 --seed 1 -o "$d/g.npy"
    drop-synth-embed -n 300 --first 5000 --parts 4 --dim 32 --ids 50 --seed 1 -o "$d/q.npy"
    drop-synth-embed -n 40 --parts 4 --dim 32 --ids 5 --seed 2 -o "$d/small.npy"
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

@test "under several ranks --gallery-block is refused" {
    run mpirun_np 2 drop-match --gallery-block 256 --top 5 -o "$T/x" "$D/g.npy" "$D/q.npy"
    assert_failure
    assert_output --partial "--gallery-block runs in one process"
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
