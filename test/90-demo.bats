#!/usr/bin/env bats
# tests: the README's main command, scripts/demo-method (`make demo`), end to end on a tiny
# set (8 training identities x 3 images, 4 test identities, 2 epochs): it prints one
# Rank-1/mAP line for the untrained and one for the trained model, writes both checkpoints
# and every picture it lists (label overlays, learned parsing of both models, both contact
# sheets, the training curves) as valid PNGs of the expected kinds; and
# scripts/demo-retrieval (`make demo-retrieval`) prints its two drop-score tables.
# (The full-size demo's numbers are measured, not tested: README, "Two commands".)
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
    [[ "$stderr" == *"== drop-train: hrnet-tiny at 64x32, 2 epochs"* ]]
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
    run drop-test-png info "$T/demo/pictures/parsing-side-by-side.png"
    assert_output "rgb $((4 * (2 * 64 + 4))) $((4 * (2 * 128 + 4)))"
    run drop-test-png info "$T/demo/pictures/sheet-trained.png"
    assert_output --regexp '^rgb [0-9]+ [0-9]+$'
    run drop-test-png info "$T/demo/pictures/training.png"
    assert_output --regexp '^(rgb|indexed) [0-9]+ [0-9]+'
    run ls "$T/demo/pictures/parsing-trained"
    assert_equal "${#lines[@]}" 4
}

@test "scripts/demo-retrieval: drop-match | drop-score on synthetic embeddings, F+P and F" {
    DEMO_DIR="$T/demo" run --separate-stderr "$DROP_ROOT/scripts/demo-retrieval"
    assert_success
    [ "$(grep -c '^Rank-1 ' <<<"$output")" -eq 2 ]
}
