package ledger_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"riskmap/layers"
	"riskmap/layers/memstore"
	"riskmap/layers/postgis"
	"riskmap/layers/postgis/pgtest"
	"riskmap/ledger"
)

var states = []string{ledger.Reported, ledger.Assigned, ledger.Rectifying, ledger.Accepted, ledger.Closed}

// today of the tests: 2026-11-28 in China.
var now = time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)

// fieldsFor are what a move to a state needs.
var fieldsFor = map[string]map[string]any{
	ledger.Assigned:   {"responsible_unit": "鱼洞街道", "responsible_person": "李明", "deadline": "2026-12-15"},
	ledger.Rectifying: {"measures": "更换防火门", "temporary_measures": "设置警戒"},
	ledger.Accepted:   {"acceptance_officer": "王强"},
}

func hazard(id int64, status string, extra map[string]any) layers.Feature {
	p := map[string]any{"category": "fire", "status": status, "town": "鱼洞街道", "found_date": "2026-10-01"}
	for k, v := range extra {
		p[k] = v
	}
	return layers.Feature{Layer: layers.Hazards, ID: id, Geometry: orb.Point{106.52, 29.40}, Props: p}
}

// suite runs every ledger test on one store and history.
func suite(t *testing.T, st layers.Store, h ledger.History) {
	ctx := context.Background()
	lg, err := ledger.New(st, layers.NewCatalog(), h)
	if err != nil {
		t.Fatal(err)
	}
	lg.SetClock(func() time.Time { return now })

	t.Run("every pair of states", func(t *testing.T) {
		id := int64(1000)
		for _, from := range states {
			for _, to := range states {
				id++
				if err := st.Upsert(ctx, layers.Hazards, []layers.Feature{hazard(id, from, nil)}); err != nil {
					t.Fatal(err)
				}
				legal := slices.Contains(ledger.Allowed(from), to)
				got, err := lg.Transition(ctx, id, to, "tester", "复查未通过", fieldsFor[to])
				var te *ledger.TransitionError
				switch {
				case legal && err != nil:
					t.Errorf("%s → %s: %v", from, to, err)
				case legal && got.Feature.Props["status"] != to:
					t.Errorf("%s → %s: status %v", from, to, got.Feature.Props["status"])
				case !legal && !errors.As(err, &te):
					t.Errorf("%s → %s: want a TransitionError, got %v", from, to, err)
				case !legal && !slices.Equal(te.Allowed, ledger.Allowed(from)):
					t.Errorf("%s → %s: allowed %v", from, to, te.Allowed)
				}
				hist, _ := lg.History(ctx, id)
				if want := map[bool]int{true: 1, false: 0}[legal]; len(hist) != want {
					t.Errorf("%s → %s: %d history entries, want %d", from, to, len(hist), want)
				}
				if !legal {
					f, _ := st.Get(ctx, layers.Hazards, id)
					if f.Props["status"] != from {
						t.Errorf("%s → %s refused but the status is %v", from, to, f.Props["status"])
					}
				}
			}
		}
	})

	t.Run("lifecycle", func(t *testing.T) {
		in := layers.Feature{Geometry: orb.Point{106.53, 29.41}, Props: map[string]any{
			"category": "消防", "major": true, "title": "安全出口锁闭", "description": "商场三层东侧安全出口上锁", "town": "李家沱街道"}}
		hz, err := lg.Create(ctx, in, "editor-1", "群众举报查实")
		if err != nil {
			t.Fatal(err)
		}
		id := hz.Feature.ID
		p := hz.Feature.Props
		if id <= 1025 || p["status"] != ledger.Reported || p["found_date"] != "2026-11-28" || p["category"] != "fire" ||
			!slices.Equal(hz.Allowed, []string{ledger.Assigned}) || len(hz.History) != 1 || hz.History[0].From != "" {
			t.Fatalf("created %d %+v", id, hz)
		}
		minor, err := lg.Create(ctx, layers.Feature{Geometry: orb.Point{106.5, 29.4}, Props: map[string]any{"category": "gas", "town": "鱼洞街道"}}, "x", "")
		if err != nil || minor.Feature.Props["major"] != false || minor.Feature.Props["overdue"] != false {
			t.Errorf("created without major: %v %v", minor.Feature.Props, err)
		}
		if _, err := lg.Create(ctx, layers.Feature{ID: id, Geometry: orb.Point{106.5, 29.4}, Props: map[string]any{"category": "gas"}}, "x", ""); !errors.Is(err, layers.ErrConflict) {
			t.Errorf("create over an existing id: %v", err)
		}
		if _, err := lg.Create(ctx, layers.Feature{Geometry: orb.Point{106.5, 29.4}, Props: map[string]any{"category": "gas", "status": "closed"}}, "x", ""); !errors.Is(err, layers.ErrInvalid) {
			t.Errorf("create closed: %v", err)
		}
		var ve *layers.ValidationError
		if _, err := lg.Transition(ctx, id, "assigned", "e", "", map[string]any{"responsible_unit": "某商场"}); !errors.As(err, &ve) || ve.Field != "responsible_person" {
			t.Errorf("assign without a person: %v", err)
		}
		if _, err := lg.Transition(ctx, id, "已交办", "e", "交办", fieldsFor[ledger.Assigned]); err != nil {
			t.Fatalf("assign (Chinese state name): %v", err)
		}
		if _, err := lg.Transition(ctx, id, "rectifying", "e", "", map[string]any{"measures": "拆除锁具"}); !errors.As(err, &ve) || ve.Field != "temporary_measures" {
			t.Errorf("a major hazard rectified without temporary measures: %v", err)
		}
		if _, err := lg.Transition(ctx, id, "rectifying", "e", "", map[string]any{"status": "closed"}); !errors.As(err, &ve) || ve.Field != "status" {
			t.Errorf("setting status through fields: %v", err)
		}
		if _, err := lg.Transition(ctx, id, "rectifying", "e", "", map[string]any{"colour": "red"}); !errors.As(err, &ve) || ve.Field != "colour" {
			t.Errorf("unknown field: %v", err)
		}
		steps := []struct{ to, note string }{{"rectifying", "整改中"}, {"accepted", "验收合格"}, {"closed", "审核销号"}}
		for _, s := range steps {
			if hz, err = lg.Transition(ctx, id, s.to, "editor-2", s.note, fieldsFor[s.to]); err != nil {
				t.Fatalf("→ %s: %v", s.to, err)
			}
		}
		p = hz.Feature.Props
		if p["acceptance_date"] != "2026-11-28" || p["closed_date"] != "2026-11-28" || p["acceptance_officer"] != "王强" || p["overdue"] != false {
			t.Errorf("closed: %v", p)
		}
		if _, err := lg.Transition(ctx, id, "rectifying", "e", "", nil); !errors.As(err, &ve) || ve.Field != "note" {
			t.Errorf("re-open without a note: %v", err)
		}
		if hz, err = lg.Transition(ctx, id, "rectifying", "inspector", "回头看发现复发", nil); err != nil {
			t.Fatal(err)
		}
		p = hz.Feature.Props
		if p["closed_date"] != nil || p["acceptance_date"] != nil || p["responsible_unit"] != "鱼洞街道" {
			t.Errorf("re-opened: %v", p)
		}
		var path []string
		for _, tr := range hz.History {
			path = append(path, tr.From+">"+tr.To)
			if tr.By == "" || !tr.At.Equal(now) || tr.Hazard != id {
				t.Errorf("transition %+v", tr)
			}
		}
		want := []string{">reported", "reported>assigned", "assigned>rectifying", "rectifying>accepted", "accepted>closed", "closed>rectifying"}
		if !slices.Equal(path, want) || hz.History[5].Note != "回头看发现复发" || hz.History[0].By != "editor-1" {
			t.Errorf("history %v", path)
		}
	})

	t.Run("overdue and listed supervision", func(t *testing.T) {
		fs := []layers.Feature{
			hazard(2001, "rectifying", map[string]any{"deadline": "2026-11-27", "major": true}), // overdue major: listed
			hazard(2002, "assigned", map[string]any{"deadline": "2026-11-27"}),                  // overdue, not major
			hazard(2003, "rectifying", map[string]any{"deadline": "2026-11-28", "major": true}), // due today: not overdue
			hazard(2004, "accepted", map[string]any{"deadline": "2026-01-01", "major": true, "listed_supervision": true}),
		}
		if err := st.Upsert(ctx, layers.Hazards, fs); err != nil {
			t.Fatal(err)
		}
		want := map[int64][2]bool{2001: {true, true}, 2002: {true, false}, 2003: {false, false}, 2004: {false, false}}
		for id, w := range want {
			hz, err := lg.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if hz.Feature.Props["overdue"] != w[0] || hz.Feature.Props["listed_supervision"] != w[1] {
				t.Errorf("%d: overdue %v listed %v, want %v", id, hz.Feature.Props["overdue"], hz.Feature.Props["listed_supervision"], w)
			}
		}
		n, err := lg.Sweep(ctx)
		if err != nil || n < 4 {
			t.Fatalf("sweep changed %d: %v", n, err)
		}
		f, _ := st.Get(ctx, layers.Hazards, 2001)
		if f.Props["overdue"] != true || f.Props["listed_supervision"] != true {
			t.Errorf("stored after sweep: %v", f.Props)
		}
		if n, _ := lg.Sweep(ctx); n != 0 {
			t.Errorf("second sweep changed %d", n)
		}
		// accepting lifts the listing (摘牌)
		hz, err := lg.Transition(ctx, 2001, "accepted", "e", "", fieldsFor[ledger.Accepted])
		if err != nil || hz.Feature.Props["listed_supervision"] != false || hz.Feature.Props["overdue"] != false {
			t.Errorf("accepted: %v %v", hz.Feature.Props, err)
		}
	})

	t.Run("stats", func(t *testing.T) {
		// brute force over the same hazards, independently of Stats
		type key struct{ town, what string }
		want := map[key]int{}
		err := st.Query(ctx, layers.Query{Layer: layers.Hazards}, func(f layers.Feature) error {
			p := f.Props
			status := p["status"].(string)
			open := status == "reported" || status == "assigned" || status == "rectifying"
			d, _ := p["deadline"].(string)
			overdue := open && d != "" && d < "2026-11-28"
			for _, town := range []string{p["town"].(string), "TOTAL"} {
				want[key{town, status}]++
				if overdue {
					want[key{town, "overdue"}]++
				}
				if open && p["major"] == true {
					want[key{town, "major_open"}]++
					if overdue {
						want[key{town, "supervised"}]++
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		s, err := lg.Stats(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		check := func(town string, c ledger.Counts) {
			got := map[string]int{"reported": c.Reported, "assigned": c.Assigned, "rectifying": c.Rectifying, "accepted": c.Accepted,
				"closed": c.Closed, "overdue": c.Overdue, "major_open": c.MajorOpen, "supervised": c.Supervised}
			for what, n := range got {
				if n != want[key{town, what}] {
					t.Errorf("%s %s: %d, want %d", town, what, n, want[key{town, what}])
				}
			}
		}
		check("TOTAL", s.Total)
		for _, tc := range s.ByTown {
			check(tc.Town, tc.Counts)
		}
		if len(s.ByTown) != 2 || s.AsOf != "2026-11-28" || len(s.Targets) != 3 {
			t.Errorf("stats %+v", s)
		}
		dz := s.Targets[2]
		if dz.ID != "dynamic_zero" || dz.Value != want[key{"TOTAL", "supervised"}] || dz.Met != (dz.Value == 0) {
			t.Errorf("dynamic zero %+v", dz)
		}
		s25, _ := lg.Stats(ctx, 2025)
		if s25.Total != (ledger.Counts{}) {
			t.Errorf("2025: %+v", s25.Total)
		}
	})

	t.Run("concurrent moves of one hazard", func(t *testing.T) {
		if err := st.Upsert(ctx, layers.Hazards, []layers.Feature{hazard(4001, "reported", nil)}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for range 20 {
			wg.Go(func() {
				_, err := lg.Transition(ctx, 4001, "assigned", "e", "", fieldsFor[ledger.Assigned])
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		ok := 0
		for err := range errs {
			var te *ledger.TransitionError
			switch {
			case err == nil:
				ok++
			case !errors.As(err, &te):
				t.Error(err)
			}
		}
		if hist, _ := lg.History(ctx, 4001); ok != 1 || len(hist) != 1 {
			t.Errorf("%d moves succeeded, %d recorded; want 1", ok, len(hist))
		}
	})

	t.Run("two servers: the second move from the same state is refused", func(t *testing.T) {
		if err := st.Upsert(ctx, layers.Hazards, []layers.Feature{hazard(5001, "reported", nil)}); err != nil {
			t.Fatal(err)
		}
		// server B read the hazard before server A moved it
		stale := &staleStore{Store: st, seen: map[int64]layers.Feature{}}
		if _, err := stale.Get(ctx, layers.Hazards, 5001); err != nil {
			t.Fatal(err)
		}
		b, _ := ledger.New(stale, layers.NewCatalog(), h)
		b.SetClock(func() time.Time { return now })
		if _, err := lg.Transition(ctx, 5001, "assigned", "server-a", "", fieldsFor[ledger.Assigned]); err != nil {
			t.Fatal(err)
		}
		more := map[string]any{"responsible_unit": "另一单位", "responsible_person": "赵六", "deadline": "2027-01-01"}
		if _, err := b.Transition(ctx, 5001, "assigned", "server-b", "", more); !errors.Is(err, ledger.ErrMovedMeanwhile) || !errors.Is(err, layers.ErrConflict) {
			t.Fatalf("stale move: %v", err)
		}
		f, _ := st.Get(ctx, layers.Hazards, 5001)
		hist, _ := lg.History(ctx, 5001)
		if f.Props["responsible_unit"] != "鱼洞街道" || len(hist) != 1 || hist[0].By != "server-a" {
			t.Errorf("after the refused move: %v %+v", f.Props, hist)
		}
	})

	t.Run("a failed write of the hazard is recorded as undone", func(t *testing.T) {
		if err := st.Upsert(ctx, layers.Hazards, []layers.Feature{hazard(6001, "reported", nil)}); err != nil {
			t.Fatal(err)
		}
		broken, _ := ledger.New(readOnly{st}, layers.NewCatalog(), h)
		if _, err := broken.Transition(ctx, 6001, "assigned", "e", "", fieldsFor[ledger.Assigned]); !errors.Is(err, layers.ErrUnavailable) {
			t.Fatalf("want the store's error, got %v", err)
		}
		hist, _ := lg.History(ctx, 6001)
		if len(hist) != 2 || hist[1].From != "assigned" || hist[1].To != "reported" {
			t.Fatalf("history %+v", hist)
		}
		// and the ledger carries on from the real state
		if _, err := lg.Transition(ctx, 6001, "assigned", "e", "", fieldsFor[ledger.Assigned]); err != nil {
			t.Errorf("after the undo: %v", err)
		}
	})

	t.Run("a failed history write stops the move", func(t *testing.T) {
		if err := st.Upsert(ctx, layers.Hazards, []layers.Feature{hazard(3001, "reported", nil)}); err != nil {
			t.Fatal(err)
		}
		broken, _ := ledger.New(st, layers.NewCatalog(), failing{h})
		if _, err := broken.Transition(ctx, 3001, "assigned", "e", "", fieldsFor[ledger.Assigned]); err == nil {
			t.Fatal("no error")
		}
		if f, _ := st.Get(ctx, layers.Hazards, 3001); f.Props["status"] != "reported" {
			t.Errorf("status %v after a failed history write", f.Props["status"])
		}
	})
}

type failing struct{ h ledger.History }

func (failing) Append(context.Context, ledger.Transition) error { return errors.New("disk full") }
func (f failing) History(ctx context.Context, id int64) ([]ledger.Transition, error) {
	return f.h.History(ctx, id)
}

func TestMemstore(t *testing.T) {
	dir := t.TempDir()
	h, err := ledger.OpenFileHistory(dir)
	if err != nil {
		t.Fatal(err)
	}
	suite(t, memstore.New(), h)
	h.Close()
	// the history survives a restart
	h2, err := ledger.OpenFileHistory(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	if hist, _ := h2.History(context.Background(), 1002); len(hist) != 1 || hist[0].To != ledger.Assigned {
		t.Errorf("after reopening: %+v", hist)
	}
}

func TestPostGIS(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Database(t)
	st, err := postgis.Open(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	suite(t, st, ledger.NewPGHistory(pool))
	if _, err := pool.Exec(ctx, "UPDATE riskmap_hazard_history SET note = 'rewritten'"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM riskmap_hazard_history WHERE note = 'rewritten'").Scan(&n); err != nil || n != 0 {
		t.Errorf("history rewritten: %d %v", n, err)
	}
}

// staleStore answers Get with what it returned the first time, as a
// second server that read a hazard before the first one moved it.
type staleStore struct {
	layers.Store
	seen map[int64]layers.Feature
}

func (s *staleStore) Get(ctx context.Context, layer string, id int64) (layers.Feature, error) {
	if f, ok := s.seen[id]; ok {
		return f.Clone(), nil
	}
	f, err := s.Store.Get(ctx, layer, id)
	if err == nil {
		s.seen[id] = f.Clone()
	}
	return f, err
}

// readOnly is a store whose writes fail.
type readOnly struct{ layers.Store }

func (readOnly) Upsert(context.Context, string, []layers.Feature) error { return layers.ErrUnavailable }
