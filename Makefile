# leakycl - top-level build. `make` builds the library, the CLI and the
# daemon; `make test` installs missing Debian packages (as root), builds
# normal and sanitized trees and runs every test. See README.md.

BUILD    ?= build
SANITIZE ?= 0
PREFIX   ?= /usr/local
CC       ?= cc

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
BASEFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O2 -fPIC \
             -DCL_TARGET_OPENCL_VERSION=120 -Ihost/include
ifeq ($(SANITIZE),1)
  BASEFLAGS += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDSAN := -fsanitize=address,undefined
endif
CFLAGS   ?=
# -MMD: generated dependency files, so a test that #includes a .c rebuilds.
CFLAGS   += $(BASEFLAGS) $(WARN) -MMD -MP
LDFLAGS  ?=
LDFLAGS  += $(LDSAN)
CL_LIBS  := -lOpenCL -lpthread -lm
# One version: the header's LEAKYCL_VERSION.
VERSION  := $(shell sed -n 's/^\#define LEAKYCL_VERSION "\(.*\)"/\1/p' host/include/leakycl.h)
PC_SED    = sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|'

.PHONY: all lib cli test test-unit test-torch run install bench fuzz soak deps clean format lint memcheck

all: lib cli

# ---- kernels embedded at build time ----
KERNEL_COMMON := kernels/common.cl
KERNEL_SRCS   := $(KERNEL_COMMON) kernels/activation.cl kernels/reduce.cl kernels/batch.cl \
                 kernels/mask.cl
$(BUILD)/tools/embed: tools/embed.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -Wall -Wextra -Werror -o $@ $<
$(BUILD)/gen/kernels.c: $(BUILD)/tools/embed $(KERNEL_SRCS)
	@mkdir -p $(dir $@)
	$(BUILD)/tools/embed lk_kernel_source $(KERNEL_SRCS) > $@.tmp && mv $@.tmp $@

# ---- the library ----
# host/<concern>/*.c, each folder with its header (core, device, program,
# tune, ops); sources include them as "core/core.h" and so on.
LIB_DIRS := core device program tune ops
LIB_SRCS := $(foreach d,$(LIB_DIRS),$(wildcard host/$(d)/*.c))
LIB_HDRS := $(foreach d,$(LIB_DIRS),$(wildcard host/$(d)/*.h))
LIB_INC  := -Ihost
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/kernels.o
# The installed archive defines only leakycl_* globals: the objects linked
# into one, with every hidden symbol (lk_*) made local. The internal archive
# (every object as it is, never installed) is what the unit tests link, to
# reach lk_* functions.
LIB_A    := $(BUILD)/lib/libleakycl.a
LIB_INTERNAL_A := $(BUILD)/lib/libleakycl-internal.a
LIB_SO   := $(BUILD)/lib/libleakycl.so
LIB_PC   := $(BUILD)/lib/pkgconfig/leakycl.pc

$(BUILD)/obj/host/%.o: host/%.c host/include/leakycl.h $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LIB_INC) -DLEAKYCL_BUILDING -fvisibility=hidden -c -o $@ $<
$(BUILD)/obj/gen/kernels.o: $(BUILD)/gen/kernels.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fvisibility=hidden -c -o $@ $<

$(LIB_INTERNAL_A): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/obj/libleakycl-public.o: $(LIB_OBJS)
	ld -r -o $@.tmp $^ && objcopy --localize-hidden $@.tmp $@ && rm -f $@.tmp
$(LIB_A): $(BUILD)/obj/libleakycl-public.o
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(LIB_SO): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libleakycl.so.0 -o $@ $^ $(LDFLAGS) $(CL_LIBS)
$(LIB_PC): leakycl.pc.in
	@mkdir -p $(dir $@)
	$(PC_SED) $< > $@

lib: $(LIB_A) $(LIB_INTERNAL_A) $(LIB_SO) $(LIB_PC)

# ---- the text library the CLI and the daemon share (text/text.mk) ----
-include text/text.mk

# ---- the float64 oracle: leakycl's semantics and the comparisons with their
# tolerances, shared by the CLI (check, bench --verify/--compare) and the
# daemon (POST /v1/compare). Pure C: no OpenCL. ----
ORACLE_INC  := -Ioracle
ORACLE_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard oracle/*.c))
$(BUILD)/obj/oracle/%.o: oracle/%.c host/include/leakycl.h $(wildcard oracle/*.h) $(TEXT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEXT_INC) $(ORACLE_INC) -c -o $@ $<

# ---- the command-line client ----
CLI_SRCS := $(wildcard clients/cli/*.c)
# `leakycl bench` embeds tests/bench/refs.py (its Python references), so the
# installed CLI needs no file from the source tree.
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/bench_refs_py.o
# OpenMP for the bench's reference loops (CLI_OPENMP= builds them serial).
CLI_OPENMP ?= -fopenmp
$(CLI_OBJS): CFLAGS += $(CLI_OPENMP)
# Lets GCC vectorize the reference loops' selects; values are unchanged.
$(BUILD)/obj/clients/cli/bench_refs.o: CFLAGS += -fno-trapping-math
$(BUILD)/obj/clients/%.o: clients/%.c host/include/leakycl.h $(wildcard clients/cli/*.h oracle/*.h) $(TEXT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEXT_INC) $(ORACLE_INC) -c -o $@ $<
$(BUILD)/gen/bench_refs_py.c: $(BUILD)/tools/embed tests/bench/refs.py
	@mkdir -p $(dir $@)
	$(BUILD)/tools/embed lk_bench_refs_py tests/bench/refs.py > $@.tmp && mv $@.tmp $@
$(BUILD)/obj/gen/bench_refs_py.o: $(BUILD)/gen/bench_refs_py.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<
$(BUILD)/bin/leakycl: $(CLI_OBJS) $(ORACLE_OBJS) $(TEXT_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDFLAGS) $(CLI_OPENMP) -lcjson $(CL_LIBS)
cli: $(BUILD)/bin/leakycl

# ---- unit tests: tests/unit/test_*.c, each linked with the static library ----
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
$(BUILD)/tests/test_%: tests/unit/test_%.c tests/unit/test.h $(LIB_INTERNAL_A) $(CLI_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LIB_INC) -Iclients/cli $(ORACLE_INC) -Iserver -Itext -o $@ $< $(UNIT_EXTRA_$*) $(LIB_INTERNAL_A) $(LDFLAGS) $(CL_LIBS)
test-unit: $(UNIT_BINS)

# The daemon and its tests bring their own rules.
-include server/server.mk
-include tests/bench/bench.mk
-include tests/fuzz/fuzz.mk
-include tests/soak/soak.mk

# ---- benchmarks: figures only, never pass/fail on time ----
$(BUILD)/bench/bench_ops: tests/bench/bench_ops.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_A) $(LDFLAGS) $(CL_LIBS)
# `make bench`: bench-only deps (best effort: numpy, pyopencl, a venv with
# jax), the standard sweep of `leakycl bench` (every device, 4 Ki..64 Mi
# elements, references, chart) into $(BUILD)/bench/ops.jsonl and report.svg,
# the codec figures, then report.json and the ratios beside their goals.
# BENCH_ARGS adds options (e.g. BENCH_ARGS="--n-max 1048576" for a quick run).
bench: deps all
	@mkdir -p $(BUILD)/bench
	@py=$$(scripts/bench-deps.sh $(BUILD)/bench-venv); \
	  echo "LEAKYCL_PYTHON=$$py $(BUILD)/bin/leakycl bench --device all --json --svg $(BUILD)/bench/report.svg $(BENCH_ARGS)"; \
	  LEAKYCL_PYTHON=$$py $(BUILD)/bin/leakycl bench --device all --json \
	    --svg $(BUILD)/bench/report.svg $(BENCH_ARGS) > $(BUILD)/bench/ops.jsonl.tmp && \
	  mv $(BUILD)/bench/ops.jsonl.tmp $(BUILD)/bench/ops.jsonl
	$(MAKE) bench-codec
	$(MAKE) bench-batch-json
	$(MAKE) bench-daemon
	$(MAKE) bench-python
	/usr/bin/python3 tests/bench/report.py $(BUILD)/bench
	@echo "chart: $(BUILD)/bench/report.svg"

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# valgrind memcheck over the unit tests (slow: PoCL JIT-compiles under it);
# tests/valgrind.supp silences the OpenCL runtime only, never leakycl.
memcheck: all test-unit
	@fail=0; for t in $(BUILD)/tests/test_*; do \
	  [ -x "$$t" ] || continue; \
	  echo "== memcheck $$t"; \
	  LEAKYCL_TEST_QUICK=1 valgrind -q --error-exitcode=9 --leak-check=full \
	    --show-leak-kinds=definite --errors-for-leak-kinds=definite \
	    --suppressions=tests/valgrind.supp $$t > $(BUILD)/memcheck.log 2>&1 \
	    || { fail=1; echo "FAIL $$t"; grep -E '==[0-9]+==' $(BUILD)/memcheck.log | head -40; }; \
	done; exit $$fail

deps:
	@scripts/deps.sh

test: deps
	$(MAKE) all test-unit
	$(MAKE) BUILD=build-san SANITIZE=1 test-unit
	LEAKYCL_TEST_PYTHON=$$(scripts/test-pydeps.sh build/test-venv) tests/run.sh build build-san

# `make test-torch`: the tests that need PyTorch (leakycl.torch against
# torch's own modules, gradcheck; make test skips them without it), after
# installing Debian's python3-torch when missing (about 77 MB to download).
test-torch: deps all
	@scripts/torch-deps.sh
	LEAKYCL_TEST_ONLY='tests/e2e/test_python_*' \
	  LEAKYCL_TEST_PYTHON=$$(scripts/test-pydeps.sh build/test-venv) tests/run.sh $(BUILD)

run: deps all
	@if [ -x $(BUILD)/bin/leakycld ]; then exec $(BUILD)/bin/leakycld --device $${LEAKYCL_DEVICE:-auto}; \
	 else echo "leakycld is not built yet (the daemon issue); the library and CLI are: $(BUILD)/bin/leakycl devices"; \
	      $(BUILD)/bin/leakycl devices; fi

# Library (libleakycl.so.VERSION with soname libleakycl.so.0, the dev
# symlink, the static archive), header, pkg-config file, both programs,
# their man pages, and the systemd unit with ExecStart under $(PREFIX)/bin
# ($(PREFIX)/lib/systemd/system is on systemd's unit path for /usr and
# /usr/local; see server/deploy/README.md). DESTDIR stages for packaging.
install: all
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/bin \
	  $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man3 \
	  $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/libleakycl.so.$(VERSION)
	ln -sf libleakycl.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libleakycl.so.0
	ln -sf libleakycl.so.0 $(DESTDIR)$(PREFIX)/lib/libleakycl.so
	install -m 644 host/include/leakycl.h $(DESTDIR)$(PREFIX)/include/
	$(PC_SED) leakycl.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/leakycl.pc
	install -m 755 $(BUILD)/bin/leakycl $(BUILD)/bin/leakycld $(DESTDIR)$(PREFIX)/bin/
	install -m 644 docs/man/leakycl.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 docs/man/leakycl.3 $(DESTDIR)$(PREFIX)/share/man/man3/
	install -m 644 docs/man/leakycld.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	sed 's|/usr/local/bin/|$(PREFIX)/bin/|g' server/deploy/leakycld.service \
	  > $(DESTDIR)$(PREFIX)/lib/systemd/system/leakycld.service
	@# The loader's cache learns the new library (a real install as root;
	@# staged DESTDIR installs leave it to the package's own trigger).
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
	  ldconfig; fi

# Removes what install put under $(DESTDIR)$(PREFIX), nothing else.
INSTALLED = lib/libleakycl.a lib/libleakycl.so.$(VERSION) lib/libleakycl.so.0 lib/libleakycl.so \
  include/leakycl.h lib/pkgconfig/leakycl.pc bin/leakycl bin/leakycld \
  share/man/man1/leakycl.1 share/man/man3/leakycl.3 share/man/man8/leakycld.8 \
  lib/systemd/system/leakycld.service
uninstall:
	rm -f $(INSTALLED:%=$(DESTDIR)$(PREFIX)/%)
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
	  ldconfig; fi

clean:
	rm -rf build build-san build-fuzz

C_SOURCES = $(wildcard host/include/*.h $(LIB_DIRS:%=host/%/*.[ch]) clients/cli/*.[ch] oracle/*.[ch] server/*.[ch] server/*/*.[ch] text/*.[ch] \
              tests/unit/*.[ch] tests/bench/*.c tests/fuzz/*.[ch] tools/*.c)

format:
	clang-format -i $(C_SOURCES)

lint:
	clang-format --dry-run --Werror $(C_SOURCES)
	cppcheck --quiet --inline-suppr --error-exitcode=1 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem -Ihost/include -Ihost $(SERVER_INC) $(LIB_DIRS:%=host/%) clients/cli oracle server text
