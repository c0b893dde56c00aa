# riskmap — build, run and test. `make run` serves the Banan demo on the
# embedded store at http://localhost:8080; `make test` runs every test.
GO        ?= go
ADDR      ?= :8080
DATA      ?= ./data
DEB_PKGS  := postgresql-15-postgis-3 gdal-bin chromium
FUZZTIME  ?= 30s

.PHONY: all build run test test-short deps vet bench fuzz lint clean

all: vet test build

build:
	CGO_ENABLED=1 $(GO) build -o bin/riskmap ./cmd/riskmap

run: build
	./bin/riskmap serve --addr $(ADDR) --data $(DATA)

# deps installs, on Debian as root, the packages the tests use (PostGIS for
# the PostgreSQL store, GDAL's ogrinfo as a client, Chromium for the page);
# it does nothing when they are present.
deps:
	@missing=""; for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else echo "missing Debian packages:$$missing (install them, or run as root)"; fi; \
	fi

vet:
	$(GO) vet ./...

test: deps vet
	$(GO) test -count=1 ./...

test-short:
	$(GO) test -short -count=1 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# fuzz runs every fuzz target for FUZZTIME each.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

lint: vet
	$(GO) run honnef.co/go/tools/cmd/staticcheck@2025.1.1 ./...

clean:
	rm -rf bin
