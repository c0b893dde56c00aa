package analysis

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/geo"
)

// TestBldTableMatchesMap edits a table of buildings at random (updates,
// additions, deletions, revivals) beside a plain map and checks that
// every lookup and the enumeration agree with it.
func TestBldTableMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	want := map[int64]bldState{}
	var tb bldTable
	for id := int64(1); id <= 500; id += int64(1 + rng.IntN(3)) {
		b := bldState{town: []string{"", "a", "b"}[rng.IntN(3)], covered: rng.IntN(2) == 0}
		tb.ids = append(tb.ids, id)
		tb.sts = append(tb.sts, b)
		want[id] = b
	}
	for range 5000 {
		id := int64(rng.IntN(700))
		switch rng.IntN(3) {
		case 0:
			b := bldState{town: []string{"", "a", "b"}[rng.IntN(3)], covered: rng.IntN(2) == 0}
			tb.set(id, b)
			want[id] = b
		case 1:
			tb.drop(id)
			delete(want, id)
		}
		got, ok := tb.get(id)
		if w, wok := want[id]; ok != wok || got != w {
			t.Fatalf("get(%d) = %v %v, want %v %v", id, got, ok, w, wok)
		}
	}
	n := map[bldState]int{}
	tb.each(func(b bldState) { n[b]++ })
	for _, b := range want {
		n[b]--
	}
	for b, k := range n {
		if k != 0 {
			t.Errorf("each: state %v off by %d", b, k)
		}
	}
}

// TestMemoCursor checks that the memo gives h3's cell for buildings that
// did not move, buildings that moved, buildings it does not know, and ids
// that come out of order.
func TestMemoCursor(t *testing.T) {
	const res = 10
	rng := rand.New(rand.NewPCG(1, 2))
	pt := func() orb.Point { return orb.Point{106.5 + rng.Float64()*0.1, 29.3 + rng.Float64()*0.1} }
	m := &cellMemo{}
	at := map[int64]orb.Point{}
	for id := int64(0); id < 2000; id += 2 {
		p := pt()
		m.ids, m.at, m.cells = append(m.ids, id), append(m.at, p), append(m.cells, geo.CellOf(p, res))
		at[id] = p
	}
	var ids []int64
	for id := int64(-5); id < 2100; id++ {
		if rng.IntN(3) > 0 {
			ids = append(ids, id)
		}
	}
	for _, order := range []string{"ascending", "shuffled"} {
		if order == "shuffled" {
			rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		}
		for _, memo := range []*cellMemo{m, nil} {
			cur := memo.cursor(ids[0])
			for _, id := range ids {
				p, ok := at[id]
				if !ok || rng.IntN(4) == 0 {
					p = pt() // unknown or moved
				}
				if got, want := cur.cellOf(id, p, res), geo.CellOf(p, res); got != want {
					t.Fatalf("%s, memo %v: building %d at %v: cell %v, want %v", order, memo != nil, id, p, got, want)
				}
			}
		}
	}
	if !slices.IsSorted(m.ids) {
		t.Fatal("test memo not sorted")
	}
}

// TestSortBuildings checks the fallback for a store that does not hand
// out buildings in id order.
func TestSortBuildings(t *testing.T) {
	tb := bldTable{ids: []int64{5, 2, 9, 1}, sts: []bldState{{town: "e"}, {town: "b"}, {town: "i"}, {town: "a"}}}
	m := &cellMemo{at: []orb.Point{{5, 5}, {2, 2}, {9, 9}, {1, 1}}, cells: []geo.Cell{5, 2, 9, 1}}
	sortBuildings(&tb, m)
	if !slices.Equal(tb.ids, []int64{1, 2, 5, 9}) {
		t.Fatalf("ids %v", tb.ids)
	}
	for i, id := range tb.ids {
		if tb.sts[i].town[0]-'a'+1 != byte(id) || m.at[i] != (orb.Point{float64(id), float64(id)}) || m.cells[i] != geo.Cell(id) {
			t.Errorf("row %d: id %d state %v at %v cell %v", i, id, tb.sts[i], m.at[i], m.cells[i])
		}
	}
}

// TestNearByBounds checks the bounds on geo.Distance that settle most
// coverage tests without it, at latitudes from the equator to 80°, and
// that points too far apart in latitude get no bound.
func TestNearByBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 13))
	for range 200000 {
		lat := (rng.Float64()*2 - 1) * 79.999
		p := orb.Point{rng.Float64()*360 - 180, lat}
		q := orb.Point{p[0] + (rng.Float64()*2-1)*0.05, p[1] + (rng.Float64()*2-1)*0.0099}
		if rng.IntN(10) == 0 { // close by
			q = orb.Point{p[0] + (rng.Float64()*2-1)*1e-5, p[1] + (rng.Float64()*2-1)*1e-5}
		}
		n := newNearBy(p)
		lo, hi := n.bounds(q)
		if d := geo.Distance(p, q); lo > d || hi < d || math.IsInf(hi, 1) {
			t.Fatalf("%v to %v: %v not within [%v, %v]", p, q, d, lo, hi)
		}
	}
	n := newNearBy(orb.Point{106.5, 29.4})
	if lo, hi := n.bounds(orb.Point{106.5, 29.42}); lo != 0 || !math.IsInf(hi, 1) {
		t.Errorf("0.02° apart: bounds [%v, %v], want none", lo, hi)
	}
	n = newNearBy(orb.Point{10, 85})
	if lo, hi := n.bounds(orb.Point{10.001, 85}); lo != 0 || !math.IsInf(hi, 1) {
		t.Errorf("at 85°: bounds [%v, %v], want none", lo, hi)
	}
}
