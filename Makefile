# Build, test and demo entry points. `make help` lists the targets.
BUILD   := build
CC      ?= gcc
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARN) -I. -I$(BUILD)/gen -D_GNU_SOURCE -pthread -MMD -MP
LDFLAGS += -pthread
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

SRCDIRS := lib kvm vhost pci virtio devices vmm
SRCS    := $(wildcard $(addsuffix /*.c,$(SRCDIRS)))
ASLS    := $(wildcard vmm/*.asl)
GENSRCS := $(ASLS:vmm/%.asl=$(BUILD)/gen/%_aml.c)
MAIN    := vmm/main.c

OBJS      := $(SRCS:%.c=$(BUILD)/obj/%.o) $(GENSRCS:$(BUILD)/gen/%.c=$(BUILD)/obj/gen/%.o)
ASAN_OBJS := $(OBJS:$(BUILD)/obj/%=$(BUILD)/asan-obj/%)
LIB_ASAN  := $(filter-out $(BUILD)/asan-obj/$(MAIN:.c=.o),$(ASAN_OBJS))

UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tests/tools/%)

.PHONY: all asan unit deps guest lab demo test bench clean help FORCE
all: $(BUILD)/vmm

# The version lives in a generated header rewritten only when it changes,
# so that exactly the files that print it are rebuilt.
VERSION_H := $(BUILD)/gen/version.h
$(VERSION_H): FORCE
	@mkdir -p $(@D)
	@echo '#define VMM_VERSION "$(VERSION)"' >$@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp
$(OBJS) $(ASAN_OBJS): | $(VERSION_H)

$(BUILD)/vmm: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^

asan: $(BUILD)/asan/vmm
$(BUILD)/asan/vmm: $(ASAN_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $(SAN) -o $@ $^

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<
$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<
$(BUILD)/asan-obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -c -o $@ $<
$(BUILD)/asan-obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -c -o $@ $<

# ACPI source language compiled to AML, then wrapped as a C array named
# <name>_aml / <name>_aml_len.
$(BUILD)/gen/%_aml.c: vmm/%.asl
	@mkdir -p $(@D)
	@command -v iasl >/dev/null || { echo "iasl not found: run 'make deps' (acpica-tools)" >&2; exit 1; }
	iasl -vs -p $(BUILD)/gen/$* $< >/dev/null
	{ echo '/* Generated from $< by iasl; do not edit. */'; \
	  echo 'const unsigned char $*_aml[] = {'; \
	  od -An -v -tx1 $(BUILD)/gen/$*.aml | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; \
	  echo 'const unsigned int $*_aml_len = sizeof($*_aml);'; } > $@

unit: $(UNIT_BINS) $(TOOL_BINS)
$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB_ASAN)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -o $@ $< $(LIB_ASAN) $(LDFLAGS)
$(BUILD)/tests/tools/%: tests/tools/%.c $(LIB_ASAN)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -o $@ $< $(LIB_ASAN) $(LDFLAGS)

deps:
	@tests/deps.sh

guest: deps
	@guest/build.sh

lab: deps
	@tests/lab/build

demo: deps all guest
	@guest/demo.sh

test: deps
	@$(MAKE) --no-print-directory all asan unit
	@guest/build.sh
	@tests/run.sh

bench: deps all guest
	@bench/run.sh

clean:
	rm -rf $(BUILD)/obj $(BUILD)/asan-obj $(BUILD)/gen $(BUILD)/vmm $(BUILD)/asan $(BUILD)/tests

help:
	@echo "make          build build/vmm"
	@echo "make asan     ASan+UBSan build: build/asan/vmm"
	@echo "make deps     install the Debian packages building, tests and demo need"
	@echo "make guest    build the test guest (Debian cloud kernel + initramfs) in build/guest"
	@echo "make demo     boot the test guest"
	@echo "make test     build everything and run every test"
	@echo "make bench    run the benchmarks against QEMU"

-include $(shell find $(BUILD)/obj $(BUILD)/asan-obj $(BUILD)/tests -name '*.d' 2>/dev/null)
