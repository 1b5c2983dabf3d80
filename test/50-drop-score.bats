#!/usr/bin/env bats
# tests: drop-score - the Market-1501 and CUHK03 single-shot scores of distance matrices
# (--dist) equal an independent NumPy reference (test/fixtures/score, written by
# scripts/make-score-fixtures) to 1e-6, per query too; ranked-list streams (files and
# pipes) score exactly as --dist; truncated lists; the table, --json and --per-query
# outputs; the ROC curve (--roc, --roc-plot: cases worked by hand, ranked lists against
# --dist, truncated lists); usage errors; every bad input; the man page and its examples.
# also requires: drop-test-ranklist and drop-test-png (test/tools), mandoc, perl

load test_helper
bats_require_minimum_version 1.5.0

F="$FIX/score"
ALL_RANKS=$(seq -s, 1 50)

# The --dist arguments of fixture case $1.
dist_args() {
    echo --dist "$F/$1.npy" --query "$F/$1-q.tsv" --gallery "$F/$1-g.tsv"
}

# The protocol of case $1 in expected.tsv.
protocol_of() {
    awk -F '\t' -v n="$1" '$1 == n { print $2 }' "$F/expected.tsv"
}

# The cases that have at least one valid query.
valid_cases() {
    awk -F '\t' '!/^#/ && $5 != "-" { print $1 }' "$F/expected.tsv"
}

# Compare drop-score's JSON ($1, with --ranks 1..50) with the reference line of case $2:
# valid query count exactly, mAP, mINP and the CMC at ranks 1..50 to 1e-6.
json_matches() {
    awk -F '\t' -v json="$1" -v name="$2" '
        BEGIN {
            s = json
            gsub(/[{}" ]/, "", s)
            n = split(s, kv, ",")
            for (i = 1; i <= n; i++) {
                m = split(kv[i], p, ":")
                got[m == 3 ? p[2] : p[1]] = p[m]
            }
        }
        function close_to(a, b) { return (a - b <= 1e-6 && b - a <= 1e-6) }
        $1 == name {
            found = 1
            if (got["queries"] != $3) { print name ": queries " got["queries"] " != " $3; bad = 1 }
            if (!close_to(got["mAP"], $5)) { print name ": mAP " got["mAP"] " != " $5; bad = 1 }
            if (!close_to(got["mINP"], $6)) { print name ": mINP " got["mINP"] " != " $6; bad = 1 }
            for (r = 1; r <= 50; r++)
                if (!(r in got) || !close_to(got[r], $(6 + r))) {
                    print name ": CMC@" r " " got[r] " != " $(6 + r); bad = 1
                }
        }
        END { if (!found) print name ": not in expected.tsv"; exit !found || bad }
    ' "$F/expected.tsv"
}

# Compare a --per-query file ($1) with the reference of case $2 (AP, INP to 1e-6).
per_query_matches() {
    awk -F '\t' -v name="$2" '
        FNR == NR { if ($1 == name) { valid[$2] = $3; ap[$2] = $4; first[$2] = $5; inp[$2] = $6; n++ }
                    next }
        /^#/ { next }
        {
            rows++
            q = $1
            if (!(q in valid)) { print "query " q " unexpected"; bad = 1; next }
            if (valid[q] == 0) {
                if ($5 != "-" || $6 != "-" || $7 != "-") { print "query " q " not skipped"; bad = 1 }
                next
            }
            d1 = $5 - ap[q]; d2 = $7 - inp[q]
            if (d1 > 1e-6 || d1 < -1e-6 || d2 > 1e-6 || d2 < -1e-6 || $6 != first[q]) {
                print "query " q ": " $5 " " $6 " " $7 " != " ap[q] " " first[q] " " inp[q]; bad = 1
            }
        }
        END { if (rows != n) { print rows " rows for " n " queries"; bad = 1 }; exit bad }
    ' "$F/expected-query.tsv" "$1"
}

# Run drop-score expecting a data error: status 1, nothing on stdout, one line on stderr
# starting "drop-score: $1: " and containing $2. The command follows.
expect_data_error() {
    local file=$1 msg=$2
    shift 2
    run --separate-stderr drop-score "$@"
    [ "$status" -eq 1 ] || fail "status $status, expected 1: $*"
    [ -z "$output" ] || fail "stdout not empty: $output"
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one line on stderr, got: $stderr"
    [[ "$stderr" == "drop-score: $file: "* ]] || fail "message does not name $file: $stderr"
    [[ "$stderr" == *"$msg"* ]] || fail "message lacks '$msg': $stderr"
}

@test "drop-score --dist equals the NumPy reference on every fixture case (1e-6)" {
    local n=0
    for c in $(valid_cases); do
        run --separate-stderr drop-score --json --ranks "$ALL_RANKS" \
            --protocol "$(protocol_of "$c")" $(dist_args "$c")
        assert_success
        run json_matches "$output" "$c"
        assert_success
        n=$((n + 1))
    done
    [ "$n" -ge 35 ]
}

@test "drop-score --per-query equals the reference per query" {
    for c in $(valid_cases); do
        drop-score --per-query "$T/pq.tsv" $(dist_args "$c") >/dev/null
        run per_query_matches "$T/pq.tsv" "$c"
        assert_success
    done
}

@test "drop-score prints a table in percent by default" {
    run --separate-stderr drop-score $(dist_args case00)
    assert_success
    [ "${#lines[@]}" -eq 7 ]
    assert_line --index 0 "Protocol market: 3 valid queries, 3 skipped"
    assert_line --index 1 "mAP        14.59%"
    assert_line --index 2 "mINP       15.60%"
    assert_line --index 3 "Rank-1      0.00%"
    assert_line --index 4 "Rank-5     33.33%"
    assert_line --index 5 "Rank-10    66.67%"
    assert_line --index 6 "Rank-20    66.67%"
    [ -z "$stderr" ]
}

@test "drop-score --json prints one object with the requested ranks" {
    run --separate-stderr drop-score --json --ranks 1,5,10 $(dist_args case13)
    assert_success
    [ "${#lines[@]}" -eq 1 ]
    local num='[0-9]+(\.[0-9]+)?(e-?[0-9]+)?'
    assert_output --regexp "^\{\"queries\": 9, \"mAP\": $num, \"mINP\": $num, \"cmc\": \{\"1\": $num, \"5\": $num, \"10\": $num\}\}$"
    run drop-score --json $(dist_args case13)
    assert_output --partial '"cmc": {"1": 0.1111111111, "5": 0.4444444444, "10": 1, "20": 1}}'
}

@test "drop-score --per-query writes a commented TSV, skipped queries marked" {
    run drop-score --per-query "$T/pq.tsv" $(dist_args case00)
    assert_success
    [ "$(grep -c '^#' "$T/pq.tsv")" -eq 3 ]
    grep -q $'^# query\tpath\tpid\tcamid\tAP\tfirst_hit\tINP$' "$T/pq.tsv"
    [ "$(grep -vc '^#' "$T/pq.tsv")" -eq 6 ]
    [ "$(grep -c $'\t-\t-\t-$' "$T/pq.tsv")" -eq 3 ]
    grep -q $'^0\tquery/0000.jpg\t' "$T/pq.tsv"
    # No temporary left beside it.
    [ "$(ls "$T")" = pq.tsv ]
}

@test "a ranked-list stream scores exactly as --dist (file and pipe)" {
    for c in $(valid_cases); do
        [ "$(protocol_of "$c")" = market ] || continue
        drop-test-ranklist "$F/$c.npy" "$F/$c-q.tsv" "$F/$c-g.tsv" > "$T/r.npy"
        want=$(drop-score --json --ranks "$ALL_RANKS" --per-query "$T/want.tsv" $(dist_args "$c"))
        got=$(drop-score --json --ranks "$ALL_RANKS" --per-query "$T/got.tsv" "$T/r.npy")
        [ "$got" = "$want" ] || fail "$c: stream $got, dist $want"
        cmp "$T/got.tsv" "$T/want.tsv"
        got=$(drop-score --json --ranks "$ALL_RANKS" - < "$T/r.npy")
        [ "$got" = "$want" ]
    done
    # Through a pipe (a stream of several documents when there are many queries).
    want=$(drop-score --json $(dist_args case04))
    got=$(drop-test-ranklist "$F/case04.npy" "$F/case04-q.tsv" "$F/case04-g.tsv" | drop-score --json)
    [ "$got" = "$want" ]
}

@test "cuhk03-single-shot equals the reference where sampling cannot matter, any seed" {
    for seed in 1 7 123456789; do
        run --separate-stderr drop-score --json --ranks "$ALL_RANKS" --seed "$seed" \
            --protocol cuhk03-single-shot $(dist_args cuhk03)
        assert_success
        run json_matches "$output" cuhk03
        assert_success
    done
    drop-test-ranklist "$F/cuhk03.npy" "$F/cuhk03-q.tsv" "$F/cuhk03-g.tsv" > "$T/r.npy"
    run drop-score --json --ranks "$ALL_RANKS" --protocol cuhk03-single-shot "$T/r.npy"
    assert_success
    run json_matches "$output" cuhk03
    assert_success
}

@test "cuhk03-single-shot: a seed gives the same scores every time, other seeds others" {
    local args="--json --ranks $ALL_RANKS --protocol cuhk03-single-shot $(dist_args case29)"
    a=$(drop-score $args --seed 5)
    b=$(drop-score $args --seed 5 --threads 1)
    [ "$a" = "$b" ]
    c=$(drop-score $args --seed 6)
    [ "$a" != "$c" ]
    # AP is the Market-1501 one.
    m=$(drop-score --json $(dist_args case29) | grep -o '"mAP": [^,]*')
    [[ "$a" == *"$m"* ]]
}

@test "truncated lists (--top): a warning, the same valid queries, mAP a lower bound" {
    local c=case04
    drop-test-ranklist --top 5 "$F/$c.npy" "$F/$c-q.tsv" "$F/$c-g.tsv" > "$T/top.npy"
    run --separate-stderr drop-score --json "$T/top.npy"
    assert_success
    [[ "$stderr" == "drop-score: warning: $T/top.npy: ranked lists hold the top 5 of "*" gallery items: mAP and mINP are lower bounds"* ]]
    top=$output
    full=$(drop-score --json $(dist_args $c))
    [ "$(echo "$top" | grep -o '"queries": [0-9]*')" = "$(echo "$full" | grep -o '"queries": [0-9]*')" ]
    awk -v a="$top" -v b="$full" 'BEGIN {
        match(a, /"mAP": [0-9.e-]+/); x = substr(a, RSTART + 7, RLENGTH - 7)
        match(b, /"mAP": [0-9.e-]+/); y = substr(b, RSTART + 7, RLENGTH - 7)
        exit !(x + 0 < y + 0) }'
    # -q silences the warning; the complete lists give no warning.
    run --separate-stderr drop-score -q "$T/top.npy"
    [ -z "$stderr" ]
    drop-test-ranklist --top 1000 "$F/$c.npy" "$F/$c-q.tsv" "$F/$c-g.tsv" > "$T/all.npy"
    run --separate-stderr drop-score --json "$T/all.npy"
    [ -z "$stderr" ]
    [ "$output" = "$full" ]
}

@test "--threads does not change the scores" {
    for c in case04 case29; do
        a=$(drop-score --json --ranks "$ALL_RANKS" --threads 1 $(dist_args $c))
        b=$(drop-score --json --ranks "$ALL_RANKS" --threads 2 $(dist_args $c))
        [ "$a" = "$b" ]
    done
}

# A float32 .npy matrix FILE of ROWS x COLS from the values that follow.
write_f4() {
    local file=$1 rows=$2 cols=$3
    shift 3
    local h="{'descr': '<f4', 'fortran_order': False, 'shape': ($rows, $cols), }"
    while [ $(((10 + ${#h} + 1) % 64)) -ne 0 ]; do h="$h "; done
    {
        printf '\x93NUMPY\x01\x00'
        perl -e 'print pack("v", $ARGV[0])' $((${#h} + 1))
        printf '%s\n' "$h"
        perl -e 'print pack("f<*", @ARGV)' "$@"
    } > "$file"
}

# The case worked by hand in roc_hand's comment.
roc_hand() {
    # q0 (pid 1, cam 1) keeps g0 (+ 0.1), g1 (- 0.4), g4 (- 0.3): g2 is its identity under
    # its camera, g3 junk. q1 (pid 2, cam 1) keeps g0 (- 0.35), g1 (+ 0.2), g2 (- 0.1),
    # g4 (- 0.5). q2 (pid 9) has no true match: skipped. P = 2, N = 5:
    # t = 0.1: FPR 1/5, TPR 1/2; 0.2: 1/5, 1; 0.3, 0.35, 0.4 on the segment to 0.5: 1, 1.
    # EER: between (0.2, 0.5) and (0.2, 1), at FPR 0.2 = 1 - TPR.
    printf 'q0.jpg\t1\t1\nq1.jpg\t2\t1\nq2.jpg\t9\t1\n' > "$T/q.tsv"
    printf 'g0.jpg\t1\t2\ng1.jpg\t2\t2\ng2.jpg\t1\t1\ng3.jpg\t-1\t2\ng4.jpg\t3\t2\n' > "$T/g.tsv"
    write_f4 "$T/d.npy" 3 5 0.1 0.4 0.2 0.05 0.3 \
                            0.35 0.2 0.1 0.0 0.5 \
                            0.01 0.02 0.03 0.04 0.05
}

@test "--roc: the curve and figures of a case worked by hand" {
    roc_hand
    run drop-score --dist "$T/d.npy" --query "$T/q.tsv" --gallery "$T/g.tsv" --roc "$T/roc.tsv"
    assert_success
    assert_line "Verification: 2 positive, 5 negative query-gallery pairs"
    assert_line "TPR@FPR=1e-4     0.00%"
    assert_line "TPR@FPR=1e-2     0.00%"
    assert_line "EER             20.00%"
    run cat "$T/roc.tsv"
    assert_output "$(printf 'threshold\tfpr\ttpr\n-inf\t0\t0\n0.100000001\t0.2\t0.5\n0.200000003\t0.2\t1\n0.5\t1\t1')"
    run drop-score --json --dist "$T/d.npy" --query "$T/q.tsv" --gallery "$T/g.tsv" \
        --roc-plot "$T/roc.png"
    assert_output --partial '"roc": {"positives": 2, "negatives": 5, "tpr_at_fpr": {"1e-4": 0, "1e-3": 0, "1e-2": 0}, "eer": 0.2}}'
    run drop-test-png info "$T/roc.png"
    assert_output --partial "640 480"
}

@test "--roc: TPR at FPR 1e-4, 1e-3, 1e-2 and the EER where negatives are many" {
    # one query, 1 positive at 0.0015 and 200 negatives at 0.001, 0.002, ..., 0.2:
    # the positive comes after one negative, FPR 1/200 = 0.005
    printf 'q.jpg\t1\t1\n' > "$T/q.tsv"
    : > "$T/g.tsv"
    vals="0.0015"
    printf 'g.jpg\t1\t2\n' >> "$T/g.tsv"
    for i in $(seq 1 200); do
        printf 'n%d.jpg\t%d\t2\n' "$i" $((i + 1)) >> "$T/g.tsv"
        vals="$vals $(awk -v i="$i" 'BEGIN { printf "%.3f", i / 1000 }')"
    done
    write_f4 "$T/d.npy" 1 201 $vals
    run drop-score --json --dist "$T/d.npy" --query "$T/q.tsv" --gallery "$T/g.tsv" --roc "$T/r.tsv"
    assert_output --partial '"tpr_at_fpr": {"1e-4": 0, "1e-3": 0, "1e-2": 1}, "eer": 0.005}}'
    # the curve: (0, 0), (0.005, 0), (0.005, 1), then straight on to (1, 1)
    [ "$(sed -n 2,5p "$T/r.tsv" | cut -f 2,3 | tr '\t\n' ' ;')" = "0 0;0.005 0;0.005 1;1 1;" ]
}

@test "--roc: ranked lists give --dist's curve; truncated lists end at +inf" {
    drop-test-ranklist "$F/case04.npy" "$F/case04-q.tsv" "$F/case04-g.tsv" > "$T/r.npy"
    drop-score $(dist_args case04) --roc "$T/dist.tsv" > /dev/null
    drop-score --roc "$T/list.tsv" "$T/r.npy" > /dev/null
    cmp "$T/dist.tsv" "$T/list.tsv"
    [ "$(tail -n 1 "$T/dist.tsv" | cut -f 1)" != inf ]
    drop-test-ranklist --top 3 "$F/case04.npy" "$F/case04-q.tsv" "$F/case04-g.tsv" > "$T/t.npy"
    drop-score --roc "$T/top.tsv" "$T/t.npy" 2> /dev/null > "$T/top.txt"
    [ "$(tail -n 1 "$T/top.tsv")" = "$(printf 'inf\t1\t1')" ]
    # the same pairs in all: the same counts
    grep '^Verification' "$T/top.txt" | cmp - <(drop-score $(dist_args case04) --roc "$T/x.tsv" | grep '^Verification')
}

@test "--roc usage and data errors" {
    roc_hand
    local args="--dist $T/d.npy --query $T/q.tsv --gallery $T/g.tsv"
    run --separate-stderr drop-score $args --roc -
    [ "$status" -eq 2 ]
    [ "${stderr_lines[0]}" = "drop-score: --roc: stdout carries the summary; name a file" ]
    run --separate-stderr drop-score $args --roc "$T/x" --roc-plot "$T/x"
    [ "$status" -eq 2 ]
    [ "${stderr_lines[0]}" = "drop-score: --roc and --roc-plot name the same file" ]
    # only positives: no curve, no file left
    printf 'q0.jpg\t1\t1\n' > "$T/q1.tsv"
    printf 'g0.jpg\t1\t2\n' > "$T/g1.tsv"
    write_f4 "$T/d1.npy" 1 1 0.5
    run --separate-stderr drop-score --dist "$T/d1.npy" --query "$T/q1.tsv" --gallery "$T/g1.tsv" --roc "$T/no.tsv"
    [ "$status" -eq 1 ]
    [ "$stderr" = "drop-score: $T/d1.npy: no negative query-gallery pair to draw a ROC curve from" ]
    [ ! -e "$T/no.tsv" ]
}

@test "usage errors: exit 2, a Try line, nothing on stdout" {
    local q="--query $F/case00-q.tsv" g="--gallery $F/case00-g.tsv" d="--dist $F/case00.npy"
    while IFS='|' read -r args msg; do
        run --separate-stderr drop-score $args
        [ "$status" -eq 2 ] || fail "status $status for: $args"
        [ -z "$output" ] || fail "stdout for: $args"
        [[ "$stderr" == *"$msg"* ]] || fail "no '$msg' for $args: $stderr"
        [ "${stderr_lines[-1]}" = "Try 'drop-score --help' for more information." ]
    done <<EOF
--no-such-option|unrecognized option
--ranks 0 x.npy|--ranks: 0 is out of range
--ranks 1,,5 x.npy|--ranks: '1,,5' is not a comma-separated list
--ranks 1,5, x.npy|is not a comma-separated list
--ranks 1,a x.npy|--ranks: 'a' is not an integer
--ranks 5,5 x.npy|--ranks: rank 5 listed twice
--ranks 60 x.npy|--ranks: rank 60 is above --max-rank 50
--max-rank 10 x.npy|--ranks: rank 20 is above --max-rank 10
--max-rank 0 x.npy|--max-rank: 0 is out of range
--protocol cuhk03 x.npy|--protocol: unknown value 'cuhk03'
--seed -1 x.npy|--seed: -1 is out of range
--per-query - x.npy|--per-query: stdout carries the summary
$d $q|--dist needs --query and --gallery
$d $q $g x.npy|--dist takes no RANKED_LISTS argument
$q x.npy|--query and --gallery go with --dist
a.npy b.npy|too many arguments
--dist|option '--dist' requires an argument
EOF
    run drop-score --max-rank 100 --ranks 100 $(dist_args case00)
    assert_success
    assert_line --index 3 "Rank-100  100.00%"
}

@test "bad inputs: exit 1, one line naming the file, nothing on stdout" {
    local q2="--query $F/novalid-q.tsv" g3="--gallery $F/novalid-g.tsv"
    expect_data_error "$F/bad-nan.npy" "row 1, column 2: distance is NaN" \
        --dist "$F/bad-nan.npy" $q2 $g3
    expect_data_error "$F/bad-3d.npy" "expected a 2-D numeric distance matrix" \
        --dist "$F/bad-3d.npy" $q2 $g3
    expect_data_error "$F/case00.npy" "76 columns, but 3 gallery items in $F/novalid-g.tsv" \
        --dist "$F/case00.npy" --query "$F/case00-q.tsv" $g3
    expect_data_error "$F/case00.npy" "more than 2 rows, the number of queries" \
        --dist "$F/case00.npy" $q2 --gallery "$F/case00-g.tsv"
    expect_data_error "$F/case01.npy" "rows, but 6 queries in $F/case00-q.tsv" \
        --dist "$F/case01.npy" --query "$F/case00-q.tsv" --gallery "$F/case01-g.tsv"
    expect_data_error "$F/novalid.npy" "no valid query" $(dist_args novalid)
    expect_data_error "$F/case03.npy" "no valid query" $(dist_args case03)
    printf '# no gallery\n' > "$T/empty.tsv"
    expect_data_error "$T/empty.tsv" "empty gallery" \
        --dist "$F/bad-nogallery.npy" $q2 --gallery "$T/empty.tsv"
    expect_data_error "$F/bad-noquery.npy" "no queries" \
        --dist "$F/bad-noquery.npy" --query "$T/empty.tsv" $g3
    head -c 1000 "$F/case04.npy" > "$T/trunc.npy"
    expect_data_error "$T/trunc.npy" "truncated" \
        --dist "$T/trunc.npy" --query "$F/case04-q.tsv" --gallery "$F/case04-g.tsv"
    expect_data_error "$T/nope.npy" "No such file or directory" \
        --dist "$T/nope.npy" $q2 $g3
    expect_data_error "$T/nope.tsv" "No such file or directory" \
        --dist "$F/bad-nan.npy" --query "$T/nope.tsv" $g3
    printf 'a.jpg\tseven\t1\n' > "$T/bad.tsv"
    expect_data_error "$T/bad.tsv" "line 1: pid 'seven' is not an integer" \
        --dist "$F/bad-nan.npy" $q2 --gallery "$T/bad.tsv"

    # Ranked-list streams.
    local c="$F/case04.npy $F/case04-q.tsv $F/case04-g.tsv"
    drop-test-ranklist $c > "$T/r.npy"
    head -c 3000 "$T/r.npy" > "$T/cut.npy"
    expect_data_error "$T/cut.npy" "truncated" "$T/cut.npy"
    expect_data_error stdin "truncated" - < "$T/cut.npy"
    drop-test-ranklist --bad-index 100000 $c > "$T/bad.npy"
    expect_data_error "$T/bad.npy" "out of range" "$T/bad.npy"
    drop-test-ranklist --dup $c > "$T/bad.npy"
    expect_data_error "$T/bad.npy" "listed twice" "$T/bad.npy"
    drop-test-ranklist --nan-dist $c > "$T/bad.npy"
    expect_data_error "$T/bad.npy" "NaN distance" "$T/bad.npy"
    expect_data_error "$F/case04.npy" "not a ranked-list stream" "$F/case04.npy"
    expect_data_error "$T/nope.npy" "No such file or directory" "$T/nope.npy"
    drop-test-ranklist --top 5 $c > "$T/top.npy"
    expect_data_error "$T/top.npy" "cuhk03-single-shot protocol needs complete ranked lists" \
        --protocol cuhk03-single-shot "$T/top.npy"
    drop-test-ranklist "$F/bad-noquery.npy" "$T/empty.tsv" "$F/novalid-g.tsv" > "$T/none.npy"
    expect_data_error "$T/none.npy" "no queries" "$T/none.npy"
    # bats' run feeds its own stdin to the command: redirect inside a shell.
    run --separate-stderr bash -c 'drop-score - </dev/null'
    [ "$status" -eq 1 ] && [ -z "$output" ]
    [ "$stderr" = "drop-score: stdin: empty input" ]
}

@test "a failed run leaves no --per-query file behind" {
    run drop-score --per-query "$T/pq.tsv" $(dist_args novalid)
    [ "$status" -eq 1 ]
    drop-test-ranklist --bad-index 100000 "$F/case04.npy" "$F/case04-q.tsv" "$F/case04-g.tsv" \
        > "$T/bad.npy"
    run drop-score --per-query "$T/pq.tsv" "$T/bad.npy"
    [ "$status" -eq 1 ]
    [ "$(ls "$T")" = bad.npy ]
}

# index_png FILE W H K I...: an indexed PNG of K + 1 palette entries, pixels I row by row.
index_png() {
    /usr/bin/python3 -c '
import sys
from PIL import Image
f, w, h, k = sys.argv[1], *map(int, sys.argv[2:5])
im = Image.new("P", (w, h))
im.putpalette([v for i in range(k + 1) for v in (40 * i, 255 - 40 * i, 7 * i)])
im.putdata([int(v) for v in sys.argv[5:]])
im.save(f)
' "$@"
}

@test "--parsing: IoU of part maps against labels, a hand-worked case, labels resized" {
    /usr/bin/python3 -c 'import PIL' 2>/dev/null || skip "no PIL for /usr/bin/python3"
    mkdir -p "$T/pred/q" "$T/lab/q"
    # 3 x 4 maps, K = 2 (test/unit/test_parsing_iou.c works the IoUs out): background 4/7,
    # part 1 3/5, part 2 2/3, foreground 5/8; and a map whose 1 x 2 label is resized to 2 x 2
    # (pred 1 1 / 0 0, label 1 0 -> 1 0 / 1 0): background 1/3, part 1 1/3.
    index_png "$T/pred/q/a.png" 4 3 2 0 0 1 1 0 1 1 2 0 0 2 2
    index_png "$T/lab/q/a.png" 4 3 2 0 1 1 1 0 0 1 2 0 0 0 2
    run drop-score --parsing "$T/pred" --labels "$T/lab"
    assert_success
    assert_output "Parsing IoU: 1 maps, 2 parts, 12 pixels
background        57.14%
foreground        62.50%
part 1            60.00%
part 2            66.67%
mean part IoU     63.33%"
    index_png "$T/pred/q/b.png" 2 2 2 1 1 0 0
    index_png "$T/lab/q/b.png" 2 1 2 1 0
    # summed: background 5/10, part 1 (3+1)/(5+3), part 2 2/3, foreground (5+1)/(8+3)
    run drop-score --json --parsing "$T/pred" --labels "$T/lab"
    assert_success
    run /usr/bin/python3 -c '
import json, sys
r = json.loads(sys.argv[1]); want = [0.5, 6 / 11, [0.5, 2 / 3], (0.5 + 2 / 3) / 2]
got = [r["background"], r["foreground"], r["parts_iou"], r["mean_part_iou"]]
assert r["maps"] == 2 and r["parts"] == 2 and r["pixels"] == 16, r
assert all(abs(a - b) < 1e-9 for a, b in zip(got[:2] + got[2] + got[3:], want[:2] + want[2] + want[3:])), r
' "$output"
    assert_success
    # part 2 neither predicted nor labelled: "-", null, out of the mean
    rm "$T/pred/q/a.png" "$T/lab/q/a.png"
    run drop-score --parsing "$T/pred" --labels "$T/lab"
    assert_line "part 2                -"
    assert_line "mean part IoU     33.33%"
    run drop-score --json --parsing "$T/pred" --labels "$T/lab"
    assert_output --partial '"parts_iou": [0.3333333333, null]'
    # parts named after a grouping of 2 parts
    run drop-score --grouping two_v --parsing "$T/pred" --labels "$T/lab"
    assert_success
    assert_line --index 3 --regexp '^torso_arms_head +33.33%$'
}

@test "--parsing: bad inputs exit 1 naming the file; usage errors exit 2" {
    /usr/bin/python3 -c 'import PIL' 2>/dev/null || skip "no PIL for /usr/bin/python3"
    mkdir -p "$T/pred" "$T/lab"
    run --separate-stderr drop-score --parsing "$T/pred" --labels "$T/lab"
    [ "$status" -eq 1 ] && [ "$output" = "" ]
    [ "$stderr" = "drop-score: $T/pred: no .png file in the folder" ]
    index_png "$T/pred/a.png" 2 1 2 0 1
    run --separate-stderr drop-score --parsing "$T/pred" --labels "$T/lab"
    [ "$status" -eq 1 ]
    [ "$stderr" = "drop-score: $T/lab/a.png: No such file or directory" ]
    index_png "$T/lab/a.png" 2 1 3 0 1
    run --separate-stderr drop-score --parsing "$T/pred" --labels "$T/lab"
    [ "$status" -eq 1 ]
    [ "$stderr" = "drop-score: $T/pred/a.png: 2 parts, the first files had 3" ]
    index_png "$T/pred/a.png" 2 1 3 0 3
    index_png "$T/lab/a.png" 2 1 2 0 1
    run --separate-stderr drop-score --parsing "$T/pred" --labels "$T/lab"
    [ "$status" -eq 1 ]
    [ "$stderr" = "drop-score: $T/pred/a.png: 3 parts, the first files had 2" ]
    run --separate-stderr drop-score --parsing "$T/pred"
    [ "$status" -eq 2 ] && [[ "$stderr" == *"--parsing and --labels go together"* ]]
    run --separate-stderr drop-score --parsing "$T/pred" --labels "$T/lab" ranked.npy
    [ "$status" -eq 2 ] && [[ "$stderr" == *"--parsing takes no ranked lists"* ]]
    index_png "$T/pred/a.png" 2 1 2 0 1
    run --separate-stderr drop-score --grouping eight --parsing "$T/pred" --labels "$T/lab"
    [ "$status" -eq 1 ]
    [ "$stderr" = "drop-score: --grouping: grouping 'eight' has 8 parts, the maps 2" ]
    run --separate-stderr drop-score --grouping nosuch --parsing "$T/pred" --labels "$T/lab"
    [ "$status" -eq 1 ] && [[ "$stderr" == *"no grouping called 'nosuch'"* ]]
    run --separate-stderr drop-score --grouping eight
    [ "$status" -eq 2 ] && [[ "$stderr" == *"--grouping goes with --parsing"* ]]
}

@test "man page: mandoc -Tlint clean, and its examples run" {
    run mandoc -Tlint -W warning "$DROP_ROOT/man/drop-score.1"
    assert_output ""
    cd "$T"
    cp "$F/case04.npy" dist.npy
    cp "$F/case04-q.tsv" query.tsv
    cp "$F/case04-g.tsv" gallery.tsv
    drop-test-ranklist dist.npy query.tsv gallery.tsv > ranked.npy
    run_man_examples "$DROP_ROOT/man/drop-score.1"
    [ -s per-query.tsv ]
}
