# mod_llmproxy — build, install, run and test.
#
#   make            build build/mod_llmproxy.so (flags from apxs)
#   make install    install the module, conf/llmproxy.{load,conf}, the
#                   llmproxy-keys command into SBINDIR and the /docs page's
#                   files (DESTDIR honoured)
#   make run        install missing Debian packages, build, start httpd on $(PORT)
#   make demo       the same in front of the repository's mock gateway (no
#                   real gateway needed); prints the settings of each client
#   make deb        the Debian package libapache2-mod-llmproxy (build/deb/)
#   make deb-check  build it, install it, serve with the system's Apache on
#                   port $(DEB_CHECK_PORT), purge it (as root)
#   make test       unit tests, fuzz corpus replay, Apache::Test suite, SDK e2e
#   make test-asan  the same suite with the module built with ASan/UBSan
#   make test-worker  the Apache::Test suite under the worker MPM
#   make bench      the benchmark (see README)
#   make soak       endurance: 1,000 streams, faults under load, RSS soak

APXS      ?= $(shell command -v apxs 2>/dev/null || command -v apxs2 2>/dev/null || echo /usr/bin/apxs)
HTTPD     ?= $(shell $(APXS) -q SBINDIR 2>/dev/null)/$(shell $(APXS) -q TARGET 2>/dev/null)
LIBEXECDIR = $(shell $(APXS) -q LIBEXECDIR 2>/dev/null)
SYSCONFDIR = $(shell $(APXS) -q SYSCONFDIR 2>/dev/null)
SBINDIR    = $(shell $(APXS) -q SBINDIR 2>/dev/null)
PORT      ?= 8000
# where make install puts the /docs page's files (LLMProxyDocsDir's default)
DOCSDIR   ?= /usr/share/mod_llmproxy/docs
DEB_CHECK_PORT ?= 19560
CC        ?= gcc

# Debian packages needed to build, run and test. A package named with
# :command is skipped when that command is already on PATH (node and npm
# may come from elsewhere than Debian). Of prometheus only the promtool
# binary is used (t/26_metrics.t): its services are stopped and disabled
# after the install, so that nothing keeps listening.
DEB_PACKAGES = apache2 apache2-dev libcurl4-openssl-dev libcjson-dev \
               libapache2-mod-perl2 libwww-perl python3:python3 \
               libhiredis-dev redis-server prometheus:promtool \
               nodejs:node npm:npm chromium \
               debhelper dh-apache2:dh_apache2 dpkg-dev lintian \
               libaprutil1-dbd-sqlite3 sqlite3 libaprutil1-dbd-pgsql

APXS_CFLAGS := $(shell $(APXS) -q CFLAGS 2>/dev/null) \
               -I$(shell $(APXS) -q INCLUDEDIR 2>/dev/null) \
               $(shell apr-1-config --cppflags --includes 2>/dev/null) \
               $(shell apu-1-config --includes 2>/dev/null)
WARN      = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
CFLAGS_COMMON = -std=gnu99 -fPIC -g -O2 $(WARN) -Iinclude $(APXS_CFLAGS) \
                -DLLMP_DOCS_DIR='"$(DOCSDIR)"'
LIBS      = -lcurl -lcjson -lcrypto -lhiredis
CORE_LIBS = $(shell apr-1-config --link-ld 2>/dev/null) \
            $(shell apu-1-config --link-ld 2>/dev/null) $(LIBS)

CORE_SRC  = $(sort $(wildcard src/llmp_*.c))
GLUE_SRC  = mod_llmproxy.c $(sort $(wildcard src/mod_llmproxy_*.c))
HEADERS   = $(wildcard include/*.h)
# the /docs page (Swagger UI) and the base of /openapi.json
DOCS_FILES = $(wildcard docs/*)
UNIT_SRC  = $(sort $(wildcard tests/unit/test_*.c))

# Variant: normal build in build/, sanitizer build in build/asan/
B         ?= build
SANFLAGS  ?=
OBJS      = $(patsubst %.c,$(B)/obj/%.o,$(GLUE_SRC) $(CORE_SRC))
CORE_OBJS = $(patsubst %.c,$(B)/obj/%.o,$(CORE_SRC))
UNIT_BINS = $(patsubst tests/unit/%.c,$(B)/unit/%,$(UNIT_SRC))

.PHONY: all build install uninstall run demo deb deb-check deps test test-unit bench-compiles test-httpd sdk-deps \
        test-asan test-worker fuzz fuzz-replay bench soak soak-asan clean distclean
.DEFAULT_GOAL := all

# make V=1 shows the full compiler command lines
ifeq ($(V),1)
Q =
E = @:
else
Q = @
E = @echo
endif

all: $(B)/mod_llmproxy.so $(B)/llmproxy-keys

build: all

$(B)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(E) "  CC      $<"
	$(Q)$(CC) $(CFLAGS_COMMON) $(SANFLAGS) $(EXTRA_CFLAGS) -c $< -o $@

$(B)/mod_llmproxy.so: $(OBJS)
	$(E) "  LD      $@"
	$(Q)$(CC) -shared $(SANFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

# The API keys command (AuthType llmproxy-key, LLMProxyKeyFile).
$(B)/llmproxy-keys: tools/llmproxy-keys.c $(B)/obj/src/llmp_keys.o include/llmp_keys.h
	$(E) "  CCLD    $@"
	$(Q)$(CC) $(CFLAGS_COMMON) $(SANFLAGS) -o $@ $< $(B)/obj/src/llmp_keys.o \
	  $(shell apr-1-config --link-ld 2>/dev/null) -lcrypto

install: all
	install -d $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(SYSCONFDIR)/mods-available
	install -d $(DESTDIR)$(SBINDIR)
	install -m 755 $(B)/llmproxy-keys $(DESTDIR)$(SBINDIR)/llmproxy-keys
	install -m 644 $(B)/mod_llmproxy.so $(DESTDIR)$(LIBEXECDIR)/mod_llmproxy.so
	install -m 644 conf/llmproxy.load $(DESTDIR)$(SYSCONFDIR)/mods-available/llmproxy.load
	install -m 644 conf/llmproxy.conf $(DESTDIR)$(SYSCONFDIR)/mods-available/llmproxy.conf
	install -d $(DESTDIR)$(DOCSDIR)
	install -m 644 $(DOCS_FILES) $(DESTDIR)$(DOCSDIR)/

uninstall:
	rm -f $(DESTDIR)$(LIBEXECDIR)/mod_llmproxy.so \
	      $(DESTDIR)$(SYSCONFDIR)/mods-available/llmproxy.load \
	      $(DESTDIR)$(SYSCONFDIR)/mods-available/llmproxy.conf \
	      $(DESTDIR)$(SBINDIR)/llmproxy-keys
	rm -rf $(DESTDIR)$(DOCSDIR)

# Install the Debian packages that are missing (nothing when all are there).
deps:
	@missing=""; for spec in $(DEB_PACKAGES); do \
	  p=$${spec%%:*}; c=$${spec#*:}; \
	  if [ "$$c" != "$$spec" ] && command -v $$c >/dev/null 2>&1; then continue; fi; \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	  case " $$missing " in *" prometheus "*) \
	    for sv in prometheus prometheus-node-exporter; do \
	      $$SUDO systemctl disable --now $$sv >/dev/null 2>&1 || \
	        $$SUDO service $$sv stop >/dev/null 2>&1 || true; \
	    done;; \
	  esac; \
	fi

run: deps
	@$(MAKE) --no-print-directory all
	@PORT=$(PORT) HTTPD=$(HTTPD) B=$(B) sh scripts/run.sh

# The module in front of the mock gateway of the tests (every provider
# family), on loopback: try every endpoint, /docs and the clients without a
# real gateway. Ctrl-C stops both.
demo: deps
	@$(MAKE) --no-print-directory all
	@PORT=$(PORT) HTTPD=$(HTTPD) B=$(B) sh scripts/demo.sh

# ---- Debian package ----
deb:
	@sh scripts/deb-build.sh

deb-check:
	@PORT=$(DEB_CHECK_PORT) sh scripts/deb-check.sh

# ---- tests ----
$(B)/unit/%: tests/unit/%.c $(CORE_OBJS) tests/unit/llmp_test.h $(HEADERS)
	@mkdir -p $(dir $@)
	$(E) "  CCLD    $@"
	$(Q)$(CC) $(CFLAGS_COMMON) $(SANFLAGS) -Itests/unit -o $@ $< $(CORE_OBJS) $(CORE_LIBS)

test-unit: $(UNIT_BINS) bench-compiles
	@sh scripts/run-unit.sh $(UNIT_BINS)

# The benchmark's C programs use the core's interfaces: they must keep
# compiling (make bench is not part of make test).
bench-compiles: $(CORE_OBJS)
	$(Q)$(CC) $(CFLAGS_COMMON) $(SANFLAGS) -o $(B)/bench-micro bench/micro.c $(CORE_OBJS) $(CORE_LIBS) -lm
	$(Q)$(CC) $(CFLAGS_COMMON) -fsyntax-only bench/mock_upstream.c
	$(Q)$(CC) $(CFLAGS_COMMON) -fsyntax-only bench/streamlat.c

test-httpd: all sdk-deps
	@B=$(B) APXS=$(APXS) HTTPD=$(HTTPD) sh scripts/run-httpd-tests.sh

# The official OpenAI Node SDK for the end-to-end tests (t/07_sdk.t).
sdk-deps: tests/sdk/node_modules/openai/package.json
tests/sdk/node_modules/openai/package.json: tests/sdk/package.json tests/sdk/package-lock.json
	cd tests/sdk && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

test: test-unit fuzz-replay test-httpd

# The Apache::Test suite again under the worker MPM (make test uses event).
test-worker: all sdk-deps
	@LLMP_MPM=worker LLMP_MODPROXY=Off B=$(B) APXS=$(APXS) HTTPD=$(HTTPD) sh scripts/run-httpd-tests.sh

test-asan:
	@$(MAKE) --no-print-directory B=build/asan \
	  SANFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  EXTRA_CFLAGS=-O1 LLMP_ASAN=1 test

# ---- fuzzing ----
FUZZ_SRC = $(sort $(wildcard tests/fuzz/fuzz_*.c))
fuzz-replay: $(patsubst tests/fuzz/%.c,$(B)/fuzz-replay/%,$(FUZZ_SRC))
	@sh scripts/run-fuzz.sh replay $(B)/fuzz-replay $^

$(B)/fuzz-replay/%: tests/fuzz/%.c tests/fuzz/replay_main.c tests/fuzz/fuzz_common.h $(CORE_OBJS)
	@mkdir -p $(dir $@)
	$(E) "  CCLD    $@"
	$(Q)$(CC) $(CFLAGS_COMMON) $(SANFLAGS) -o $@ $< tests/fuzz/replay_main.c $(CORE_OBJS) $(CORE_LIBS)

FUZZ_SECONDS ?= 60
fuzz:
	@sh scripts/run-fuzz.sh libfuzzer build/fuzz $(FUZZ_SECONDS)

bench: all
	@B=$(B) HTTPD=$(HTTPD) sh bench/run.sh

# Endurance: 1,000 concurrent streams, faults under load, RSS over a soak
# (SOAK_SECONDS, default 600); soak-asan does a shorter run under ASan/UBSan.
soak: all
	@B=$(B) HTTPD=$(HTTPD) sh bench/run.sh soak

soak-asan:
	@$(MAKE) --no-print-directory B=build/asan \
	  SANFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  EXTRA_CFLAGS=-O1 all
	@B=build/asan LLMP_ASAN=1 SOAK_SECONDS=$${SOAK_SECONDS:-120} HTTPD=$(HTTPD) sh bench/run.sh soak

clean:
	rm -rf build t/logs t/conf/httpd.conf t/conf/apache_test_config.pm \
	       t/conf/extra.conf t/conf/modperl* t/htdocs/index.html

distclean: clean
	rm -rf node_modules
