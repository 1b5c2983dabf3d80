#!/usr/bin/env bats
# tests: the layering rules of the source tree (cmd/README.md, lib/README.md,
# kernels/README.md): cmd -> lib -> kernels, one way; lib's groups in one order; a backend
# reached only through the table; one prefix for the library's symbols; lib never exits.
# also requires: the sources (run from the repository), nm (binutils), the built libdrop.a

load test_helper

# The lib/ groups, lowest first: a group includes only its own and lower groups.
LIB_GROUPS="core io data model reid run"

# "FILE INCLUDED" for every quoted #include of the files under the given folders,
# INCLUDED resolved against the including file's folder.
quoted_includes() {
    cd "$DROP_ROOT" || return 1
    find "$@" -type f \( -name '*.c' -o -name '*.h' -o -name '*.cu' \) | sort |
    while read -r f; do
        sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
        while read -r inc; do
            printf '%s %s\n' "$f" "$(realpath -m --relative-to=. "$(dirname "$f")/$inc")"
        done
    done
}

@test "kernels/ includes nothing from lib/, cmd/ or test/" {
    run bash -c "$(declare -f quoted_includes); DROP_ROOT='$DROP_ROOT' quoted_includes kernels | grep -E ' (lib|cmd|test)/'"
    assert_output ""
}

@test "a backend's private headers are included only by its own folder (and the op tests)" {
    run bash -c "$(declare -f quoted_includes); DROP_ROOT='$DROP_ROOT' quoted_includes lib cmd kernels test |
        grep -E ' kernels/(cpu|cuda|strict)/' |
        grep -vE '^kernels/cpu/[^ ]+ kernels/cpu/' | grep -vE '^kernels/cuda/[^ ]+ kernels/cuda/' |
        grep -vE '^kernels/strict/[^ ]+ kernels/strict/' |
        grep -vE '^(test/unit/test_ops_[a-z0-9_]+\.[ch]|kernels/bench/[^ ]+) kernels/cpu/'"
    assert_output ""
}

@test "lib/ and cmd/ call no backend's entry point (*_cpu, *_cuda, drop_strict_*): only the table" {
    cd "$DROP_ROOT"
    run grep -rnE '\bdrop_([a-z0-9_]+_(cpu|cuda)(_f64)?|strict_[a-z0-9_]+|backend_[a-z]+_get)[[:space:]]*\(' lib cmd
    assert_output ""
}

@test "cmd/ includes only the runners' headers (lib/run/)" {
    run bash -c "$(declare -f quoted_includes); DROP_ROOT='$DROP_ROOT' quoted_includes cmd | grep -vE ' lib/run/[a-z_]+\.h$'"
    assert_output ""
}

@test "lib/'s groups include only their own and lower groups, and of kernels/ only the interface" {
    local bad="" rank=0 g
    declare -A level
    for g in $LIB_GROUPS; do level[$g]=$rank; rank=$((rank + 1)); done
    while read -r f inc; do
        local from=${f#lib/}; from=${from%%/*}
        case $inc in
        lib/*/*)
            local to=${inc#lib/}; to=${to%%/*}
            [ -n "${level[$to]+x}" ] && [ "${level[$to]}" -le "${level[$from]}" ] ||
                bad="$bad$f -> $inc"$'\n' ;;
        kernels/ops.h | kernels/fail.h | kernels/maths/*.h) ;;
        build/include/config.h | lib/*/config.h) ;;
        *) bad="$bad$f -> $inc"$'\n' ;;
        esac
    done < <(quoted_includes lib)
    [ -z "$bad" ] || fail "includes against the order $LIB_GROUPS:"$'\n'"$bad"
    # every folder of lib/ is one of the groups
    for g in "$DROP_ROOT"/lib/*/; do
        g=$(basename "$g")
        [[ " $LIB_GROUPS " == *" $g "* ]] || fail "lib/$g is not in the order $LIB_GROUPS"
    done
}

@test "every external symbol of libdrop.a starts with drop_" {
    lib="$DROP_TEST_DIR/../libdrop.a"
    [ -f "$lib" ] || fail "no $lib"
    # OpenMP names its critical sections' locks after them, and AddressSanitizer (make
    # asan) adds an __odr_asan.NAME indicator for each global NAME
    run bash -c "nm -g --defined-only '$lib' | awk 'NF == 3 { print \$3 }' |
        grep -vE '^(drop_|\.gomp_critical_user_drop_|__odr_asan\.drop_)' | sort -u"
    assert_success
    assert_output ""
}

@test "lib/ never exits: bad input is returned, a bug aborts (DROP_BUG)" {
    cd "$DROP_ROOT"
    # Code only (comments cut); the tools' prologue (lib/run/cli.c: options, --help,
    # --version) and the definition of drop_die (lib/core/) are the exceptions.
    run bash -c "find lib -name '*.[ch]' ! -path 'lib/core/*' ! -name 'cli.[ch]' | sort |
        xargs awk '{ sub(/\\/\\*.*/, \"\"); sub(/^[[:space:]]*\\*.*/, \"\") }
                   /(^|[^A-Za-z0-9_])(drop_die|exit|_exit|abort)[[:space:]]*\\(/ { print FILENAME \":\" FNR \": \" \$0 }'"
    assert_output ""
}

@test "only lib/core/ranks.c includes MPI (kernels/ and the rest of lib/ reach ranks through ranks.h)" {
    cd "$DROP_ROOT"
    run bash -c "grep -rlE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]mpi\.h' kernels lib cmd | grep -vx 'lib/core/ranks.c'"
    assert_output ""
}

@test "only kernels/cuda/nccl.cu includes NCCL (lib/ sums device memory through the table)" {
    cd "$DROP_ROOT"
    run bash -c "grep -rlE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]nccl\.h' kernels lib cmd | grep -vx 'kernels/cuda/nccl.cu'"
    assert_output ""
}
