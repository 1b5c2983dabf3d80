#!/usr/bin/env bats
# tests: scripts/make-synthetic-reid - the same seed gives byte-identical sets (whatever
# --jobs), another seed another set; the Occluded-Duke layout, names, counts and camera
# rule; the fields' header (float32 [36, Hm, Wm], OpenPifPaf's field size), values in
# [0, 1] with peaks near 1; drop-labels converts every field; occluded queries have fewer
# leg and foot labels than the gallery; README.txt; --force; usage errors.
# also requires: /usr/bin/python3 with numpy and PIL (the generator; skipped without them,
# a failure under DROP_TEST_STRICT=1), drop-labels, od, awk

load test_helper
bats_require_minimum_version 1.5.0

GEN="$DROP_ROOT/scripts/make-synthetic-reid"
SMALL=(--ids-train 4 --ids-test 6 --images-per-id 3 --queries-per-id 2 --gallery-per-id 3)
NAME_RE='^[0-9]{4}_c[1-8]_f[0-9]{7}\.jpg$'

have_generator() {
    /usr/bin/python3 -c 'import numpy, PIL' 2>/dev/null
}

# One small set for the read-only tests, made once.
setup_file() {
    if have_generator; then
        "$GEN" -q -o "$BATS_FILE_TMPDIR/a" --seed 5 "${SMALL[@]}"
    fi
}

setup() {
    T=$(mktemp -d)
    if ! have_generator; then
        [ "${DROP_TEST_STRICT:-0}" = 1 ] && fail "no numpy or PIL for /usr/bin/python3"
        skip "no numpy or PIL for /usr/bin/python3 (apt-get install python3-numpy python3-pil)"
    fi
    A="$BATS_FILE_TMPDIR/a/Occluded_Duke"
    M="$A/masks/pifpaf_maskrcnn_filtering"
}

# The floats of a .npy file (format 1.0, little-endian float32), one per line.
npy_floats() {
    local hl
    hl=$(od -An -tu2 -j8 -N2 "$1" | tr -d ' ')
    od -An -v -tf4 -w4 -j $((10 + hl)) "$1"
}

# "HEIGHT WIDTH" of a baseline JPEG (its SOF0 marker: ff c0, length, precision, H, W).
jpeg_size() {
    od -An -v -tu1 "$1" | tr -s ' \n' '\n' | awk '
        p == 255 && $1 == 192 { s = 1; i = 0 }
        s { v[i++] = $1; if (i == 8) { print v[4] * 256 + v[5], v[6] * 256 + v[7]; exit } }
        { p = $1 }'
}

# Cells of a [9, h, w] soft target (-k 8) whose label (first largest channel) is a leg or
# a foot (5..8); $2 = h * w.
lower_cells() {
    npy_floats "$1" | awk -v n="$2" '
        { c = int((NR - 1) / n); p = (NR - 1) % n
          if (c == 0 || $1 > best[p]) { best[p] = $1; lab[p] = c } }
        END { k = 0; for (p = 0; p < n; p++) if (lab[p] >= 5) k++; print k }'
}

@test "the same seed gives the same files, whatever --jobs; another seed does not" {
    "$GEN" -q -o "$T/b" --seed 5 --jobs 1 "${SMALL[@]}"
    diff -r "$BATS_FILE_TMPDIR/a" "$T/b"
    "$GEN" -q -o "$T/c" --seed 5 -j 2 "${SMALL[@]}"
    diff -r "$T/b" "$T/c"
    (cd "$T/b" && find . -type f | LC_ALL=C sort | xargs sha256sum) > "$T/b.sum"
    (cd "$T/c" && find . -type f | LC_ALL=C sort | xargs sha256sum) > "$T/c.sum"
    cmp "$T/b.sum" "$T/c.sum"
    "$GEN" -q -o "$T/d" --seed 6 "${SMALL[@]}"
    run diff -rq "$T/b" "$T/d"
    assert_failure
    # Other contents, not only other names (identities, cameras and frames come from the
    # seed too).
    contents() { (cd "$1" && find . -type f -exec sha256sum {} + | cut -d' ' -f1 | sort); }
    [ -z "$(comm -12 <(contents "$T/b") <(contents "$T/d"))" ]
}

@test "the Occluded-Duke layout: folders, names, one field per image, counts" {
    for s in bounding_box_train query bounding_box_test; do
        [ -d "$A/$s" ] && [ -d "$M/$s" ]
        run bash -c "ls '$A/$s' | grep -Evc '$NAME_RE'"
        assert_output 0
        diff <(ls "$A/$s" | sed 's/$/.confidence_fields.npy/') <(ls "$M/$s")
    done
    [ "$(ls "$A/bounding_box_train" | wc -l)" -eq 12 ]
    [ "$(ls "$A/query" | wc -l)" -eq 12 ]
    [ "$(ls "$A/bounding_box_test" | wc -l)" -eq 18 ]
    run bash -c "cd '$BATS_FILE_TMPDIR/a' && find . -mindepth 1 -maxdepth 2 | LC_ALL=C sort"
    assert_output "$(printf '%s\n' ./Occluded_Duke ./Occluded_Duke/bounding_box_test \
        ./Occluded_Duke/bounding_box_train ./Occluded_Duke/masks ./Occluded_Duke/query \
        ./README.txt)"
    run ls "$M"
    assert_output "$(printf '%s\n' bounding_box_test bounding_box_train query)"
    run jpeg_size "$A/query/$(ls "$A/query" | head -1)"
    assert_output "128 64"
}

@test "identities and cameras: pids 4 digits as the regex of §4 reads them; query vs gallery" {
    pids() { ls "$A/$1" | sed -E 's/^(-?[0-9]+)_c([0-9]).*/\1/' | sort -u; }
    # Training and test identities are disjoint; every query identity is in the gallery.
    [ -z "$(comm -12 <(pids bounding_box_train) <(pids query))" ]
    [ -z "$(comm -12 <(pids bounding_box_train) <(pids bounding_box_test))" ]
    [ -z "$(comm -23 <(pids query) <(pids bounding_box_test))" ]
    [ "$(pids bounding_box_train | wc -l)" -eq 4 ]
    [ "$(pids query | wc -l)" -eq 6 ]
    # Every query has a gallery image of its identity from another camera, and none
    # from its own camera.
    run bash -c "{ ls '$A/query' | sed 's/^/q_/'; ls '$A/bounding_box_test' | sed 's/^/g_/'; } |
        awk -F_ '\$1 == \"q\" { query[\$2 \" \" \$3] = 1; next }
                 { gal[\$2 \" \" \$3] = 1; n[\$2]++ }
                 END { for (k in query) { split(k, a, \" \")
                           if (k in gal) print \"same camera\", k
                           if (!n[a[1]]) print \"no gallery\", k } }'"
    assert_success
    assert_output ""
    # Each training identity is seen by at least two cameras.
    run bash -c "ls '$A/bounding_box_train' | awk -F_ '{ c[\$1 \" \" \$2] = 1 }
        END { for (k in c) { split(k, a, \" \"); n[a[1]]++ }
              for (p in n) if (n[p] < 2) print p }'"
    assert_output ""
}

@test "fields: float32 [36, 17, 9] for 128x64 images, values in [0, 1], peaks near 1" {
    for f in "$M"/query/* "$M"/bounding_box_test/*; do
        run head -c 80 "$f"
        assert_output --partial "'descr': '<f4'"
        assert_output --partial "'shape': (36, 17, 9)"
    done
    f=$(ls "$M"/bounding_box_test/* | head -1)
    run bash -c "$(declare -f npy_floats); npy_floats '$f' | awk '
        \$1 < 0 || \$1 > 1 { bad++ } \$1 > max { max = \$1 } \$1 > 0.5 { n++ }
        END { print NR, bad + 0, (max > 0.85), (n > 20) }'"
    assert_output "5508 0 1 1"
}

@test "--height and --width: OpenPifPaf's field size 2*ceil((n-1)/16)+1" {
    "$GEN" -q -o "$T/s" --height 96 --width 48 --ids-train 1 --ids-test 1 \
        --images-per-id 2 --queries-per-id 1 --gallery-per-id 1 --cameras 2
    f=$(ls "$T/s/Occluded_Duke/masks/pifpaf_maskrcnn_filtering/query/"*)
    run head -c 80 "$f"
    assert_output --partial "'shape': (36, 13, 7)"
    run jpeg_size "$(ls "$T/s/Occluded_Duke/query/"*)"
    assert_output "96 48"
}

@test "drop-labels -k 8 converts every field; occluded queries have fewer leg labels" {
    drop-labels -q -k 8 -o "$T/labels" "$M"
    for s in bounding_box_train query bounding_box_test; do
        diff <(ls "$A/$s" | sed 's/\.jpg$/.png/') <(ls "$T/labels/$s")
    done
    drop-labels -q -k 8 --soft -o "$T/soft" "$M"
    nq=0 sq=0 ng=0 sg=0
    for f in "$T/soft/query/"*.npy; do
        sq=$((sq + $(lower_cells "$f" 153))) nq=$((nq + 1))
    done
    for f in "$T/soft/bounding_box_test/"*.npy; do
        sg=$((sg + $(lower_cells "$f" 153))) ng=$((ng + 1))
    done
    echo "# leg and foot cells: queries $sq/$nq, gallery $sg/$ng" >&3
    [ "$nq" -eq 12 ] && [ "$ng" -eq 18 ]
    [ "$sg" -gt 0 ]
    # mean over queries < 0.8 x mean over the gallery
    [ $((5 * sq * ng)) -lt $((4 * sg * nq)) ]
}

@test "--occluded-query 0: no occluded query; README.txt and the summary count them" {
    run --separate-stderr "$GEN" -o "$T/o" --occluded-query 0 --occluded-gallery 1 \
        --ids-train 1 --ids-test 2 --images-per-id 2 --queries-per-id 1 --gallery-per-id 2
    assert_success
    want="make-synthetic-reid: wrote $T/o/Occluded_Duke: 2 training images (1 ids), 2 queries"
    want+=" (0 occluded), 4 gallery images (4 occluded) of 2 test ids; 8 cameras, 128x64,"
    want+=" fields 36x17x9, seed 1; "
    [[ "$stderr" == "$want"*" s" ]] || fail "summary: $stderr"
    grep -Eq '^Occluded_Duke/query +2 +2 +[0-9]+ +0 ' "$T/o/README.txt"
    grep -Eq '^Occluded_Duke/bounding_box_test +4 +2 +[0-9]+ +4 ' "$T/o/README.txt"
    grep -q -- '--seed 1 ' "$T/o/README.txt"
    grep -Eq '^Occluded_Duke/query +12 +6 +[0-9]+ +12 ' "$BATS_FILE_TMPDIR/a/README.txt"
}

@test "an existing set is kept unless --force; no temporary is left" {
    "$GEN" -q -o "$T/o" --seed 3 --ids-train 1 --ids-test 1 --images-per-id 2 \
        --queries-per-id 1 --gallery-per-id 1
    ls -R "$T/o" > "$T/before"
    run --separate-stderr "$GEN" -o "$T/o" --seed 4 --ids-train 1 --ids-test 1
    [ "$status" -eq 1 ]
    [ "$stderr" = "make-synthetic-reid: $T/o/Occluded_Duke exists (use --force to replace it)" ]
    diff "$T/before" <(ls -R "$T/o")
    "$GEN" -q -o "$T/o" --force --seed 3 --ids-train 2 --ids-test 1 --images-per-id 2 \
        --queries-per-id 1 --gallery-per-id 1
    [ "$(ls "$T/o/Occluded_Duke/bounding_box_train" | wc -l)" -eq 4 ]
    [ "$(ls -A "$T/o")" = "$(printf 'Occluded_Duke\nREADME.txt')" ]
}

@test "usage errors exit 2 with a Try line; --help lists every option" {
    check_usage() {
        run --separate-stderr "$GEN" "$@"
        [ "$status" -eq 2 ] || fail "exit $status for: $*"
        [[ "$stderr" == *"Try 'make-synthetic-reid --help' for more information." ]] ||
            fail "stderr for $*: $stderr"
        [ ! -e "$T/u" ]
    }
    check_usage
    check_usage -o "$T/u" --no-such-option
    check_usage -o "$T/u" --cameras 1
    check_usage -o "$T/u" --cameras 9
    check_usage -o "$T/u" --occluded-query 1.5
    check_usage -o "$T/u" --occluded-train x
    check_usage -o "$T/u" --height 10
    check_usage -o "$T/u" --ids-train abc
    check_usage -o "$T/u" --ids-train 5000 --ids-test 5000
    check_usage -o "$T/u" --seed
    check_usage -o "$T/u" extra
    run "$GEN" --help
    assert_success
    for o in out ids-train ids-test images-per-id queries-per-id gallery-per-id cameras \
        height width occluded-query occluded-gallery occluded-train seed jobs force quiet \
        help; do
        assert_output --partial "--$o"
    done
    assert_output --partial "EXIT STATUS"
}
