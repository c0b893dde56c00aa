package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/paulmach/orb"

	"riskmap/auth"
	"riskmap/fixtures"
	"riskmap/geo"
	"riskmap/layers"
	"riskmap/layers/analysis"
	"riskmap/layers/memstore"
	"riskmap/ledger"
	"riskmap/tiles"
	"riskmap/web"
)

// ledgerServer is the demo served as `riskmap serve` serves it: the
// embedded store, the analyses, the tiles, the token store and the hazard
// ledger with its file history, overdue and supervision swept.
type ledgerServer struct {
	base           string
	ds             *fixtures.Dataset
	editor, viewer string // token secrets
	editorName     string
}

func serveLedger(t *testing.T, rec *recorder) ledgerServer {
	t.Helper()
	ctx := context.Background()
	ds, err := fixtures.Generate(fixtures.Demo)
	if err != nil {
		t.Fatal(err)
	}
	raw := memstore.New()
	if err := ds.Load(ctx, raw, nil); err != nil {
		t.Fatal(err)
	}
	st := layers.Observe(raw)
	cat := layers.NewCatalog()
	eng, err := analysis.New(cat, analysis.DefaultRules(), analysis.Default()...)
	if err != nil {
		t.Fatal(err)
	}
	eng.Attach(st, func(err error) { t.Errorf("analysis update: %v", err) })
	t.Cleanup(func() { eng.Close() })
	dir := t.TempDir()
	as, err := auth.OpenFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { as.Close() })
	hist, err := ledger.OpenFileHistory(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hist.Close() })
	lg, err := ledger.New(st, cat, hist)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lg.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if err := eng.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	th := tiles.NewHandler(tiles.New(st, cat), tiles.NewCache(64<<20))
	th.Watch(st)
	h := web.New(web.Deps{Store: st, Catalog: cat, Analyses: eng, Tiles: th, Auth: as, Ledger: lg})
	ls := ledgerServer{ds: ds, editorName: "值班编辑-ui"}
	if ls.editor, _, err = auth.Create(ctx, as, ls.editorName, auth.Editor, time.Now()); err != nil {
		t.Fatal(err)
	}
	if ls.viewer, _, err = auth.Create(ctx, as, "只读-ui", auth.Viewer, time.Now()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rec.wrap(h), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	ls.base = "http://" + ln.Addr().String()
	return ls
}

// dispatchItem is the part of a briefing item the page shows.
type dispatchItem struct {
	ID       int64    `json:"id"`
	Layer    string   `json:"layer"`
	Name     string   `json:"name"`
	Distance float64  `json:"distance_m"`
	Road     *float64 `json:"road_m"`
	ETA      *float64 `json:"eta_s"`
	Lon      *float64 `json:"lon"`
	Lat      *float64 `json:"lat"`
}

type briefing struct {
	Incident struct{ Lon, Lat float64 }
	Water    []dispatchItem `json:"water_sources"`
	Stations []dispatchItem `json:"fire_stations"`
}

// fmtNum is the page's number format (popup.js fmtNum).
func fmtNum(v float64) string {
	if math.Abs(v) >= 100 {
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// TestLedgerAndDispatch drives the page against the merged dispatch and
// hazard ledger APIs: briefings typed (WGS84, GCJ-02) and clicked match
// /api/dispatch with lines to the items drawn; hazards by status with
// overdue and 挂牌督办 match the ledger; an editor moves a hazard through
// its whole lifecycle from the panel, a viewer is refused (403), a stale
// move is refused with the allowed states (409), and the API's history
// holds every move under the token's name.
func TestLedgerAndDispatch(t *testing.T) {
	if testing.Short() {
		t.Skip("generates the demo dataset and drives a browser")
	}
	browser := chromium(t)
	rec := &recorder{}
	ls := serveLedger(t, rec)
	ctx := startBrowser(t, browser, 3*time.Minute)

	var mu sync.Mutex
	var consoleErrs []string
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				consoleErrs = append(consoleErrs, strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			consoleErrs = append(consoleErrs, msg)
		}
	}); err != nil {
		t.Fatalf("starting %s: %v", browser, err)
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, c := context.WithTimeout(ctx, 30*time.Second)
		defer c()
		if err := chromedp.Do(sctx, actions...); err != nil {
			sctx, c := context.WithTimeout(ctx, 10*time.Second)
			if shot, err := chromedp.Run(sctx, chromedp.CaptureScreenshot()); err == nil {
				p := filepath.Join(os.TempDir(), "riskmap-integration-failure.png")
				os.WriteFile(p, shot, 0o644)
				t.Logf("screenshot of the failure: %s", p)
			}
			c()
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string, out any) {
		t.Helper()
		if out == nil {
			js = "void (" + js + ")"
		}
		sctx, c := context.WithTimeout(ctx, 30*time.Second)
		defer c()
		b, err := chromedp.Run(sctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
		if err == nil && out != nil {
			err = json.Unmarshal(b, out)
		}
		if err != nil {
			t.Fatalf("eval %s: %v", js, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	// until polls a page condition (a JS expression) every 50 ms
	until := func(what, cond string) {
		t.Helper()
		var ok bool
		eval(`new Promise(r => { const f = () => { let v = false; try { v = `+cond+`; } catch (e) {} v ? r(true) : setTimeout(f, 50); }; f(); })`, &ok)
		if !ok {
			t.Fatalf("waiting for %s", what)
		}
	}
	dir, err := screenshotDir()
	if err != nil {
		t.Fatal(err)
	}
	save := func(name string) {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name), b, 0o644)
		}
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		t.Logf("screenshot: %s", filepath.Join(dir, name))
	}
	idle := `new Promise(r => { const m = riskmap.map; if (m.loaded() && m.areTilesLoaded() && !m.isMoving()) setTimeout(r, 50, true); else m.once('idle', () => r(true)); })`

	run("load", chromedp.EmulateViewport(1366, 768), chromedp.Navigate(ls.base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)))

	// ---------- dispatch ----------
	run("dispatch mode", chromedp.Click(chromedp.CSS(`#modes button[data-mode="dispatch"]`)), chromedp.WaitVisible(chromedp.CSS("#coords")))
	// briefed waits for the briefing of the page's incident and checks it
	// against /api/dispatch at the same point: the panel lists every water
	// source and station with the API's distances and ETAs, and the map
	// has a line from the incident to each of them.
	briefed := func(how string) briefing {
		t.Helper()
		until("the briefing of "+how, `riskmap.dispatch && !riskmap.dispatch.loading && document.querySelector('#briefing [data-section="waterSources"] li')`)
		var q []string
		eval(`[riskmap.dispatch.pt.lon.toFixed(7), riskmap.dispatch.pt.lat.toFixed(7)]`, &q)
		var b briefing
		getJSON(t, fmt.Sprintf("%s/api/dispatch?lon=%s&lat=%s&crs=wgs84&k=5", ls.base, q[0], q[1]), &b)
		if len(b.Water) == 0 || len(b.Stations) == 0 {
			t.Fatalf("%s: the API briefs %d water sources and %d stations", how, len(b.Water), len(b.Stations))
		}
		var lis map[string][]string
		eval(`Object.fromEntries([...document.querySelectorAll('#briefing [data-section]')].map(s => [s.dataset.section, [...s.querySelectorAll('li')].map(l => l.textContent)]))`, &lis)
		check := func(section string, items []dispatchItem, want func(dispatchItem) []string) {
			if len(lis[section]) != len(items) {
				t.Errorf("%s: %s lists %d, the API %d: %q", how, section, len(lis[section]), len(items), lis[section])
				return
			}
			for i, it := range items {
				for _, w := range want(it) {
					if !strings.Contains(lis[section][i], w) {
						t.Errorf("%s: %s #%d %q lacks %q (API item %+v)", how, section, i+1, lis[section][i], w, it)
					}
				}
			}
		}
		check("waterSources", b.Water, func(it dispatchItem) []string {
			w := []string{it.Name, "直线 " + fmtNum(it.Distance) + " m"}
			if it.Road != nil {
				w = append(w, "路网 "+fmtNum(*it.Road)+" m")
			}
			return w
		})
		check("fireStations", b.Stations, func(it dispatchItem) []string {
			if it.ETA == nil {
				return []string{it.Name, "路网不可达"}
			}
			return []string{it.Name, "预计到达 " + fmtNum(*it.ETA/60) + " 分钟", "路网 " + fmtNum(*it.Road) + " m"}
		})
		// lines from the incident to each water source and station
		var lines [][][2]float64
		eval(`riskmap.map.getSource('overlay').getData().then(d => d.features.filter(f => f.geometry.type === 'LineString').map(f => f.geometry.coordinates))`, &lines)
		ends := map[[2]string]bool{}
		for _, l := range lines {
			if len(l) != 2 || geo.Distance(orb.Point(l[0]), orb.Point{b.Incident.Lon, b.Incident.Lat}) > 1 {
				t.Errorf("%s: a line does not start at the incident %v: %v", how, b.Incident, l)
				continue
			}
			ends[[2]string{fmt.Sprintf("%.6f", l[1][0]), fmt.Sprintf("%.6f", l[1][1])}] = true
		}
		n := 0
		for _, it := range append(append([]dispatchItem(nil), b.Water...), b.Stations...) {
			if it.Lon == nil {
				continue
			}
			n++
			if !ends[[2]string{fmt.Sprintf("%.6f", *it.Lon), fmt.Sprintf("%.6f", *it.Lat)}] {
				t.Errorf("%s: no line to %s %d %s", how, it.Layer, it.ID, it.Name)
			}
		}
		if len(lines) != n {
			t.Errorf("%s: %d lines drawn for %d items with a point", how, len(lines), n)
		}
		until(how+": the lines drawn", `riskmap.map.queryRenderedFeatures({layers: ['overlay:line']}).length > 0`)
		return b
	}

	// typed, WGS84
	run("type WGS84", chromedp.SendKeys(chromedp.CSS("#coords"), "106.5400, 29.3900"), chromedp.Click(chromedp.CSS("#brief")))
	b := briefed("106.5400, 29.3900 typed in WGS84")
	if d := geo.Distance(orb.Point{b.Incident.Lon, b.Incident.Lat}, orb.Point{106.54, 29.39}); d > 0.1 {
		t.Errorf("typed WGS84 incident %v is %.2f m off", b.Incident, d)
	}

	// typed, GCJ-02: the page's incident is where the API puts the same
	// GCJ-02 input, and it briefs the same items
	st := ls.ds.Layer(layers.FireStations)[0].Geometry.(orb.Point)
	wgs := orb.Point{st[0] + 0.004, st[1] + 0.003}
	gcj := geo.WGS84ToGCJ02(wgs)
	typed := fmt.Sprintf("%.6f, %.6f", gcj[0], gcj[1])
	run("type GCJ-02", chromedp.SetValue(chromedp.CSS("#coords"), typed), chromedp.SetValue(chromedp.CSS("#crs"), "gcj02"),
		chromedp.Click(chromedp.CSS("#brief")))
	until("the GCJ-02 briefing", `riskmap.dispatch && riskmap.dispatch.crs === 'gcj02'`)
	b = briefed(typed + " typed in GCJ-02")
	var viaGCJ briefing
	getJSON(t, fmt.Sprintf("%s/api/dispatch?lon=%.6f&lat=%.6f&crs=gcj02&k=5", ls.base, gcj[0], gcj[1]), &viaGCJ)
	if d := geo.Distance(orb.Point{b.Incident.Lon, b.Incident.Lat}, wgs); d > 1 {
		t.Errorf("GCJ-02 %s: the page's incident %v is %.2f m from the WGS84 point %v", typed, b.Incident, d, wgs)
	}
	for i := range min(len(b.Water), len(viaGCJ.Water)) {
		if b.Water[i].ID != viaGCJ.Water[i].ID || math.Abs(b.Water[i].Distance-viaGCJ.Water[i].Distance) > 1 {
			t.Errorf("GCJ-02 water source #%d: page's point %+v, API with crs=gcj02 %+v", i+1, b.Water[i], viaGCJ.Water[i])
		}
	}
	if b := text("#briefing"); !strings.Contains(b, "GCJ-02 "+typed) {
		t.Errorf("the briefing does not show the GCJ-02 input %q:\n%s", typed, b)
	}

	// a click on the map
	eval(fmt.Sprintf(`riskmap.map.jumpTo({center: [%f, %f], zoom: 15})`, wgs[0]-0.006, wgs[1]), nil)
	eval(idle, nil)
	var xy []float64
	eval(fmt.Sprintf(`(() => { const p = riskmap.map.project([%f, %f]); const r = riskmap.map.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; })()`, wgs[0]-0.006, wgs[1]), &xy)
	run("click the map", chromedp.MouseClickXY(xy[0], xy[1]))
	until("the clicked incident", `riskmap.dispatch && riskmap.dispatch.crs === 'wgs84'`)
	b = briefed("a click on the map")
	if d := geo.Distance(orb.Point{b.Incident.Lon, b.Incident.Lat}, orb.Point{wgs[0] - 0.006, wgs[1]}); d > 10 {
		t.Errorf("clicked incident %v is %.1f m from the point clicked", b.Incident, d)
	}

	save("dispatch.png")

	// a point outside the district: the panel shows the API's 400
	var refusal struct{ Error string }
	resp, err := http.Get(ls.base + "/api/dispatch?lon=105.0000000&lat=29.0000000&crs=wgs84&k=5")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&refusal)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || refusal.Error == "" {
		t.Fatalf("dispatch outside Banan: %s %q", resp.Status, refusal.Error)
	}
	run("type outside", chromedp.SetValue(chromedp.CSS("#coords"), "105.0, 29.0"), chromedp.SetValue(chromedp.CSS("#crs"), "wgs84"),
		chromedp.Click(chromedp.CSS("#brief")))
	until("the refusal", `riskmap.dispatch && !riskmap.dispatch.loading && riskmap.dispatch.status === 400`)
	if got := text("#briefing"); !strings.Contains(got, refusal.Error) {
		t.Errorf("dispatch outside Banan shows %q, the API says %q", got, refusal.Error)
	}

	// ---------- hazards ----------
	var stats struct {
		Total map[string]int `json:"total"`
	}
	getJSON(t, ls.base+"/api/hazards/stats", &stats)
	run("hazards mode", chromedp.Click(chromedp.CSS(`#modes button[data-mode="hazards"]`)), chromedp.WaitVisible(chromedp.CSS("#hz-list .hz")))
	until("the ledger's counts", `document.querySelector('[data-status="closed"]')`)
	for _, s := range []string{"reported", "assigned", "rectifying", "accepted", "closed"} {
		if got := text(fmt.Sprintf(`[data-status="%s"]`, s)); got != fmt.Sprint(stats.Total[s]) {
			t.Errorf("hazards %s: page %s, ledger %d", s, got, stats.Total[s])
		}
	}
	if got := text("#hz-overdue"); got != fmt.Sprint(stats.Total["overdue"]) || stats.Total["overdue"] == 0 {
		t.Errorf("overdue: page %s, ledger %d", got, stats.Total["overdue"])
	}
	if got := text("#hz-supervised"); got != fmt.Sprint(stats.Total["supervised"]) || stats.Total["supervised"] == 0 {
		t.Errorf("挂牌督办: page %s, ledger %d", got, stats.Total["supervised"])
	}
	// the map styles hazards by status, overdue and supervision
	var paint string
	eval(`JSON.stringify([riskmap.map.getPaintProperty('hazards:point', 'circle-color'), riskmap.map.getPaintProperty('hazards:point', 'circle-stroke-color')])`, &paint)
	for _, w := range []string{`"status"`, `"overdue"`, `"listed_supervision"`} {
		if !strings.Contains(paint, w) {
			t.Errorf("hazards:point paint does not use %s: %s", w, paint)
		}
	}

	// the reported hazards, supervised and overdue first: take the first
	run("status 已上报", chromedp.Click(chromedp.CSS(`tr[data-st="reported"]`)), chromedp.WaitVisible(chromedp.CSS(`tr.sel[data-st="reported"]`)))
	until("the reported hazards", `document.querySelector('#hz-list .hz')`)
	var id int64
	eval(`Number(document.querySelector('#hz-list .hz').dataset.id)`, &id)
	hz := func() (doc struct {
		Properties map[string]any
		Allowed    []string
		Requires   map[string][]string
	}) {
		getJSON(t, fmt.Sprintf("%s/api/hazards/%d", ls.base, id), &doc)
		return doc
	}
	first := hz()
	if first.Properties["status"] != "reported" {
		t.Fatalf("hazard %d listed under 已上报 is %v", id, first.Properties["status"])
	}
	supervised, _ := first.Properties["listed_supervision"].(bool)
	overdue, _ := first.Properties["overdue"].(bool)
	if !supervised {
		t.Errorf("the first reported hazard %d is not 挂牌督办 (the list puts those first): %v", id, first.Properties)
	}
	run("pick the hazard", chromedp.Click(chromedp.CSS(`#hz-list .hz`)), chromedp.WaitVisible(chromedp.CSS(`#hz-detail button[data-to="assigned"]`)))
	if row := text(fmt.Sprintf(`#hz-list .hz[data-id="%d"]`, id)); supervised && !strings.Contains(row, "挂牌督办") || overdue && !strings.Contains(row, "逾期") {
		t.Errorf("hazard %d (supervised %v, overdue %v) listed as %q", id, supervised, overdue, row)
	}
	// on the map, with its flags from the ledger
	until("the map flown to the hazard", `!riskmap.map.isMoving() && riskmap.map.getZoom() >= 14.9`)
	until("the hazard drawn", fmt.Sprintf(`riskmap.map.queryRenderedFeatures({layers: ['hazards:point']}).some(f => f.id === %d)`, id))
	var onMap []map[string]any
	eval(fmt.Sprintf(`riskmap.map.queryRenderedFeatures({layers: ['hazards:point']}).filter(f => f.id === %d).map(f => f.properties)`, id), &onMap)
	if len(onMap) == 0 || onMap[0]["listed_supervision"] != supervised || onMap[0]["overdue"] != overdue || onMap[0]["status"] != "reported" {
		t.Errorf("hazard %d on the map: %v; the ledger: supervised %v, overdue %v", id, onMap, supervised, overdue)
	}

	setToken := func(secret, who string) {
		t.Helper()
		run("token "+who, chromedp.SetValue(chromedp.CSS("#token"), secret), chromedp.Click(chromedp.CSS("#token-save")))
		until("whoami "+who, fmt.Sprintf(`document.querySelector('#whoami').textContent.includes(%q)`, who))
	}
	// move clicks a move in the detail with the fields it requires filled
	move := func(to string, fields map[string]string) {
		t.Helper()
		sel := fmt.Sprintf(`#hz-detail button[data-to="%s"]`, to)
		acts := []chromedp.Action[chromedp.Void]{chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.SetValue(chromedp.CSS("#hz-note"), "UI: "+to)}
		for k, v := range fields {
			acts = append(acts, chromedp.SetValue(chromedp.CSS("#hz-f-"+k), v))
		}
		acts = append(acts, chromedp.Evaluate[chromedp.Void](`document.querySelector('#hz-msg').textContent = ''`), chromedp.Click(chromedp.CSS(sel)))
		run("move to "+to, acts...)
		until("the answer to the move to "+to, `document.querySelector('#hz-msg').textContent !== ''`)
	}

	// a viewer is refused
	setToken(ls.viewer, "(viewer)")
	move("assigned", nil)
	if m := text("#hz-msg"); !strings.Contains(m, "403") || !strings.Contains(m, "权限不足") {
		t.Errorf("a viewer's move shows %q", m)
	}
	// an editor moves it through its lifecycle, each move with what the
	// API requires of it
	setToken(ls.editor, "(editor)")
	values := map[string]string{
		"responsible_unit": "鱼洞街道安办", "responsible_person": "张工", "deadline": time.Now().AddDate(0, 1, 0).Format("2006-01-02"),
		"measures": "更换老化线路", "temporary_measures": "设置警戒区", "acceptance_officer": "李验收",
	}
	zh := map[string]string{"assigned": "已交办", "rectifying": "整改中", "accepted": "已验收", "closed": "已销号"}
	for _, to := range []string{"assigned", "rectifying", "accepted", "closed"} {
		doc := hz()
		fields := map[string]string{}
		for _, n := range doc.Requires[to] {
			if n != "note" {
				fields[n] = values[n]
			}
		}
		move(to, fields)
		if m := text("#hz-msg"); !strings.Contains(m, "✓ "+zh[to]) {
			t.Fatalf("move to %s with %v: %q", to, fields, m)
		}
		if got := hz().Properties["status"]; got != to {
			t.Fatalf("after the UI's move to %s the API has %v", to, got)
		}
	}
	detailHistory := text("#hz-history")
	if strings.Count(detailHistory, ls.editorName) != 4 {
		t.Errorf("the detail's history shows the editor %d times:\n%s", strings.Count(detailHistory, ls.editorName), detailHistory)
	}

	// a stale page: the hazard is re-opened elsewhere meanwhile; the page's
	// re-open is refused with the states allowed now
	post := fmt.Sprintf("%s/api/hazards/%d/transitions", ls.base, id)
	body, _ := json.Marshal(map[string]any{"to": "rectifying", "note": "回头看：复查发现仍存在"})
	req, _ := http.NewRequest(http.MethodPost, post, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+ls.editor)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("re-open by the API: %s", resp.Status)
	}
	move("rectifying", nil)
	if m := text("#hz-msg"); !strings.Contains(m, "409") || !strings.Contains(m, "已验收") {
		t.Errorf("a stale move shows %q, want 409 and the allowed 已验收", m)
	}
	// and then shows the hazard as it is now, with the move allowed now
	run("the detail reloaded", chromedp.WaitVisible(chromedp.CSS(`#hz-detail button[data-to="accepted"]`)))
	var shown string
	eval(`riskmap.hazardDoc.properties.status`, &shown)
	if shown != "rectifying" {
		t.Errorf("after the 409 the detail shows the hazard %s, not rectifying", shown)
	}

	save("ledger.png")

	// the API's history holds every move with the token's name
	var hist []ledger.Transition
	getJSON(t, fmt.Sprintf("%s/api/hazards/%d/history", ls.base, id), &hist)
	want := [][2]string{{"reported", "assigned"}, {"assigned", "rectifying"}, {"rectifying", "accepted"}, {"accepted", "closed"}, {"closed", "rectifying"}}
	if len(hist) != len(want) {
		t.Fatalf("history of hazard %d: %+v", id, hist)
	}
	for i, w := range want {
		h := hist[i]
		if h.From != w[0] || h.To != w[1] || h.By != ls.editorName || h.At.IsZero() {
			t.Errorf("history #%d: %+v, want %s → %s by %s", i+1, h, w[0], w[1], ls.editorName)
		}
		if i < 4 && h.Note != "UI: "+w[1] {
			t.Errorf("history #%d note %q", i+1, h.Note)
		}
		if at := h.At.In(time.FixedZone("CST", 8*3600)).Format("2006/1/2 15:04:05"); i < 4 && !strings.Contains(detailHistory, at) {
			t.Errorf("history #%d at %v: the detail does not show it in Beijing time %s:\n%s", i+1, h.At, at, detailHistory)
		}
	}

	// the map shows the new status once the tiles are fetched again
	run("clear the status", chromedp.Click(chromedp.CSS(`tr[data-st="reported"]`)), chromedp.WaitVisible(chromedp.CSS(`tr[data-st="reported"]:not(.sel)`)))
	eval(`riskmap.map.getSource('s:hazards').setTiles([location.origin + '/tiles/hazards/{z}/{x}/{y}.mvt?v=' + Date.now()])`, nil)
	until("hazard on the map re-opened", fmt.Sprintf(`riskmap.map.queryRenderedFeatures({layers: ['hazards:point']}).some(f => f.id === %d && f.properties.status === 'rectifying')`, id))
	eval(`riskmap.map.jumpTo({zoom: 12})`, nil)
	until("hazards of every kind drawn", `(() => { const fs = riskmap.map.queryRenderedFeatures({layers: ['hazards:point']}).map(f => f.properties);
		return riskmap.map.areTilesLoaded() && fs.some(p => p.listed_supervision) && fs.some(p => p.overdue && !p.listed_supervision) && fs.some(p => !p.overdue && !p.listed_supervision); })()`)
	// every hazard in view is drawn in its status's colour, ringed purple
	// when 挂牌督办, dark red when overdue (the paint MapLibre evaluated)
	var drawn []struct {
		Props map[string]any
		Paint map[string]any
	}
	eval(`riskmap.map.queryRenderedFeatures({layers: ['hazards:point']}).map(f => ({Props: f.properties, Paint: f.layer.paint}))`, &drawn)
	hex := func(c any) string {
		m, _ := c.(map[string]any)
		f := func(k string) int { v, _ := m[k].(float64); return int(math.Round(v * 255)) }
		return fmt.Sprintf("#%02x%02x%02x", f("r"), f("g"), f("b"))
	}
	fill := map[string]string{"reported": "#e53935", "assigned": "#fb8c00", "rectifying": "#f2c200", "accepted": "#43a047", "closed": "#9e9e9e"}
	rings := map[string]int{}
	for _, d := range drawn {
		ring, width := "#ffffff", 1.0
		if d.Props["listed_supervision"] == true {
			ring, width = "#6a1b9a", 3.5
		} else if d.Props["overdue"] == true {
			ring, width = "#7f0000", 2.5
		}
		rings[ring]++
		status, _ := d.Props["status"].(string)
		if got := hex(d.Paint["circle-color"]); got != fill[status] {
			t.Errorf("hazard %v (%s) drawn %s, want %s", d.Props["id"], status, got, fill[status])
		}
		if got := hex(d.Paint["circle-stroke-color"]); got != ring || d.Paint["circle-stroke-width"] != width {
			t.Errorf("hazard %v (supervised %v, overdue %v) ringed %s %v, want %s %v", d.Props["id"], d.Props["listed_supervision"], d.Props["overdue"], got, d.Paint["circle-stroke-width"], ring, width)
		}
	}
	t.Logf("hazards drawn around hazard %d: %d, rings %v", id, len(drawn), rings)

	// no failed request but the refusals provoked: the viewer's move
	// (403), the stale one (409) and the point outside the district (400,
	// asked by the test and by the page)
	refused := map[string]int{}
	for _, r := range rec.all() {
		switch {
		case r.status == cancelled || r.status < 400:
		case strings.HasPrefix(r.path, "/tiles/"):
			t.Errorf("tile %s answered %d", r.path, r.status)
		default:
			refused[fmt.Sprintf("%s %s %d", r.method, r.path, r.status)]++
		}
	}
	tr := fmt.Sprintf("POST /api/hazards/%d/transitions", id)
	if want := map[string]int{tr + " 403": 1, tr + " 409": 1, "GET /api/dispatch 400": 2}; !maps.Equal(refused, want) {
		t.Errorf("requests refused: %v, want %v", refused, want)
	}
	var mapErrs []string
	eval(`riskmap.mapErrors`, &mapErrs)
	for _, e := range mapErrs {
		t.Errorf("map error: %s", e)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range consoleErrs {
		t.Errorf("console error: %s", e)
	}
}
