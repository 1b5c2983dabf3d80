#!/usr/bin/env bats
# tests: drop-match - the ranked-list stream, --text and --matrix agree with each other
# (distances read back from the matrix with od), --top, every --use and --metric, queries
# from a file, from stdin and '-', from a multi-document pipe; results independent of
# --threads and --block; the pipe into drop-score; usage errors; every bad input (exit 1,
# one line naming the file, nothing on stdout, no output file left); the contact sheet
# (--sheet: its size, every frame's colour against --text's same-id column, the images
# drawn, the other outputs unchanged, missing and bad images, --sheet-root, its usage
# errors); re-ranking (--rerank: the matrix against NumPy's, every output, threads,
# blocks, lambda 1, its usage errors); --device cuda against the CPU (on a GPU); the man
# page examples.
# (The distances themselves are checked against NumPy and a double-precision reference by
# test/unit/test_match.c.)
# also requires: drop-synth-embed and drop-test-png (test/tools), drop-score for the pipe
# tests, od, awk

load test_helper
bats_require_minimum_version 1.5.0

# A gallery of 300 and 100 queries (K = 4 parts of D = 32), some junk, noisy enough that
# rankings are not trivial; TSV lists of both.
make_data() {
    drop-synth-embed -n 300 --parts 4 --dim 32 --ids 40 --noise 1.5 --junk 0.1 \
        --list "$T/g.tsv" -o "$T/g.npy"
    drop-synth-embed -n 100 --parts 4 --dim 32 --ids 40 --noise 1.5 --first 100000 \
        --list "$T/q.tsv" -o "$T/q.npy"
}

# The float32 values of a plain .npy document, one per line.
npy_values() {
    local hl
    hl=$(od -A n -t u2 -j 8 -N 2 "$1" | tr -d ' ')
    od -A n -v -t f4 -w4 -j $((10 + hl)) "$1" | tr -d ' '
}

have_score() {
    command -v drop-score >/dev/null || skip "drop-score is not built"
}

@test "--text: top 10 by default, ranks 1..10, ascending distances, same-id column right" {
    make_data
    run drop-match --text "$T/g.npy" "$T/q.npy"
    assert_success
    [ "${#lines[@]}" -eq 1000 ]
    echo "$output" | awk -F '\t' '
        NF != 5 { print "fields: " $0; exit 1 }
        $1 != q { q = $1; r = 0; last = -1 }
        { r++; if ($2 != r) { print "rank " $2 " != " r; exit 1 }
          if ($4 + 0 < last) { print "not ascending: " $0; exit 1 }
          last = $4 + 0
          split($1, a, "_"); split($3, b, "_")
          want = (a[1] == "-001" || b[1] == "-001") ? "-" : (a[1] == b[1] ? 1 : 0)
          if ($5 != want) { print "same-id: " $0; exit 1 } }'
    run drop-match --text --top 3 "$T/g.npy" "$T/q.npy"
    [ "${#lines[@]}" -eq 300 ]
    run drop-match --text --top 1000 "$T/g.npy" "$T/q.npy"
    [ "${#lines[@]}" -eq 30000 ]
}

@test "--matrix: one [queries, gallery] float32 document whose values are --text's distances" {
    make_data
    run drop-match --matrix -o "$T/d.npy" "$T/g.npy" "$T/q.npy"
    assert_success
    assert_output ""
    head -c 128 "$T/d.npy" | grep -q "'descr': '<f4', 'fortran_order': False, 'shape': (100, 300)"
    npy_values "$T/d.npy" > "$T/d.txt"
    [ "$(wc -l < "$T/d.txt")" -eq 30000 ]
    drop-match --text --top 300 "$T/g.npy" "$T/q.npy" > "$T/all.tsv"
    # Every (query, gallery) distance of --text equals the matrix's to 1e-6 (6 decimals).
    awk -F '\t' '
        FILENAME ~ /g.tsv$/ { gi[$1] = FNR - 1; next }
        FILENAME ~ /q.tsv$/ { qi[$1] = FNR - 1; next }
        FILENAME ~ /d.txt$/ { m[FNR - 1] = $1; next }
        { d = m[qi[$1] * 300 + gi[$3]] - $4
          if (d > 1e-6 || d < -1e-6) { print "mismatch: " $0 " vs " m[qi[$1] * 300 + gi[$3]]; exit 1 }
          n++ }
        END { if (n != 30000) { print n " lines"; exit 1 } }' \
        "$T/g.tsv" "$T/q.tsv" "$T/d.txt" "$T/all.tsv"
}

@test "queries from a file, from stdin, from '-' and from a multi-document pipe agree" {
    make_data
    drop-match --text "$T/g.npy" "$T/q.npy" > "$T/a.tsv"
    drop-match --text "$T/g.npy" < "$T/q.npy" > "$T/b.tsv"
    cat "$T/q.npy" | drop-match --text "$T/g.npy" - > "$T/c.tsv"
    # Written to a pipe, drop-synth-embed sends a document per 64 records.
    drop-synth-embed -n 100 --parts 4 --dim 32 --ids 40 --noise 1.5 --first 100000 |
        drop-match --text "$T/g.npy" > "$T/d.tsv"
    cmp "$T/a.tsv" "$T/b.tsv"
    cmp "$T/a.tsv" "$T/c.tsv"
    cmp "$T/a.tsv" "$T/d.tsv"
}

@test "--gallery-block: the same bytes as the gallery read whole, any block, any stream" {
    make_data
    # 300 records, also as a multi-document stream (a pipe: a document per 64 records)
    drop-synth-embed -n 300 --parts 4 --dim 32 --ids 40 --noise 1.5 --junk 0.1 | cat \
        > "$T/gm.npy"
    local mode b
    for mode in "--top 15" "--text" "--top 400 --use G+F --block 33" "--top 5 --metric cosine"; do
        # shellcheck disable=SC2086
        drop-match $mode "$T/g.npy" "$T/q.npy" -o "$T/whole"
        # shellcheck disable=SC2086
        drop-match $mode "$T/g.npy" "$T/q.npy" | cat > "$T/whole-pipe"
        for b in 1 100 256 257 300 5000; do
            # shellcheck disable=SC2086
            drop-match $mode --gallery-block $b "$T/g.npy" "$T/q.npy" -o "$T/s"
            cmp "$T/whole" "$T/s" || fail "$mode --gallery-block $b"
            # shellcheck disable=SC2086
            drop-match $mode --gallery-block $b "$T/gm.npy" "$T/q.npy" -o "$T/s"
            cmp "$T/whole" "$T/s" || fail "$mode --gallery-block $b, multi-document gallery"
        done
        # the gallery on stdin, the output on a pipe (its documents as the whole run's)
        # shellcheck disable=SC2086
        cat "$T/gm.npy" | drop-match $mode --gallery-block 100 - "$T/q.npy" | cat > "$T/s"
        cmp "$T/whole-pipe" "$T/s" || fail "$mode, gallery on stdin"
    done
}

@test "--gallery-block keeps memory bounded: peak RSS well under a 74 MB gallery" {
    [ -x /usr/bin/time ] || skip "no /usr/bin/time"
    drop-synth-embed -n 6000 --parts 4 --dim 512 --ids 40 -o "$T/big.npy"
    drop-synth-embed -n 50 --parts 4 --dim 512 --ids 40 --first 100000 -o "$T/bq.npy"
    /usr/bin/time -f %M -o "$T/whole.kb" drop-match --top 10 "$T/big.npy" "$T/bq.npy" \
        -o "$T/whole"
    /usr/bin/time -f %M -o "$T/s.kb" drop-match --top 10 --gallery-block 512 "$T/big.npy" \
        "$T/bq.npy" -o "$T/s"
    cmp "$T/whole" "$T/s"
    local whole s
    whole=$(tail -n 1 "$T/whole.kb")
    s=$(tail -n 1 "$T/s.kb")
    # the gallery is 74 MB: read whole it is all resident; 512 records are 6 MB
    [ "$whole" -gt 70000 ] || fail "whole: $whole KB"
    [ "$s" -lt $((whole - 40000)) ] || fail "streamed: $s KB, whole: $whole KB"
}

@test "--gallery-block refuses what needs the whole gallery, and an unbounded top" {
    make_data
    local opt
    for opt in --matrix --rerank "--sheet $T/s.png"; do
        # shellcheck disable=SC2086
        run --separate-stderr drop-match --gallery-block 10 $opt "$T/g.npy" "$T/q.npy"
        [ "$status" -eq 2 ] || fail "status $status with $opt"
        [[ "${stderr_lines[0]}" == "drop-match: --gallery-block does not apply to ${opt%% *} (it needs the whole gallery at once)" ]] ||
            fail "$stderr"
    done
    run --separate-stderr drop-match --gallery-block 10 "$T/g.npy" "$T/q.npy"
    [ "$status" -eq 2 ]
    [[ "${stderr_lines[0]}" == "drop-match: --gallery-block needs --top K (or --text)"* ]]
}

@test "results do not depend on --threads (bit for bit) or on --block" {
    make_data
    drop-match --threads 1 "$T/g.npy" "$T/q.npy" > "$T/1.npy"
    drop-match --threads 2 "$T/g.npy" "$T/q.npy" > "$T/2.npy"
    drop-match --threads 3 --block 7 "$T/g.npy" "$T/q.npy" > "$T/3.npy"
    cmp "$T/1.npy" "$T/2.npy"
    drop-match --threads 1 --matrix "$T/g.npy" "$T/q.npy" > "$T/m1.npy"
    drop-match --threads 2 --matrix "$T/g.npy" "$T/q.npy" > "$T/m2.npy"
    cmp "$T/m1.npy" "$T/m2.npy"
    # Another block size may move the last bit of a distance (the GEMM's shape changes),
    # not the rankings of these data.
    drop-match --text --top 300 --block 1 "$T/g.npy" "$T/q.npy" | cut -f 1-3 > "$T/b1.tsv"
    drop-match --text --top 300 --block 1000 "$T/g.npy" "$T/q.npy" | cut -f 1-3 > "$T/b2.tsv"
    cmp "$T/b1.tsv" "$T/b2.tsv"
}

@test "--device cuda: the CPU's distances within 1e-5 and its ranked lists up to ties" {
    require_cuda
    make_data
    local dev
    for dev in cpu cuda; do
        drop-match --device $dev --matrix "$T/g.npy" "$T/q.npy" > "$T/m.$dev.npy"
        drop-match --device $dev --text --top 300 "$T/g.npy" "$T/q.npy" > "$T/t.$dev.tsv"
    done
    run /usr/bin/python3 -c '
import struct, sys
def matrix(path):
    b = open(path, "rb").read()
    n = int.from_bytes(b[8:10], "little")
    v = struct.unpack("<%df" % ((len(b) - 10 - n) // 4), b[10 + n:])
    return [v[i:i + 300] for i in range(0, len(v), 300)]
cpu, gpu = matrix(sys.argv[1]), matrix(sys.argv[2])
assert len(cpu) == len(gpu) == 100
err = max(abs(a - b) for r, s in zip(cpu, gpu) for a, b in zip(r, s))
assert err <= 1e-5, err
rows = [[l.split("\t") for l in open(f)] for f in sys.argv[3:5]]
index = [{l.split("\t")[0]: i for i, l in enumerate(open(f))} for f in sys.argv[5:7]]
assert len(rows[0]) == len(rows[1]) == 100 * 300
for a, b in zip(*rows):  # query, rank, gallery item, distance
    assert a[:2] == b[:2] and abs(float(a[3]) - float(b[3])) <= 2e-5, (a, b)
    if a[2] != b[2]:  # another item at this rank: a tie within the rounding
        q, g = index[0][a[0]], index[1][b[2]]
        assert abs(cpu[q][g] - float(a[3])) <= 2e-5, (a, b)
' "$T/m.cpu.npy" "$T/m.cuda.npy" "$T/t.cpu.tsv" "$T/t.cuda.tsv" "$T/q.tsv" "$T/g.tsv"
    assert_success
}

@test "the ranked-list stream scores as its distance matrix does, through pipes too" {
    have_score
    make_data
    drop-match --matrix "$T/g.npy" "$T/q.npy" > "$T/d.npy"
    want=$(drop-score --json --dist "$T/d.npy" --query "$T/q.tsv" --gallery "$T/g.tsv")
    run drop-score --json < <(drop-match "$T/g.npy" "$T/q.npy")
    assert_output "$want"
    drop-match -o "$T/r.npy" "$T/g.npy" "$T/q.npy"
    run drop-score --json "$T/r.npy"
    assert_output "$want"
    run bash -o pipefail -c "drop-synth-embed -n 100 --parts 4 --dim 32 --ids 40 --noise 1.5 \
        --first 100000 | drop-match '$T/g.npy' | drop-score --json"
    assert_output "$want"
    # The matrix on a pipe comes in blocks: the same scores.
    run bash -o pipefail -c "drop-match --matrix --block 16 '$T/g.npy' '$T/q.npy' |
        drop-score --json --dist - --query '$T/q.tsv' --gallery '$T/g.tsv'"
    assert_output "$want"
}

@test "--top k lists hold the first k of the whole ranking" {
    have_score
    make_data
    drop-match --top 7 "$T/g.npy" "$T/q.npy" > "$T/top.npy"
    drop-match --top 7 --text "$T/g.npy" "$T/q.npy" > "$T/top.tsv"
    drop-match --text --top 300 "$T/g.npy" "$T/q.npy" | awk -F '\t' '$2 <= 7' > "$T/all7.tsv"
    cmp "$T/top.tsv" "$T/all7.tsv"
    run --separate-stderr drop-score --json "$T/top.npy"
    assert_success
    [[ "$stderr" == *"top 7 of 300"* ]]
}

@test "--use, --metric and --vis-threshold change the distances as documented" {
    make_data
    for u in G F P G+F F+P G+F+P; do
        drop-match --text --top 300 --use "$u" "$T/g.npy" "$T/q.npy" > "$T/$u.tsv"
        awk -F '\t' '$4 < 0 || $4 > 3 { exit 1 }' "$T/$u.tsv"
    done
    ! cmp -s "$T/G.tsv" "$T/F.tsv"
    ! cmp -s "$T/F+P.tsv" "$T/F.tsv"
    # Default is F+P.
    drop-match --text --top 300 "$T/g.npy" "$T/q.npy" | cmp - "$T/F+P.tsv"
    # A threshold of 1 leaves no visible part: F+P is F alone, P alone has nothing (3.0).
    drop-match --text --top 300 --vis-threshold 1 "$T/g.npy" "$T/q.npy" | cmp - "$T/F.tsv"
    run drop-match --text --top 300 --use P --vis-threshold 1 "$T/g.npy" "$T/q.npy"
    [ "$(echo "$output" | cut -f 4 | sort -u)" = "3.000000" ]
    # Cosine distances of unit vectors lie in [0, 2] and rank like Euclidean ones for F.
    drop-match --text --top 300 --use F --metric cosine "$T/g.npy" "$T/q.npy" > "$T/cos.tsv"
    awk -F '\t' '$4 < -1e-6 || $4 > 2 { exit 1 }' "$T/cos.tsv"
    cmp <(cut -f 1-3 "$T/cos.tsv") <(cut -f 1-3 "$T/F.tsv")
}

@test "a stream without the parts serves --use G and F; --use P needs them" {
    make_data
    drop-synth-embed -n 50 --parts 4 --dim 32 --omit parts --omit vis -o "$T/noparts.npy"
    run drop-match --text --use G+F "$T/noparts.npy" "$T/q.npy"
    assert_success
    run --separate-stderr drop-match --text "$T/noparts.npy" "$T/q.npy"
    [ "$status" -eq 1 ]
    [ "$stderr" = "drop-match: $T/noparts.npy: not an embedding stream: missing field 'parts' (it has: path, pid, camid, global, fg)" ]
}

@test "--rerank: the re-ranked matrix is NumPy's (torchreid's re_ranking) within 1e-4" {
    F="$FIX/rerank"
    drop-match --rerank --matrix -o "$T/rr.npy" "$F/gallery.npy" "$F/query.npy"
    paste <(npy_values "$T/rr.npy") <(npy_values "$F/rr_default.npy") |
        awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > w) w = d; n++ }
             END { if (n != 12 * 48 || w > 1e-4) { print n, w; exit 1 } }'
    drop-match --rerank --rerank-k1 5 --rerank-k2 1 --matrix -o "$T/rr5.npy" \
        "$F/gallery.npy" "$F/query.npy"
    paste <(npy_values "$T/rr5.npy") <(npy_values "$F/rr_k1_5_k2_1.npy") |
        awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > w) w = d }
             END { if (w > 1e-4) { print w; exit 1 } }'
    # fewer queries (2) and gallery items (5) than k1
    drop-match --rerank --matrix -o "$T/small.npy" "$F/small_gallery.npy" "$F/small_query.npy"
    paste <(npy_values "$T/small.npy") <(npy_values "$F/rr_small.npy") |
        awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > w) w = d; n++ }
             END { if (n != 10 || w > 1e-4) { print n, w; exit 1 } }'
}

@test "--rerank: every output, any --threads (bit for bit), lambda 1 keeps the ranking" {
    have_score
    make_data
    drop-match --rerank --threads 1 "$T/g.npy" "$T/q.npy" > "$T/1.npy"
    drop-match --rerank --threads 2 "$T/g.npy" "$T/q.npy" > "$T/2.npy"
    cmp "$T/1.npy" "$T/2.npy"
    # the ranked lists score as the re-ranked matrix does; distances in [0, 1]
    drop-match --rerank --matrix "$T/g.npy" "$T/q.npy" > "$T/d.npy"
    want=$(drop-score --json --dist "$T/d.npy" --query "$T/q.tsv" --gallery "$T/g.tsv")
    run drop-score --json "$T/1.npy"
    assert_output "$want"
    npy_values "$T/d.npy" | awk '$1 < 0 || $1 > 1 { exit 1 }'
    # re-ranking changes the scores of these data
    plain=$(drop-match "$T/g.npy" "$T/q.npy" | drop-score --json)
    [ "$plain" != "$want" ]
    # --text and --top: the first k of the whole re-ranked list; other blocks, same ranks
    drop-match --rerank --text --top 300 "$T/g.npy" "$T/q.npy" | cut -f 1-3 > "$T/all.tsv"
    drop-match --rerank --text --top 300 --block 7 "$T/g.npy" "$T/q.npy" | cut -f 1-3 > "$T/b7.tsv"
    cmp "$T/all.tsv" "$T/b7.tsv"
    drop-match --rerank --text --top 5 "$T/g.npy" "$T/q.npy" | cut -f 1-3 > "$T/top5.tsv"
    awk -F '\t' '$2 <= 5' "$T/all.tsv" | cmp - "$T/top5.tsv"
    # lambda 1: the original distance alone, squared and scaled: the same ranking
    drop-match --text --top 300 "$T/g.npy" "$T/q.npy" | cut -f 1-3 > "$T/orig.tsv"
    drop-match --rerank --rerank-lambda 1 --text --top 300 "$T/g.npy" "$T/q.npy" |
        cut -f 1-3 | cmp - "$T/orig.tsv"
}

@test "--rerank usage errors: exit 2 and the reason" {
    make_data
    for args in "--rerank-k1 0 --rerank" "--rerank-k2 0 --rerank" "--rerank-lambda 1.5 --rerank" \
                "--rerank-lambda -0.1 --rerank" "--rerank-k1 x --rerank"; do
        run --separate-stderr drop-match $args "$T/g.npy" "$T/q.npy"
        [ "$status" -eq 2 ] || fail "drop-match $args: status $status"
        assert_output ""
    done
    run --separate-stderr drop-match --rerank-k2 3 "$T/g.npy" "$T/q.npy"
    [ "$status" -eq 2 ]
    [ "${stderr_lines[0]}" = "drop-match: --rerank-k2 needs --rerank" ]
}

@test "usage errors: exit 2, a Try line, nothing on stdout" {
    make_data
    while IFS= read -r args; do
        run --separate-stderr drop-match $args
        [ "$status" -eq 2 ] || fail "drop-match $args: status $status"
        assert_output ""
        [[ "$stderr" == *"Try 'drop-match --help' for more information." ]] ||
            fail "drop-match $args: $stderr"
    done <<EOF

$T/g.npy $T/q.npy $T/q.npy
--use X $T/g.npy
--use g $T/g.npy
--metric manhattan $T/g.npy
--top 0 $T/g.npy
--top x $T/g.npy
--vis-threshold 2 $T/g.npy
--block 0 $T/g.npy
--text --matrix $T/g.npy
--matrix --top 3 $T/g.npy
--no-such-option $T/g.npy
EOF
    run --separate-stderr drop-match --use X "$T/g.npy"
    [ "${stderr_lines[0]}" = "drop-match: --use: unknown value 'X' (one of: G, F, P, G+F, F+P, G+F+P)" ]
    run --separate-stderr drop-match --text --matrix "$T/g.npy"
    [ "${stderr_lines[0]}" = "drop-match: --text and --matrix cannot be combined" ]
}

# drop-match ARGS... must fail with status 1 and exactly the one line $EXPECT on stderr,
# leaving stdout empty.
fails_with() {
    run --separate-stderr drop-match "$@"
    [ "$status" -eq 1 ] || fail "status $status for drop-match $*"
    assert_output ""
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "stderr: $stderr"
    [[ "$stderr" == $EXPECT ]] || fail "stderr: '$stderr', expected '$EXPECT'"
}

@test "bad inputs: exit 1, one line naming the file, nothing on stdout" {
    make_data
    head -c -100 "$T/g.npy" > "$T/trunc.npy"
    EXPECT="drop-match: $T/trunc.npy: truncated data: *" fails_with "$T/trunc.npy" "$T/q.npy"
    head -c -100 "$T/q.npy" > "$T/qtrunc.npy"
    EXPECT="drop-match: stdin: truncated data: *" fails_with "$T/g.npy" < "$T/qtrunc.npy"
    head -c 30 "$T/g.npy" > "$T/trunc2.npy"
    EXPECT="drop-match: $T/trunc2.npy: truncated header" fails_with "$T/trunc2.npy" "$T/q.npy"

    drop-synth-embed -n 10 --parts 4 --dim 32 --omit fg -o "$T/nofg.npy"
    EXPECT="drop-match: $T/nofg.npy: not an embedding stream: missing field 'fg' (it has: path, pid, camid, global, parts, vis)" \
        fails_with "$T/g.npy" "$T/nofg.npy"
    drop-synth-embed -n 10 --parts 4 --dim 32 --omit pid -o "$T/nopid.npy"
    EXPECT="drop-match: $T/nopid.npy: not an embedding stream: missing field 'pid' *" \
        fails_with "$T/nopid.npy" "$T/q.npy"

    drop-synth-embed -n 10 --parts 4 --dim 32 --nan-record 3 -o "$T/nan.npy"
    EXPECT="drop-match: $T/nan.npy: record 3 ('*_0000003.jpg'): non-finite value in 'fg'" \
        fails_with "$T/g.npy" "$T/nan.npy"
    EXPECT="drop-match: $T/nan.npy: record 3 (*): non-finite value in 'fg'" \
        fails_with "$T/nan.npy" "$T/q.npy"

    drop-synth-embed -n 0 --parts 4 --dim 32 -o "$T/empty.npy"
    EXPECT="drop-match: $T/empty.npy: empty gallery (no records)" fails_with "$T/empty.npy" "$T/q.npy"

    drop-synth-embed -n 10 --parts 6 --dim 32 -o "$T/k6.npy"
    EXPECT="drop-match: $T/k6.npy: embeddings of K = 6 parts of D = 32, but the gallery has K = 4 parts of D = 32" \
        fails_with "$T/g.npy" "$T/k6.npy"
    drop-synth-embed -n 10 --parts 4 --dim 16 -o "$T/d16.npy"
    EXPECT="drop-match: $T/d16.npy: embeddings of K = 4 parts of D = 16, but the gallery has K = 4 parts of D = 32" \
        fails_with "$T/g.npy" "$T/d16.npy"
    EXPECT="drop-match: $T/d16.npy: embeddings of D = 16, but the gallery has D = 32" \
        fails_with --use G "$T/g.npy" "$T/d16.npy"

    drop-match --matrix "$T/g.npy" "$T/q.npy" > "$T/plain.npy"
    EXPECT="drop-match: $T/plain.npy: not an embedding stream: expected 1-D records *" \
        fails_with "$T/plain.npy" "$T/q.npy"
    echo hello > "$T/text.npy"
    EXPECT="drop-match: $T/text.npy: not a .npy file (bad magic)" fails_with "$T/g.npy" "$T/text.npy"
    EXPECT="drop-match: $T/none.npy: No such file or directory" fails_with "$T/none.npy"
    EXPECT="drop-match: stdin: empty input" fails_with "$T/g.npy" < /dev/null
}

@test "a failed run leaves no output file, and stdout redirected to a file empty" {
    make_data
    drop-synth-embed -n 10 --parts 4 --dim 32 --nan-record 9 -o "$T/nan.npy"
    run drop-match -o "$T/out.npy" "$T/g.npy" "$T/nan.npy"
    [ "$status" -eq 1 ]
    [ ! -e "$T/out.npy" ]
    [ -z "$(ls "$T" | grep 'out.npy')" ]
    run bash -c "drop-match '$T/g.npy' '$T/nan.npy' > '$T/out2.npy'"
    [ "$status" -eq 1 ]
    [ ! -s "$T/out2.npy" ]
    # A bad record in a later block: the named output is still not left behind.
    cat "$T/q.npy" "$T/nan.npy" > "$T/late.npy"
    run drop-match --block 8 -o "$T/out3.npy" "$T/g.npy" "$T/late.npy"
    [ "$status" -eq 1 ]
    [ ! -e "$T/out3.npy" ]
}

@test "a write error on stdout is one line and status 1" {
    [ -c /dev/full ] || skip "no /dev/full"
    make_data
    for mode in "" --text --matrix; do
        run --separate-stderr bash -c "drop-match $mode '$T/g.npy' '$T/q.npy' > /dev/full"
        [ "$status" -eq 1 ]
        [ "$stderr" = "drop-match: stdout: write error: No space left on device" ]
    done
}

# ---- --sheet --------------------------------------------------------------------------------

# A JPEG gradient of W x H (red across, green down) at every path of the TSV lists given.
make_images() {
    local w=$1 h=$2 p
    shift 2
    cut -f 1 "$@" | while IFS= read -r p; do
        mkdir -p "$(dirname "$p")"
        drop-test-png jpeg "$w" "$h" "$p"
    done
}

# In $T (made the current folder): a gallery of 24 (some junk, pid -1) and 5 queries whose
# paths img/... name JPEGs there: small gallery images (enlarged on the sheet), large query
# images (shrunk).
make_sheet_data() {
    cd "$T"
    drop-synth-embed -n 24 --parts 4 --dim 16 --ids 6 --noise 1.5 --junk 0.15 \
        --prefix img/ --list g.tsv -o g.npy
    drop-synth-embed -n 5 --parts 4 --dim 16 --ids 6 --noise 1.5 --first 1000 \
        --prefix img/ --list q.tsv -o q.npy
    make_images 40 90 g.tsv
    make_images 200 400 q.tsv
}

# The sheet's geometry (lib/reid/sheet.h): 64 x 128 images in 3-pixel frames (70 x 134), a
# 12-pixel margin, a 24-pixel header, the matches from x = 106 every 78 pixels, rows every
# 167 pixels from y = 36.
col_x() { if [ "$1" -eq 0 ]; then echo 12; else echo $((106 + ($1 - 1) * 78)); fi; }
row_y() { echo $((36 + 167 * $1)); }
sheet_size() { echo "rgb $((110 + 78 * $1)) $(($2 ? 36 + 167 * $2 : 48))"; }

@test "--sheet: a row per query, each frame green, red or grey as --text's same-id column" {
    make_sheet_data
    run drop-match --text --top 8 --sheet s.png --sheet-queries 4 --sheet-top 8 g.npy q.npy
    assert_success
    printf '%s\n' "${lines[@]}" > text.tsv
    run drop-test-png info s.png
    assert_output "$(sheet_size 8 4)"
    # The queries' frames are blue.
    for r in 0 1 2 3; do
        run drop-test-png pixel s.png 13 $(($(row_y $r) + 1))
        assert_output "31 119 180"
    done
    # Every match's frame, at two corners, against its same-id column.
    local seen="" n=0 q="" r=0 want x y
    while IFS=$'\t' read -r query rank path dist same; do
        if [ "$query" != "$q" ]; then q=$query r=$((r + 1)); fi
        [ "$r" -le 4 ] || break
        case $same in 1) want="44 160 44" ;; 0) want="214 39 40" ;; -) want="150 150 150" ;; esac
        seen="$seen$same"
        x=$(col_x "$rank") y=$(row_y $((r - 1)))
        run drop-test-png pixel s.png $((x + 1)) $((y + 1))
        [ "$output" = "$want" ] || fail "query $r rank $rank ($same): $output at $((x + 1)),$((y + 1))"
        run drop-test-png pixel s.png $((x + 68)) $((y + 132))
        [ "$output" = "$want" ] || fail "query $r rank $rank ($same): $output at bottom right"
        n=$((n + 1))
    done < text.tsv
    [ "$n" -eq 32 ]
    # These data hold all three cases, so each colour was checked.
    [[ $seen == *1* && $seen == *0* && $seen == *-* ]]
}

@test "--sheet: the images are drawn resized in their frames, the right way round" {
    make_sheet_data
    drop-match --sheet s.png --sheet-queries 1 --sheet-top 2 -o r.npy g.npy q.npy
    # The gradients' red grows from left to right, their green from top to bottom, in the
    # enlarged gallery image (column 1) and the shrunk query image (column 0) alike.
    local c x y r1 g1 b1 r2 g2 b2 r3 g3 b3 r4 g4 b4
    for c in 0 1; do
        x=$(($(col_x $c) + 3)) y=$(($(row_y 0) + 3))
        read -r r1 g1 b1 < <(drop-test-png pixel s.png $x $((y + 64)))
        read -r r2 g2 b2 < <(drop-test-png pixel s.png $((x + 63)) $((y + 64)))
        read -r r3 g3 b3 < <(drop-test-png pixel s.png $((x + 32)) $y)
        read -r r4 g4 b4 < <(drop-test-png pixel s.png $((x + 32)) $((y + 127)))
        [ "$r1" -lt 30 ] && [ "$r2" -gt 225 ] || fail "column $c: red $r1 .. $r2"
        [ "$g3" -lt 30 ] && [ "$g4" -gt 225 ] || fail "column $c: green $g3 .. $g4"
        [ "$b1" -gt 100 ] && [ "$b1" -lt 156 ] || fail "column $c: blue $b1"
    done
    run drop-test-png info s.png
    assert_output "$(sheet_size 2 1)"
}

@test "--sheet leaves the ranked lists, --text and --matrix as they are" {
    make_sheet_data
    local mode
    for mode in "" --text --matrix; do
        drop-match $mode --block 2 g.npy q.npy > plain.out
        drop-match $mode --block 2 --sheet "s$mode.png" g.npy q.npy > sheet.out
        cmp plain.out sheet.out
        [ -s "s$mode.png" ]
    done
    # The sheet ranks for itself, whatever the output: the same sheets.
    cmp s.png s--text.png
    cmp s.png s--matrix.png
    # And whatever the thread count, and here the block size (the last bit a block size may
    # move changes neither these rankings nor 3-decimal distances).
    drop-match --threads 1 --block 1 --sheet s1.png g.npy q.npy > /dev/null
    cmp s.png s1.png
}

@test "--sheet: fewer queries than rows, a gallery smaller than --sheet-top, no queries" {
    make_sheet_data
    drop-match --text --sheet s.png --sheet-queries 100 --sheet-top 50 g.npy q.npy > /dev/null
    run drop-test-png info s.png
    assert_output "$(sheet_size 24 5)"
    drop-synth-embed -n 0 --parts 4 --dim 16 -o none.npy
    drop-match --sheet s0.png g.npy none.npy > /dev/null
    run drop-test-png info s0.png
    assert_output "$(sheet_size 10 0)"
}

@test "--sheet-root: relative paths are read under it, absolute paths as they are" {
    make_sheet_data
    mkdir root
    mv img root/
    run --separate-stderr drop-match --sheet s.png g.npy q.npy
    [ "$status" -eq 1 ]
    [[ "$stderr" == "drop-match: img/"*".jpg: cannot open: No such file or directory" ]]
    drop-match --sheet s.png --sheet-root root g.npy q.npy > /dev/null
    cd /
    drop-match --sheet "$T/s2.png" --sheet-root "$T/root/" "$T/g.npy" "$T/q.npy" > /dev/null
    cmp "$T/s.png" "$T/s2.png"
    cd "$T"
    drop-synth-embed -n 5 --parts 4 --dim 16 --ids 6 --noise 1.5 --first 1000 \
        --prefix "$T/root/img/" -o qabs.npy
    # The queries' paths are absolute, the gallery's relative (not under /nowhere).
    run --separate-stderr drop-match --sheet s3.png --sheet-root /nowhere g.npy qabs.npy
    [ "$status" -eq 1 ]
    [[ "$stderr" == "drop-match: /nowhere/img/"*".jpg: cannot open: No such file or directory" ]]
    drop-match --sheet s3.png --sheet-root root --sheet-top 1 g.npy qabs.npy > /dev/null
}

@test "--sheet: an image that cannot be read is an error naming it; no output is left" {
    make_sheet_data
    local first q1 last
    # The nearest gallery image of the first query.
    first=$(drop-match --text --top 1 g.npy q.npy | head -n 1 | cut -f 3)
    mv "$first" moved.jpg
    EXPECT="drop-match: $first: cannot open: No such file or directory" \
        fails_with --sheet s.png g.npy q.npy
    run drop-match --sheet s.png -o r.npy g.npy q.npy
    [ "$status" -eq 1 ]
    [ -z "$(ls | grep -E '^(s\.png|r\.npy)')" ] || fail "left: $(ls)"
    head -c 300 moved.jpg > "$first"
    EXPECT="drop-match: $first: JPEG: *" fails_with --sheet s.png g.npy q.npy
    echo "not an image" > "$first"
    EXPECT="drop-match: $first: not a JPEG, PNG or TIFF image" \
        fails_with --sheet s.png g.npy q.npy
    mv moved.jpg "$first"
    # A query's own image.
    q1=$(head -n 1 q.tsv | cut -f 1)
    rm "$q1"
    EXPECT="drop-match: $q1: cannot open: No such file or directory" \
        fails_with --sheet s.png --sheet-queries 1 --sheet-top 1 g.npy q.npy
    # A missing image in a later block: the named outputs are not left behind either.
    make_images 40 90 q.tsv
    last=$(tail -n 1 q.tsv | cut -f 1)
    rm "$last"
    run drop-match --block 1 --sheet s.png -o r.npy g.npy q.npy
    [ "$status" -eq 1 ]
    [ -z "$(ls | grep -E '^(s\.png|r\.npy)')" ] || fail "left: $(ls)"
    # An image not on the sheet is not needed.
    drop-match --block 1 --sheet s.png --sheet-queries 4 -o r.npy g.npy q.npy
    [ -s s.png ] && [ -s r.npy ]
}

@test "--sheet usage errors: exit 2 and the reason" {
    make_sheet_data
    local args msg
    while IFS='|' read -r args msg; do
        run --separate-stderr drop-match $args g.npy q.npy
        [ "$status" -eq 2 ] || fail "drop-match $args: status $status"
        assert_output ""
        [ "${stderr_lines[0]}" = "drop-match: $msg" ] || fail "drop-match $args: $stderr"
    done <<'END'
--sheet-queries 3|--sheet-queries needs --sheet
--sheet-top 3 --sheet-root img|--sheet-top needs --sheet
--sheet s.png --sheet-queries 0|--sheet-queries: 0 is out of range [1, 100]
--sheet s.png --sheet-top 51|--sheet-top: 51 is out of range [1, 50]
--sheet -|--sheet needs a file name (the PNG is not written to stdout)
--sheet s.png -o s.png|--sheet and --output name the same file
END
    [ ! -e s.png ]
}

@test "man page: mandoc -Tlint clean, every option documented, and its examples run" {
    have_score
    run mandoc -Tlint -W warning "$DROP_ROOT/man/drop-match.1"
    assert_output ""
    for f in $(drop-match --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
        grep -q -- "${f//-/\\\\-}" "$DROP_ROOT/man/drop-match.1" || fail "$f not in the man page"
    done
    cd "$T"
    drop-synth-embed -n 200 --ids 30 --noise 1.5 -o gallery.npy
    drop-synth-embed -n 40 --ids 30 --noise 1.5 --first 1000 -o query.npy
    # The images of the sheet's example: the first 4 queries and their 10 nearest.
    drop-match --text gallery.npy query.npy | head -n 40 | cut -f 1,3 | tr '\t' '\n' |
        sort -u > shown.txt
    mkdir images
    (cd images && make_images 64 128 ../shown.txt)
    run_man_examples "$DROP_ROOT/man/drop-match.1"
    run drop-test-png info sheet.png
    assert_output "rgb 890 704"
}
