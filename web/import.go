package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"riskmap/geo"
	"riskmap/importers"
	"riskmap/layers"
)

// maxInlineRejects bounds the rejects returned in an import's response.
const maxInlineRejects = 4 << 20

// importFile serves POST /api/collections/{id}/import (editor): a
// multipart upload whose part "file" is a GeoJSON, GeoJSON sequence, CSV,
// zipped Shapefile or GeoPackage (by its name's extension), imported with
// the importers package. Parameters (query): crs, id-field, map=src:dst
// (repeatable, also src=dst), skip-invalid, table (GeoPackage). All or
// nothing unless skip-invalid, when the rejected records come back in
// "rejects" with their reasons.
func (s *server) importFile(w http.ResponseWriter, r *http.Request) error {
	l, err := s.Catalog.Layer(mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	opt, table, err := importOptions(r)
	if err != nil {
		return err
	}
	// an upload may take longer than the server's read timeout
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.ImportTimeout))
	mr, err := r.MultipartReader()
	if err != nil {
		return badRequest("the body must be multipart/form-data with the file in a part named \"file\": %v", err)
	}
	dir, err := os.MkdirTemp("", "riskmap-import-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var path string
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return uploadError(err)
		}
		if part.FormName() != "file" {
			part.Close()
			continue
		}
		if path != "" {
			return badRequest("give one part named \"file\"")
		}
		name := filepath.Base(strings.ReplaceAll(part.FileName(), `\`, "/"))
		if name == "." || name == "/" || name == "" {
			return badRequest("the \"file\" part needs a file name with its extension (.geojson, .geojsonl, .csv, .zip or .gpkg)")
		}
		if format, err := importers.DetectFormat(name); err != nil {
			return badRequest("%v", err)
		} else if format == importers.Shapefile && !strings.EqualFold(filepath.Ext(name), ".zip") {
			return badRequest("%s: upload a Shapefile as a .zip of its .shp, .shx, .dbf (and .prj, .cpg)", name)
		}
		path = filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, part)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return uploadError(err)
		}
	}
	if path == "" {
		return badRequest("no part named \"file\" in the upload")
	}
	src, err := importers.Open(r.Context(), path, table)
	if err != nil {
		return err
	}
	defer src.Close()
	var rejects limitedBuffer
	rejects.max = maxInlineRejects
	if opt.SkipInvalid {
		opt.Rejects = &rejects
	}
	rep, err := importers.Import(r.Context(), s.Store, l, src, opt)
	noteWrite(r, l.ID)
	if err != nil {
		return err
	}
	if l.ID == layers.Hazards && s.Ledger != nil {
		// imported hazards get overdue and listed supervision now, not at the next hourly sweep
		if _, err := s.Ledger.Sweep(r.Context()); err != nil {
			return err
		}
	}
	body := map[string]any{"layer": rep.Layer, "file": filepath.Base(path), "read": rep.Read, "written": rep.Written,
		"rejected": rep.Rejected, "ignored_columns": rep.Ignored, "took_ms": float64(rep.Duration.Microseconds()) / 1000}
	if opt.SkipInvalid {
		list := []json.RawMessage{}
		sc := bufio.NewScanner(bytes.NewReader(rejects.buf.Bytes()))
		sc.Buffer(nil, maxInlineRejects)
		for sc.Scan() {
			list = append(list, json.RawMessage(bytes.Clone(sc.Bytes())))
		}
		body["rejects"] = list
		body["rejects_truncated"] = rejects.truncated
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, "application/json", "", body)
}

// uploadError keeps a body-size error as is (413) and makes the others a
// client error.
func uploadError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Errorf("upload larger than %d bytes: %w", mbe.Limit, err)
	}
	return badRequest("reading the upload: %v", err)
}

// importOptions reads the query parameters of an import.
func importOptions(r *http.Request) (importers.Options, string, error) {
	var opt importers.Options
	table := ""
	for key, vals := range r.URL.Query() {
		if key != "map" && len(vals) != 1 {
			return opt, "", badRequest("parameter %q is given %d times", key, len(vals))
		}
		switch key {
		case "crs":
			c, err := geo.ParseCRS(vals[0])
			if err != nil {
				return opt, "", badRequest("crs: %v", err)
			}
			opt.CRS = &c
		case "id-field":
			opt.IDField = vals[0]
		case "skip-invalid":
			b, err := strconv.ParseBool(vals[0])
			if err != nil {
				return opt, "", badRequest("skip-invalid must be true or false, got %q", vals[0])
			}
			opt.SkipInvalid = b
		case "table":
			table = vals[0]
		case "map":
			opt.Map = map[string]string{}
			for _, m := range vals {
				src, dst, ok := strings.Cut(m, ":")
				if !ok {
					src, dst, ok = strings.Cut(m, "=")
				}
				if !ok || src == "" || dst == "" {
					return opt, "", badRequest("map must be source:field (or source=field), got %q", m)
				}
				opt.Map[src] = dst
			}
		default:
			return opt, "", badRequest("unknown parameter %q: an import takes crs, id-field, map, skip-invalid and table", key)
		}
	}
	return opt, table, nil
}

// limitedBuffer keeps the first max bytes written, in whole lines, and
// notes whether it dropped any.
type limitedBuffer struct {
	buf       bytes.Buffer
	max       int
	truncated bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.truncated || b.buf.Len()+len(p) > b.max {
		b.truncated = true
		return len(p), nil
	}
	return b.buf.Write(p)
}
