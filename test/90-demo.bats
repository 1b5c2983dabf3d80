#!/usr/bin/env bats
# tests: the README's main command, scripts/demo-method (`make demo`), end to end on a tiny
# set (8 training identities x 3 images, 4 test identities, 2 epochs): it prints one
# Rank-1/mAP line for the untrained and one for the trained model and the parsing IoU table
# of both (also in parsing-iou.txt), writes both checkpoints and every picture it lists
# (label overlays, learned parsing of both models, both captioned side by side with a
# legend, both contact sheets, the training curves) as valid PNGs of the expected kinds;
# and scripts/demo-retrieval (`make demo-retrieval`) prints its two drop-score tables.
# With DROP_TEST_DEMO=1, also the full-size demo (minutes): the trained parsing head finds
# the parts (foreground IoU > 50 %, mean part IoU > 20 %, both far above the untrained
# model's) and retrieval improves far beyond the untrained model. A run is deterministic
# for a build, machine and thread count; the bounds leave room for the few points another
# float rounding moves the figures (README, "Two commands").
# also requires: /usr/bin/python3 with numpy and PIL (scripts/make-synthetic-reid),
# gnuplot (scripts/plot-log), drop-test-png (test/tools)

load test_helper
model_tools_on_cpu

setup() {
    T=$(mktemp -d)
    if ! /usr/bin/python3 -c 'import numpy, PIL' 2>/dev/null || ! command -v gnuplot >/dev/null
    then
        [ "${DROP_TEST_STRICT:-0}" = 1 ] && fail "no numpy/PIL for /usr/bin/python3 or no gnuplot"
        skip "no numpy/PIL for /usr/bin/python3 or no gnuplot (scripts/install-deps)"
    fi
}

@test "scripts/demo-method: the whole method on a tiny set, both models scored, pictures drawn" {
    DEMO_DIR="$T/demo" DEMO_EPOCHS=2 \
        DEMO_SET_OPTS="--ids-train 8 --ids-test 4 --gallery-per-id 3 --jobs 2" \
        run --separate-stderr "$DROP_ROOT/scripts/demo-method"
    assert_success
    [[ "$output" =~ (^|$'\n')"untrained:  mAP "[0-9.]+"%  Rank-1 "[0-9.]+"%"($'\n'|$) ]]
    [[ "$output" =~ (^|$'\n')"trained:    mAP "[0-9.]+"%  Rank-1 "[0-9.]+"%"($'\n'|$) ]]
    [[ "$stderr" == *"== drop-train: hrnet-tiny at 128x64, 2 epochs"* ]]
    # the parsing table: a header, background, foreground, the 5 parts of drop-labels -g
    # five, the mean, in percent or "-" (a class neither predicted nor labelled)
    run cat "$T/demo/parsing-iou.txt"
    [ "${#lines[@]}" -eq 9 ]
    [[ "${lines[0]}" =~ ^"parsing IoU"\ +"untrained"\ +"trained"\ +"(8 maps, 5 parts," ]]
    [[ "${lines[2]}" =~ ^"foreground"\ +[0-9.]+%\ +[0-9.]+%$ ]]
    [[ "${lines[3]}" =~ ^"head"\ +([0-9.]+%|-)\ +([0-9.]+%|-)$ ]]
    [[ "${lines[7]}" =~ ^"feet"\ +([0-9.]+%|-)\ +([0-9.]+%|-)$ ]]
    [[ "${lines[8]}" =~ ^"mean part IoU"\ +[0-9.]+%\ +[0-9.]+%$ ]]
    [[ "$output" == *"$(cat "$T/demo/parsing-iou.txt")"* ]]
    [ -s "$T/demo/untrained.safetensors" ] && [ -s "$T/demo/trained.safetensors" ]
    local p n=0
    for p in "$T"/demo/pictures/*.png "$T"/demo/pictures/*/*.png; do
        run drop-test-png info "$p"
        assert_success
        n=$((n + 1))
    done
    # 4 label maps and their overlays, 4 + 4 parsing maps, those side by side, 2 contact
    # sheets, 1 training plot
    [ "$n" -eq 20 ]
    # 4 columns of 2x images, a caption row, 4 rows, a legend of 5 parts in 2 rows
    run drop-test-png info "$T/demo/pictures/parsing-side-by-side.png"
    assert_output "rgb $((4 * (2 * 64 + 4))) $((18 + 4 * (2 * 128 + 4) + 6 + 2 * 16))"
    run drop-test-png info "$T/demo/pictures/sheet-trained.png"
    assert_output --regexp '^rgb [0-9]+ [0-9]+$'
    run drop-test-png info "$T/demo/pictures/training.png"
    assert_output --regexp '^(rgb|indexed) [0-9]+ [0-9]+'
    run ls "$T/demo/pictures/parsing-trained"
    assert_equal "${#lines[@]}" 4
}

@test "make demo's recipe (DROP_TEST_DEMO=1): the parsing finds the parts, retrieval learns" {
    [ "${DROP_TEST_DEMO:-0}" = 1 ] || skip "the full demo takes minutes (DROP_TEST_DEMO=1 runs it)"
    DEMO_DIR="$T/demo" run --separate-stderr "$DROP_ROOT/scripts/demo-method"
    assert_success
    # "foreground  U%  T%" -> U T
    iou() { awk -v k="$1" 'index($0, k) == 1 { gsub(/%/, ""); print $(NF - 1), $NF }' \
        "$T/demo/parsing-iou.txt"; }
    read -r fg_u fg_t <<< "$(iou foreground)"
    read -r part_u part_t <<< "$(iou "mean part IoU")"
    echo "foreground IoU $fg_u -> $fg_t %, mean part IoU $part_u -> $part_t %"
    awk -v u="$fg_u" -v t="$fg_t" 'BEGIN { exit !(t > 50 && t > u + 20) }'
    awk -v u="$part_u" -v t="$part_t" 'BEGIN { exit !(t > 20 && t > 4 * u) }'
    # Rank-1 and mAP of both models
    read -r map_u r1_u <<< "$(awk '/^untrained:/ { gsub(/%/, ""); print $3, $5 }' <<< "$output")"
    read -r map_t r1_t <<< "$(awk '/^trained:/ { gsub(/%/, ""); print $3, $5 }' <<< "$output")"
    echo "Rank-1 $r1_u -> $r1_t %, mAP $map_u -> $map_t %"
    awk -v u="$r1_u" -v t="$r1_t" 'BEGIN { exit !(t > 3 * u && t > 10) }'
    awk -v u="$map_u" -v t="$map_t" 'BEGIN { exit !(t > 2 * u && t > 10) }'
}

@test "scripts/demo-retrieval: drop-match | drop-score on synthetic embeddings, F+P and F" {
    DEMO_DIR="$T/demo" run --separate-stderr "$DROP_ROOT/scripts/demo-retrieval"
    assert_success
    [ "$(grep -c '^Rank-1 ' <<<"$output")" -eq 2 ]
}
