# fuzz.mk - the fuzz targets of tests/fuzz/. Each builds twice: as a plain
# replay test, $(BUILD)/tests/test_fuzz_<target>, that make test runs over
# tests/fuzz/corpus/<target> and tests/fuzz/regression/<target> (in the
# ASan + UBSan build too); and with clang's libFuzzer as
# build-fuzz/fuzz_<target>, which `make fuzz FUZZ_SECONDS=N` runs for N
# seconds per target (make -j4 fuzz runs them side by side). Included by the
# top-level Makefile, which provides BUILD, CC, CFLAGS, LDFLAGS, WARN,
# CL_LIBS, LIB_A and the generated kernel source.

FUZZ_TARGETS := request float spec npy
FUZZ_INC     := -Ihost/include -Ihost $(SERVER_INC) -Iclients/cli $(ORACLE_INC) -Itests/fuzz
# The daemon's modules the targets reach (no http, routes or main): /v1's
# decoder and the envelope, the error table, the job, the device SPEC match
# (and the coalescer devices.c links against); the text library whole.
FUZZ_SERVER_MODULES := api/v1_decode api/envelope api/errors exec/job exec/devices exec/coalesce exec/load

# ---- replay programs, part of test-unit ----
FUZZ_REPLAY_BINS := $(FUZZ_TARGETS:%=$(BUILD)/tests/test_fuzz_%)
FUZZ_SERVER_OBJS := $(FUZZ_SERVER_MODULES:%=$(BUILD)/obj/server/%.o)

$(BUILD)/obj/tests/fuzz/%.o: tests/fuzz/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(FUZZ_INC) -c -o $@ $<

$(FUZZ_REPLAY_BINS): $(BUILD)/tests/test_fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o \
    $(BUILD)/obj/tests/fuzz/replay_main.o $(FUZZ_SERVER_OBJS) $(TEXT_A) $(LIB_INTERNAL_A)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDFLAGS) -lcjson $(CL_LIBS)

test-unit: $(FUZZ_REPLAY_BINS)

# ---- libFuzzer builds: clang, ASan + UBSan, coverage-guided ----
FUZZ_BUILD   ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 -fno-omit-frame-pointer \
                -DCL_TARGET_OPENCL_VERSION=120 -fsanitize=fuzzer-no-link $(FUZZ_SAN) \
                $(FUZZ_INC) $(WARN) -MMD -MP
FUZZ_DEP_SRCS := $(LIB_SRCS) $(BUILD)/gen/kernels.c $(TEXT_SRCS) \
                 $(FUZZ_SERVER_MODULES:%=server/%.c)
FUZZ_DEP_OBJS := $(FUZZ_DEP_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_BINS     := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

$(FUZZ_BUILD)/obj/host/%.o: FUZZ_EXTRA := -DLEAKYCL_BUILDING
# libFuzzer brings main; the replay file gives the targets lk_fuzz_fail.
$(FUZZ_BUILD)/obj/tests/fuzz/replay_main.o: FUZZ_EXTRA := -DLK_FUZZ_NO_MAIN
# deps: clang and its libFuzzer runtime (libclang-rt-14-dev) are in its list.
$(FUZZ_BUILD)/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_EXTRA) -c -o $@ $<

# An archive, so that each target links only the objects it reaches.
$(FUZZ_BUILD)/libfuzzdeps.a: $(FUZZ_DEP_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BINS): $(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o \
    $(FUZZ_BUILD)/obj/tests/fuzz/replay_main.o $(FUZZ_BUILD)/libfuzzdeps.a
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ -lcjson $(CL_LIBS)

# Longest input per target: a request with a few small batches; one float
# token (long digit strings included); a SPEC just past its 255-character
# limit; a .npy with a header and a few hundred values.
FUZZ_MAX_LEN_request := 8192
FUZZ_MAX_LEN_float   := 160
FUZZ_MAX_LEN_spec    := 300
FUZZ_MAX_LEN_npy     := 4096

.PHONY: fuzz fuzz-build $(FUZZ_TARGETS:%=fuzz-%)
fuzz-build: $(FUZZ_BINS)
fuzz: $(FUZZ_TARGETS:%=fuzz-%)
$(FUZZ_TARGETS:%=fuzz-%): fuzz-%: $(FUZZ_BUILD)/fuzz_%
	tests/fuzz/fuzz_run.sh $* $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_MAX_LEN_$*)

-include $(shell find $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
