#!/usr/bin/env bats
# tests: hostile input - files made to break the readers: .npy headers whose sizes are
# negative, wrap or promise more data than there is, images whose headers declare
# gigapixels (decompression bombs), NaN where an integer is due. Each bad
# file gives exit 1 and one message naming it, no crash, and no allocation beyond a small
# bound (the address space is limited, or under ASan every allocation), and the other files
# of a batch are still processed. (The fuzz harnesses of test/fuzz replay their corpora in
# the unit tests: test_fuzz_*.)
# also requires: python3, /usr/bin/time

load test_helper
bats_require_minimum_version 1.5.0

# raw_npy DICT [DATA]: a version 1.0 .npy of header text DICT (padded as numpy pads it)
# followed by the bytes of the Python expression DATA (struct is imported; default none).
raw_npy() {
    python3 -c 'import struct, sys
h = sys.argv[1].encode()
h += b" " * ((64 - (10 + len(h) + 1) % 64) % 64) + b"\n"
sys.stdout.buffer.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + eval(sys.argv[2]))' \
        "$1" "${2:-b''}"
}

# A record dtype of the embedding stream with path PATHTYPE, K parts of D dimensions.
emb_descr() {
    echo "[('path', '$1'), ('pid', '<i4'), ('camid', '<i4'), ('global', '<f4', ($3,)), ('fg', '<f4', ($3,)), ('parts', '<f4', ($2, $3)), ('vis', '<f4', ($2,))]"
}

# run_bounded CMD...: bats' run (stderr apart) with the memory the command may take
# bounded: 1 GB of address space, or under ASan (which reserves terabytes of shadow)
# no single allocation above 256 MB. Its peak resident memory (KB) is left in $rss.
run_bounded() {
    local limit="ulimit -v 1048576;"
    if ldd "$(command -v drop-score)" 2>/dev/null | grep -q libasan; then
        limit=""
    fi
    run --separate-stderr env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}max_allocation_size_mb=256:allocator_may_return_null=0" \
        bash -c "$limit"' exec /usr/bin/time -q -f %M -o "$0" "$@"' "$T/rss" "$@"
    rss=$(tail -n 1 "$T/rss")
}

# expect_error FILE MESSAGE: the last run failed with status 1, printed nothing on stdout,
# said "TOOL: FILE: ...MESSAGE..." on stderr in one line, and stayed under 200 MB.
expect_error() {
    [ "$status" -eq 1 ] || fail "status $status, stderr: $stderr"
    [ -z "$output" ] || fail "stdout: $output"
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "stderr: $stderr"
    [[ "$stderr" == drop-*": $1: "*"$2"* ]] || fail "stderr: $stderr (expected $1: ...$2...)"
    [ "$rss" -lt 204800 ] || fail "peak memory ${rss} KB"
}

# ---- 1. Negative sizes ------------------------------------------------------------------

@test "a ranked-list stream whose path field is 'S-1' is refused by drop-score (file, pipe)" {
    raw_npy "{'descr': [('path', '|S-1'), ('pid', '<i4'), ('camid', '<i4')], 'fortran_order': False, 'shape': (2,), }" \
        'bytes(40)' > "$T/r.npy"
    run_bounded drop-score "$T/r.npy"
    expect_error "$T/r.npy" "field 'path': unsupported dtype 'S-1'"
    run_bounded bash -c 'cat "$0" | drop-score -' "$T/r.npy"
    expect_error stdin "unsupported dtype 'S-1'"
    raw_npy "{'descr': [('path', '|S-4'), ('pid', '<i4'), ('camid', '<i4')], 'fortran_order': False, 'shape': (2,), }" \
        'bytes(40)' > "$T/r4.npy"
    run_bounded drop-score "$T/r4.npy"
    expect_error "$T/r4.npy" "unsupported dtype 'S-4'"
    # A path of no string (sub-array shape (0,)) last in the record: nothing to read there.
    raw_npy "{'descr': [('pid', '<i4'), ('camid', '<i4'), ('path', '|S8', (0,))], 'fortran_order': False, 'shape': (3,), }" \
        'bytes(24)' > "$T/r0.npy"
    run_bounded drop-score "$T/r0.npy"
    expect_error "$T/r0.npy" "not a ranked-list stream: field 'path' has the wrong type or shape"
}

@test "an embedding stream whose path field is 'S-1' is refused by drop-match (gallery, query)" {
    drop-synth-embed -n 6 --parts 2 --dim 4 -o "$T/good.npy"
    raw_npy "{'descr': $(emb_descr '|S-1' 2 4), 'fortran_order': False, 'shape': (2,), }" \
        'bytes(400)' > "$T/e.npy"
    run_bounded drop-match "$T/e.npy" "$T/good.npy"
    expect_error "$T/e.npy" "field 'path': unsupported dtype 'S-1'"
    run_bounded bash -c 'cat "$0" | drop-match "$1" -' "$T/e.npy" "$T/good.npy"
    expect_error stdin "unsupported dtype 'S-1'"
    # The record dtype, then a second 'descr' of 1 byte: fields 112 bytes into 1-byte records.
    raw_npy "{'descr': $(emb_descr '|S4' 2 4), 'fortran_order': False, 'shape': (2,), 'descr': '|u1'}" \
        'bytes(2)' > "$T/twice.npy"
    run_bounded drop-match "$T/twice.npy" "$T/good.npy"
    expect_error "$T/twice.npy" "bad header: key 'descr' given twice"
}

# ---- 2. Sizes the data does not back -----------------------------------------------------

@test "drop-labels: a field declaring 2^40 values in 64 bytes is skipped like a truncated one" {
    mkdir -p "$T/in"
    cp "$FIX/labels/field_f4.npy" "$T/in/a.npy"
    raw_npy "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }" \
        'bytes(64)' > "$T/in/b.npy"
    raw_npy "{'descr': '<f4', 'fortran_order': False, 'shape': (36, 1048576, 1048576), }" \
        'bytes(64)' > "$T/in/c.npy"
    cp "$FIX/labels/field_f2.npy" "$T/in/d.npy"
    run_bounded drop-labels --threads 2 -o "$T/out" "$T/in"
    [ "$status" -eq 1 ]
    [ "${#stderr_lines[@]}" -eq 2 ]
    [ "${stderr_lines[0]}" = "drop-labels: $T/in/b.npy: truncated data: the header declares 4398046511104 bytes, the file holds 64 after it" ]
    [[ "${stderr_lines[1]}" == "drop-labels: $T/in/c.npy: truncated data: the header declares "* ]]
    [ -f "$T/out/a.png" ] && [ -f "$T/out/d.png" ]
    [ "$(find "$T/out" -type f | wc -l)" -eq 2 ]
    [ "$rss" -lt 204800 ]
    # From a pipe the size is unknown: the data is read in bounded steps.
    run_bounded bash -c 'cat "$0" | drop-labels -' "$T/in/b.npy"
    expect_error - "truncated data: expected 4398046511104 more bytes, got 64"
}

@test "drop-score: a gallery table of 2^40 records in 64 bytes (file, pipe), a matrix of 2^40 rows" {
    raw_npy "{'descr': [('path', '|S8'), ('pid', '<i4'), ('camid', '<i4')], 'fortran_order': False, 'shape': (1099511627776,), }" \
        'bytes(64)' > "$T/g.npy"
    run_bounded drop-score "$T/g.npy"
    expect_error "$T/g.npy" "truncated data: the header declares 17592186044416 bytes, the file holds 64"
    run_bounded bash -c 'cat "$0" | drop-score -' "$T/g.npy"
    expect_error stdin "gallery table: truncated data: expected 17592186044416 more bytes, got 64"
    # One record of a gigabyte, through a pipe.
    raw_npy "{'descr': [('path', '|S1000000000'), ('pid', '<i4'), ('camid', '<i4')], 'fortran_order': False, 'shape': (1,), }" \
        'bytes(64)' > "$T/g1.npy"
    run_bounded bash -c 'cat "$0" | drop-score -' "$T/g1.npy"
    expect_error stdin "truncated data: expected 1000000008 more bytes, got 64"
    printf 'a.jpg\t1\t1\n' > "$T/q.tsv"
    printf 'b.jpg\t1\t2\n' > "$T/g.tsv"
    raw_npy "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1), }" \
        'bytes(64)' > "$T/d.npy"
    run_bounded drop-score --dist "$T/d.npy" --query "$T/q.tsv" --gallery "$T/g.tsv"
    expect_error "$T/d.npy" "truncated data: the header declares 4398046511104 bytes"
}

@test "drop-match: embeddings declaring 2^40 records, or 2^40 parts in no record" {
    drop-synth-embed -n 6 --parts 2 --dim 4 -o "$T/good.npy"
    raw_npy "{'descr': $(emb_descr '|S8' 2 4), 'fortran_order': False, 'shape': (1099511627776,), }" \
        'bytes(64)' > "$T/big.npy"
    run_bounded drop-match "$T/big.npy" "$T/good.npy"
    expect_error "$T/big.npy" "truncated data: the header declares"
    run_bounded bash -c 'cat "$0" | drop-match "$1" -' "$T/big.npy" "$T/good.npy"
    expect_error stdin "truncated data: expected"
    raw_npy "{'descr': $(emb_descr '|S8' 1099511627776 1), 'fortran_order': False, 'shape': (0,), }" \
        > "$T/empty.npy"
    run_bounded drop-match "$T/empty.npy" "$T/good.npy"
    expect_error "$T/empty.npy" "empty gallery (no records)"
    run_bounded bash -c 'cat "$0" | drop-match "$1" -' "$T/empty.npy" "$T/good.npy"
    [ "$status" -eq 1 ] && [ "$rss" -lt 204800 ]
    [[ "$stderr" == "drop-match: stdin: embeddings of K = 1099511627776 parts"* ]]
}

# ---- 3. Decompression bombs --------------------------------------------------------------

# declare_size FILE W H: make the JPEG (its SOF) or PNG (its IHDR, CRC made good) at FILE
# declare W x H pixels, keeping its few bytes of data.
declare_size() {
    python3 - "$@" <<'PY'
import struct, sys, zlib
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
b = bytearray(open(path, 'rb').read())
if b[:8] == b'\x89PNG\r\n\x1a\n':
    b[16:24] = struct.pack('>II', w, h)
    b[29:33] = struct.pack('>I', zlib.crc32(bytes(b[12:29])))
else:
    i = 2
    while b[i + 1] not in (0xc0, 0xc1, 0xc2):
        i += 2 + struct.unpack('>H', b[i + 2:i + 4])[0]
    b[i + 5:i + 9] = struct.pack('>HH', h, w)
open(path, 'wb').write(b)
PY
}

# In $T: good.jpg (40 x 90), bomb.jpg (a JPEG of 65500 x 65500) and bomb.png (a PNG of
# 20000 x 20000), each a few hundred bytes.
make_bombs() {
    drop-test-png jpeg 40 90 "$T/good.jpg"
    drop-test-png jpeg 16 16 "$T/bomb.jpg"
    declare_size "$T/bomb.jpg" 65500 65500
    drop-test-png png 16 16 "$T/bomb.png"
    declare_size "$T/bomb.png" 20000 20000
    [ "$(stat -c %s "$T/bomb.jpg")" -lt 2000 ] && [ "$(stat -c %s "$T/bomb.png")" -lt 2000 ]
}

@test "drop-embed: JPEG and PNG bombs are refused from their header; --max-pixels moves the limit" {
    model_tools_on_cpu
    make_bombs
    drop-test-model --seed 3 "$T/m.st"
    for b in bomb.jpg bomb.png; do
        SECONDS=0
        run_bounded drop-embed --threads 1 -m "$T/m.st" -o "$T/out.npy" "$T/good.jpg" "$T/$b"
        local size=65500
        [ "$b" = bomb.png ] && size=20000
        expect_error "$T/$b" "image of $size x $size pixels, more than the limit of 16000000 (--max-pixels)"
        [ "$SECONDS" -lt 20 ]
        [ ! -e "$T/out.npy" ]
    done
    run --separate-stderr drop-embed --threads 1 -m "$T/m.st" --max-pixels 3599 "$T/good.jpg"
    [ "$status" -eq 1 ]
    [ "$stderr" = "drop-embed: $T/good.jpg: image of 40 x 90 pixels, more than the limit of 3599 (--max-pixels)" ]
    drop-embed --threads 1 -m "$T/m.st" --max-pixels 3600 -o "$T/ok.npy" "$T/good.jpg"
    [ -s "$T/ok.npy" ]
    run --separate-stderr drop-embed -m "$T/m.st" --max-pixels 0 "$T/good.jpg"
    [ "$status" -eq 2 ]
    [[ "$stderr" == "drop-embed: --max-pixels: 0 is out of range"* ]]
}

@test "drop-labels --overlay: a bomb is an error for its file only" {
    make_bombs
    mkdir -p "$T/in" "$T/img"
    cp "$FIX/labels/field_f4.npy" "$T/in/a.npy"
    cp "$FIX/labels/field_f4.npy" "$T/in/b.npy"
    cp "$FIX/labels/field_f4.npy" "$T/in/c.npy"
    cp "$T/good.jpg" "$T/img/a.jpg"
    cp "$T/bomb.jpg" "$T/img/b.jpg"
    cp "$T/bomb.png" "$T/img/c.png"
    run_bounded drop-labels --threads 2 --overlay "$T/img" -o "$T/out" "$T/in"
    [ "$status" -eq 1 ]
    [ "${#stderr_lines[@]}" -eq 2 ]
    [ "${stderr_lines[0]}" = "drop-labels: $T/in/b.npy: $T/img/b.jpg: image of 65500 x 65500 pixels, more than the limit of 16000000 (--max-pixels)" ]
    [ "${stderr_lines[1]}" = "drop-labels: $T/in/c.npy: $T/img/c.png: image of 20000 x 20000 pixels, more than the limit of 16000000 (--max-pixels)" ]
    [ -f "$T/out/a.overlay.png" ] && [ ! -e "$T/out/b.overlay.png" ]
    [ "$rss" -lt 204800 ]
    run --separate-stderr drop-labels --max-pixels 100 --overlay "$T/img" -o "$T/out2" "$T/in/a.npy"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"$T/img/a.jpg: image of 40 x 90 pixels, more than the limit of 100"* ]]
}

@test "drop-match --sheet: a bomb in the gallery is an error naming it; no output is left" {
    make_bombs
    cd "$T"
    drop-synth-embed -n 4 --parts 2 --dim 8 --ids 2 --prefix img/ --list g.tsv -o g.npy
    mkdir -p img
    cut -f1 g.tsv | while IFS= read -r p; do cp good.jpg "$p"; done
    local victim
    victim=$(sed -n 2p g.tsv | cut -f1)
    cp bomb.png "$victim"
    run_bounded drop-match --sheet s.png --sheet-top 4 -o r.npy g.npy g.npy
    expect_error "$victim" "image of 20000 x 20000 pixels, more than the limit of 16000000"
    [ ! -e s.png ] && [ ! -e r.npy ]
    cp good.jpg "$victim"
    run --separate-stderr drop-match --max-pixels 3599 --sheet s.png -o r.npy g.npy g.npy
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"image of 40 x 90 pixels, more than the limit of 3599 (--max-pixels)" ]]
    drop-match --max-pixels 3600 --sheet s.png -o r.npy g.npy g.npy
    [ -s s.png ]
}

@test "drop-train: a bomb image or label map is an error naming it" {
    model_tools_on_cpu
    make_bombs
    drop-labels -k 8 "$FIX/labels/field_f4.npy" > "$T/lab.png"
    local i
    for i in 0 1 2 3 4 5 6 7; do
        cp "$T/good.jpg" "$T/$i.jpg"
        cp "$T/lab.png" "$T/$i.png"
        printf '%s\t%d\t%d\t%s\n' "$T/$i.jpg" $((i / 4)) $((i % 2)) "$T/$i.png"
    done > "$T/train.tsv"
    local tiny=(--backbone hrnet-tiny --size 64x32 --batch 8 --threads 2 -q --epochs 1)
    cp "$T/bomb.jpg" "$T/3.jpg"
    run_bounded drop-train --list "$T/train.tsv" "${tiny[@]}" -o "$T/m.st"
    expect_error "$T/3.jpg" "image of 65500 x 65500 pixels, more than the limit of 16000000"
    cp "$T/good.jpg" "$T/3.jpg"
    cp "$T/bomb.png" "$T/5.png"
    run_bounded drop-train --list "$T/train.tsv" "${tiny[@]}" -o "$T/m.st"
    expect_error "$T/5.png" "image of 20000 x 20000 pixels, more than the limit of 16000000"
    [ ! -e "$T/m.st" ]
    cp "$T/lab.png" "$T/5.png"
    run --separate-stderr drop-train --list "$T/train.tsv" "${tiny[@]}" -o "$T/m.st" --max-pixels 3599
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"image of 40 x 90 pixels, more than the limit of 3599 (--max-pixels)" ]]
}

# ---- 4. Values without an integer ----------------------------------------------------------

@test "drop-score: a NaN or huge float pid is an error naming the item, not a conversion" {
    local g="{'descr': [('path', '|S4'), ('pid', '<f4'), ('camid', '<i4')], 'fortran_order': False, 'shape': (1,), }"
    raw_npy "$g" "b'a.jp' + struct.pack('<fi', float('nan'), 1)" > "$T/nan.npy"
    run_bounded drop-score "$T/nan.npy"
    expect_error "$T/nan.npy" "gallery item 0 (a.jp): pid nan is not a 32-bit integer"
    raw_npy "$g" "b'a.jp' + struct.pack('<fi', 1e30, 1)" > "$T/huge.npy"
    run_bounded drop-score "$T/huge.npy"
    expect_error "$T/huge.npy" "pid 1e+30 is not a 32-bit integer"
}


# ---- 5. Write errors, temporaries, TSV, ids ---------------------------------------------

# run_full CMD...: bats' run (stderr apart) with writes to regular files failing (EFBIG:
# a file size limit of 0, its signal ignored) and stdout sent to /dev/full (ENOSPC). Its
# stderr reaches bats' file through a pipe, out of the limit's reach.
run_full() {
    run --separate-stderr bash -c 'set -o pipefail
        (trap "" XFSZ; ulimit -f 0; exec "$@" > /dev/full) 2>&1 | cat >&2' _ "$@"
}

@test "write errors name the output: a file (EFBIG) or stdout (ENOSPC)" {
    [ -c /dev/full ] || skip "no /dev/full"
    model_tools_on_cpu
    drop-test-png jpeg 40 90 "$T/a.jpg"
    drop-test-model --seed 3 "$T/m.st"
    local f="$FIX/labels/field_f4.npy" s="$FIX/score"
    run_full drop-embed --threads 1 -m "$T/m.st" -o "$T/out.npy" "$T/a.jpg"
    [ "$status" -eq 1 ] && [ "$stderr" = "drop-embed: $T/out.npy: write error: File too large" ]
    run_full drop-embed --threads 1 -m "$T/m.st" "$T/a.jpg"
    [ "$status" -eq 1 ] && [ "$stderr" = "drop-embed: stdout: write error: No space left on device" ]
    run_full drop-embed --threads 1 -m "$T/m.st" --masks "$T/masks" -o /dev/null "$T/a.jpg"
    [ "$status" -eq 1 ] && [ "$stderr" = "drop-embed: $T/masks/a.png: write error: File too large" ]
    for soft in "" --soft; do
        local ext=png
        [ -n "$soft" ] && ext=npy
        run_full drop-labels $soft -o "$T/lab" "$f"
        [ "$status" -eq 1 ] && [ "$stderr" = "drop-labels: $f: $T/lab/field_f4.$ext: write error: File too large" ]
        run_full drop-labels $soft "$f"
        [ "$status" -eq 1 ] && [ "$stderr" = "drop-labels: $f: stdout: write error: No space left on device" ]
    done
    run_full drop-score --dist "$s/case00.npy" --query "$s/case00-q.tsv" --gallery "$s/case00-g.tsv"
    [ "$status" -eq 1 ] && [ "$stderr" = "drop-score: stdout: write error: No space left on device" ]
    run_full drop-score --per-query "$T/pq.tsv" --dist "$s/case00.npy" --query "$s/case00-q.tsv" \
        --gallery "$s/case00-g.tsv"
    [ "$status" -eq 1 ] && [ "$stderr" = "drop-score: $T/pq.tsv: write error: File too large" ]
    drop-labels -k 8 "$f" > "$T/lab.png"
    printf '%s\t1\t1\t%s\n' "$T/a.jpg" "$T/lab.png" > "$T/train.tsv"
    run_full drop-train --list "$T/train.tsv" --backbone hrnet-tiny --size 64x32 --epochs 0 \
        -o "$T/m2.st"
    [ "$status" -eq 1 ] && [ "$stderr" = "drop-train: $T/m2.st: write error: File too large" ]
    [ -z "$(find "$T" -name '*.tmp.*')" ]
}

@test "a run killed with SIGKILL leaves no temporary; stale ones of killed runs are swept" {
    local s="$FIX/score" i
    mkfifo "$T/fifo"
    # drop-score opens --per-query first, then blocks opening the FIFO: kill it there.
    drop-score --per-query "$T/pq.tsv" "$T/fifo" 3>&- &
    local pid=$!
    for i in $(seq 100); do
        ls -l "/proc/$pid/fd" 2>/dev/null | grep -q -- "-> $T/" && break
        sleep 0.1
    done
    ls -l "/proc/$pid/fd" | grep -q -- "-> $T/"
    kill -9 "$pid"
    wait "$pid" || true
    [ "$(ls "$T")" = fifo ]
    # What a killed run of a file system without unnamed files (or an older drop) leaves:
    # removed by the next run writing there once it is an hour old and no one holds it.
    touch -d '2 hours ago' "$T/pq.tsv.tmp.AbC123" "$T/other.tmp.Old123"
    touch "$T/pq.tsv.tmp.New123"
    drop-score --per-query "$T/pq.tsv" --dist "$s/case00.npy" --query "$s/case00-q.tsv" \
        --gallery "$s/case00-g.tsv" > /dev/null
    [ -s "$T/pq.tsv" ]
    [ ! -e "$T/pq.tsv.tmp.AbC123" ] && [ ! -e "$T/other.tmp.Old123" ]
    [ -e "$T/pq.tsv.tmp.New123" ]
}

@test "TSV output escapes tabs, newlines and backslashes in paths: every line keeps its columns" {
    drop-synth-embed -n 6 --dim 8 --parts 2 --ids 2 --prefix $'x\ty\nz\\w\x01/' -o "$T/e.npy"
    run drop-match --text --top 3 "$T/e.npy" "$T/e.npy"
    assert_success
    [ "${#lines[@]}" -eq 18 ]
    [ "$(printf '%s\n' "$output" | awk -F '\t' 'NF != 5' | wc -l)" -eq 0 ]
    [[ "${lines[0]}" == 'x\ty\nz\\w\x01/0001_c'*$'\t1\tx\\ty\\nz\\\\w\\x01/0001_c'* ]]
    # printf %b gives the path back.
    [ "$(printf '%b' "$(cut -f1 <<< "${lines[0]}")")" = "$(printf 'x\ty\nz\\w\x01/')$(cut -f1 <<< "${lines[0]}" | sed 's|.*/||')" ]
    drop-match "$T/e.npy" "$T/e.npy" | drop-score --per-query "$T/pq.tsv" > /dev/null
    [ "$(grep -vc '^#' "$T/pq.tsv")" -eq 6 ]
    [ "$(grep -v '^#' "$T/pq.tsv" | awk -F '\t' 'NF != 7' | wc -l)" -eq 0 ]
    grep -q $'^0\tx\\\\ty\\\\nz\\\\\\\\w\\\\x01/' "$T/pq.tsv"
}

@test "a pid or camid with a space or a plus sign is refused, naming the list and the line" {
    model_tools_on_cpu
    local s="$FIX/score"
    sed '3s/\t/\t /' "$s/case00-q.tsv" > "$T/q.tsv"
    run --separate-stderr drop-score --dist "$s/case00.npy" --query "$T/q.tsv" --gallery "$s/case00-g.tsv"
    [ "$status" -eq 1 ]
    [ "$stderr" = "drop-score: $T/q.tsv: line 3: pid ' 3' is not an integer" ]
    drop-test-png jpeg 40 90 "$T/a.jpg"
    drop-test-model --seed 3 "$T/m.st"
    run --separate-stderr bash -c 'printf "%s\t+5\t1\n" "$1" | drop-embed --threads 1 -m "$0" - > /dev/null' \
        "$T/m.st" "$T/a.jpg"
    [ "$status" -eq 1 ]
    [ "$stderr" = "drop-embed: -: line 1: pid '+5' is not an integer" ]
    printf '%s\t5\t 1\n' "$T/a.jpg" > "$T/l.tsv"
    run --separate-stderr drop-embed --threads 1 -m "$T/m.st" "$T/l.tsv"
    [ "$status" -eq 1 ]
    [ "$stderr" = "drop-embed: $T/l.tsv: line 1: camid ' 1' is not an integer" ]
}
