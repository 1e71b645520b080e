# server.mk - leakycld (the daemon) and its unit tests; included by the
# top-level Makefile, which provides BUILD, CC, CFLAGS, LDFLAGS, CL_LIBS and
# LIB_A.

SERVER_SRCS := $(wildcard server/*.c server/*/*.c)
SERVER_OBJS := $(SERVER_SRCS:%.c=$(BUILD)/obj/%.o)
SERVER_HDRS := $(wildcard server/*.h server/*/*.h) $(TEXT_HDRS) host/include/leakycl.h
# http/ (the HTTP layer), api/ (the protocols), exec/ (running jobs on devices).
SERVER_INC  := -Iserver -Iserver/http -Iserver/api -Iserver/exec $(TEXT_INC)
SERVER_LIBS := -lmicrohttpd -lcjson -lz

$(BUILD)/obj/server/%.o: server/%.c $(SERVER_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SERVER_INC) -c -o $@ $<

# docs/openapi.json, embedded at build time like the kernels (tools/embed.c)
# and served at GET /openapi.json: the daemon reads no file at run time.
$(BUILD)/gen/openapi.c: $(BUILD)/tools/embed docs/openapi.json
	@mkdir -p $(dir $@)
	$(BUILD)/tools/embed lkd_openapi_json docs/openapi.json > $@.tmp && mv $@.tmp $@
$(BUILD)/obj/gen/openapi.o: $(BUILD)/gen/openapi.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# POST /v1/compare measures with the float64 oracle and agreement of oracle/
# (the Makefile's ORACLE_OBJS), so the daemon and `leakycl bench --compare`
# hold devices to the same reference.
$(BUILD)/obj/server/api/v1_compare.o: SERVER_INC += $(ORACLE_INC)

$(BUILD)/bin/leakycld: $(SERVER_OBJS) $(ORACLE_OBJS) $(BUILD)/obj/gen/openapi.o $(TEXT_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(SERVER_OBJS) $(ORACLE_OBJS) $(BUILD)/obj/gen/openapi.o $(TEXT_A) $(LIB_A) $(LDFLAGS) $(SERVER_LIBS) $(CL_LIBS)

all: $(BUILD)/bin/leakycld
# The end-to-end tests run the sanitized daemon too: build it with the
# unit tests (make BUILD=build-san SANITIZE=1 test-unit).
test-unit: $(BUILD)/bin/leakycld

# Unit tests of server modules include the module's .c (to reach static
# helpers) and link what it needs; the text library's tests include the
# text/*.c they test and link the rest of the library.
UNIT_EXTRA_server_devices := $(SERVER_INC) server/exec/coalesce.c server/exec/load.c $(TEXT_A)
$(BUILD)/tests/test_server_devices: server/exec/devices.c server/api/errors.c $(TEXT_A) $(SERVER_HDRS)
UNIT_EXTRA_server_coalesce := $(SERVER_INC) server/exec/coalesce.c server/exec/load.c $(TEXT_A)
$(BUILD)/tests/test_server_coalesce: server/exec/coalesce.c server/exec/load.c $(TEXT_A) \
    $(SERVER_HDRS)
UNIT_EXTRA_server_schedule := $(SERVER_INC) server/exec/load.c server/exec/metrics.c \
    server/api/errors.c $(TEXT_A)
$(BUILD)/tests/test_server_schedule: server/exec/schedule.c server/exec/load.c \
    server/exec/metrics.c server/api/errors.c $(TEXT_A) $(SERVER_HDRS)

# The HTTP layer's socket-free limits: the budget's arithmetic and the
# request-target checks.
UNIT_EXTRA_server_limits := $(SERVER_INC) server/http/budget.c server/http/bufpool.c \
    server/http/strict.c server/api/errors.c $(TEXT_A) -lmicrohttpd
$(BUILD)/tests/test_server_limits: server/http/budget.c server/http/bufpool.c \
    server/http/strict.c server/api/errors.c $(TEXT_A) $(SERVER_HDRS)

# The base64 tests read cJSON's verdict on envelopes; the pool tests link
# the pool with the text library.
UNIT_EXTRA_text_float := $(TEXT_A)
UNIT_EXTRA_text_arrays := $(TEXT_A)
UNIT_EXTRA_text_splice := $(TEXT_A)
UNIT_EXTRA_codec_b64 := $(TEXT_A) -lcjson
UNIT_EXTRA_codec_pool := $(SERVER_INC) server/http/bufpool.c $(TEXT_A)
# The .npy tests include the CLI's npy.c and jsonw.c, which use the text library.
UNIT_EXTRA_npy := $(TEXT_A)
$(BUILD)/tests/test_npy: $(TEXT_A)
$(BUILD)/tests/test_text_float $(BUILD)/tests/test_text_arrays $(BUILD)/tests/test_text_splice: \
    $(TEXT_A) $(TEXT_HDRS)
$(BUILD)/tests/test_codec_b64: $(TEXT_A) $(TEXT_HDRS)
$(BUILD)/tests/test_codec_pool: server/http/bufpool.c $(TEXT_A) $(SERVER_HDRS)

# The HTTP layer's content codings (gzip, deflate) without a socket.
UNIT_EXTRA_server_encoding := $(SERVER_INC) server/http/encoding.c server/http/budget.c \
    server/http/bufpool.c server/api/errors.c $(TEXT_A) -lz
$(BUILD)/tests/test_server_encoding: server/http/encoding.c server/http/budget.c \
    server/http/bufpool.c server/api/errors.c $(TEXT_A) $(SERVER_HDRS)
