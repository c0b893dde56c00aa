package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"riskmap/dispatch"
	"riskmap/layers"
)

// The OpenAPI 3.0 description of the routes, served at /api/openapi.json
// and linked from the landing page as service-desc. TestOpenAPIMatchesRoutes
// checks that it lists exactly the routes of the router.

func (s *server) openapi(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, "application/vnd.oai.openapi+json;version=3.0", cacheStatic, s.openAPIDoc(baseURL(r)))
}

type obj = map[string]any

func param(name, in, desc string, schema obj) obj {
	p := obj{"name": name, "in": in, "description": desc, "schema": schema}
	if in == "path" {
		p["required"] = true
	}
	return p
}

func query(name, desc string, schema obj) obj { return param(name, "query", desc, schema) }

var (
	str     = obj{"type": "string"}
	integer = obj{"type": "integer"}
	crsEnum = obj{"type": "string", "default": "wgs84", "description": "wgs84 (CRS84), cgcs2000, gcj02, bd09, or their EPSG/OGC URIs"}
)

// op is a GET operation answering 200 with a body of contentType.
func op(id, summary string, contentType string, params ...obj) obj {
	if params == nil {
		params = []obj{}
	}
	errRef := obj{"$ref": "#/components/responses/Error"}
	return obj{"get": obj{
		"operationId": id, "summary": summary, "parameters": params,
		"responses": obj{
			"200":     obj{"description": summary, "content": obj{contentType: obj{"schema": obj{"type": "object"}}}},
			"400":     errRef,
			"404":     errRef,
			"default": errRef,
		},
	}}
}

// write is an operation that needs a token with role (see docs/API.md
// "Access control"), answering 200 (or 201) with a JSON body.
func write(method, id, summary, role, bodyType string, params ...obj) obj {
	if params == nil {
		params = []obj{}
	}
	errRef := obj{"$ref": "#/components/responses/Error"}
	o := obj{
		"operationId": id, "summary": summary + " (" + role + " token)", "parameters": params,
		"security": []obj{{"bearer": []string{}}},
		"responses": obj{
			"200":     obj{"description": summary, "content": obj{"application/json": obj{"schema": obj{"type": "object"}}}},
			"400":     errRef,
			"401":     errRef,
			"403":     errRef,
			"default": errRef,
		},
	}
	if bodyType != "" {
		o["requestBody"] = obj{"required": true, "content": obj{bodyType: obj{"schema": obj{"type": "object"}}}}
	}
	return obj{method: o}
}

// with merges the operations of several methods on one path.
func with(ops ...obj) obj {
	out := obj{}
	for _, o := range ops {
		for m, v := range o {
			out[m] = v
		}
	}
	return out
}

func (s *server) openAPIDoc(base string) obj {
	collectionID := param("collectionId", "path", "layer id, as listed by /api/collections", str)
	paths := obj{
		"/healthz":                        op("health", "Health of the service and its store", "application/json"),
		"/api":                            op("getLandingPage", "Landing page", "application/json"),
		"/api/conformance":                op("getConformanceDeclaration", "Conformance classes implemented", "application/json"),
		"/api/openapi.json":               op("getOpenAPI", "This document", "application/vnd.oai.openapi+json;version=3.0"),
		"/api/collections":                op("getCollections", "Every layer, base and derived", "application/json"),
		"/api/collections/{collectionId}": op("describeCollection", "One layer", "application/json", collectionID),
		"/api/collections/{collectionId}/queryables": op("getQueryables", "Properties a filter may use, as JSON Schema", "application/schema+json", collectionID),
		"/api/collections/{collectionId}/items": op("getFeatures", "Features of a layer, a page at a time (or all of them with f=csv)", "application/geo+json",
			collectionID,
			query("bbox", "minLon,minLat,maxLon,maxLat (in bbox-crs); at most 4 square degrees", str),
			query("bbox-crs", "CRS of bbox", crsEnum),
			query("limit", "page size", obj{"type": "integer", "minimum": 1, "maximum": maxLimit, "default": defaultLimit}),
			query("after", "keyset cursor: features with id greater than this (id order)", obj{"type": "integer", "minimum": 0}),
			query("offset", "with sortby: features skipped", obj{"type": "integer", "minimum": 0, "maximum": maxSorted}),
			query("crs", "CRS of the output geometry", crsEnum),
			query("f", "json or geojson (default), csv", obj{"type": "string", "enum": []string{"json", "geojson", "csv"}}),
			query("filter", "CQL2-text filter (comparisons, AND/OR/NOT, IN, LIKE, BETWEEN, IS NULL, S_INTERSECTS, S_DWITHIN in metres)", obj{"type": "string", "maxLength": 8192}),
			query("filter-lang", "language of filter", obj{"type": "string", "enum": []string{"cql2-text"}}),
			query("filter-crs", "CRS of the geometries in filter", crsEnum),
			query("properties", "comma list of the fields to return", str),
			query("sortby", "comma list of fields (or id), each +ascending (default) or -descending; ties by id; at most 5", str),
		),
		"/api/collections/{collectionId}/items/{featureId}": op("getFeature", "One feature", "application/geo+json",
			collectionID, param("featureId", "path", "feature id", integer),
			query("crs", "CRS of the output geometry", crsEnum),
			query("f", "json or geojson", obj{"type": "string", "enum": []string{"json", "geojson"}})),
		"/api/dispatch": op("dispatch", "Briefing for an incident point: water sources, fire stations with ETA, dangerous sites, hazards, flood spots, life lanes, town", "application/json",
			obj{"name": "lon", "in": "query", "required": true, "description": "longitude in crs", "schema": obj{"type": "number", "minimum": -180, "maximum": 180}},
			obj{"name": "lat", "in": "query", "required": true, "description": "latitude in crs", "schema": obj{"type": "number", "minimum": -90, "maximum": 90}},
			query("crs", "CRS of lon, lat and of the coordinates answered", crsEnum),
			query("k", "nearest water sources, stations and life lanes listed", obj{"type": "integer", "minimum": 1, "maximum": dispatch.MaxK, "default": 5})),
	}
	paths["/api/whoami"] = op("whoami", "The name and role of the caller's token (401 without one)", "application/json")
	paths["/api/collections/{collectionId}/import"] = write("post", "importFile", "Import a file into a layer: all or nothing unless skip-invalid", "editor", "multipart/form-data",
		collectionID,
		query("crs", "CRS of the file's coordinates", crsEnum),
		query("id-field", "source field holding the feature id", str),
		query("map", "field mapping src:dst (repeatable)", str),
		query("skip-invalid", "write the valid rows and answer the rejects", obj{"type": "boolean"}),
		query("table", "GeoPackage table to read", str))
	if s.Auth != nil {
		paths["/api/audit"] = op("getAudit", "The audit log of writes (admin token)", "application/json")
		paths["/api/tokens"] = with(op("listTokens", "API tokens, without their secrets (admin token)", "application/json"),
			write("post", "createToken", "Create a token; its secret is answered once", "admin", "application/json"))
		paths["/api/tokens/{token}"] = write("delete", "revokeToken", "Revoke a token at once", "admin", "",
			param("token", "path", "token id or name", str))
	}
	if s.Ledger != nil {
		hazardID := param("hazardId", "path", "hazard id", integer)
		paths["/api/hazards"] = write("post", "createHazard", "Report a hazard (a GeoJSON Feature of the hazards layer)", "editor", "application/geo+json")
		paths["/api/hazards/stats"] = op("hazardStats", "Hazards per town and state, overdue and listed supervision, campaign targets", "application/json",
			query("year", "campaign year", integer))
		paths["/api/hazards/{hazardId}"] = op("getHazard", "A hazard with its allowed moves and history", "application/geo+json", hazardID)
		paths["/api/hazards/{hazardId}/history"] = op("hazardHistory", "Every transition of a hazard", "application/json", hazardID)
		paths["/api/hazards/{hazardId}/transitions"] = write("post", "transitionHazard", "Move a hazard to another state (409 with the allowed ones)", "editor", "application/json", hazardID)
	}
	if s.Analyses != nil {
		paths["/api/analyses"] = op("getAnalyses", "Analyses with their rules, inputs and last district summary", "application/json")
		paths["/api/analyses/{analysisId}"] = op("runAnalysis", "Run an analysis for a town, an area or a what-if", "application/json",
			param("analysisId", "path", "analysis id", str),
			query("town", "one town (镇街) by name", str),
			query("bbox", "an area: minLon,minLat,maxLon,maxLat", str),
			query("exclude", "what-if: water source ids taken out of service (comma list, at most 1,000)", str),
			query("status", "what-if: water-source statuses counted as usable (comma list)", str),
			query("limit", "features returned per derived layer", obj{"type": "integer", "minimum": 0, "maximum": maxLimit, "default": 1000}))
	}
	if s.Tiles != nil {
		ids := param("ids", "path", "a layer id or a comma list of them", str)
		paths["/tiles/{ids}/{z}/{x}/{y}.mvt"] = op("getTile", "Mapbox Vector Tile", "application/vnd.mapbox-vector-tile",
			ids, param("z", "path", "zoom", integer), param("x", "path", "column", integer), param("y", "path", "row", integer))
		paths["/tiles/{ids}.json"] = op("getTileJSON", "TileJSON 3.0 of the tiles", "application/json", ids)
		paths["/api/h3/{id}"] = op("getH3", "H3 cells of a layer with values", "application/geo+json",
			param("id", "path", "layer id", str),
			query("res", "H3 resolution", integer), query("bbox", "minLon,minLat,maxLon,maxLat", str), query("metric", "value of each cell", str))
	}
	return obj{
		"openapi": "3.0.3",
		"info": obj{
			"title":       "riskmap — 巴南区安全风险一张图",
			"version":     "1.0.0",
			"description": "Banan District safety risk layers (OGC API – Features with CQL2-text filters), analyses, dispatch briefings and vector tiles.",
		},
		"servers": []obj{{"url": base}},
		"paths":   paths,
		"components": obj{
			"securitySchemes": obj{"bearer": obj{"type": "http", "scheme": "bearer", "description": "riskmap token (riskmap token create)"}},
			"responses": obj{"Error": obj{
				"description": "an error: 400 invalid parameter, 401 no or unknown token, 403 role too low, 404 not found, 409 conflict, 413 too large, 429 too many writes, 503 store unavailable, 504 timeout, 500 internal",
				"content": obj{"application/json": obj{"schema": obj{
					"type":     "object",
					"required": []string{"code", "message"},
					"properties": obj{
						"code": str, "message": str, "error": obj{"type": "string", "description": "the message again"},
					},
				}}},
			}}},
	}
}

// queryables describes the properties a filter of a layer may use (OGC
// API – Features Part 3), as JSON Schema.
func (s *server) queryables(w http.ResponseWriter, r *http.Request) error {
	l, err := s.Catalog.Layer(mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	props := obj{"geometry": obj{"format": "geometry-any", "title": "geometry (S_INTERSECTS, S_DWITHIN)"}}
	for _, f := range l.Fields {
		p := obj{"title": f.Title.Zh + " " + f.Title.En}
		switch f.Type {
		case layers.Int:
			p["type"] = "integer"
		case layers.Float:
			p["type"] = "number"
		case layers.Bool:
			p["type"] = "boolean"
		case layers.Date:
			p["type"], p["format"] = "string", "date"
		case layers.Enum:
			codes := make([]string, len(f.Values))
			for i, v := range f.Values {
				codes[i] = v.Code
			}
			p["type"], p["enum"] = "string", codes
		default:
			p["type"] = "string"
		}
		props[f.Name] = p
	}
	return writeJSON(w, "application/schema+json", cacheStatic, obj{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  baseURL(r) + "/api/collections/" + l.ID + "/queryables",
		"type":                 "object",
		"title":                l.Title.Zh + " " + l.Title.En,
		"properties":           props,
		"additionalProperties": false,
	})
}
