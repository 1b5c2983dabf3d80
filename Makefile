# drop - build, test and install.
#
#   make              the CPU tools in build/bin
#   make test         build, then run every C unit test and bats test
#   make demo         build, then run the whole method on a synthetic occluded set
#   make demo-retrieval  the matching and scoring half alone, on synthetic embeddings
#   make asan         the same tests built with AddressSanitizer + UBSan (build-asan/)
#   make fuzz         fuzz each parser with libFuzzer for FUZZ_SECONDS (build-fuzz/, clang)
#   make CUDA=1       also build the CUDA backend with nvcc (build-cuda/)
#   make deps         install the missing build and test packages (scripts/install-deps)
#   make install      PREFIX=/usr/local, DESTDIR for staged installs
#   make clean
#
# Packages. Building only checks that the Debian packages it needs are installed
# (scripts/install-deps --check); if some are missing it stops, names them and says how to
# install them (scripts/install-deps, or make deps). make test and make demo, the README's
# two commands for a fresh machine, install what is missing first (with apt-get, as root
# or with sudo). Either way the check runs once per build folder and again when
# scripts/install-deps changes ($(BUILD)/.deps-ok).
#
# Overridable: CC, CFLAGS, ARCH, LDFLAGS, PREFIX, DESTDIR, BUILD, NVCC, CUDA_ARCH, CUDA_HOME,
# FUZZ_CC, FUZZ_SECONDS, FUZZ_NAMES.

# DROP_DEVICE=cuda (the GPU test run: DROP_DEVICE=cuda make test) builds the CUDA backend.
ifeq ($(DROP_DEVICE),cuda)
CUDA ?= 1
endif
CUDA ?= 0
ifeq ($(CUDA),1)
BUILD ?= build-cuda
else
BUILD ?= build
endif
PREFIX ?= /usr/local
CFLAGS ?= -O3 -g
# ARCH: the instruction set of the C loops (batch norm, pooling, WAMP, resampling, softmax;
# oneDNN and OpenBLAS choose theirs at run time). The default builds for this machine, as
# ggml does: AVX2 loops run 2-4x faster than x86-64's SSE2 (kernels/README.md). For a
# binary to copy to other machines: make ARCH=-march=x86-64-v3 (AVX2) or ARCH= (any x86-64).
# Results do not depend on it: -std=c11 keeps floating-point contraction off.
ARCH ?= -march=native
CUDA_HOME ?= /usr/local/cuda
NVCC ?= $(CUDA_HOME)/bin/nvcc
# CUDA_ARCH: compute capabilities to build for. Default: the GPU in this machine, or,
# without one, 80 (A100) and 90 (H100/H200).
CUDA_ARCH ?= $(shell nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d .)
ifeq ($(strip $(CUDA_ARCH)),)
override CUDA_ARCH := 80 90
endif

WARN = -Wall -Wextra -Werror -Wundef -Wshadow -Wno-unused-parameter
# -fno-math-errno: nothing reads errno after sqrtf and its kin, and setting it keeps a
# scalar call for negative arguments that stops GCC vectorising the loops using them
# (Adam's update ran scalar, 16 % of a 2-rank hrnet-tiny training step). Values are
# unchanged: the vector square root is correctly rounded as the scalar one is.
DROP_CFLAGS = -std=c11 -D_GNU_SOURCE -fopenmp -fno-math-errno $(ARCH) $(WARN) -I$(BUILD)/include -MMD -MP
LDLIBS = -ldnnl -lopenblas -lpng -ljpeg -ltiff -lz -lm
# MPI (Open MPI, libopenmpi-dev): every tool links it, so that under mpirun or srun it runs
# as one rank of a job (lib/core/ranks.h); alone it never initialises MPI. Only
# lib/core/ranks.c sees <mpi.h>.
MPI_CFLAGS := $(shell pkg-config --cflags ompi-c 2>/dev/null)
MPI_LIBS := $(shell pkg-config --libs ompi-c 2>/dev/null)
LDLIBS += $(MPI_LIBS)
DROP_LDFLAGS = -fopenmp

ifeq ($(CUDA),1)
ifeq ($(wildcard $(NVCC)),)
$(error CUDA=1 but no nvcc at $(NVCC); set NVCC or CUDA_HOME)
endif
# -fmad=false: no contraction of a * b + c into one FMA in our kernels, as -std=c11 keeps
# the CPU's C loops from contracting: the kernels that translate a CPU loop step for step
# then give its bits (kernels/README.md); cuBLAS and cuDNN are not affected.
NVCCFLAGS = -O2 -std=c++17 -fmad=false -Werror all-warnings -Xcompiler -Wall,-Wextra,-Werror \
	-I$(BUILD)/include -MMD -MP $(foreach a,$(CUDA_ARCH),-gencode arch=compute_$(a),code=sm_$(a))
LDLIBS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lnccl -lcudnn -lcublas -lcudart -lstdc++
CU_SRC = $(wildcard kernels/cuda/*.cu)
endif

LIB_SRC = $(wildcard lib/*/*.c) $(wildcard kernels/*.c) $(wildcard kernels/cpu/*.c) \
	$(wildcard kernels/strict/*.c)
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(CU_SRC:%.cu=$(BUILD)/obj/%.o)
TOOLS = $(patsubst cmd/%.c,%,$(wildcard cmd/drop-*.c))
BINS = $(TOOLS:%=$(BUILD)/bin/%)
UNIT_SRC = $(wildcard test/unit/test_*.c)
UNITS = $(UNIT_SRC:test/unit/%.c=$(BUILD)/test/%)
TEST_TOOLS = $(patsubst test/tools/%.c,$(BUILD)/test/tools/%,$(wildcard test/tools/*.c))
# The fuzz harnesses of test/fuzz, each also built as a unit test that replays its corpus.
FUZZ_NAMES = $(patsubst test/fuzz/fuzz_%.c,%,$(wildcard test/fuzz/fuzz_*.c))
FUZZ_REPLAYS = $(FUZZ_NAMES:%=$(BUILD)/test/test_fuzz_%)
DEPS_STAMP = $(BUILD)/.deps-ok
# 1: the packages are installed if missing (make test, make demo, make demo-retrieval);
# 0: only checked.
DEPS_INSTALL ?= $(if $(filter test check demo demo-retrieval,$(MAKECMDGOALS)),1,0)

.PHONY: all test check asan fuzz install uninstall clean deps bench demo demo-retrieval
all: $(BINS) $(UNITS) $(TEST_TOOLS) $(FUZZ_REPLAYS) $(BUILD)/test/lsan-nodlclose.so

# The build and test packages: checked, or installed where DEPS_INSTALL is 1 (see the top).
$(DEPS_STAMP): scripts/install-deps
	@scripts/install-deps$(if $(filter 1,$(DEPS_INSTALL)),, --check)
	@mkdir -p $(@D) && touch $@

deps:
	@scripts/install-deps
	@mkdir -p $(BUILD) && touch $(DEPS_STAMP)

$(BUILD)/include/config.h: Makefile | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@printf '/* Generated by the Makefile: the build configuration. */\n#ifndef DROP_CONFIG_H\n#define DROP_CONFIG_H\n#define DROP_WITH_CUDA %d\n#define DROP_CUDA_ARCH "%s"\n#endif\n' \
		$(if $(filter 1,$(CUDA)),1,0) "$(CUDA_ARCH)" > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/lib/core/ranks.o: DROP_CFLAGS += $(MPI_CFLAGS)

$(BUILD)/obj/%.o: %.c $(BUILD)/include/config.h
	@mkdir -p $(@D)
	$(CC) $(DROP_CFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.cu $(BUILD)/include/config.h
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) -c $< -o $@

$(BUILD)/libdrop.a: $(LIB_OBJ)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/bin/%: $(BUILD)/obj/cmd/%.o $(BUILD)/libdrop.a
	@mkdir -p $(@D)
	$(CC) $(DROP_LDFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/test/%: $(BUILD)/obj/test/unit/%.o $(BUILD)/libdrop.a
	@mkdir -p $(@D)
	$(CC) $(DROP_LDFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Preloaded into MPI ranks under make asan (test/lsan-nodlclose.c); not instrumented.
$(BUILD)/test/lsan-nodlclose.so: test/lsan-nodlclose.c
	@mkdir -p $(@D)
	$(CC) -shared -fPIC -O2 -Wall -Wextra -Werror $< -o $@

$(BUILD)/test/tools/%: $(BUILD)/obj/test/tools/%.o $(BUILD)/libdrop.a
	@mkdir -p $(@D)
	$(CC) $(DROP_LDFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# A harness with test/fuzz/replay.c: the corpus and regression cases, one TAP line each.
$(BUILD)/test/test_fuzz_%: $(BUILD)/obj/test/fuzz/fuzz_%.o $(BUILD)/obj/test/fuzz/replay.o $(BUILD)/libdrop.a
	@mkdir -p $(@D)
	$(CC) $(DROP_LDFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The whole suite: C unit tests and bats tests, one TAP stream, a closing
# "N passed, N failed" line. DROP_DEVICE=cuda runs it against the CUDA backend.
test check: all
	@DROP_BIN_DIR=$(abspath $(BUILD)/bin) DROP_TEST_DIR=$(abspath $(BUILD)/test) test/run

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan DEPS_INSTALL=$(DEPS_INSTALL) \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address,undefined" test

# Fuzzing (test/fuzz): each harness built with clang's libFuzzer, ASan and UBSan over the
# parsers' sources alone, then run for FUZZ_SECONDS on a copy of its corpus
# (build-fuzz/corpus/NAME, grown by the run) with the committed corpus and regression
# cases; a crash, a leak, a time-out or an allocation past 256 MB fails (scripts/fuzz).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD = build-fuzz
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -fopenmp-simd -Wall -Wextra \
	-Wno-unused-parameter -Wno-pass-failed -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_LIB_SRC = lib/core/diag.c kernels/fail.c $(wildcard lib/io/*.c) lib/reid/embedding.c \
	lib/reid/ranklist.c
FUZZ_LIB_OBJ = $(FUZZ_LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)

$(FUZZ_BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/test/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ -lpng -ljpeg -ltiff -lz -lm -o $@

fuzz: $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
	@scripts/fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_NAMES)

# The README's main command: the whole method (labels, training, embedding, matching,
# scoring, pictures) on a synthetic occluded set, in minutes on the CPU.
demo: all
	@scripts/demo-method $(BUILD)

# The retrieval half alone (drop-match | drop-score) on synthetic embeddings, in seconds.
demo-retrieval: all
	@scripts/demo-retrieval $(BUILD)

# Benchmarks (each prints its figures next to a baseline measured in the same run).
bench: all
	@BUILD=$(BUILD) scripts/bench-match
	@BUILD=$(BUILD) scripts/bench-labels

install: $(BINS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(wildcard man/*.1) $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 $(wildcard man/*.5) $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 644 $(wildcard man/*.7) $(DESTDIR)$(PREFIX)/share/man/man7
	for t in $(TOOLS); do install -m 644 completions/drop.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$t; done
	install -m 644 completions/_drop $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_drop

uninstall:
	rm -f $(TOOLS:%=$(DESTDIR)$(PREFIX)/bin/%) \
		$(TOOLS:%=$(DESTDIR)$(PREFIX)/share/bash-completion/completions/%) \
		$(patsubst man/%,$(DESTDIR)$(PREFIX)/share/man/man1/%,$(wildcard man/*.1)) \
		$(patsubst man/%,$(DESTDIR)$(PREFIX)/share/man/man5/%,$(wildcard man/*.5)) \
		$(patsubst man/%,$(DESTDIR)$(PREFIX)/share/man/man7/%,$(wildcard man/*.7)) \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_drop

clean:
	rm -rf build build-asan build-cuda build-fuzz

.SECONDARY:
-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
