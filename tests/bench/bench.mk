# bench.mk - `make bench-codec`: floats/s of the text library (text/) against cJSON and snprintf;
# `make bench-daemon`: leakycld end to end (base64 and JSON forwards, small jobs with wrk).
# Each prints a summary and writes JSON lines to $(BUILD)/bench/<name>.jsonl for the report.
# A fragment the top-level Makefile includes; uses its BUILD, CC, CFLAGS and LDFLAGS.
.PHONY: bench-codec bench-daemon

$(BUILD)/bench/bench_codec: tests/bench/bench_codec.c $(TEXT_A) $(TEXT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEXT_INC) -o $@ tests/bench/bench_codec.c $(TEXT_A) $(LDFLAGS) -lcjson -lpthread -lm

bench-codec: $(BUILD)/bench/bench_codec
	$(BUILD)/bench/bench_codec --json > $(BUILD)/bench/codec.jsonl.tmp
	mv $(BUILD)/bench/codec.jsonl.tmp $(BUILD)/bench/codec.jsonl

# The daemon benchmark starts $(BUILD)/bin/leakycld itself on a free port.
bench-daemon: $(BUILD)/bin/leakycld
	@mkdir -p $(BUILD)/bench
	LEAKYCL_BUILD=$(BUILD) /usr/bin/python3 tests/bench/bench_daemon.py > $(BUILD)/bench/daemon.jsonl.tmp
	mv $(BUILD)/bench/daemon.jsonl.tmp $(BUILD)/bench/daemon.jsonl

# `make bench-batch`: microseconds per job of leakycl_run_jobs (one launch for
# many small jobs) against one call per job (tests/bench/bench_batch.c).
.PHONY: bench-batch
$(BUILD)/bench/bench_batch: tests/bench/bench_batch.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_A) $(LDFLAGS) $(CL_LIBS)

bench-batch: $(BUILD)/bench/bench_batch
	$(BUILD)/bench/bench_batch --device $${LEAKYCL_DEVICE:-auto}

# The same figures as JSON lines for `make bench`'s report, and float16's
# (half-precision jobs pack like float32 ones).
.PHONY: bench-batch-json
bench-batch-json: $(BUILD)/bench/bench_batch
	@mkdir -p $(BUILD)/bench
	$(BUILD)/bench/bench_batch --device $${LEAKYCL_DEVICE:-auto} --json > $(BUILD)/bench/batch.jsonl.tmp
	$(BUILD)/bench/bench_batch --device $${LEAKYCL_DEVICE:-auto} --json --dtype float16 >> $(BUILD)/bench/batch.jsonl.tmp
	mv $(BUILD)/bench/batch.jsonl.tmp $(BUILD)/bench/batch.jsonl

# `make bench-python`: the Python package (tests/bench/bench_python.py): in
# process against the C library's own call and PyTorch's CPU kernels, and
# leakycl.Remote against tritonclient on the same daemon, at 1 and 16 Mi.
.PHONY: bench-python
bench-python: lib $(BUILD)/bin/leakycld
	@mkdir -p $(BUILD)/bench
	LEAKYCL_BUILD=$(BUILD) $$(scripts/test-pydeps.sh build/test-venv) tests/bench/bench_python.py \
	  > $(BUILD)/bench/python.jsonl.tmp
	mv $(BUILD)/bench/python.jsonl.tmp $(BUILD)/bench/python.jsonl
