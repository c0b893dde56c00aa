# riskmap — build, run and test. `make run` serves the Banan demo on the
# embedded store at http://localhost:8080; `make test` runs every test.
GO          ?= go
ADDR        ?= :8080
DATA        ?= ./data
FUZZTIME    ?= 30s
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
# fonts-wqy-zenhei: a CJK font, so the browser test's screenshots show
# the Chinese page rather than empty boxes; wrk for make bench and soak.
DEB_PKGS    := postgresql-15-postgis-3 gdal-bin chromium fonts-wqy-zenhei wrk
# Packages left out of the race run: they start no goroutines, and the
# race detector makes them 5–6× slower (fixtures 7 s → 45 s, importers
# 5 s → 30 s on two cores). They still run in the full, race-free pass.
NORACE      := riskmap/fixtures riskmap/importers
# The web map's MapLibre GL JS comes from npm (package-lock.json), copied
# into web/static/vendor (gitignored, embedded by go:embed) before any
# build or test: no CDN, the page works with no internet.
NPM         ?= npm
VENDOR      := web/static/vendor/maplibre-gl.mjs
MAPLIBRE    := node_modules/maplibre-gl/dist

.PHONY: all build run test test-short deps vet vendor bench soak faults fuzz lint clean

all: lint test build

build: $(VENDOR)
	CGO_ENABLED=1 $(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/riskmap ./cmd/riskmap

run: build
	./bin/riskmap serve --addr $(ADDR) --data $(DATA)

# deps installs, on Debian as root, the packages the tests use (PostGIS for
# the PostgreSQL store, GDAL's ogrinfo as a reference reader, Chromium and
# a CJK font for the page); with all of them present it does nothing, not
# even apt-get update.
deps:
	@missing=""; for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else echo "missing Debian packages:$$missing (install them, or run make deps as root); the tests that need them will skip"; fi

vet:
	$(GO) vet ./...

# vendor: MapLibre GL JS (module, worker, CSS, licence) from the locked npm
# package into the embedded static directory.
vendor: $(VENDOR)

$(VENDOR): package.json package-lock.json
	$(NPM) ci --no-audit --no-fund --loglevel=error
	mkdir -p $(@D)
	cp $(MAPLIBRE)/maplibre-gl.mjs $(MAPLIBRE)/maplibre-gl-worker.mjs $(MAPLIBRE)/maplibre-gl.css node_modules/maplibre-gl/LICENSE.txt $(@D)/
	touch $@

# test: the race detector over the concurrent code in -short mode (which
# skips the tests that generate the whole demo dataset), then every test in
# full without it.
test: deps vet $(VENDOR)
	node --test web/jstest/
	$(GO) test -race -short -count=1 $$($(GO) list ./... | grep -vxF $(addprefix -e ,$(NORACE)))
	$(GO) test -count=1 ./...

test-short: $(VENDOR)
	$(GO) test -short -count=1 ./...

# bench: the Go benchmarks (-count 3) and a wrk load test of riskmap serve
# on the large profile, embedded and PostGIS (database riskmap_bench on
# RISKMAP_BENCH_PG, created and dropped), and imports; medians go into the
# generated section of docs/BENCHMARKS.md. Fails if a part cannot run.
# BENCH_QUICK=1: demo profile, one short run of each part, to try it out.
# Ports 18701-18704 (BENCH_PORT+1…+4).
BENCH_PORT  ?= 18700
SOAK        ?= 10m
bench: build
	$(GO) run ./cmd/riskbench bench -port $(BENCH_PORT)

# soak: SOAK (default 10m) of mixed traffic (70 % tiles, 20 % items, 10 %
# dispatch) against riskmap serve on the large profile; checks no 5xx, p99,
# flat memory and goroutines; results into docs/BENCHMARKS.md.
soak: build
	$(GO) run ./cmd/riskbench soak -port $(BENCH_PORT) -duration $(SOAK)

# faults: PostgreSQL stopped under load (a throwaway cluster, never the
# server on :5432), SIGKILL during imports, a full disk (tmpfs, as root);
# package faults with RISKMAP_FAULTS=1 (it builds riskmap itself; the
# outage is RISKMAP_FAULTS_OUTAGE, default 30s); results into docs/FAULTS.md.
faults:
	$(GO) run ./cmd/riskbench faults

# fuzz runs every Fuzz* target of every package for FUZZTIME each.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

lint: vet
	$(GO) run $(STATICCHECK) ./...

clean:
	rm -rf bin node_modules web/static/vendor
