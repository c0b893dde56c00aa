#!/usr/bin/env bash
# tilebench.sh — HTTP load figures of the vector tiles (issue 10), embedded
# store or PostGIS, large profile. Standalone: run from the repository root,
#
#   scripts/tilebench.sh            # or: PORT=18180 DURATION=20 scripts/tilebench.sh
#   DB=postgres://postgres@127.0.0.1:5432/NAME?sslmode=disable scripts/tilebench.sh
#
# With DB the server reads from that PostGIS database (`serve --db`; an
# empty database gets the large profile on the first start, or load it
# first with `riskmap load-fixtures --profile large --db URL`), and the
# CPU of the database's backends is reported too. ONLY=cold skips the
# cached runs. BIN=path uses that binary instead of building one.
#
# Needs go, curl, python3 and wrk (apt-get install -y wrk). What it does:
#  1. builds riskmap into a temporary directory and starts
#     `riskmap serve --profile large` on 127.0.0.1:$PORT with a persisted
#     data directory ($DATA, default /tmp/riskmap-tilebench-large): the first
#     run generates and loads the large profile (a few minutes with the
#     analyses), later runs reopen it;
#  2. asks the server for the H3 res-8 cells of buildings and keeps the
#     built-up ones (at least $MIN_BUILDINGS buildings, default 20); the
#     tile lists are every tile covering those cells: z13–z15 for the
#     buildings runs, z10–z15 for the mixed run (buildings, water_sources,
#     pipelines, enterprises in one tile), each list shuffled with a fixed
#     seed and required to hold at least 2,000 distinct tiles;
#  3. cold: the server runs with --tile-cache-mb 0, so its tile cache keeps
#     nothing and every request renders its tile (the list is cycled for
#     $DURATION seconds); wrk, 2 threads, 16 connections, Accept-Encoding
#     gzip (as browsers send);
#  4. cached: the server restarts with a 2 GB tile cache; a first pass
#     (python, 8 at a time) requests every tile of the list once, checking
#     that none fails and none is over 500 KB (plain MVT), then the same list
#     is requested again with wrk for $DURATION seconds.
# It prints tiles/s and p50/p99 latency of each run, the server's own CPU
# time per tile (user + system, from /proc: the cost of a tile whatever
# else runs on the machine) and the load average. The load generator runs
# on the same 2 cores as the server: the figures include its cost. A run
# takes about 5 minutes once the data directory exists.
set -euo pipefail

PORT=${PORT:-18180}
DURATION=${DURATION:-20}
DATA=${DATA:-/tmp/riskmap-tilebench-large}
DB=${DB:-}
ONLY=${ONLY:-}
MIN_BUILDINGS=${MIN_BUILDINGS:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/tilebench.XXXXXX)
BUILD=${BIN:-}
BIN=${BIN:-$WORK/riskmap}
URL=http://127.0.0.1:$PORT
SERVER=

command -v wrk >/dev/null || { echo "tilebench: wrk is missing (apt-get install -y wrk)" >&2; exit 1; }

stop_server() {
	if [ -n "$SERVER" ]; then
		kill "$SERVER" 2>/dev/null || true
		wait "$SERVER" 2>/dev/null || true
		SERVER=
	fi
}
trap 'stop_server; rm -rf "$WORK"' EXIT

start_server() { # cache MiB
	local store=(--data "$DATA")
	if [ -n "$DB" ]; then store=(--db "$DB"); fi
	"$BIN" serve --addr "127.0.0.1:$PORT" "${store[@]}" --profile large \
		--tile-cache-mb "$1" --timeout 10m --log-level warn >"$WORK/server.log" 2>&1 &
	SERVER=$!
	for _ in $(seq 1 1800); do
		if curl -fsS "$URL/healthz" >/dev/null 2>&1; then return 0; fi
		if ! kill -0 "$SERVER" 2>/dev/null; then cat "$WORK/server.log" >&2; exit 1; fi
		sleep 1
	done
	echo "tilebench: the server did not come up" >&2
	exit 1
}

if [ -z "$BUILD" ]; then
	echo "== build"
	(cd "$ROOT" && go build -o "$BIN" ./cmd/riskmap)
fi

echo "== start (cold: --tile-cache-mb 0)"
start_server 0
# the first H3 request builds the index of 560,000 buildings (--timeout 10m)
curl -fsS "$URL/api/h3/buildings?res=8" >"$WORK/cells.json"

python3 - "$WORK" "$MIN_BUILDINGS" <<'EOF'
import json, math, random, sys
work, minb = sys.argv[1], int(sys.argv[2])
cells = [f for f in json.load(open(work + "/cells.json"))["features"] if f["properties"]["count"] >= minb]
def tile(lon, lat, z):
    n = 2 ** z
    lat = max(-85.05112878, min(85.05112878, lat))
    x = int((lon + 180) / 360 * n)
    s = math.sin(math.radians(lat))
    y = int((0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * n)
    return min(x, n - 1), min(y, n - 1)
def cover(zooms):
    out = set()
    for f in cells:
        ring = f["geometry"]["coordinates"][0]
        lons, lats = [p[0] for p in ring], [p[1] for p in ring]
        for z in zooms:
            x0, y0 = tile(min(lons), max(lats), z)
            x1, y1 = tile(max(lons), min(lats), z)
            out |= {(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)}
    out = sorted(out)
    random.Random(1).shuffle(out)
    return out
for name, ids, zooms in (("buildings", "buildings", range(13, 16)),
                         ("mixed", "buildings,water_sources,pipelines,enterprises", range(10, 16))):
    ts = cover(zooms)
    with open("%s/%s.txt" % (work, name), "w") as fh:
        for z, x, y in ts:
            fh.write("/tiles/%s/%d/%d/%d.mvt\n" % (ids, z, x, y))
    per = {z: sum(1 for t in ts if t[0] == z) for z in zooms}
    print("%s: %d tiles from %d built-up H3 cells, by zoom %s" % (name, len(ts), len(cells), per))
    if len(ts) < 2000:
        sys.exit("tilebench: fewer than 2,000 distinct tiles: lower MIN_BUILDINGS")
EOF

# wrk script: each thread walks the list from its own offset with a
# stride of the thread count; done() prints the figures.
cat >"$WORK/list.lua" <<'EOF'
local paths = {}
for line in io.lines(os.getenv("TILE_LIST")) do paths[#paths + 1] = line end
local counter = 0
function setup(thread)
	thread:set("id", counter)
	counter = counter + 1
end
function init(args)
	i, step = id + 1, 2
	wrk.headers["Accept-Encoding"] = "gzip"
end
function request()
	local p = paths[i]
	i = i + step
	if i > #paths then i = i - #paths end
	return wrk.format("GET", p)
end
function done(summary, latency, requests)
	local s = summary.duration / 1e6
	io.write(string.format("RESULT tiles/s %.0f  p50 %.1f ms  p99 %.1f ms  requests %d  errors %d (non-2xx %d)\n",
		summary.requests / s, latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests,
		summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status))
end
EOF

# CPU time (user + system) the server has used, in clock ticks
server_cpu() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }

# pid and CPU ticks of every backend connected to the database, one a line
db_cpu() {
	[ -n "$DB" ] || return 0
	psql "$DB" -Atc "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()" |
		while read -r pid; do
			[ -r "/proc/$pid/stat" ] && awk -v p="$pid" '{print p, $14 + $15}' "/proc/$pid/stat"
		done
}

run() { # label list duration
	echo "== $1"
	local before after
	db_cpu >"$WORK/db.before"
	before=$(server_cpu)
	TILE_LIST=$WORK/$2.txt wrk -t2 -c16 -d"$3"s --timeout 10s -s "$WORK/list.lua" "$URL" | tee "$WORK/wrk.out" | grep RESULT
	after=$(server_cpu)
	db_cpu >"$WORK/db.after"
	# the server's own CPU per tile: what the tiles cost, whoever else
	# shares the machine
	awk -v t="$(getconf CLK_TCK)" -v c=$((after - before)) '/^RESULT/ {printf "SERVER CPU %.2f ms per tile (%.1f s over %d requests)\n", c / t * 1000 / $11, c / t, $11}' "$WORK/wrk.out"
	if [ -n "$DB" ]; then
		# backends that started during the run count from zero
		awk -v t="$(getconf CLK_TCK)" 'FILENAME ~ /before$/ {b[$1] = $2; next} FILENAME ~ /after$/ {c += $2 - b[$1]; next}
			/^RESULT/ {printf "DATABASE CPU %.2f ms per tile (%.1f s over %d requests, its backends)\n", c / t * 1000 / $11, c / t, $11}' \
			"$WORK/db.before" "$WORK/db.after" "$WORK/wrk.out"
	fi
	echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
}

run "cold z13-z15 buildings" buildings "$DURATION"
run "cold mixed z10-z15, 4 layers" mixed "$DURATION"
stop_server
[ "$ONLY" = cold ] && exit 0

echo "== restart (cached: --tile-cache-mb 2048)"
start_server 2048
warm() { # label list: every tile once, 8 at a time, checking statuses and sizes
	echo "== $1"
	python3 - "$URL" "$WORK/$2.txt" <<'PY'
import sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor
base, paths = sys.argv[1], open(sys.argv[2]).read().split()
def get(p):
    with urllib.request.urlopen(base + p, timeout=60) as r:  # plain MVT
        return r.status, len(r.read())
start = time.time()
with ThreadPoolExecutor(8) as ex:
    res = list(ex.map(get, paths))
bad = [p for p, (st, _) in zip(paths, res) if st not in (200, 204)]
big = max(n for _, n in res)
print("WARM %d tiles in %.1f s, %d failed, largest %d bytes (MVT, not gzipped)%s" % (len(paths), time.time() - start, len(bad), big,
      "" if big <= 500 * 1024 else " (OVER 500 KB)"))
PY
}

warm "first pass: every tile of the buildings list once" buildings
run "cached z13-z15 buildings" buildings "$DURATION"
warm "first pass: every tile of the mixed list once" mixed
run "cached mixed z10-z15, 4 layers" mixed "$DURATION"
