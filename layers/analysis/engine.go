package analysis

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/paulmach/orb"

	"riskmap/layers"
)

// Params narrow or alter a run. Town and BBox limit what is reported;
// Exclude takes water sources out of service (a what-if); Usable lists the
// water-source statuses that count (default in_service only).
type Params struct {
	Town    string
	BBox    orb.Bound
	Exclude []int64
	Usable  []string
}

// WhatIf reports whether the params change the inputs, so the result
// differs from the stored derived layers.
func (p Params) WhatIf() bool { return len(p.Exclude) > 0 || len(p.Usable) > 0 }

// Target is a campaign goal a summary metric is judged against.
type Target struct {
	Year   int          `json:"year"`
	Metric string       `json:"metric"`
	Op     string       `json:"op"` // ">=" or "<="
	Value  float64      `json:"value"`
	Title  layers.Title `json:"title"`
	Source string       `json:"source"` // the plan line, e.g. "seed L1486"
}

// Met reports whether v meets the target.
func (t Target) Met(v float64) bool {
	if t.Op == "<=" {
		return v <= t.Value
	}
	return v >= t.Value
}

// TownSummary holds one town's metrics.
type TownSummary struct {
	Town   string             `json:"town"`
	Values map[string]float64 `json:"values"`
}

// Summary is what a planner reads first: metrics for the area asked for,
// the same per town, and the targets they are judged against.
type Summary struct {
	Metrics map[string]float64 `json:"metrics"`
	Towns   []TownSummary      `json:"towns"`
	Targets []Target           `json:"targets,omitempty"`
}

// Result is the output of one run: a summary and features per derived layer.
type Result struct {
	Analysis string                      `json:"analysis"`
	Summary  Summary                     `json:"summary"`
	Layers   map[string][]layers.Feature `json:"-"`
}

// Env is what an analysis reads from: the store, the rules and the towns.
type Env struct {
	Store layers.Store
	Rules Rules
	Towns *Towns
}

// Analysis is one analysis: the derived layers it writes and how to compute
// them. Run computes the whole district, then keeps what Params ask for.
type Analysis interface {
	ID() string
	Title() layers.Title
	Description() layers.Title
	RuleIDs() []string
	Inputs() []string // base layers read; a change to one recomputes
	Layers() []layers.Layer
	Run(ctx context.Context, env *Env, p Params) (*Result, error)
}

// Incremental analyses update their derived layers for a change to an input
// without recomputing the district. Update returns the features to upsert
// and the ids to delete per derived layer, and the new full summary.
type Incremental interface {
	Analysis
	Update(ctx context.Context, env *Env, c layers.Change) (upsert map[string][]layers.Feature, del map[string][]int64, s Summary, err error)
}

// Engine runs the analyses and keeps their derived layers in the store
// current as inputs change.
type Engine struct {
	cat      *layers.Catalog
	rules    Rules
	analyses []Analysis
	byID     map[string]Analysis

	mu      sync.Mutex // serialises refreshes and updates
	store   layers.Store
	onErr   func(error)
	towns   *Towns
	summary map[string]Summary // last district-wide summary per analysis
}

// New registers the derived layers of the analyses in cat and returns an
// engine. Attach it to a store before use.
func New(cat *layers.Catalog, rules Rules, as ...Analysis) (*Engine, error) {
	e := &Engine{cat: cat, rules: rules, analyses: as, byID: map[string]Analysis{}, summary: map[string]Summary{}}
	for _, a := range as {
		if _, dup := e.byID[a.ID()]; dup {
			return nil, fmt.Errorf("analysis %q registered twice", a.ID())
		}
		e.byID[a.ID()] = a
		for _, id := range a.RuleIDs() {
			if _, ok := rules[id]; !ok {
				return nil, fmt.Errorf("analysis %s: unknown rule %q", a.ID(), id)
			}
		}
		for _, l := range a.Layers() {
			l.Derived = true
			if err := cat.Add(l); err != nil {
				return nil, err
			}
		}
	}
	return e, nil
}

// Rules returns the rules in force.
func (e *Engine) Rules() Rules { return e.rules }

// Analyses returns the analyses in order.
func (e *Engine) Analyses() []Analysis { return slices.Clone(e.analyses) }

// Get returns an analysis by id or an error wrapping layers.ErrNotFound.
func (e *Engine) Get(id string) (Analysis, error) {
	a, ok := e.byID[id]
	if !ok {
		return nil, fmt.Errorf("%w: analysis %q", layers.ErrNotFound, id)
	}
	return a, nil
}

// Attach makes st the store the engine reads and writes, and subscribes to
// its changes: a write to an input layer updates the derived layers before
// the write returns. onErr (may be nil) hears of updates that failed after
// the write they follow had committed; the derived layer then stays as it
// was until the next refresh.
func (e *Engine) Attach(st *layers.Observed, onErr func(error)) {
	e.store = st
	e.onErr = onErr
	st.Subscribe(e.onChange)
}

// Refresh recomputes the given analyses (all when none is named) over the
// whole district and replaces their derived layers in the store.
func (e *Engine) Refresh(ctx context.Context, ids ...string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.loadTowns(ctx); err != nil {
		return err
	}
	for _, a := range e.analyses {
		if len(ids) > 0 && !slices.Contains(ids, a.ID()) {
			continue
		}
		if err := e.refresh(ctx, a); err != nil {
			return fmt.Errorf("analysis %s: %w", a.ID(), err)
		}
	}
	return nil
}

func (e *Engine) refresh(ctx context.Context, a Analysis) error {
	res, err := a.Run(ctx, e.env(), Params{})
	if err != nil {
		return err
	}
	for _, l := range a.Layers() {
		if err := e.replace(ctx, l.ID, res.Layers[l.ID]); err != nil {
			return err
		}
	}
	e.summary[a.ID()] = res.Summary
	return nil
}

// replace makes the stored derived layer equal fs: upserts every feature,
// deletes stored ids that are gone.
func (e *Engine) replace(ctx context.Context, layer string, fs []layers.Feature) error {
	keep := make(map[int64]bool, len(fs))
	for _, f := range fs {
		keep[f.ID] = true
	}
	var gone []int64
	err := e.store.Query(ctx, layers.Query{Layer: layer}, func(f layers.Feature) error {
		if !keep[f.ID] {
			gone = append(gone, f.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(gone) > 0 {
		if err := e.store.Delete(ctx, layer, gone); err != nil {
			return err
		}
	}
	for start := 0; start < len(fs); start += 5000 {
		end := min(start+5000, len(fs))
		if err := e.store.Upsert(ctx, layer, fs[start:end]); err != nil {
			return err
		}
	}
	return nil
}

// Run computes one analysis for params without touching the store: the
// what-if and per-town views of the API and the CLI.
func (e *Engine) Run(ctx context.Context, id string, p Params) (*Result, error) {
	a, err := e.Get(id)
	if err != nil {
		return nil, err
	}
	if p.Town != "" {
		if e.towns == nil {
			e.mu.Lock()
			err := e.loadTowns(ctx)
			e.mu.Unlock()
			if err != nil {
				return nil, err
			}
		}
		if _, ok := e.towns.Bound(p.Town); !ok {
			return nil, fmt.Errorf("%w: unknown town %q", layers.ErrInvalid, p.Town)
		}
	}
	return a.Run(ctx, e.env(), p)
}

// Summary returns the last district-wide summary of an analysis, as of the
// last refresh or incremental update.
func (e *Engine) Summary(id string) (Summary, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.summary[id]
	return s, ok
}

func (e *Engine) env() *Env { return &Env{Store: e.store, Rules: e.rules, Towns: e.towns} }

func (e *Engine) loadTowns(ctx context.Context) error {
	t, err := LoadTowns(ctx, e.store)
	if err != nil {
		return err
	}
	e.towns = t
	return nil
}

// onChange reacts to a committed write: analyses that read the layer are
// updated, incrementally where they can be.
func (e *Engine) onChange(ctx context.Context, c layers.Change) {
	l, err := e.cat.Layer(c.Layer)
	if err != nil || l.Derived {
		return // our own writes, or a layer we do not know
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if c.Layer == layers.Towns || e.towns == nil {
		if err := e.loadTowns(ctx); err != nil {
			e.report(err)
			return
		}
	}
	for _, a := range e.analyses {
		if !slices.Contains(a.Inputs(), c.Layer) {
			continue
		}
		if inc, ok := a.(Incremental); ok && !c.All {
			up, del, s, err := inc.Update(ctx, e.env(), c)
			if err == nil {
				err = e.apply(ctx, up, del)
			}
			if err == nil {
				e.summary[a.ID()] = s
				continue
			}
			if errors.Is(err, context.Canceled) {
				return
			}
			e.report(fmt.Errorf("analysis %s: incremental update: %w", a.ID(), err))
		}
		if err := e.refresh(ctx, a); err != nil {
			e.report(fmt.Errorf("analysis %s after a change to %s: %w", a.ID(), c.Layer, err))
		}
	}
}

func (e *Engine) report(err error) {
	if e.onErr != nil {
		e.onErr(err)
	}
}

func (e *Engine) apply(ctx context.Context, up map[string][]layers.Feature, del map[string][]int64) error {
	for _, layer := range slices.Sorted(maps.Keys(del)) {
		if ids := del[layer]; len(ids) > 0 {
			if err := e.store.Delete(ctx, layer, ids); err != nil {
				return err
			}
		}
	}
	for _, layer := range slices.Sorted(maps.Keys(up)) {
		if fs := up[layer]; len(fs) > 0 {
			if err := e.store.Upsert(ctx, layer, fs); err != nil {
				return err
			}
		}
	}
	return nil
}
