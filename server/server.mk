# server.mk - leakycld (the daemon) and its unit tests; included by the
# top-level Makefile, which provides BUILD, CC, CFLAGS, LDFLAGS, CL_LIBS and
# LIB_A.

SERVER_SRCS := $(wildcard server/*.c)
SERVER_OBJS := $(SERVER_SRCS:%.c=$(BUILD)/obj/%.o)
SERVER_HDRS := $(wildcard server/*.h) host/include/leakycl.h
SERVER_LIBS := -lmicrohttpd -lcjson

$(BUILD)/obj/server/%.o: server/%.c $(SERVER_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iserver -c -o $@ $<

# docs/openapi.json, embedded at build time like the kernels (tools/embed.c)
# and served at GET /openapi.json: the daemon reads no file at run time.
$(BUILD)/gen/openapi.c: $(BUILD)/tools/embed docs/openapi.json
	@mkdir -p $(dir $@)
	$(BUILD)/tools/embed lkd_openapi_json docs/openapi.json > $@.tmp && mv $@.tmp $@
$(BUILD)/obj/gen/openapi.o: $(BUILD)/gen/openapi.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/bin/leakycld: $(SERVER_OBJS) $(BUILD)/obj/gen/openapi.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(SERVER_OBJS) $(BUILD)/obj/gen/openapi.o $(LIB_A) $(LDFLAGS) $(SERVER_LIBS) $(CL_LIBS)

all: $(BUILD)/bin/leakycld
# The end-to-end tests run the sanitized daemon too: build it with the
# unit tests (make BUILD=build-san SANITIZE=1 test-unit).
test-unit: $(BUILD)/bin/leakycld

# Unit tests of server modules include the module's .c (to reach static
# helpers) and link what it needs.
UNIT_EXTRA_server_devices := server/codec.c server/coalesce.c
$(BUILD)/tests/test_server_devices: server/devices.c server/errors.c server/codec.c $(SERVER_HDRS)

# The base64 tests read cJSON's verdict on envelopes; the pool tests link
# the pool with the codec.
UNIT_EXTRA_codec_b64 := -lcjson
UNIT_EXTRA_codec_pool := server/codec.c server/bufpool.c
$(BUILD)/tests/test_codec_b64: server/codec.c server/base64_avx2.h $(SERVER_HDRS)
$(BUILD)/tests/test_codec_pool: server/codec.c server/bufpool.c $(SERVER_HDRS)
