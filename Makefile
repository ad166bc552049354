# praline — build, test, demo, install.
# Sources are found by glob, so adding a module or a test needs no edit here:
#   src/<module>/*.c (not cli)  -> build/libpraline.{a,so}
#   src/cli/*.c                 -> build/praline
#   test/test_<name>.c          -> build/asan/test/test_<name>  (cmocka, ASan+UBSan)
#   fuzz/fuzz_<name>.c          -> build/fuzz/fuzz_<name>       (libFuzzer, clang)
VERSION   := 0.1.0
PREFIX    ?= /usr/local
CC        ?= cc
GIT_HASH  := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
PKGS      := libzstd libbrotlienc libbrotlidec liblz4 zlib libxxhash nettle libpcre2-8 jansson
LIBS      := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lsnappy -lpthread -lm
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS_COMMON := -std=c11 -D_GNU_SOURCE -Iinclude -Isrc $(WARN) \
                 -DPL_VERSION='"$(VERSION)"' -DPL_GIT_HASH='"$(GIT_HASH)"' -fPIC
CFLAGS    ?= -O2 -g
SAN       := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRC   := $(filter-out src/cli/%,$(wildcard src/*/*.c))
CLI_SRC   := $(wildcard src/cli/*.c)
TEST_SRC  := $(wildcard test/test_*.c)
FUZZ_SRC  := $(wildcard fuzz/fuzz_*.c)
HDRS      := $(wildcard include/praline/*.h src/*/*.h test/*.h)

B         := build
OBJ       := $(LIB_SRC:%.c=$(B)/obj/%.o)
CLI_OBJ   := $(CLI_SRC:%.c=$(B)/obj/%.o)
AOBJ      := $(LIB_SRC:%.c=$(B)/asan/obj/%.o)
ACLI_OBJ  := $(CLI_SRC:%.c=$(B)/asan/obj/%.o)
TESTS     := $(TEST_SRC:test/%.c=$(B)/asan/test/%)

.PHONY: all deps test check demo install fuzz bench clean asan
all: $(B)/praline $(B)/libpraline.a $(B)/libpraline.so $(B)/praline.pc \
     $(B)/seed-oom $(B)/bench-w2a $(B)/bench-w2

deps:
	@bash scripts/deps.sh

# The build hash is baked into util.c only; rebuild it when HEAD moves.
$(shell mkdir -p $(B); echo '$(GIT_HASH)' | cmp -s - $(B)/.githash || echo '$(GIT_HASH)' > $(B)/.githash)
$(B)/obj/src/core/util.o $(B)/asan/obj/src/core/util.o: $(B)/.githash

$(B)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -c $< -o $@
$(B)/asan/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O1 -g $(SAN) -DPL_SANITIZED=1 -c $< -o $@

$(B)/libpraline.a: $(OBJ)
	@mkdir -p $(B); rm -f $@; ar rcs $@ $^
$(B)/libpraline.so: $(OBJ)
	$(CC) -shared -o $@ $^ $(LIBS) -Wl,-soname,libpraline.so.0
$(B)/praline: $(CLI_OBJ) $(B)/libpraline.a
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(B)/libpraline.a $(LIBS)
$(B)/praline.pc: praline.pc.in Makefile
	@mkdir -p $(B)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' praline.pc.in > $@

# The sanitized tree: library, CLI and tests all under ASan+UBSan.
$(B)/asan/libpraline.a: $(AOBJ)
	@mkdir -p $(dir $@); rm -f $@; ar rcs $@ $^
$(B)/asan/praline: $(ACLI_OBJ) $(B)/asan/libpraline.a
	$(CC) $(SAN) -o $@ $(ACLI_OBJ) $(B)/asan/libpraline.a $(LIBS)
$(B)/asan/test/%: test/%.c test/*.h $(B)/asan/libpraline.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O1 -g $(SAN) -DPL_SANITIZED=1 -o $@ $< $(B)/asan/libpraline.a $(LIBS) -lcmocka
asan: $(B)/asan/praline $(TESTS)

# The whole suite. Tests find the CLI and the shared folder through the environment.
test: deps
	@$(MAKE) --no-print-directory all asan
	@PRALINE_BIN=$(CURDIR)/$(B)/asan/praline PRALINE_SHARED=$(abspath ../shared) \
	  bash scripts/run-tests.sh $(TESTS)
check: test

demo: deps
	@$(MAKE) --no-print-directory all
	@bash scripts/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/praline
	install -m 755 $(B)/praline $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(B)/libpraline.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(B)/libpraline.so $(DESTDIR)$(PREFIX)/lib/libpraline.so.0
	ln -sf libpraline.so.0 $(DESTDIR)$(PREFIX)/lib/libpraline.so
	install -m 644 include/praline/*.h $(DESTDIR)$(PREFIX)/include/praline/
	install -m 644 $(B)/praline.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/

FUZZ_SECONDS ?= 60
fuzz: deps
	@mkdir -p $(B)/fuzz
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  clang $(CFLAGS_COMMON) -O1 -g -fsanitize=fuzzer,address,undefined -DPL_FUZZ=1 -o $(B)/fuzz/$$n $$f $(LIB_SRC) $(LIBS) || exit 1; \
	  echo "== $$n ($(FUZZ_SECONDS)s)"; mkdir -p $(B)/fuzz/corpus-$$n; \
	  $(B)/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 $(B)/fuzz/corpus-$$n fuzz/seeds/$$n 2>&1 | tail -3 || exit 1; done

# Fixed entry points that rerun the step 3 figures (each prints a JSON object last).
$(B)/seed-oom: examples/seed-oom/main.c $(B)/libpraline.a $(HDRS)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -o $@ $< $(B)/libpraline.a $(LIBS)
$(B)/bench-w2a $(B)/bench-w2: $(B)/bench-%: bench/bench_%.c bench/w2_common.h $(B)/libpraline.a $(HDRS)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -o $@ $< $(B)/libpraline.a $(LIBS)

$(B)/bench-writer: bench/bench_writer.c $(B)/libpraline.a $(HDRS)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -o $@ $< $(B)/libpraline.a $(LIBS)

# Heavy comparisons with DuckDB; never part of `make test`.
bench: deps all $(B)/bench-writer
	@bash bench/run.sh

clean:
	rm -rf $(B)
