# test_helper.bash - shared setup of the bats suites: finds the tools through
# DROP_BIN_DIR (default: build/bin), loads bats-support and bats-assert, and gives each
# test a scratch folder $T.
DROP_ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
: "${DROP_BIN_DIR:=$DROP_ROOT/build/bin}"
: "${DROP_TEST_DIR:=$DROP_ROOT/build/test}"
export PATH="$DROP_BIN_DIR:$DROP_TEST_DIR/tools:$PATH"
FIX="$DROP_ROOT/test/fixtures"

bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup() {
    T=$(mktemp -d)
}

teardown() {
    rm -rf "$T"
}

# A GPU test: skipped without a CUDA device, a failure under DROP_TEST_STRICT=1.
require_cuda() {
    if ! drop-score --device cuda --version >/dev/null 2>&1; then
        [ "${DROP_TEST_STRICT:-0}" = 1 ] && fail "no CUDA device (DROP_TEST_STRICT=1)"
        skip "no CUDA device"
    fi
}

# The model suites compare with fixtures and outputs made on the CPU byte for byte; the CUDA
# backend agrees with the CPU only to float rounding (kernels/README.md). Under
# DROP_DEVICE=cuda those suites test the CPU path; test_ops_cuda compares the GPU's ops.
model_tools_on_cpu() {
    if [ "${DROP_DEVICE:-cpu}" = cuda ]; then export DROP_DEVICE=cpu; fi
}

# The shell commands of a man page's EXAMPLES: lines "$ cmd" between .EX and .EE,
# troff escapes undone (\- -> -, \(aq -> ', \e -> \).
man_examples() {
    awk '/^\.EX/ { ex = 1; next } /^\.EE/ { ex = 0; next }
         ex && /^\$ / { sub(/^\$ /, ""); print }' "$1" |
        sed -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\e/\\/g'
}

# Run every example of a man page in the current folder (prepared by the caller with the
# files the examples name); fails on the first example that exits non-zero.
run_man_examples() {
    local n=0 cmd
    while IFS= read -r cmd; do
        n=$((n + 1))
        bash -o pipefail -c "$cmd" >/dev/null || fail "example failed: $cmd"
    done < <(man_examples "$1")
    [ "$n" -gt 0 ] || fail "no examples in $1"
}

# ---- The tiny synthetic set of the training suites (20-drop-train, 25-cpu-strict) ----------

# Whether scripts/make-synthetic-reid can run (/usr/bin/python3 with numpy and PIL).
have_generator() {
    /usr/bin/python3 -c 'import numpy, PIL' 2>/dev/null
}

# For setup_file: in $BATS_FILE_TMPDIR, the set (4 training ids x 8 images: 4 batches of 8
# an epoch, 3 test ids), its labels, and train.tsv, a list of 2 ids x 4 images (1 batch an
# epoch). Nothing without the generator (tiny_set_setup skips then).
tiny_set_make() {
    have_generator || return 0
    local d="$BATS_FILE_TMPDIR"
    "$DROP_ROOT/scripts/make-synthetic-reid" -q -o "$d/syn" --seed 3 --ids-train 4 \
        --images-per-id 8 --ids-test 3 --queries-per-id 1 --gallery-per-id 2
    drop-labels -q -k 8 -o "$d/labels" "$d/syn/Occluded_Duke/masks/pifpaf_maskrcnn_filtering"
    local f n i=0
    for f in "$d"/syn/Occluded_Duke/bounding_box_train/000[12]_*.jpg; do
        [ $((i++ % 2)) = 0 ] || continue
        n=${f##*/}
        printf '%s\t%d\t%d\n' "$f" $((10#${n:0:4})) $((${n:6:1} - 1))
    done > "$d/train.tsv"
}

# For setup: a scratch folder $T, then D (the set's folder), LIST (the list's drop-train
# options) and SET (the dataset's); skipped without the generator (a failure under
# DROP_TEST_STRICT=1).
tiny_set_setup() {
    T=$(mktemp -d)
    if ! have_generator; then
        [ "${DROP_TEST_STRICT:-0}" = 1 ] && fail "no numpy or PIL for /usr/bin/python3"
        skip "no numpy or PIL for /usr/bin/python3 (apt-get install python3-numpy python3-pil)"
    fi
    D="$BATS_FILE_TMPDIR"
    LIST=(--list "$D/train.tsv" --labels "$D/labels")
    SET=(--dataset occluded_duke --root "$D/syn" --labels "$D/labels")
}

# ---- Several ranks (test/15-ranks.bats and the MPI tests of the tools' suites) --------------

# mpirun NP CMD...: CMD as NP ranks of one job over shared memory (Open MPI's mpirun; as
# root it needs --allow-run-as-root, and --oversubscribe lets the ranks outnumber the cores).
# Under make asan (the tools linked with libasan), MPI_Init's own allocations are not
# reported (test/lsan-mpi.supp): the ranks get the ASan runtime first and a dlclose that
# keeps Open MPI's components loaded (test/lsan-nodlclose.c), so their frames have names,
# and malloc's slow unwinder, which walks through libc's vasprintf.
mpirun_np() {
    local np=$1 asan=()
    shift
    local nodl="$DROP_TEST_DIR/lsan-nodlclose.so"
    if [ -e "$nodl" ] && ldd "$DROP_TEST_DIR/tools/drop-test-ranks" 2>/dev/null | grep -q libasan; then
        asan=(-x "LD_PRELOAD=$(cc -print-file-name=libasan.so):$nodl"
              -x "ASAN_OPTIONS=fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}")
    fi
    LSAN_OPTIONS="suppressions=$DROP_ROOT/test/lsan-mpi.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}" \
        mpirun --allow-run-as-root --oversubscribe --bind-to none "${asan[@]}" -np "$np" "$@"
}

# A test with MPI ranks: skipped when mpirun is missing (scripts/install-deps installs it),
# a failure under DROP_TEST_STRICT=1.
require_mpirun() {
    if ! command -v mpirun >/dev/null; then
        [ "${DROP_TEST_STRICT:-0}" = 1 ] && fail "no mpirun (DROP_TEST_STRICT=1)"
        skip "no mpirun"
    fi
}
