#!/usr/bin/env bats
# tests: what every drop-* tool shares: --help, --version, usage errors, the man pages
# (mandoc lint, every long option documented) and the completions (every long option).
# also requires: mandoc

load test_helper

tools() {
    for t in "$DROP_BIN_DIR"/drop-*; do basename "$t"; done
}

# The long options a tool's --help lists.
help_flags() {
    "$1" --help | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u
}

@test "every tool answers --help on stdout with status 0" {
    [ -n "$(tools)" ]
    for t in $(tools); do
        run "$t" --help
        assert_success
        assert_output --partial "Usage: $t"
        run bash -c "'$t' --help 2>&1 >/dev/null"
        assert_output ""
    done
}

@test "every tool answers --version with the build configuration" {
    for t in $(tools); do
        run "$t" --version
        assert_success
        assert_line --index 0 --regexp "^$t \(drop\) [0-9]+\.[0-9]+\.[0-9]+$"
        assert_line --index 1 --regexp "^build: CUDA (no|yes).*BLAS.*; C loops (SSE2|AVX|AVX2|AVX-512);"
    done
}

@test "an unknown option is a usage error: exit 2 and a Try line on stderr" {
    for t in $(tools); do
        run --separate-stderr "$t" --no-such-option
        [ "$status" -eq 2 ]
        assert_output ""
        [[ "$stderr" == *"Try '$t --help' for more information."* ]]
    done
}

@test "a bad --threads value is a usage error naming the option" {
    for t in $(tools); do
        run --separate-stderr "$t" --threads zero --help
        [ "$status" -eq 2 ]
        [[ "$stderr" == *"--threads: 'zero' is not an integer"* ]]
    done
}

@test "--device cuda without CUDA support exits 3 with a reason" {
    if drop-score --version | grep -q 'CUDA yes'; then
        skip "built with CUDA"
    fi
    for t in $(tools); do
        run --separate-stderr "$t" --device cuda /dev/null
        [ "$status" -eq 3 ]
        [[ "$stderr" == *"--device cuda: this build has no CUDA support"* ]]
    done
    run --separate-stderr drop-embed --device cuda:1 /dev/null
    [ "$status" -eq 3 ]
    [[ "$stderr" == "drop-embed: --device cuda:1: this build has no CUDA support"* ]]
    DROP_DEVICE=cuda:0 run --separate-stderr drop-match /dev/null /dev/null
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"--device cuda:0: this build has no CUDA support"* ]]
}

@test "--device cuda:N takes a GPU number; anything else after cuda: is a usage error" {
    for d in cuda: cuda:x cuda:-1 cuda:1x cuda:99999 cuda1; do
        run --separate-stderr drop-score --device "$d" --version
        [ "$status" -eq 2 ]
        [[ "$stderr" == *"--device: unknown value '$d'"* ]]
    done
}

@test "--device cuda in a CUDA build without a usable GPU exits 3 saying so" {
    drop-score --version | grep -q 'CUDA yes' || skip "built without CUDA"
    if drop-score --device cuda --version >/dev/null 2>&1; then
        skip "a GPU is usable here"
    fi
    run --separate-stderr drop-embed --device cuda -m "$T/none.safetensors" "$T/none.png"
    [ "$status" -eq 3 ]
    [[ "$stderr" == "drop-embed: --device cuda: no usable GPU (CUDA: "*")" ]]
    run --separate-stderr drop-train --device cuda --list "$T/none.tsv" -o "$T/m.st"
    [ "$status" -eq 3 ]
    [[ "$stderr" == "drop-train: --device cuda: no usable GPU (CUDA: "*")" ]]
    [ ! -e "$T/m.st" ]
    DROP_DEVICE=cuda run --separate-stderr drop-embed -m "$T/none.safetensors" "$T/none.png"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"no usable GPU"* ]]
    run --separate-stderr drop-embed --device cuda:1 -m "$T/none.safetensors" "$T/none.png"
    [ "$status" -eq 3 ]
    [[ "$stderr" == "drop-embed: --device cuda:1: no usable GPU (CUDA: "*")" ]]
}

@test "man pages pass mandoc -Tlint" {
    for m in "$DROP_ROOT"/man/*.[157]; do
        run mandoc -Tlint -W warning "$m"
        assert_output ""
    done
}

@test "every tool has a man page listing each of its long options" {
    for t in $(tools); do
        [ -f "$DROP_ROOT/man/$t.1" ] || fail "no man/$t.1"
        for f in $(help_flags "$t"); do
            grep -q -- "${f//-/\\\\-}" "$DROP_ROOT/man/$t.1" ||
                grep -q -- "$f" "$DROP_ROOT/man/$t.1" || fail "$t: $f not in man/$t.1"
        done
    done
}

@test "bash and zsh completions know every long option of every tool" {
    for t in $(tools); do
        for f in $(help_flags "$t"); do
            grep -q -- "$f" "$DROP_ROOT/completions/drop.bash" || fail "$t $f not in drop.bash"
            grep -q -- "$f" "$DROP_ROOT/completions/_drop" || fail "$t $f not in _drop"
        done
    done
}

@test "every --device value is in --help, the man pages and both completions" {
    run --separate-stderr drop-score --device none
    [ "$status" -eq 2 ]
    local values
    values=$(sed -n "s/.*--device: unknown value 'none' (one of: \(.*\))\$/\1/p" <<<"$stderr" |
        tr -d ,)
    [[ " $values " == *" cpu-strict "* ]] || fail "no cpu-strict in '$values'"
    for t in $(tools); do
        for v in $values; do
            "$t" --help | grep -- '--device' | grep -q -- "$v" || fail "$t --help: no $v"
            grep -q -- "${v//-/\\\\-}" "$DROP_ROOT/man/$t.1" || fail "man/$t.1: no $v"
        done
    done
    for v in $values; do
        grep -q -- "--device) words=.*\b$v\b" "$DROP_ROOT/completions/drop.bash" ||
            fail "drop.bash: no $v"
        grep -q -- "--device=.*[( ]$v[ )]" "$DROP_ROOT/completions/_drop" || fail "_drop: no $v"
    done
}

@test "bash completion completes a tool's options" {
    run bash -c "source '$DROP_ROOT/completions/drop.bash'
        COMP_WORDS=(drop-score --js); COMP_CWORD=1; _drop drop-score --js drop-score
        printf '%s\n' \"\${COMPREPLY[@]}\""
    assert_success
    assert_output "--json"
}

@test "make install and uninstall round trip into DESTDIR" {
    run make -C "$DROP_ROOT" --no-print-directory BUILD="$(dirname "$DROP_BIN_DIR")" \
        DESTDIR="$T/stage" PREFIX=/usr install
    assert_success
    for t in $(tools); do
        [ -x "$T/stage/usr/bin/$t" ]
        [ -f "$T/stage/usr/share/man/man1/$t.1" ]
        [ -f "$T/stage/usr/share/bash-completion/completions/$t" ]
    done
    [ -f "$T/stage/usr/share/man/man7/drop.7" ]
    [ -f "$T/stage/usr/share/man/man5/drop-formats.5" ]
    [ -f "$T/stage/usr/share/zsh/site-functions/_drop" ]
    run make -C "$DROP_ROOT" --no-print-directory BUILD="$(dirname "$DROP_BIN_DIR")" \
        DESTDIR="$T/stage" PREFIX=/usr uninstall
    assert_success
    [ -z "$(find "$T/stage" -type f)" ]
}

@test "the zsh completion parses" {
    run zsh -n "$DROP_ROOT/completions/_drop"
    assert_success
}

@test "an output naming a device is written in place: /dev/null stays a device" {
    drop-synth-embed -n 20 --dim 8 --parts 2 -o "$T/g.npy"
    run drop-match -o /dev/null "$T/g.npy" "$T/g.npy"
    assert_success
    [ -c /dev/null ]
    run drop-match --matrix -o /dev/full "$T/g.npy" "$T/g.npy"
    [ "$status" -eq 1 ]
    assert_output --partial "write error"
    [ -c /dev/full ]
}
