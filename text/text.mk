# text.mk - libleakycl-text.a, the text library the daemon and the CLI share
# (text/: output buffer, float32 text, number arrays, base64, the tensor
# splice, JSON writing). Static and internal: nothing of it is installed.
# Included by the top-level Makefile before the daemon's and the CLI's rules.

TEXT_SRCS := $(wildcard text/*.c)
TEXT_OBJS := $(TEXT_SRCS:%.c=$(BUILD)/obj/%.o)
TEXT_HDRS := $(wildcard text/*.h)
TEXT_A    := $(BUILD)/lib/libleakycl-text.a
TEXT_INC  := -Itext

$(BUILD)/obj/text/%.o: text/%.c $(TEXT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEXT_INC) -c -o $@ $<

$(TEXT_A): $(TEXT_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
