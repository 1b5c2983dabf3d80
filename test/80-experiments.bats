#!/usr/bin/env bats
# tests: scripts/experiments.mk end to end on a tiny synthetic set (hrnet-tiny, 64x32, one
# epoch, one thread: quick on a busy machine): occluded_duke and table6 write their
# markdown tables with the paper's rows beside ours; a second run does nothing (make -q,
# no file rewritten); a changed setting retrains, and make -n writes nothing; a removed
# score or an interrupted training (checkpoint left behind) resumes without redoing the
# rest; occluded_reid trains on a Market-1501 layout and tests on an Occluded-REID one
# (fixed cameras, .tif); table4 and table7 put each paper row beside its run's scores
# (stand-in scores); the goals of `all` make the right commands (make -n); a missing
# dataset folder or DATA stops with the expected path; help.
# also requires: /usr/bin/python3 with numpy and PIL (the generator; skipped without them,
# a failure under DROP_TEST_STRICT=1), bash, make, find, awk

load test_helper
model_tools_on_cpu
bats_require_minimum_version 1.5.0

GEN="$DROP_ROOT/scripts/make-synthetic-reid"
MK="$DROP_ROOT/scripts/experiments.mk"

have_generator() {
    /usr/bin/python3 -c 'import numpy, PIL' 2>/dev/null
}

# One tiny set for every test, made once: 4 training ids x 4 images, 4 test ids with 1
# query and 2 gallery images each, 64x32 pixels; and one run of `occluded_duke table6` on
# it (in $BATS_FILE_TMPDIR/od: its exit status in rc, its messages in log), which the
# tests copy (cp -a keeps the times) before looking or changing anything.
setup_file() {
    if have_generator; then
        "$GEN" -q -o "$BATS_FILE_TMPDIR/data" --seed 3 --ids-train 4 --ids-test 4 \
            --images-per-id 4 --queries-per-id 1 --gallery-per-id 2 --height 64 --width 32
        mkdir "$BATS_FILE_TMPDIR/od"
        cd "$BATS_FILE_TMPDIR/od"
        DATA="$BATS_FILE_TMPDIR/data"
        xmake occluded_duke table6 > log 2>&1 && echo 0 > rc || echo $? > rc
    fi
}

# A copy of setup_file's run in ./out; fails with its messages if that run failed.
copy_run() {
    [ "$(cat "$BATS_FILE_TMPDIR/od/rc")" = 0 ] ||
        fail "make occluded_duke table6 failed: $(cat "$BATS_FILE_TMPDIR/od/log")"
    cp -a "$BATS_FILE_TMPDIR/od/out" out
}

setup() {
    T=$(mktemp -d)
    if ! have_generator; then
        [ "${DROP_TEST_STRICT:-0}" = 1 ] && fail "no numpy or PIL for /usr/bin/python3"
        skip "no numpy or PIL for /usr/bin/python3 (apt-get install python3-numpy python3-pil)"
    fi
    DATA="$BATS_FILE_TMPDIR/data"
    cd "$T"
}

# make -f experiments.mk with the tiny settings, writing into $T/out.
xmake() {
    make -s -f "$MK" DATA="$DATA" OUT=out BIN="$DROP_BIN_DIR" EPOCHS=1 SIZE=64x32 \
        BACKBONE=hrnet-tiny BATCH=8 INSTANCES=2 THREADS=1 TOOL_FLAGS=-q "$@"
}

# Files under $1 newer than the file $2, one per line.
newer() {
    find "$1" -newer "$2" -type f
}

@test "occluded_duke and table6: markdown tables with the paper's numbers beside ours" {
    copy_run
    [ -s out/occluded_duke/model.safetensors ]
    [ ! -e out/occluded_duke/train-ckpt.safetensors ]
    [ -e out/labels/occluded_duke-k8.done ]
    [ "$(find out/labels/occluded_duke-k8 -name '*.png' | wc -l)" -eq \
      "$(find "$DATA/Occluded_Duke/masks" -name '*.npy' | wc -l)" ]
    # 4 queries, 8 gallery images, with the file-name identities and 0-based cameras.
    [ "$(wc -l < out/lists/occluded_duke-query.tsv)" -eq 4 ]
    [ "$(wc -l < out/lists/occluded_duke-gallery.tsv)" -eq 8 ]
    run awk -F'\t' '{ split($1, p, "/"); n = p[length(p)];
                      if ($2 != substr(n, 1, 4) + 0 || $3 != substr(n, 7, 1) - 1) print }' \
        out/lists/occluded_duke-query.tsv out/lists/occluded_duke-gallery.tsv
    assert_output ""
    for u in G F P G+F F+P G+F+P; do
        grep -q '"queries": 4' "out/occluded_duke/score-$u.json"
    done

    run cat out/occluded_duke.md
    assert_line --index 0 '# Occluded-Duke (paper Table 1)'
    assert_line '|---|---|---|---|---|---|---|'
    assert_line --regexp '^\| DROP \(drop-match --use F\+P\) \| 76\.8 \| [0-9]+\.[0-9] \| - \| [0-9]+\.[0-9] \| 63\.3 \| [0-9]+\.[0-9] \|$'
    assert_line --partial 'Ours: hrnet-tiny, random init (no INIT given), 64x32, 1 epochs'
    assert_line 'Both columns are without re-ranking, as in the paper (drop-match --rerank is not used).'
    assert_line --partial "not the paper's settings: BACKBONE=hrnet-tiny EPOCHS=1 SIZE=64x32 BATCH=8 INSTANCES=2"

    # Our numbers are the scores' (Rank-1 and mAP of F+P, in percent).
    r1=$(sed -n 's/.*"1": \([0-9.e-]*\).*/\1/p' out/occluded_duke/score-F+P.json)
    map=$(sed -n 's/.*"mAP": \([0-9.e-]*\).*/\1/p' out/occluded_duke/score-F+P.json)
    want=$(awk -v a="$r1" -v b="$map" 'BEGIN { printf "| 76.8 | %.1f | .* | 63.3 | %.1f |", 100 * a, 100 * b }')
    grep -q -- "$want" out/occluded_duke.md

    run cat out/table6.md
    assert_line --index 0 '# Table 6: test embeddings on Occluded-Duke (one model)'
    [ "$(grep -c '^| ' out/table6.md)" -eq 13 ]   # header + 6 part rows + 6 embeddings
    for row in 'k=1 (head) | 26.4 | n/a | 44.7 | n/a | 62.2 | n/a | 69.0 | n/a |' \
               'k=7+8 (feet) | 7.0 | n/a | 12.2 | n/a | 20.3 | n/a | 25.3 | n/a |'; do
        assert_line "| $row"
    done
    assert_line --regexp '^\| G \(drop-match --use G\) \| 54\.9 \| [0-9.]+ \| 64\.0 \| [0-9.]+ \| 77\.2 \| [0-9.]+ \| 82\.3 \| [0-9.]+ \|$'
    assert_line --regexp '^\| F\+P \(drop-match --use F\+P\) \| 63\.3 \| [0-9.]+ \| 76\.8 \| [0-9.]+ \| 87\.2 \| [0-9.]+ \| 92\.7 \| [0-9.]+ \|$'
    assert_line --regexp '^\| G\+F\+P \(drop-match --use G\+F\+P\) \| 63\.6 \| [0-9.]+ \| 75\.8 \| [0-9.]+ \| 86\.8 \| [0-9.]+ \| 90\.2 \| [0-9.]+ \|$'
    assert_line --partial 'no switch'

    # A second run does nothing: make -q agrees, and no file is written again.
    run xmake -q occluded_duke table6
    assert_success
    touch "$T/stamp"
    run xmake occluded_duke table6
    assert_success
    run newer out "$T/stamp"
    assert_output ""

    # Another setting makes the training out of date; make -n says so and writes nothing.
    run xmake -q occluded_duke EPOCHS=2
    assert_failure
    run xmake -n occluded_duke EPOCHS=2
    assert_success
    assert_output --partial '--epochs 2'
    run newer out "$T/stamp"
    assert_output ""
    run xmake -q occluded_duke table6
    assert_success
}

@test "an interrupted run resumes: only the missing steps are made" {
    copy_run
    touch "$T/stamp"
    # A lost score: matched and scored again, the model and embeddings kept.
    rm out/occluded_duke/score-F+P.json
    run xmake occluded_duke
    assert_success
    run newer out "$T/stamp"
    assert_output - <<EOF
out/occluded_duke/score-F+P.json
out/occluded_duke.md
EOF
    # A training interrupted after a checkpoint: the next run resumes from it (BIN holds a
    # drop-train that notes its arguments), then moves it to the model.
    mkdir bin
    for t in "$DROP_BIN_DIR"/drop-*; do ln -s "$t" bin/; done
    rm bin/drop-train
    printf '#!/bin/sh\necho "$*" >> %s/train-calls\nexec %s/drop-train "$@"\n' \
        "$T" "$DROP_BIN_DIR" > bin/drop-train
    chmod +x bin/drop-train
    mv out/occluded_duke/model.safetensors out/occluded_duke/train-ckpt.safetensors
    run xmake occluded_duke BIN="$T/bin"
    assert_success
    [ -s out/occluded_duke/model.safetensors ]
    [ ! -e out/occluded_duke/train-ckpt.safetensors ]
    run cat train-calls
    assert_output --regexp '--resume out/occluded_duke/train-ckpt.safetensors -o out/occluded_duke/train-ckpt.safetensors$'
    # A checkpoint older than the settings is not resumed from.
    cp out/occluded_duke/model.safetensors out/occluded_duke/train-ckpt.safetensors
    touch -d '1 hour ago' out/occluded_duke/train-ckpt.safetensors
    touch out/occluded_duke/train.args
    rm train-calls
    run xmake occluded_duke BIN="$T/bin"
    assert_success
    run cat train-calls
    refute_output --partial '--resume'
    assert_output --partial '-o out/occluded_duke/train-ckpt.safetensors'
}

@test "occluded_reid: trained on a Market-1501 layout, tested on an Occluded-REID one" {
    # Market-1501 as the same images (the label names agree); Occluded-REID as
    # occluded_body_images/PID/PID_NN.tif (queries) and whole_body_images/PID/... (gallery).
    mkdir data
    ln -s "$DATA/Occluded_Duke" data/Market-1501-v15.09.15
    n=0
    for s in query:occluded_body_images bounding_box_test:whole_body_images; do
        for f in "$DATA/Occluded_Duke/${s%%:*}"/*.jpg; do
            b=$(basename "$f"); pid=${b%%_*}; n=$((n + 1))
            mkdir -p "data/Occluded_REID/${s##*:}/$pid"
            ln -s "$f" "data/Occluded_REID/${s##*:}/$pid/${pid}_$(printf %02d $n).tif"
        done
    done
    DATA=$T/data
    run xmake occluded_reid
    assert_success
    grep -q -- '--dataset market1501 .* --parts 8' out/occluded_reid/train.args
    [ -e out/labels/market1501-k8.done ]
    run awk -F'\t' '$3 != 0 || $1 !~ /occluded_body_images/' out/lists/occluded_reid-query.tsv
    assert_output ""
    run awk -F'\t' '$3 != 1 || $1 !~ /whole_body_images/' out/lists/occluded_reid-gallery.tsv
    assert_output ""
    [ "$(wc -l < out/lists/occluded_reid-gallery.tsv)" -eq 8 ]
    run cat out/occluded_reid.md
    assert_line --index 0 '# Occluded-REID, trained on Market-1501 (paper Table 2)'
    assert_line --regexp '^\| DROP \(drop-match --use F\+P\) \| 94\.2 \| [0-9.]+ \| 98\.2 \| [0-9.]+ \| - \| [0-9.]+ \|$'
}

@test "make -n all: every training of the five datasets and Tables 4, 6, 7" {
    mkdir data
    for d in Occluded_Duke P-DukeMTMC-reID Occluded_REID Market-1501-v15.09.15 DukeMTMC-reID; do
        mkdir "data/$d"
    done
    run make -f "$MK" DATA=data OUT=out INIT=w32.safetensors INIT_resnet50=r50.safetensors -n all
    assert_success
    [ ! -e out ]
    flat=$(sed 's/ --log.*//' <<< "$output")
    [ "$(grep -c 'drop-train --root ' <<< "$flat")" -eq 12 ]
    for want in \
        'labels out/labels/occluded_duke-k8 --dataset occluded_duke --backbone hrnet-w32 --size 256x128 --parts 8 --epochs 120 --batch 64 --instances 4 --seed 1 --init w32.safetensors$' \
        'labels out/labels/p_dukemtmc_reid-k8 --dataset p_dukemtmc_reid .* --parts 8 .* --init w32.safetensors$' \
        'labels out/labels/market1501-k8 --dataset market1501 .* --parts 8 ' \
        'labels out/labels/market1501-k5 --dataset market1501 .* --parts 5 ' \
        'labels out/labels/dukemtmcreid-k5 --dataset dukemtmcreid .* --parts 5 ' \
        '--init w32.safetensors --no-decouple --no-ppe --triplet part-avg --ss-gamma 0$' \
        '--init w32.safetensors --no-ppe --triplet part-avg --ss-gamma 0$' \
        '--init w32.safetensors --triplet part-avg --ss-gamma 0$' \
        '--init w32.safetensors --ss-gamma 0$' \
        '--init w32.safetensors --triplet part-avg$' \
        '--backbone resnet50 .* --init r50.safetensors$' \
        '--backbone resnet50-ibn .* --seed 1$'; do
        grep -q -- "$want" <<< "$flat" || fail "no training matching: $want"
    done
    for u in G F P G+F F+P G+F+P; do
        grep -q -- "--use $u out/occluded_duke/gallery.npy out/occluded_duke/query.npy" <<< "$flat"
    done
    grep -q -- '-k 8 -o out/labels/p_dukemtmc_reid-k8 data/P-DukeMTMC-reID/masks/pifpaf_maskrcnn_filtering' <<< "$flat"
    grep -q -- "find -L \$dir -type f -name '\*.tif'" <<< "$flat"
}

@test "a missing dataset folder or DATA stops before anything runs, naming the path" {
    mkdir data
    run make -f "$MK" DATA=data OUT=out occluded_duke
    assert_failure
    assert_output --partial 'no such dataset folder: data/Occluded_Duke (occluded_duke)'
    run make -f "$MK" DATA="$DATA" OUT=out occluded_reid
    assert_failure
    assert_output --partial "$DATA/Market-1501-v15.09.15 (market1501)"
    assert_output --partial "$DATA/Occluded_REID (occluded_reid)"
    run make -f "$MK" OUT=out table6
    assert_failure
    assert_output --partial 'DATA is not set'
    # A file target of a missing dataset: the order-only folder rule names it.
    run make -f "$MK" DATA=data OUT=out out/market1501/score-F+P.json
    assert_failure
    assert_output --partial 'data/Market-1501-v15.09.15: no such folder'
    [ ! -e out ]
}

@test "help lists the targets and variables" {
    run make -s -f "$MK"
    assert_success
    for t in occluded_duke p_dukemtmc_reid occluded_reid market1501 dukemtmcreid \
             table4 table6 table7 all EPOCHS SIZE BACKBONE BATCH INSTANCES TRAIN_FLAGS INIT; do
        assert_output --partial "$t"
    done
}

@test "table4 and table7: each paper row beside the scores of its run" {
    # Scores stand in for the runs (make -o: taken as they are, nothing made for them).
    mkdir -p data/Occluded_Duke
    local i=0 olds=() r
    for r in table4/baseline table4/decouple table4/ppf table4/pct table4/ss occluded_duke \
             table7/resnet50 table7/resnet50-ibn; do
        i=$((i + 1))
        mkdir -p "out/$r"
        printf '{"queries": 4, "mAP": 0.1%02d, "mINP": 0.05, "cmc": {"1": 0.2%02d, "5": 1, "10": 1, "20": 1}}\n' \
            "$i" "$i" > "out/$r/score-F+P.json"
        olds+=(-o "out/$r/score-F+P.json")
    done
    run make -s -f "$MK" DATA=data OUT=out "${olds[@]}" out/table4.md out/table7.md
    assert_success
    run cat out/table4.md
    assert_line --index 0 '# Table 4: components of DROP on Occluded-Duke'
    assert_line '| 1 Baseline (coupled) | `--no-decouple --no-ppe --triplet part-avg --ss-gamma 0` | 57.8 | 20.1 | 49.6 | 10.1 |'
    assert_line '| 2 + Decouple | `--no-ppe --triplet part-avg --ss-gamma 0` | 73.5 | 20.2 | 61.3 | 10.2 |'
    assert_line '| 3 + Decouple + PPF | `--triplet part-avg --ss-gamma 0` | 74.6 | 20.3 | 61.7 | 10.3 |'
    assert_line '| 4 + Decouple + PPF + PCT | `--ss-gamma 0` | 76.2 | 20.4 | 62.8 | 10.4 |'
    assert_line '| 5 + Decouple + PPF + SS | `--triplet part-avg` | 75.2 | 20.5 | 62.2 | 10.5 |'
    assert_line '| 6 DROP (all) | (defaults; the occluded_duke model) | 76.8 | 20.6 | 63.3 | 10.6 |'
    assert_line '| Part-level HCT | no switch | 73.8 | n/a | 61.3 | n/a |'
    assert_line '| Part-averaged triplet | `--triplet part-avg --ss-gamma 0` (row 3) | 74.6 | 20.3 | 61.7 | 10.3 |'
    assert_line '| PCT | `--ss-gamma 0` (row 4) | 76.2 | 20.4 | 62.8 | 10.4 |'
    assert_line --partial 'Ours: hrnet-w32, random init (no INIT given), 256x128, 120 epochs, batches of 64 (4 images per identity), seed 1.'
    run cat out/table7.md
    assert_line '| ResNet-50 | resnet50 | 69.3 | 20.7 | 54.0 | 10.7 |'
    assert_line '| ResNet-50-IBN | resnet50-ibn | 72.4 | 20.8 | 58.0 | 10.8 |'
    assert_line '| HRNet-W32 | hrnet-w32 | 76.8 | 20.6 | 63.3 | 10.6 |'
    [ "$(grep -c '^Ours: ' out/table7.md)" -eq 3 ]
}
