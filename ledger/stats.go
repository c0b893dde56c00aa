package ledger

import (
	"cmp"
	"context"
	"slices"
	"strconv"

	"riskmap/layers"
)

// Counts are the dashboard numbers of a set of hazards.
type Counts struct {
	Reported   int `json:"reported"`
	Assigned   int `json:"assigned"`
	Rectifying int `json:"rectifying"`
	Accepted   int `json:"accepted"`
	Closed     int `json:"closed"`
	Overdue    int `json:"overdue"`    // open past the deadline
	Supervised int `json:"supervised"` // listed for supervision (挂牌督办)
	MajorOpen  int `json:"major_open"` // major hazards not yet accepted or closed
}

func (c *Counts) add(p map[string]any) {
	switch p["status"] {
	case Reported:
		c.Reported++
	case Assigned:
		c.Assigned++
	case Rectifying:
		c.Rectifying++
	case Accepted:
		c.Accepted++
	case Closed:
		c.Closed++
	}
	if p["overdue"] == true {
		c.Overdue++
	}
	if p["listed_supervision"] == true {
		c.Supervised++
	}
	if s, _ := p["status"].(string); p["major"] == true && Open(s) {
		c.MajorOpen++
	}
}

// TownCounts are the counts of one town.
type TownCounts struct {
	Town string `json:"town"`
	Counts
}

// Target is a campaign target of the three-year action (2024–2026) and
// where the ledger stands against it (SEED-NOTES-1 §4.1 "stock vs
// increment", §6).
type Target struct {
	Year     int          `json:"year"`
	ID       string       `json:"id"`
	Title    layers.Title `json:"title"`
	Value    int          `json:"value"`    // what is measured (see Rule)
	Baseline int          `json:"baseline"` // what it is measured against
	Met      bool         `json:"met"`
	Rule     string       `json:"rule"`
}

// Stats are the ledger's dashboard.
type Stats struct {
	AsOf    string       `json:"as_of"`          // the date overdue is judged on
	Year    int          `json:"year,omitempty"` // only hazards found that year
	ByTown  []TownCounts `json:"by_town"`
	Total   Counts       `json:"total"`
	Targets []Target     `json:"targets"` // over all years, whatever Year says
}

// unknownTown names hazards without a town.
const unknownTown = "未标注镇街"

// Stats counts hazards per town and status (year 0: every year) and
// measures the campaign targets.
func (l *Ledger) Stats(ctx context.Context, year int) (Stats, error) {
	today := l.today()
	st := Stats{AsOf: today, Year: year}
	towns := map[string]*Counts{}
	var stock, stockOpen, major24, major25, majorOpen, overdueMajor int
	y := strconv.Itoa(year)
	err := l.store.Query(ctx, layers.Query{Layer: layers.Hazards}, func(f layers.Feature) error {
		p := f.Props
		if p == nil {
			p = map[string]any{}
		}
		Derive(p, today)
		found, _ := p["found_date"].(string)
		status, _ := p["status"].(string)
		if p["major"] == true {
			switch {
			case found != "" && found < "2024-01-01":
				stock++
				if status != Closed {
					stockOpen++
				}
			case found >= "2024-01-01" && found < "2025-01-01":
				major24++
			case found >= "2025-01-01" && found < "2026-01-01":
				major25++
			}
			if Open(status) {
				majorOpen++
				if p["overdue"] == true {
					overdueMajor++
				}
			}
		}
		if year != 0 && (len(found) < 4 || found[:4] != y) {
			return nil
		}
		town, _ := p["town"].(string)
		if town == "" {
			town = unknownTown
		}
		c := towns[town]
		if c == nil {
			c = &Counts{}
			towns[town] = c
		}
		c.add(p)
		st.Total.add(p)
		return nil
	})
	if err != nil {
		return Stats{}, err
	}
	st.ByTown = []TownCounts{}
	for t, c := range towns {
		st.ByTown = append(st.ByTown, TownCounts{Town: t, Counts: *c})
	}
	slices.SortFunc(st.ByTown, func(a, b TownCounts) int { return cmp.Compare(a.Town, b.Town) })
	st.Targets = []Target{
		{Year: 2024, ID: "stock_cleared", Title: layers.Title{Zh: "2023年及以前存量重大事故隐患清零", En: "major hazards found in 2023 or earlier all closed"},
			Value: stockOpen, Baseline: stock, Met: stockOpen == 0,
			Rule: "value: major hazards found before 2024 not yet closed; baseline: all of them; met when value is 0"},
		{Year: 2025, ID: "new_curbed", Title: layers.Title{Zh: "重大事故隐患增量得到遏制", En: "new major hazards curbed"},
			Value: major25, Baseline: major24, Met: major25 < major24 || major24 == 0 && major25 == 0,
			Rule: "value: major hazards found in 2025; baseline: found in 2024; met when fewer"},
		{Year: 2026, ID: "dynamic_zero", Title: layers.Title{Zh: "重大事故隐患动态清零", En: "major hazards: dynamic zero"},
			Value: overdueMajor, Baseline: majorOpen, Met: overdueMajor == 0,
			Rule: "value: open major hazards past their deadline; baseline: open major hazards; met when value is 0"},
	}
	return st, nil
}
