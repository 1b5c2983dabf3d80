#!/usr/bin/env bats
# tests: scripts/plot-log - a drop-train --log file becomes a PNG of the requested size,
# named after the log by default, from a file or stdin; the curves it draws follow the
# log (terms that are zero throughout left out, null values accepted, epochs marked);
# the same log gives the same picture and another log another; every error (missing
# file, no lines, a bad line, gnuplot missing, usage) is one line with the right status
# and leaves no picture behind.
# also requires: gnuplot (Debian gnuplot-nox), drop-test-png (test/tools), awk

load test_helper

PLOT="$DROP_ROOT/scripts/plot-log"

setup() {
    T=$(mktemp -d)
    if ! command -v gnuplot >/dev/null; then
        [ "${DROP_TEST_STRICT:-0}" = 1 ] && fail "gnuplot is not installed (scripts/install-deps)"
        skip "gnuplot is not installed"
    fi
}

# fake_log FILE LINES [EPOCH_LINES]: a drop-train --log of LINES lines, EPOCH_LINES (4) a
# epoch, 10 steps apart, with decreasing losses, a rising accuracy and parsing IoUs,
# hp_smooth always 0.
fake_log() {
    awk -v n="$2" -v per="${3:-4}" 'BEGIN {
        for (i = 1; i <= n; i++) {
            s = 10 * i; f = exp(-i / 8)
            printf "{\"epoch\":%d,\"step\":%d,\"lr\":%g,\"loss\":%g,\"id_global\":%g,", \
                int((i - 1) / per) + 1, s, 3.5e-4 * (i < 4 ? i / 4 : 1), 12 * f + 1, 4 * f
            printf "\"id_fore\":%g,\"id_concat\":%g,\"pct\":%g,\"hp_ce\":%g,", \
                3.8 * f, 3.5 * f, 0.3 * f + 0.01, 2 * f + 0.2
            printf "\"hp_smooth\":0,\"parsing_acc\":%g,\"parsing_fg_iou\":%g,", \
                0.95 - 0.5 * f, 0.7 - 0.6 * f
            printf "\"parsing_part_iou\":%g,\"images_per_s\":48.5}\n", 0.4 - 0.35 * f
        }
    }' > "$1"
}

# The width and height of a PNG (RGB or indexed).
png_size() {
    drop-test-png info "$1" | awk '{ print $2 "x" $3 }'
}

@test "a log becomes a PNG of the requested size, named after the log by default" {
    fake_log "$T/train.log" 24
    run "$PLOT" "$T/train.log"
    assert_success
    assert_output ""
    [ "$(png_size "$T/train.png")" = 1000x750 ]
    run "$PLOT" --size 800x640 -o "$T/curves.png" "$T/train.log"
    assert_success
    [ "$(png_size "$T/curves.png")" = 800x640 ]
    "$PLOT" --size=1600x1000 --output="$T/big.png" --title "hrnet-tiny, K=8" "$T/train.log"
    [ "$(png_size "$T/big.png")" = 1600x1000 ]
    # No temporary left beside the pictures.
    [ "$(ls -A "$T" | sort | tr '\n' ' ')" = "big.png curves.png train.log train.png " ]
}

@test "from stdin with -o; one line, keys in another order, null values" {
    fake_log "$T/train.log" 12
    "$PLOT" -o "$T/stdin.png" - < "$T/train.log"
    [ "$(png_size "$T/stdin.png")" = 1000x750 ]
    echo '{"loss":3.5,"step":7,"parsing_acc":null,"epoch":1,"pct":null}' > "$T/one.jsonl"
    "$PLOT" "$T/one.jsonl"
    [ "$(png_size "$T/one.png")" = 1000x750 ]
    sed '5s/"id_fore":[^,]*/"id_fore":null/' "$T/train.log" > "$T/gap"
    "$PLOT" --size 640x480 "$T/gap"
    [ "$(png_size "$T/gap.png")" = 640x480 ]
}

@test "the same log gives the same picture, another log another" {
    fake_log "$T/a.log" 24
    fake_log "$T/b.log" 30
    "$PLOT" -o "$T/a1.png" "$T/a.log"
    "$PLOT" -o "$T/a2.png" "$T/a.log"
    "$PLOT" -o "$T/b.png" "$T/b.log"
    cmp "$T/a1.png" "$T/a2.png"
    ! cmp -s "$T/a1.png" "$T/b.png"
}

@test "the curves follow the log: zero terms left out, epochs marked, the last values titled" {
    fake_log "$T/train.log" 24 4
    # A gnuplot that keeps a copy of its script.
    cat > "$T/gnuplot" <<EOF
#!/bin/sh
[ \$# -eq 1 ] && cp "\$1" "$T/plot.gp"
exec gnuplot "\$@"
EOF
    chmod +x "$T/gnuplot"
    GNUPLOT="$T/gnuplot" "$PLOT" "$T/train.log"
    gp="$T/plot.gp"
    for t in "'total'" "'id global'" "'id foreground'" "'id concat'" "'triplet (pct)'" \
        "'parsing CE (hp_ce)'" "'end of an epoch'" "'pixel accuracy'" "'foreground IoU'" \
        "'mean part IoU'" "'learning rate'"; do
        grep -qF "title $t" "$gp" || fail "no curve $t"
    done
    ! grep -q hp_smooth "$gp"
    # 6 epochs: 5 ends, at steps 40, 80, ..., 200.
    [ "$(grep -c '^set arrow from first' "$gp")" -eq 5 ]
    grep -q '^set arrow from first 200, graph 0' "$gp"
    grep -q 'epoch 6, step 240: loss 1.597, parsing accuracy 92.5%, mean part IoU 38.3%' "$gp"
    grep -q '^set logscale y' "$gp"
    GNUPLOT="$T/gnuplot" "$PLOT" --linear "$T/train.log"
    ! grep -q '^set logscale y' "$gp"
}

@test "bad logs: exit 1, one line naming the file, no picture" {
    cd "$T"
    run --separate-stderr "$PLOT" nothere.log
    [ "$status" -eq 1 ]
    [ "$stderr" = "plot-log: nothere.log: No such file or directory" ]
    : > empty.log
    run --separate-stderr "$PLOT" empty.log
    [ "$status" -eq 1 ]
    [ "$stderr" = "plot-log: empty.log: no log lines (expected the JSON lines of drop-train --log)" ]
    printf '\n  \n' > blank.log
    run --separate-stderr "$PLOT" blank.log
    [ "$status" -eq 1 ]
    [ "$stderr" = "plot-log: blank.log: no log lines (expected the JSON lines of drop-train --log)" ]
    fake_log bad.log 3
    echo 'epoch 1 loss 3.2' >> bad.log
    run --separate-stderr "$PLOT" bad.log
    [ "$status" -eq 1 ]
    [ "$stderr" = 'plot-log: bad.log: line 4: not a drop-train log line (a JSON object with "step" and "loss")' ]
    echo '{"epoch":1,"lr":0.1}' > nostep.log
    run --separate-stderr "$PLOT" nostep.log
    [ "$status" -eq 1 ]
    [[ "$stderr" == "plot-log: nostep.log: line 1: not a drop-train log line"* ]]
    run --separate-stderr "$PLOT" - < empty.log
    [ "$status" -eq 2 ]
    run --separate-stderr "$PLOT" -o e.png - < empty.log
    [ "$status" -eq 1 ]
    [ "$stderr" = "plot-log: stdin: no log lines (expected the JSON lines of drop-train --log)" ]
    mkdir folder.log
    run --separate-stderr "$PLOT" folder.log
    [ "$status" -eq 1 ]
    [ "$stderr" = "plot-log: folder.log: not a regular file" ]
    fake_log good.log 5
    run --separate-stderr "$PLOT" -o nowhere/x.png good.log
    [ "$status" -eq 1 ]
    [ "$stderr" = "plot-log: nowhere/x.png: cannot create (folder missing or not writable)" ]
    GNUPLOT=/nonexistent/gnuplot run --separate-stderr "$PLOT" good.log
    [ "$status" -eq 1 ]
    [ "$stderr" = "plot-log: /nonexistent/gnuplot not found (Debian: apt-get install gnuplot-nox)" ]
    # A gnuplot that fails: its last line, and no picture.
    printf '#!/bin/sh\necho "line 3: bad thing" >&2\nexit 1\n' > failing
    chmod +x failing
    GNUPLOT=$T/failing run --separate-stderr "$PLOT" good.log
    [ "$status" -eq 1 ]
    [ "$stderr" = "plot-log: gnuplot failed: line 3: bad thing" ]
    [ -z "$(ls -A | grep -i png)" ] || fail "left: $(ls -A)"
}

@test "--help, and usage errors: exit 2 and a Try line" {
    run "$PLOT" --help
    assert_success
    [[ "${lines[0]}" == NAME ]]
    [[ "$output" == *"SYNOPSIS"*"--size WxH"*"EXIT STATUS"* ]]
    fake_log "$T/t.log" 3
    while IFS='|' read -r args msg; do
        run --separate-stderr "$PLOT" $args
        [ "$status" -eq 2 ] || fail "plot-log $args: status $status"
        [ "${stderr_lines[0]}" = "plot-log: $msg" ] || fail "plot-log $args: $stderr"
        [ "${stderr_lines[1]}" = "Try 'plot-log --help' for more information." ]
    done <<EOF
|missing LOG operand
$T/t.log $T/t.log|extra operand '$T/t.log'
--bogus $T/t.log|unknown option '--bogus'
--size 100x100 $T/t.log|--size: 100x100 is out of range (640x480 to 8000x8000)
--size 800 $T/t.log|--size: expected WxH in pixels, not '800'
--size 8x0x3 $T/t.log|--size: expected WxH in pixels, not '8x0x3'
-o - $T/t.log|the picture is not written to standard output: name a file
-|reading standard input: name the picture with -o
--size|option '--size' requires an argument
EOF
    [ ! -e "$T/t.png" ]
}
