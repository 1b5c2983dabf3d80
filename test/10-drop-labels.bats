#!/usr/bin/env bats
# tests: drop-labels - labels against the reference of scripts/make-label-fixtures (K=8,
# K=5, every grouping, hard and soft), the label folders of the five datasets, output
# names, --size, --overlay, --list-groupings, thread-count invariance, bad inputs reported
# per file, usage errors, the man page's examples.
# also requires: test/fixtures/labels (committed), drop-test-png (test/tools)

load test_helper
bats_require_minimum_version 1.5.0

L="$FIX/labels"

# The reference labels of a field: ref GROUPING FIELD [THRESHOLD] -> path of the .npy
ref() {
    echo "$L/$1.$2.t${3:-0.5}.hard.npy"
}

# No temporary left anywhere under a folder.
no_temporaries() {
    run find "$1" -name '*.tmp.*'
    assert_output ""
}

@test "-k 8 and -k 5 give BPBreID's 'eight' and 'five_v' labels (f2, f4, f8 fields)" {
    for f in field_f4 field_f2 field_f8; do
        drop-labels -k 8 -o - "$L/$f.npy" > "$T/e.png"
        drop-test-png cmp "$T/e.png" "$(ref eight $f)"
        drop-labels -k 5 "$L/$f.npy" > "$T/f.png"
        drop-test-png cmp "$T/f.png" "$(ref five_v $f)"
    done
    run drop-test-png info "$T/e.png"
    assert_output "indexed 7 9 9"
    run drop-test-png info "$T/f.png"
    assert_output "indexed 7 9 6"
    grep -aq 'grouping=eight K=8 threshold=0.5' "$T/e.png"
}

@test "the default grouping is 'eight'; --threshold moves the background" {
    drop-labels "$L/field_f4.npy" > "$T/d.png"
    drop-test-png cmp "$T/d.png" "$(ref eight field_f4)"
    for t in 0.3 0 1; do
        drop-labels -k 8 --threshold "$t" "$L/field_f4.npy" > "$T/t.png"
        drop-test-png cmp "$T/t.png" "$(ref eight field_f4 "$t")"
    done
    drop-labels -k 5 -t 0.75 "$L/field_f4.npy" > "$T/t.png"
    drop-test-png cmp "$T/t.png" "$(ref five_v field_f4 0.75)"
}

@test "--grouping NAME: every grouping, hard and --soft, equals the reference" {
    n=0
    while IFS=$'\t' read -r g field thr hard soft; do
        [[ "$g" == \#* ]] && continue
        drop-labels --grouping "$g" -t "$thr" "$L/$field" > "$T/h.png"
        drop-test-png cmp "$T/h.png" "$L/$hard"
        drop-labels -g "$g" -t "$thr" --soft -o - "$L/$field" > "$T/s.npy"
        drop-test-png npycmp "$T/s.npy" "$L/$soft" 1e-7
        n=$((n + 1))
    done < "$L/cases.tsv"
    [ "$n" -ge 28 ]
}

@test "--list-groupings lists the 20 groupings; -v adds each part's channels" {
    run drop-labels --list-groupings
    assert_success
    [ "${#lines[@]}" -eq 20 ]
    assert_line --index 0 $'full\t1\tfull_body'
    assert_line $'five_v\t5\thead_mask,upper_arms_torso_mask,lower_arms_torso_mask,legs_mask,feet_mask'
    assert_line $'eight\t8\thead_mask,left_arm_mask,right_arm_mask,torso_mask,left_leg_mask,right_leg_mask,left_feet_mask,right_feet_mask'
    run drop-labels --list-groupings -v
    assert_line $'\t4\ttorso_mask\t11,12,21,22,23,24'
    assert_line $'\t5\tleft_leg_mask\t13,17,18,21'
    refute_output --partial "six_no"
}

# make_tree DATASET FOLDER... : label files of one dataset's layout (doc/bpbreid.md
# §1.1), cycling through the f4, f2 and f8 fixture fields; prints "rel<TAB>field" lines.
make_tree() {
    local ds=$1 i=0 rel fields=(field_f4 field_f2 field_f8)
    shift
    for rel in "$@"; do
        mkdir -p "$T/$ds/masks/pifpaf_maskrcnn_filtering/$(dirname "$rel")"
        cp "$L/${fields[i % 3]}.npy" "$T/$ds/masks/pifpaf_maskrcnn_filtering/$rel"
        printf '%s\t%s\n' "$rel" "${fields[i % 3]}"
        i=$((i + 1))
    done
}

# check_tree DATASET GROUPING EXPECTED-NAME... : convert the dataset's label folder and
# compare the output tree (names) and every file (labels) with the reference.
check_tree() {
    local ds=$1 g=$2 k
    shift 2
    [ "$g" = eight ] && k=8 || k=5
    drop-labels -k "$k" -o "$T/out/$ds" "$T/$ds/masks/pifpaf_maskrcnn_filtering"
    run bash -c "cd '$T/out/$ds' && find . -type f | sed 's|^\./||' | LC_ALL=C sort"
    assert_output "$(printf '%s\n' "$@" | LC_ALL=C sort)"
    while IFS=$'\t' read -r rel field; do
        local stem=${rel%.npy}
        stem=${stem%.confidence_fields}
        stem=${stem%.jpg}
        drop-test-png cmp "$T/out/$ds/$stem.png" "$(ref "$g" "$field")"
    done < "$T/$ds.list"
}

@test "dataset trees: Market-1501, DukeMTMC-reID, Occluded-Duke, Occluded-REID, P-DukeMTMC" {
    make_tree Market-1501-v15.09.15 bounding_box_train/0002_c1s1_000451_03.npy \
        bounding_box_test/0000_c1s1_000151_01.npy query/0001_c1s1_001051_00.npy \
        > "$T/Market-1501-v15.09.15.list"
    check_tree Market-1501-v15.09.15 five_v bounding_box_train/0002_c1s1_000451_03.png \
        bounding_box_test/0000_c1s1_000151_01.png query/0001_c1s1_001051_00.png

    make_tree DukeMTMC-reID bounding_box_train/0001_c2_f0046182.npy \
        query/0005_c2_f0046985.npy bounding_box_test/0002_c1_f0044158.npy \
        > "$T/DukeMTMC-reID.list"
    check_tree DukeMTMC-reID five_v bounding_box_train/0001_c2_f0046182.png \
        query/0005_c2_f0046985.png bounding_box_test/0002_c1_f0044158.png

    make_tree Occluded_Duke bounding_box_test/0001_c2_f0046182.jpg.confidence_fields.npy \
        query/0001_c2_f0046182.jpg.confidence_fields.npy \
        bounding_box_train/0003_c1_f0044158.jpg.confidence_fields.npy > "$T/Occluded_Duke.list"
    check_tree Occluded_Duke eight bounding_box_test/0001_c2_f0046182.png \
        query/0001_c2_f0046182.png bounding_box_train/0003_c1_f0044158.png

    make_tree Occluded_REID occluded_body_images/001_01.npy whole_body_images/001_01.npy \
        occluded_body_images/002_05.npy > "$T/Occluded_REID.list"
    check_tree Occluded_REID eight occluded_body_images/001_01.png whole_body_images/001_01.png \
        occluded_body_images/002_05.png

    make_tree P-DukeMTMC-reID train/whole_body_images/0001_c2_f0046182.npy \
        train/occluded_body_images/0001_c2_f0046180.npy \
        test/occluded_body_images/0010_c3_f0100000.npy \
        test/whole_body_images/0010_c3_f0100001.npy > "$T/P-DukeMTMC-reID.list"
    check_tree P-DukeMTMC-reID eight train/whole_body_images/0001_c2_f0046182.png \
        train/occluded_body_images/0001_c2_f0046180.png \
        test/occluded_body_images/0010_c3_f0100000.png \
        test/whole_body_images/0010_c3_f0100001.png
    no_temporaries "$T/out"
}

@test "--soft writes NAME.npy [K+1, h, w] float32 soft targets into the mirrored tree" {
    make_tree Occluded_Duke query/0001_c2_f0046182.jpg.confidence_fields.npy \
        query/sub/0002_c2_f0046183.jpg.confidence_fields.npy > /dev/null
    drop-labels --soft -o "$T/soft" "$T/Occluded_Duke/masks/pifpaf_maskrcnn_filtering"
    [ -f "$T/soft/query/0001_c2_f0046182.npy" ]
    drop-test-png npycmp "$T/soft/query/0001_c2_f0046182.npy" \
        "$L/eight.field_f4.t0.5.soft.npy" 1e-7
    drop-test-png npycmp "$T/soft/query/sub/0002_c2_f0046183.npy" \
        "$L/eight.field_f2.t0.5.soft.npy" 1e-7
    run head -c 80 "$T/soft/query/0001_c2_f0046182.npy"
    assert_output --partial "'descr': '<f4'"
    assert_output --partial "'shape': (9, 9, 7)"
}

@test "--size HxW resizes labels and soft targets by nearest neighbour" {
    drop-labels --size 96x32 "$L/field_f4.npy" > "$T/big.png"
    run drop-test-png info "$T/big.png"
    assert_output "indexed 32 96 9"
    # 9x7 -> 18x14 doubles every pixel; back to 9x7 gives the reference again.
    drop-labels --size 18x14 --soft -k 5 -o - "$L/field_f4.npy" > "$T/s2.npy"
    run head -c 80 "$T/s2.npy"
    assert_output --partial "'shape': (6, 18, 14)"
    drop-labels --size 9x7 "$L/field_f4.npy" > "$T/same.png"
    drop-test-png cmp "$T/same.png" "$(ref eight field_f4)"
}

@test "--overlay writes NAME.overlay.png (image size) beside the label, from JPEG or PNG" {
    make_tree Occluded_Duke query/0001_c2_f0046182.jpg.confidence_fields.npy \
        bounding_box_test/0002_c2_f0046183.jpg.confidence_fields.npy > /dev/null
    mkdir -p "$T/Occluded_Duke/query" "$T/Occluded_Duke/bounding_box_test"
    drop-test-png jpeg 64 128 "$T/Occluded_Duke/query/0001_c2_f0046182.jpg"
    drop-test-png png 48 96 "$T/Occluded_Duke/bounding_box_test/0002_c2_f0046183.png"
    drop-labels --overlay "$T/Occluded_Duke" -o "$T/ov" \
        "$T/Occluded_Duke/masks/pifpaf_maskrcnn_filtering"
    run drop-test-png info "$T/ov/query/0001_c2_f0046182.overlay.png"
    assert_output "rgb 64 128"
    run drop-test-png info "$T/ov/bounding_box_test/0002_c2_f0046183.overlay.png"
    assert_output "rgb 48 96"
    run drop-test-png info "$T/ov/query/0001_c2_f0046182.png"
    assert_output "indexed 7 9 9"
}

@test "--overlay reads TIFF images (Occluded-REID)" {
    /usr/bin/python3 -c 'import PIL' 2>/dev/null || skip "no python3-pil to write a TIFF"
    make_tree Occluded_REID occluded_body_images/001_01.npy > /dev/null
    mkdir -p "$T/img/occluded_body_images"
    /usr/bin/python3 -c 'import sys; from PIL import Image
Image.new("RGB", (40, 100), (200, 30, 30)).save(sys.argv[1])' \
        "$T/img/occluded_body_images/001_01.tif"
    drop-labels --overlay "$T/img" -o "$T/ov" "$T/Occluded_REID/masks/pifpaf_maskrcnn_filtering"
    run drop-test-png info "$T/ov/occluded_body_images/001_01.overlay.png"
    assert_output "rgb 40 100"
}

@test "--overlay: a missing or corrupt image is an error for that file only" {
    make_tree Occluded_Duke query/a.jpg.confidence_fields.npy query/b.jpg.confidence_fields.npy \
        query/c.jpg.confidence_fields.npy > /dev/null
    mkdir -p "$T/img/query"
    drop-test-png jpeg 16 32 "$T/img/query/a.jpg"
    drop-test-png jpeg 16 32 "$T/full.jpg"
    head -c $(($(stat -c %s "$T/full.jpg") - 30)) "$T/full.jpg" > "$T/img/query/c.jpg"
    run --separate-stderr drop-labels --overlay "$T/img" -o "$T/ov" \
        "$T/Occluded_Duke/masks/pifpaf_maskrcnn_filtering"
    [ "$status" -eq 1 ]
    m="$T/Occluded_Duke/masks/pifpaf_maskrcnn_filtering/query"
    [ "${stderr_lines[0]}" = "drop-labels: $m/b.jpg.confidence_fields.npy: no image $T/img/query/b.{jpg,jpeg,png,tif} for the overlay" ]
    [ "${stderr_lines[1]}" = "drop-labels: $m/c.jpg.confidence_fields.npy: $T/img/query/c.jpg: JPEG: Premature end of JPEG file" ]
    [ -f "$T/ov/query/a.overlay.png" ] && [ -f "$T/ov/query/b.png" ]
    [ ! -e "$T/ov/query/b.overlay.png" ] && [ ! -e "$T/ov/query/c.overlay.png" ]
    no_temporaries "$T/ov"
}

@test "the output is the same whatever the thread count" {
    for i in $(seq 1 30); do
        f=(field_f4 field_f2 field_f8)
        mkdir -p "$T/in/d$((i % 4))"
        cp "$L/${f[i % 3]}.npy" "$T/in/d$((i % 4))/img$i.npy"
    done
    drop-labels --threads 1 -o "$T/one" "$T/in"
    drop-labels --threads 2 -o "$T/two" "$T/in"
    drop-labels --threads 2 --soft -k 5 -o "$T/s2" "$T/in"
    drop-labels --threads 1 --soft -k 5 -o "$T/s1" "$T/in"
    [ "$(find "$T/one" -type f | wc -l)" -eq 30 ]
    diff -r "$T/one" "$T/two"
    diff -r "$T/s1" "$T/s2"
}

@test "bad inputs are reported per file, in order; the others are converted; exit 1" {
    mkdir -p "$T/in/sub"
    cp "$L/field_f4.npy" "$T/in/a.npy"
    cp "$L/bad_channels.npy" "$T/in/b.npy"
    cp "$L/bad_2d.npy" "$T/in/c.npy"
    cp "$L/bad_nan.npy" "$T/in/d.npy"
    cp "$L/bad_truncated.npy" "$T/in/e.npy"
    cp "$L/field_f2.npy" "$T/in/sub/f.npy"
    printf 'not npy' > "$T/in/sub/g.npy"
    run --separate-stderr drop-labels --threads 2 -o "$T/out" "$T/in"
    [ "$status" -eq 1 ]
    [ "${#stderr_lines[@]}" -eq 5 ]
    [ "${stderr_lines[0]}" = "drop-labels: $T/in/b.npy: expected a [36, h, w] PifPaf field, got shape (35, 4, 3)" ]
    [ "${stderr_lines[1]}" = "drop-labels: $T/in/c.npy: expected a [36, h, w] PifPaf field, got shape (36, 12)" ]
    [ "${stderr_lines[2]}" = "drop-labels: $T/in/d.npy: NaN at channel 3, row 2, column 1" ]
    [[ "${stderr_lines[3]}" == "drop-labels: $T/in/e.npy: "*truncated* ]]
    [[ "${stderr_lines[4]}" == "drop-labels: $T/in/sub/g.npy: "* ]]
    drop-test-png cmp "$T/out/a.png" "$(ref eight field_f4)"
    drop-test-png cmp "$T/out/sub/f.png" "$(ref eight field_f2)"
    run find "$T/out" -type f
    [ "${#lines[@]}" -eq 2 ]
    run --separate-stderr drop-labels "$T/no-such.npy"
    [ "$status" -eq 1 ]
    [[ "$stderr" == "drop-labels: $T/no-such.npy: "* ]]
}

@test "an unreadable folder is reported by name; the other files are converted" {
    run_unprivileged=()
    if [ "$(id -u)" -eq 0 ]; then
        command -v capsh >/dev/null || skip "root without capsh"
        run_unprivileged=(capsh --drop=cap_dac_override,cap_dac_read_search --)
    fi
    mkdir -p "$T/in/locked" "$T/in/open"
    cp "$L/field_f4.npy" "$T/in/locked/x.npy"
    cp "$L/field_f4.npy" "$T/in/open/y.npy"
    chmod 000 "$T/in/locked"
    if [ "${#run_unprivileged[@]}" -gt 0 ]; then
        run --separate-stderr "${run_unprivileged[@]}" -c \
            "PATH='$PATH' drop-labels -o '$T/out' '$T/in'"
    else
        run --separate-stderr drop-labels -o "$T/out" "$T/in"
    fi
    chmod 755 "$T/in/locked"
    [ "$status" -eq 1 ]
    [ "$stderr" = "drop-labels: $T/in/locked: cannot open folder: Permission denied" ]
    [ -f "$T/out/open/y.png" ]
}

@test "two inputs with one output name, or an output over its input, are errors" {
    mkdir -p "$T/in"
    cp "$L/field_f4.npy" "$T/in/a.npy"
    cp "$L/field_f2.npy" "$T/in/a.jpg.confidence_fields.npy"
    run --separate-stderr drop-labels -o "$T/out" "$T/in"
    [ "$status" -eq 1 ]
    [ "$stderr" = "drop-labels: $T/in/a.npy: output $T/out/a.png is also written for $T/in/a.jpg.confidence_fields.npy" ]
    drop-test-png cmp "$T/out/a.png" "$(ref eight field_f2)"
    run --separate-stderr drop-labels --soft -o "$T/in" "$T/in/a.npy"
    [ "$status" -eq 1 ]
    [ "$stderr" = "drop-labels: $T/in/a.npy: the output $T/in/a.npy would overwrite the input" ]
    drop-test-png npycmp "$T/in/a.npy" "$L/field_f4.npy" 0
}

@test "stdin to stdout; -o - and the default write one input file to stdout" {
    drop-labels -k 5 - < "$L/field_f4.npy" > "$T/a.png"
    drop-test-png cmp "$T/a.png" "$(ref five_v field_f4)"
    drop-labels -k 5 -o - "$L/field_f4.npy" | cmp - "$T/a.png"
}

@test "usage errors exit 2" {
    check_usage() {
        run --separate-stderr drop-labels "$@"
        [ "$status" -eq 2 ] || fail "exit $status for: $*"
        [[ "$stderr" == *"Try 'drop-labels --help' for more information."* ]]
    }
    f="$L/field_f4.npy"
    check_usage
    check_usage -k 6 "$f"
    check_usage -k 8 --grouping eight "$f"
    check_usage --grouping bs_fu "$f"
    check_usage --threshold 1.5 "$f"
    check_usage --size 96 "$f"
    check_usage --size 0x32 "$f"
    check_usage "$f" "$f"
    check_usage -o - "$L"
    check_usage --overlay "$T" "$f"
    check_usage -o "$T/out" -
    run --separate-stderr drop-labels --grouping nope "$f"
    [ "${stderr_lines[0]}" = "drop-labels: --grouping: unknown grouping 'nope' (see --list-groupings)" ]
}

@test "--progress prints a summary on stderr; -q prints nothing" {
    mkdir -p "$T/in"
    for i in 1 2 3; do cp "$L/field_f4.npy" "$T/in/$i.npy"; done
    run --separate-stderr drop-labels --progress -o "$T/out" "$T/in"
    assert_success
    [[ "$stderr" =~ ^drop-labels:\ 3/3\ files\ \(100%\),\ [0-9]+\ files/s$ ]]
    run --separate-stderr drop-labels -q --progress -o "$T/out" "$T/in"
    assert_success
    [ -z "$stderr" ]
}

@test "the man page examples run" {
    cd "$T"
    L="$L" bash -c '
        set -e
        for d in query bounding_box_test; do
            mkdir -p Occluded_Duke/masks/pifpaf_maskrcnn_filtering/$d Occluded_Duke/$d
            cp "$L/field_f4.npy" Occluded_Duke/masks/pifpaf_maskrcnn_filtering/$d/0001_c2_f0046182.jpg.confidence_fields.npy
            drop-test-png jpeg 64 128 Occluded_Duke/$d/0001_c2_f0046182.jpg
        done
        mkdir -p Market-1501-v15.09.15/masks/pifpaf_maskrcnn_filtering/query query
        cp "$L/field_f2.npy" Market-1501-v15.09.15/masks/pifpaf_maskrcnn_filtering/query/0001_c1s1_001051_00.npy
        cp "$L/field_f8.npy" query/0001_c2_f0046182.jpg.confidence_fields.npy'
    run_man_examples "$DROP_ROOT/man/drop-labels.1"
    [ -f labels/query/0001_c2_f0046182.png ]
    [ -f targets/query/0001_c1s1_001051_00.npy ]
    [ -f check/query/0001_c2_f0046182.overlay.png ]
}
