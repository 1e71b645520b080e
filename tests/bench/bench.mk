# bench.mk - `make bench-codec`: floats/s of server/codec.c against cJSON and snprintf.
# A fragment the top-level Makefile includes; uses its BUILD, CC, CFLAGS and LDFLAGS.
.PHONY: bench-codec

$(BUILD)/bench/bench_codec: tests/bench/bench_codec.c server/codec.c server/codec.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iserver -o $@ tests/bench/bench_codec.c server/codec.c $(LDFLAGS) -lcjson -lm

bench-codec: $(BUILD)/bench/bench_codec
	$(BUILD)/bench/bench_codec
