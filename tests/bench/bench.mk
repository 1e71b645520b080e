# bench.mk - `make bench-codec`: floats/s of server/codec.c against cJSON and snprintf.
# A fragment the top-level Makefile includes; uses its BUILD, CC, CFLAGS and LDFLAGS.
.PHONY: bench-codec

$(BUILD)/bench/bench_codec: tests/bench/bench_codec.c server/codec.c server/codec.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iserver -o $@ tests/bench/bench_codec.c server/codec.c $(LDFLAGS) -lcjson -lm

bench-codec: $(BUILD)/bench/bench_codec
	$(BUILD)/bench/bench_codec

# `make bench-batch`: microseconds per job of leakycl_run_jobs (one launch for
# many small jobs) against one call per job (tests/bench/bench_batch.c).
.PHONY: bench-batch
$(BUILD)/bench/bench_batch: tests/bench/bench_batch.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_A) $(LDFLAGS) $(CL_LIBS)

bench-batch: $(BUILD)/bench/bench_batch
	$(BUILD)/bench/bench_batch --device $${LEAKYCL_DEVICE:-auto}
