/*
 * lsan-nodlclose.c - a dlclose that unloads nothing, preloaded into the ranks of an MPI
 * job under make asan (test/test_helper.bash, mpirun_np). Open MPI loads its components
 * with dlopen and unloads them in MPI_Finalize, before LeakSanitizer's report at exit: the
 * allocations MPI_Init made in them then show "<unknown module>" frames that
 * test/lsan-mpi.supp cannot name. Kept loaded, they are symbolised and suppressed. Not
 * part of libdrop.a, and never loaded outside make asan.
 */
int dlclose(void *handle);

int dlclose(void *handle)
{
	(void)handle;
	return 0;
}
