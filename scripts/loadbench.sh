#!/usr/bin/env bash
# Loads the large profile's buildings (580k polygons, 207 MB GeoJSON) into PostGIS with
# riskmap import and with ogr2ogr, in the same run. Needs bin/riskmap,
# /tmp/large from `riskmap fixtures --profile large --out /tmp/large`, gdal-bin.
set -e
P="psql -h 127.0.0.1 -U postgres -q"
for db in lb_riskmap lb_ogr; do $P -c "drop database if exists $db" ; $P -c "create database $db"; $P -d $db -c "create extension postgis"; done
echo "== riskmap import"
/usr/bin/time -f "riskmap: %e s, max RSS %M KB" ./bin/riskmap import --layer buildings --db "postgres://postgres@127.0.0.1:5432/lb_riskmap?sslmode=disable" /tmp/large/buildings.geojson
echo "== ogr2ogr"
/usr/bin/time -f "ogr2ogr: %e s, max RSS %M KB" ogr2ogr -f PostgreSQL "PG:host=127.0.0.1 user=postgres dbname=lb_ogr" /tmp/large/buildings.geojson -nln buildings -lco GEOMETRY_NAME=geom --config PG_USE_COPY YES
$P -d lb_ogr -tA -c "select count(*) from buildings"
$P -d lb_riskmap -tA -c "select count(*) from buildings"
