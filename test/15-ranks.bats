#!/usr/bin/env bats
# tests: lib/core/ranks.h: a tool started alone never initialises MPI; started by mpirun
# it is one rank of a job, and the collectives give their known results; a rank that dies
# ends the job non-zero with a message naming it.
# also requires: mpirun (Open MPI, scripts/install-deps)

load test_helper

@test "alone: rank 0 of 1, MPI not initialised, the collectives are local" {
    run drop-test-ranks
    assert_success
    assert_line --index 0 "rank 0 size 1 local 0 mpi no launcher -"
    assert_line "allreduce_f32 ok"
    assert_line "iallreduce_f32 ok"
    assert_line "allgather ok"
    assert_line "send/recv ok"
}

@test "alone: a tool says nothing of MPI, even with -v" {
    run drop-score -v --version
    assert_success
    run bash -c "printf '' | drop-score -v - 2>&1"
    refute_output --partial "MPI"
}

@test "mpirun -np 2: two ranks see size 2 (one machine: local ranks 0, 1), the collectives agree" {
    require_mpirun
    run mpirun_np 2 drop-test-ranks
    assert_success
    assert_line --index 0 "rank 0 size 2 local 0 mpi yes launcher OMPI_COMM_WORLD_SIZE"
    assert_line --index 1 "rank 1 size 2 local 1 mpi yes launcher OMPI_COMM_WORLD_SIZE"
    assert_line "allreduce_f32 ok"
    assert_line "allreduce_f64 ok"
    assert_line "iallreduce_f32 ok"
    assert_line "allgather ok"
    assert_line "bcast ok"
    assert_line "send/recv ok"
}

@test "mpirun -np 3: the ring of sends and the sums hold for an odd count" {
    require_mpirun
    run mpirun_np 3 drop-test-ranks
    assert_success
    assert_line --index 2 "rank 2 size 3 local 2 mpi yes launcher OMPI_COMM_WORLD_SIZE"
    assert_line "send/recv ok"
}

@test "a tool under mpirun -v names its rank" {
    require_mpirun
    run bash -c "$(declare -f mpirun_np); DROP_ROOT='$DROP_ROOT'; printf '' | mpirun_np 2 drop-score -v - 2>&1"
    assert_output --partial "drop-score: rank 1: MPI: rank 1 of 2"
}

@test "a rank that dies ends the job non-zero, the message naming the rank" {
    require_mpirun
    run mpirun_np 2 drop-test-ranks die 1
    assert_failure
    assert_output --partial "drop-test-ranks: rank 1: dying on purpose"
}

@test "drop-train under several ranks checks the batch split before reading anything" {
    require_mpirun
    run mpirun_np 2 drop-train --list "$T/none.tsv" --batch 9 --instances 3 \
        -o "$T/m.safetensors"
    assert_failure
    assert_output --regexp "drop-train: rank [01]: --batch 9 does not split evenly over 2 ranks"
    [ ! -e "$T/m.safetensors" ]
}
