package importers_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/paulmach/orb"
	"golang.org/x/text/encoding/simplifiedchinese"

	"riskmap/importers"
)

func readAll(t *testing.T, d importers.Decoder) ([]importers.Record, error) {
	t.Helper()
	var out []importers.Record
	for {
		r, err := d.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
}

func TestGeoJSONShapes(t *testing.T) {
	tests := []struct {
		name, in string
		n        int
		errHas   string
	}{
		{"collection", `{"type":"FeatureCollection","name":"x","features":[
			{"type":"Feature","id":7,"geometry":{"type":"Point","coordinates":[106.5,29.4]},"properties":{"kind":"hydrant","flow":15,"x":{"a":1},"n":null}},
			{"type":"Feature","geometry":{"type":"Point","coordinates":[106.6,29.4]},"properties":{}}],"crs":{"type":"name"}}`, 2, ""},
		{"features first", `{"features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":null}],"type":"FeatureCollection"}`, 1, ""},
		{"bare array (DataV)", `[{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"adcode":500113}}]`, 1, ""},
		{"single feature", `{"type":"Feature","properties":{"name":"a"},"geometry":{"type":"Point","coordinates":[1,2]}}`, 1, ""},
		{"bare geometry", `{"type":"Point","coordinates":[1,2]}`, 1, ""},
		{"empty collection", `{"type":"FeatureCollection","features":[]}`, 0, ""},
		{"bad geometry in feature 2", `{"type":"FeatureCollection","features":[
			{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{}},
			{"type":"Feature","geometry":{"type":"Nope","coordinates":[1,2]},"properties":{}}]}`, 1, "feature 2"},
		{"geometry collection and heights", `[{"type":"Feature","geometry":{"type":"GeometryCollection","geometries":[
			{"type":"Point","coordinates":[1,2,3]},{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]]]}]},"properties":{}}]`, 1, ""},
		{"short position", `[{"type":"Feature","geometry":{"type":"LineString","coordinates":[[1,2],[3]]},"properties":{}}]`, 0, `feature 1: field "geometry": a position has 1 numbers`},
		{"text coordinate", `[{"type":"Feature","geometry":{"type":"Point","coordinates":[1,"2"]},"properties":{}}]`, 0, `feature 1: field "geometry": coordinate "2" is not a number`},
		{"properties not an object", `[{"type":"Feature","geometry":null,"properties":[1]}]`, 0, "properties is a JSON array"},
		{"not a feature", `[{"type":"Point","coordinates":[1,2]}]`, 0, `type is "Point", want "Feature"`},
		{"broken json", `{"type":"FeatureCollection","features":[{"type":"Feature",`, 0, "malformed"},
		{"not geojson", `42`, 0, "malformed"},
		{"empty", ``, 0, "empty file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := readAll(t, importers.NewGeoJSON(strings.NewReader(tt.in), "in.geojson"))
			if tt.errHas == "" && err != nil {
				t.Fatalf("error %v", err)
			}
			if tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas)) {
				t.Fatalf("error %v, want one containing %q", err, tt.errHas)
			}
			if len(recs) != tt.n {
				t.Fatalf("%d records, want %d", len(recs), tt.n)
			}
		})
	}
	recs, _ := readAll(t, importers.NewGeoJSON(strings.NewReader(tests[0].in), "in.geojson"))
	r := recs[0]
	if r.ID != int64(7) || r.Props["flow"] != int64(15) || r.Props["x"] != `{"a":1}` || r.Props["n"] != nil || r.Geometry != (orb.Point{106.5, 29.4}) {
		t.Errorf("record = %+v", r)
	}
	if r.Where() != "in.geojson feature 1" {
		t.Errorf("where = %q", r.Where())
	}
}

func TestGeoJSONSeq(t *testing.T) {
	in := "\x1e{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]},\"properties\":{}}\n\n" +
		"{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[3,4]},\"properties\":{\"a\":1.5}}\n"
	recs, err := readAll(t, importers.NewGeoJSONSeq(strings.NewReader(in), "in.geojsonl"))
	if err != nil || len(recs) != 2 || recs[1].Pos != "line 3" || recs[1].Props["a"] != 1.5 {
		t.Fatalf("recs=%+v err=%v", recs, err)
	}
}

func TestCSV(t *testing.T) {
	utf := "\xef\xbb\xbf名称,经度,纬度,风险等级\n甲厂,106.52,29.38,重大\n乙厂,106.53,29.39,一般\n"
	gbk, err := simplifiedchinese.GBK.NewEncoder().String("名称,lon,lat\n消火栓一,106.52,29.38\n")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, in string
		n        int
		errHas   string
	}{
		{"utf-8 with BOM and Chinese headers", utf, 2, ""},
		{"gbk", gbk, 1, ""},
		{"wkt", "id,wkt,kind\n1,\"LINESTRING (106.5 29.4, 106.6 29.5)\",fire_lane\n", 1, ""},
		{"bad lon on line 3", "name,lon,lat\na,106.5,29.4\nb,east,29.4\n", 1, "line 3: field \"lon\""},
		{"bad wkt", "wkt\nPOINT (1\n", 0, "bad WKT"},
		{"no coordinates", "name,x1\na,1\n", 0, "no coordinate columns"},
		{"too many values", "name,lon,lat\na,1,2,3\n", 0, "4 values for 3 columns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := importers.NewCSV(strings.NewReader(tt.in), "in.csv")
			var recs []importers.Record
			if err == nil {
				recs, err = readAll(t, d)
			}
			if tt.errHas == "" && err != nil {
				t.Fatalf("error %v", err)
			}
			if tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas)) {
				t.Fatalf("error %v, want one containing %q", err, tt.errHas)
			}
			if len(recs) != tt.n {
				t.Fatalf("%d records, want %d", len(recs), tt.n)
			}
		})
	}
	d, _ := importers.NewCSV(strings.NewReader(gbk), "in.csv")
	recs, _ := readAll(t, d)
	if recs[0].Props["名称"] != "消火栓一" || recs[0].Pos != "line 2" {
		t.Errorf("gbk record = %+v", recs[0])
	}
}

// shapefile writes a minimal .shp and .dbf holding polygons (or points when
// rings is nil) with one text field "name".
func shapefile(points []orb.Point, rings [][]orb.Ring, names []string) (shp, dbf []byte) {
	var body bytes.Buffer
	le, be := binary.LittleEndian, binary.BigEndian
	n := len(points)
	if rings != nil {
		n = len(rings)
	}
	for i := range n {
		var c bytes.Buffer
		if rings == nil {
			_ = binary.Write(&c, le, int32(1))
			_ = binary.Write(&c, le, points[i])
		} else {
			_ = binary.Write(&c, le, int32(5))
			_ = binary.Write(&c, le, [4]float64{})
			total := 0
			for _, r := range rings[i] {
				total += len(r)
			}
			_ = binary.Write(&c, le, int32(len(rings[i])))
			_ = binary.Write(&c, le, int32(total))
			at := 0
			for _, r := range rings[i] {
				_ = binary.Write(&c, le, int32(at))
				at += len(r)
			}
			for _, r := range rings[i] {
				for _, p := range r {
					_ = binary.Write(&c, le, p)
				}
			}
		}
		_ = binary.Write(&body, be, int32(i+1))
		_ = binary.Write(&body, be, int32(c.Len()/2))
		body.Write(c.Bytes())
	}
	hdr := make([]byte, 100)
	be.PutUint32(hdr[0:], 9994)
	be.PutUint32(hdr[24:], uint32((100+body.Len())/2))
	le.PutUint32(hdr[28:], 1000)
	shp = append(hdr, body.Bytes()...)

	var d bytes.Buffer
	h := make([]byte, 32)
	h[0] = 3
	le.PutUint32(h[4:], uint32(n))
	le.PutUint16(h[8:], 32+32+1)
	le.PutUint16(h[10:], 1+20)
	d.Write(h)
	f := make([]byte, 32)
	copy(f, "name")
	f[11] = 'C'
	f[16] = 20
	d.Write(f)
	d.WriteByte(0x0d)
	for i := range n {
		rec := make([]byte, 21)
		for k := range rec {
			rec[k] = ' '
		}
		copy(rec[1:], names[i])
		d.Write(rec)
	}
	return shp, d.Bytes()
}

func TestShapefile(t *testing.T) {
	outer := orb.Ring{{106.5, 29.4}, {106.5, 29.5}, {106.6, 29.5}, {106.6, 29.4}, {106.5, 29.4}}          // clockwise
	hole := orb.Ring{{106.52, 29.42}, {106.58, 29.42}, {106.58, 29.48}, {106.52, 29.48}, {106.52, 29.42}} // counter-clockwise
	gbkName, _ := simplifiedchinese.GBK.NewEncoder().String("鱼洞")
	shp, dbf := shapefile(nil, [][]orb.Ring{{outer, hole}}, []string{gbkName})
	d, err := importers.NewShapefile(importers.ShapefileParts{Name: "towns", Shp: bytes.NewReader(shp), Dbf: bytes.NewReader(dbf),
		Prj: `GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000"]]`, Cpg: "GBK"})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := readAll(t, d)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := recs[0].Geometry.(orb.Polygon)
	if len(recs) != 1 || !ok || len(p) != 2 || recs[0].Props["name"] != "鱼洞" {
		t.Fatalf("recs = %+v", recs)
	}
	if _, err := importers.NewShapefile(importers.ShapefileParts{Name: "x", Shp: bytes.NewReader(shp), Dbf: bytes.NewReader(dbf),
		Prj: `PROJCS["CGCS2000_3_Degree_GK_CM_108E"]`}); err == nil || !strings.Contains(err.Error(), "projected") {
		t.Errorf("projected prj: %v", err)
	}
	// a truncated .shp names the record
	d, _ = importers.NewShapefile(importers.ShapefileParts{Name: "t", Shp: bytes.NewReader(shp[:len(shp)-9]), Dbf: bytes.NewReader(dbf)})
	if _, err := readAll(t, d); err == nil || !strings.Contains(err.Error(), "record 1") {
		t.Errorf("truncated: %v", err)
	}
}

func FuzzGeoJSON(f *testing.F) {
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"a":1}}]}`))
	f.Add([]byte(`[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]},"properties":null}]`))
	f.Add([]byte(`{"type":"Feature","geometry":null,"properties":{}}`))
	f.Add([]byte(`{"name":"a \" ] }","features":[{"type":"Feature","properties":{"s":"[{\\"},"geometry":null} , 7 ,"x", [1,{}] ],"bbox":[1,2,3,4]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		// what encoding/json says of the input: a valid array, or an
		// object with one features array, must not be a syntax error,
		// and every element must come out as a record or a record error
		want := -1
		var top any
		if json.Unmarshal(b, &top) == nil {
			switch x := top.(type) {
			case []any:
				want = len(x)
			case map[string]any:
				typ, hasType := x["type"]
				if fs, ok := x["features"].([]any); ok && bytes.Count(b, []byte(`"features"`)) == 1 && (!hasType || typ == "FeatureCollection") {
					want = len(fs)
				}
			}
		}
		d := importers.NewGeoJSON(bytes.NewReader(b), "f")
		got := 0
		for range 1000 {
			_, err := d.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if errors.Is(err, importers.ErrSyntax) {
				if want >= 0 {
					t.Fatalf("valid JSON with %d features: %v", want, err)
				}
				return
			}
			got++
		}
		if want >= 0 && got != want {
			t.Fatalf("%d records, want %d", got, want)
		}
	})
}

func FuzzGeoJSONSeq(f *testing.F) {
	f.Add([]byte("{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]},\"properties\":{}}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := importers.NewGeoJSONSeq(bytes.NewReader(b), "f")
		for range 1000 {
			if _, err := d.Next(); errors.Is(err, io.EOF) || errors.Is(err, importers.ErrSyntax) {
				return
			}
		}
	})
}

func FuzzCSV(f *testing.F) {
	f.Add([]byte("name,lon,lat\na,106.5,29.4\n"))
	f.Add([]byte("wkt\n\"POLYGON ((0 0, 1 0, 1 1, 0 0))\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := importers.NewCSV(bytes.NewReader(b), "f")
		if err != nil {
			return
		}
		for range 1000 {
			if _, err := d.Next(); errors.Is(err, io.EOF) || errors.Is(err, importers.ErrSyntax) {
				return
			}
		}
	})
}

func FuzzShapefile(f *testing.F) {
	shp, dbf := shapefile([]orb.Point{{106.5, 29.4}, {106.6, 29.5}}, nil, []string{"a", "b"})
	f.Add(shp, dbf)
	shp, dbf = shapefile(nil, [][]orb.Ring{{{{0, 0}, {0, 1}, {1, 1}, {0, 0}}}}, []string{"p"})
	f.Add(shp, dbf)
	f.Fuzz(func(t *testing.T, shp, dbf []byte) {
		d, err := importers.NewShapefile(importers.ShapefileParts{Name: "f", Shp: bytes.NewReader(shp), Dbf: bytes.NewReader(dbf)})
		if err != nil {
			return
		}
		for range 1000 {
			if _, err := d.Next(); errors.Is(err, io.EOF) || errors.Is(err, importers.ErrSyntax) {
				return
			}
		}
	})
}

// TestGeoJSONChunks reads the same document whole, a byte at a time and
// with a feature larger than the decoder's 64 KiB buffer: the scanner's
// refills must not change what comes out.
func TestGeoJSONChunks(t *testing.T) {
	var ring strings.Builder
	for i := range 6000 {
		fmt.Fprintf(&ring, "[%d.123456789,29.4],", 106+i%2)
	}
	doc := `{"type":"FeatureCollection","name":"a \"quoted\" ] name","features":[
		{"type":"Feature","id":"a\\\"]}","geometry":{"type":"Point","coordinates":[106.5,29.4]},"properties":{"s":"{[\\\\"}},
		{"type":"Feature","geometry":{"type":"LineString","coordinates":[` + ring.String() + `[106,29.4]]},"properties":{"n":1e3}}
	],"bbox":[1,2,3,4]}`
	whole, err := readAll(t, importers.NewGeoJSON(strings.NewReader(doc), "f"))
	if err != nil || len(whole) != 2 {
		t.Fatalf("whole: %d records, %v", len(whole), err)
	}
	if whole[0].ID != `a\"]}` || whole[0].Props["s"] != `{[\\` || len(whole[1].Geometry.(orb.LineString)) != 6001 {
		t.Fatalf("records %v %v", whole[0], whole[1].Props)
	}
	bytewise, err := readAll(t, importers.NewGeoJSON(iotest.OneByteReader(strings.NewReader(doc)), "f"))
	if err != nil || !reflect.DeepEqual(whole, bytewise) {
		t.Fatalf("a byte at a time: %v, same %v", err, reflect.DeepEqual(whole, bytewise))
	}
}
