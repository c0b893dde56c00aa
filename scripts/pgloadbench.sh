#!/usr/bin/env bash
# pgloadbench.sh — PostGIS load benchmarks, riskmap beside ogr2ogr in the same run
# (issues 3 and 6; figures go to docs/BENCHMARKS.md).
#
#   scripts/pgloadbench.sh            # from the module root; RUNS=3 by default
#   RUNS=5 WORK=/tmp/plb scripts/pgloadbench.sh
#   PARTS=b DB_PREFIX=imports_bench scripts/pgloadbench.sh   # the point files only
#
# Needs: go, psql and ogr2ogr (gdal-bin), /usr/bin/time, awk, a PostgreSQL with
# PostGIS reachable as PGURL (default postgres://postgres@127.0.0.1:5432, trust
# auth). It creates the databases ${DB_PREFIX}_rm and ${DB_PREFIX}_ogr
# (DB_PREFIX=riskmap_pg_bench by default), recreates them before every run
# and drops them at the end. PARTS (default "ab") picks the parts below.
#
# a) the large profile: `riskmap fixtures --profile large` writes its 13 layers
#    as GeoJSON; each run loads all 13 files into an empty database with
#    `riskmap import --skip-analyses` and with `ogr2ogr -f PostgreSQL` (COPY).
#    Once more: `riskmap load-fixtures --profile large`, which loads from memory
#    and then computes the analyses (reported apart).
# b) generated water_sources points over Banan's bounding box, two file sizes
#    (N1 and N2 points, default 500,000 and 1,000,000): `riskmap import` into
#    PostGIS, into the embedded store (--data), and ogr2ogr into PostGIS, with
#    the peak RSS of each (/usr/bin/time). Analyses skipped (--skip-analyses).
#
# Output: one line per measurement, then medians per case (rows/s, peak RSS).
set -euo pipefail

RUNS=${RUNS:-3}
export PGOPTIONS="-c client_min_messages=warning"
WORK=${WORK:-/tmp/riskmap-pgloadbench}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
N1=${N1:-500000}
N2=${N2:-1000000}
PARTS=${PARTS:-ab}
DB_PREFIX=${DB_PREFIX:-riskmap_pg_bench}
DB_RM=${DB_PREFIX}_rm
DB_OGR=${DB_PREFIX}_ogr
PSQL=(psql "$PGURL/postgres?sslmode=disable" -qtA -v ON_ERROR_STOP=1)
OGRPG="PG:$(echo "$PGURL" | sed -E 's#postgres(ql)?://([^@]+)@([^:/]+):?([0-9]*).*#host=\3 port=\4 user=\2#; s/port= /port=5432 /')"

mkdir -p "$WORK"
RESULTS="$WORK/results.tsv"
: >"$RESULTS"

cleanup() {
	for db in $DB_RM $DB_OGR; do "${PSQL[@]}" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true; done
}
trap cleanup EXIT

freshdb() { # name
	"${PSQL[@]}" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)"
	"${PSQL[@]}" -c "CREATE DATABASE $1"
	psql "$PGURL/$1?sslmode=disable" -qtA -c "CREATE EXTENSION postgis"
}

# measure CASE ROWS cmd… : runs cmd under /usr/bin/time, records seconds and peak RSS
measure() {
	local case=$1 rows=$2
	shift 2
	/usr/bin/time -f "%e %M %U %S" -o "$WORK/time.txt" "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" || {
		cat "$WORK/out.txt" "$WORK/err.txt" >&2
		exit 1
	}
	read -r secs kb usr sys <"$WORK/time.txt"
	printf '%s\t%s\t%s\t%s\t%s\n' "$case" "$rows" "$secs" "$kb" "$(awk -v u="$usr" -v s="$sys" 'BEGIN {print u + s}')" | tee -a "$RESULTS"
}

echo "== build"
go build -o "$WORK/riskmap" ./cmd/riskmap
RM="$WORK/riskmap"
ogr2ogr --version
uname -a
nproc
uptime

LARGE_ROWS=0 LAYERS=
if [[ $PARTS == *a* ]]; then
	if [ ! -f "$WORK/large/manifest.json" ]; then
		echo "== large profile as GeoJSON"
		"$RM" fixtures --profile large --out "$WORK/large" >/dev/null
	fi
	LARGE_ROWS=$(awk -F: '/"[a-z_]+": [0-9]+/ {gsub(/[^0-9]/, "", $2); s += $2} END {print s}' "$WORK/large/manifest.json")
	LAYERS=$(ls "$WORK/large"/*.geojson | xargs -n1 basename | sed 's/\.geojson$//' | tr '\n' ' ')
fi

# points FILE N: N water sources, deterministic, over Banan's bounding box
points() {
	awk -v n="$2" 'BEGIN {
		srand(20261129)
		split("hydrant hydrant hydrant fire_pool natural_intake forest_pool", kinds, " ")
		split("in_service in_service in_service faulty planned", states, " ")
		printf "{\"type\":\"FeatureCollection\",\"features\":[\n"
		for (i = 1; i <= n; i++) {
			printf "%s{\"type\":\"Feature\",\"id\":%d,\"geometry\":{\"type\":\"Point\",\"coordinates\":[%.7f,%.7f]},\"properties\":{\"name\":\"水源%d\",\"kind\":\"%s\",\"status\":\"%s\",\"flow_lps\":%.1f,\"key_area\":%s}}\n",
				(i > 1 ? "," : ""), i, 106.43 + rand() * 0.57, 29.13 + rand() * 0.64, i,
				kinds[int(rand() * 6) + 1], states[int(rand() * 5) + 1], 5 + rand() * 30, (rand() < 0.2 ? "true" : "false")
		}
		printf "]}\n"
	}' >"$1"
}
for n in "$N1" "$N2"; do
	[ -f "$WORK/points-$n.geojson" ] || points "$WORK/points-$n.geojson" "$n"
done
ls -l "$WORK"/points-*.geojson
[[ $PARTS != *a* ]] || ls -l "$WORK/large"/*.geojson

# the 13 layers one after the other, as one command (time reports the
# largest RSS of the processes it waited for)
LARGE_RM="for l in $LAYERS; do '$RM' import --skip-analyses --layer \$l --db '$PGURL/$DB_RM?sslmode=disable' '$WORK/large/'\$l.geojson || exit 1; done"
LARGE_OGR="for l in $LAYERS; do ogr2ogr -f PostgreSQL '$OGRPG dbname=$DB_OGR' '$WORK/large/'\$l.geojson -nln \$l -lco GEOMETRY_NAME=geom -lco FID=id --config PG_USE_COPY YES || exit 1; done"

for run in $(seq "$RUNS"); do
	echo "== run $run of $RUNS ($(uptime))"
	if [[ $PARTS == *a* ]]; then
		freshdb $DB_RM
		measure "a large: riskmap import" "$LARGE_ROWS" bash -c "$LARGE_RM"
		freshdb $DB_OGR
		measure "a large: ogr2ogr" "$LARGE_ROWS" bash -c "$LARGE_OGR"
	fi
	[[ $PARTS == *b* ]] || continue
	for n in "$N1" "$N2"; do
		f="$WORK/points-$n.geojson"
		freshdb $DB_RM
		measure "b $n points: riskmap import, PostGIS" "$n" "$RM" import --skip-analyses --layer water_sources --db "$PGURL/$DB_RM?sslmode=disable" "$f"
		rm -rf "$WORK/data"
		measure "b $n points: riskmap import, embedded" "$n" "$RM" import --skip-analyses --layer water_sources --data "$WORK/data" "$f"
		freshdb $DB_OGR
		measure "b $n points: ogr2ogr, PostGIS" "$n" ogr2ogr -f PostgreSQL "$OGRPG dbname=$DB_OGR" "$f" -nln water_sources \
			-lco GEOMETRY_NAME=geom -lco FID=id --config PG_USE_COPY YES
	done
done
rm -rf "$WORK/data"

if [[ $PARTS == *a* ]]; then
	echo "== load-fixtures --profile large (once; generation, load and analyses timed apart)"
	freshdb $DB_RM
	measure "a large: riskmap load-fixtures (whole command)" "$LARGE_ROWS" "$RM" load-fixtures --profile large --db "$PGURL/$DB_RM?sslmode=disable"
	cat "$WORK/out.txt"
fi

echo "== medians of $RUNS runs"
printf '%-45s %10s %9s %10s %12s %7s\n' case rows seconds rows/s "peak RSS MB" "CPU s"
cut -f1 "$RESULTS" | awk '!seen[$0]++' | while IFS= read -r c; do
	awk -F'\t' -v c="$c" '$1 == c {print $2 "\t" $3 "\t" $4 "\t" $5}' "$RESULTS" | sort -t$'\t' -k2,2g | awk -F'\t' -v c="$c" '
		{ rows = $1; s[NR] = $2; m[NR] = $3; u[NR] = $4 }
		END {
			med = s[int((NR + 1) / 2)]
			n = asort(m); rss = m[int((n + 1) / 2)]
			n = asort(u); cpu = u[int((n + 1) / 2)]
			printf "%-45s %10d %9.1f %10.0f %12.0f %7.1f\n", c, rows, med, rows / med, rss / 1024, cpu
		}'
done
