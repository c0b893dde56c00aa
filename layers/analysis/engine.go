package analysis

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

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
// the same per town, and the targets they are judged against. ComputedAt
// is when the result was computed (or last updated incrementally); Stale
// says that inputs have changed since and a recomputation is pending.
type Summary struct {
	Metrics    map[string]float64 `json:"metrics"`
	Towns      []TownSummary      `json:"towns"`
	Targets    []Target           `json:"targets,omitempty"`
	ComputedAt time.Time          `json:"computed_at,omitzero"`
	Stale      bool               `json:"stale"`
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
// current as inputs change: incremental analyses are updated before the
// write that changed their inputs returns; the others are marked stale and
// recomputed by one background goroutine, which waits for a burst of
// writes to pause so that the burst costs one recomputation.
type Engine struct {
	cat      *layers.Catalog
	rules    Rules
	analyses []Analysis
	byID     map[string]Analysis

	refreshMu sync.Mutex // serialises full recomputations; taken before mu
	mu        sync.Mutex // guards the fields below; held by updates
	store     layers.Store
	onErr     func(error)
	towns     *Towns
	summary   map[string]Summary // last district-wide summary per analysis
	status    map[string]*status
	busy      bool // the background has a recomputation pending or under way

	quiet, maxDelay time.Duration // coalescing of background recomputations
	kick            chan struct{} // a recomputation is wanted
	stop            context.CancelFunc
	done            chan struct{} // closed when the background goroutine ends
}

// status is an analysis's freshness: gen counts the changes to its
// inputs, stale is set by a change the derived layers do not reflect yet.
type status struct {
	gen        uint64
	stale      bool
	computedAt time.Time
}

// Default coalescing of background recomputations: wait for writes to
// pause this long, but no longer than the maximum delay after the first.
const (
	DefaultQuiet    = 250 * time.Millisecond
	DefaultMaxDelay = 2 * time.Second
)

// New registers the derived layers of the analyses in cat and returns an
// engine. Attach it to a store before use.
func New(cat *layers.Catalog, rules Rules, as ...Analysis) (*Engine, error) {
	e := &Engine{cat: cat, rules: rules, analyses: as, byID: map[string]Analysis{}, summary: map[string]Summary{},
		status: map[string]*status{}, quiet: DefaultQuiet, maxDelay: DefaultMaxDelay, kick: make(chan struct{}, 1)}
	for _, a := range as {
		if _, dup := e.byID[a.ID()]; dup {
			return nil, fmt.Errorf("analysis %q registered twice", a.ID())
		}
		e.byID[a.ID()] = a
		e.status[a.ID()] = &status{}
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

// Coalesce sets how background recomputations gather a burst of writes:
// they start once writes have paused for quiet, or maxDelay after the
// first write of the burst. Call it before Attach.
func (e *Engine) Coalesce(quiet, maxDelay time.Duration) {
	e.quiet, e.maxDelay = quiet, max(quiet, maxDelay)
}

// Attach makes st the store the engine reads and writes, subscribes to its
// changes and starts the background recomputation; Close stops it. A write
// to an input layer updates the derived layers of incremental analyses
// before the write returns and marks the others stale. onErr (may be nil)
// hears of updates and recomputations that failed; a derived layer then
// stays as it was until the next refresh.
func (e *Engine) Attach(st *layers.Observed, onErr func(error)) {
	e.store = st
	e.onErr = onErr
	ctx, stop := context.WithCancel(context.Background())
	e.stop, e.done = stop, make(chan struct{})
	go e.background(ctx)
	st.Subscribe(e.onChange)
}

// Close stops the background recomputation and waits for it to end. A
// recomputation under way is abandoned: its analyses stay stale.
func (e *Engine) Close() error {
	if e.stop != nil {
		e.stop()
		<-e.done
	}
	return nil
}

// Settle waits until the background recomputation has caught up with the
// writes, or ctx ends. It reports analyses left stale: their
// recomputation failed (onErr heard why) or the engine is closed.
func (e *Engine) Settle(ctx context.Context) error {
	for {
		e.mu.Lock()
		var stale []string
		for _, a := range e.analyses {
			if e.status[a.ID()].stale {
				stale = append(stale, a.ID())
			}
		}
		busy := e.busy
		e.mu.Unlock()
		closed := e.done == nil
		if !closed {
			select {
			case <-e.done:
				closed = true
			default:
			}
		}
		switch {
		case len(stale) == 0:
			return nil
		case closed || !busy:
			return fmt.Errorf("analyses %s are stale: the engine is closed or their recomputation failed", strings.Join(stale, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Refresh recomputes the given analyses (all when none is named) over the
// whole district and replaces their derived layers in the store.
func (e *Engine) Refresh(ctx context.Context, ids ...string) error {
	e.refreshMu.Lock()
	defer e.refreshMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.loadTowns(ctx); err != nil {
		return err
	}
	for _, a := range e.analyses {
		if len(ids) > 0 && !slices.Contains(ids, a.ID()) {
			continue
		}
		res, err := a.Run(ctx, e.env(), Params{})
		if err == nil {
			err = e.keep(ctx, a, res, e.status[a.ID()].gen)
		}
		if err != nil {
			return fmt.Errorf("analysis %s: %w", a.ID(), err)
		}
	}
	return nil
}

// background recomputes stale analyses until ctx ends, once per burst of
// writes.
func (e *Engine) background(ctx context.Context) {
	defer close(e.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.kick:
		}
		quiet := time.NewTimer(e.quiet)
		deadline := time.NewTimer(e.maxDelay)
	burst:
		for {
			select {
			case <-ctx.Done():
				quiet.Stop()
				deadline.Stop()
				return
			case <-e.kick:
				quiet.Reset(e.quiet)
			case <-quiet.C:
				break burst
			case <-deadline.C:
				break burst
			}
		}
		quiet.Stop()
		deadline.Stop()
		e.refreshStale(ctx)
	}
}

// refreshStale recomputes the stale analyses in order. Each is computed
// without holding the engine (writes and incremental updates go on), then
// stored under it; one whose inputs changed meanwhile stays stale for the
// next round.
func (e *Engine) refreshStale(ctx context.Context) {
	e.refreshMu.Lock()
	defer e.refreshMu.Unlock()
	for _, a := range e.analyses {
		e.mu.Lock()
		s := e.status[a.ID()]
		stale, gen, env := s.stale, s.gen, e.env()
		e.mu.Unlock()
		if !stale {
			continue
		}
		res, err := a.Run(ctx, env, Params{})
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			e.mu.Lock()
			err = e.keep(ctx, a, res, gen)
			e.mu.Unlock()
		}
		if err != nil {
			e.report(fmt.Errorf("analysis %s: background recomputation: %w", a.ID(), err))
		}
	}
	e.mu.Lock()
	e.busy = len(e.kick) > 0 // a write during the round asks for another
	e.mu.Unlock()
}

// keep writes a full result of a over its derived layers and records its
// summary; the analysis is fresh unless its inputs changed since gen. The
// caller holds e.mu.
func (e *Engine) keep(ctx context.Context, a Analysis, res *Result, gen uint64) error {
	for _, l := range a.Layers() {
		if err := e.replace(ctx, l.ID, res.Layers[l.ID]); err != nil {
			return err
		}
	}
	s := e.status[a.ID()]
	s.computedAt = time.Now()
	if s.gen == gen {
		s.stale = false
	}
	e.summary[a.ID()] = res.Summary
	return nil
}

// replace makes the stored derived layer equal fs: one upsert of the
// features that are new or differ from the stored ones, one delete of the
// stored ids that are gone. Unchanged features are not rewritten, so
// caches of tiles far from a change stay valid.
func (e *Engine) replace(ctx context.Context, layer string, fs []layers.Feature) error {
	// the stored layer is only looked at (lent), keeping nothing but ids
	want := make(map[int64]int, len(fs))
	for i, f := range fs {
		want[f.ID] = i
	}
	same := make([]bool, len(fs))
	var gone []int64
	err := layers.View(ctx, e.store, layers.Query{Layer: layer}, func(f layers.Feature) error {
		i, ok := want[f.ID]
		switch {
		case !ok:
			gone = append(gone, f.ID)
		case sameFeature(f, fs[i]):
			same[i] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	var changed []layers.Feature
	for i, f := range fs {
		if !same[i] {
			changed = append(changed, f)
		}
	}
	if len(changed) > 0 {
		if err := e.store.Upsert(ctx, layer, changed); err != nil {
			return err
		}
	}
	if len(gone) > 0 {
		if err := e.store.Delete(ctx, layer, gone); err != nil {
			return err
		}
	}
	return nil
}

// sameFeature reports whether a stored feature equals a computed one. A
// store may drop empty strings (PostGIS keeps NULL), so those are absent.
func sameFeature(stored, f layers.Feature) bool {
	if !orb.Equal(stored.Geometry, f.Geometry) {
		return false
	}
	n := 0
	for k, v := range f.Props {
		if v == "" {
			continue
		}
		n++
		if layers.Compare(stored.Props[k], v) != 0 {
			return false
		}
	}
	for _, v := range stored.Props {
		if v == "" {
			n++ // not counted on the computed side either
		}
	}
	return n == len(stored.Props)
}

// Run computes one analysis for params without touching the store: the
// what-if and per-town views of the API and the CLI.
func (e *Engine) Run(ctx context.Context, id string, p Params) (*Result, error) {
	a, err := e.Get(id)
	if err != nil {
		return nil, err
	}
	// every run reports per town, so the towns are needed whether or not
	// one is asked for (a CLI run has not refreshed the engine)
	e.mu.Lock()
	if e.towns == nil {
		if err := e.loadTowns(ctx); err != nil {
			e.mu.Unlock()
			return nil, err
		}
	}
	env := e.env()
	e.mu.Unlock()
	if p.Town != "" {
		if _, ok := env.Towns.Bound(p.Town); !ok {
			return nil, fmt.Errorf("%w: unknown town %q", layers.ErrInvalid, p.Town)
		}
	}
	res, err := a.Run(ctx, env, p)
	if err != nil {
		return nil, err
	}
	res.Summary.ComputedAt = time.Now()
	return res, nil
}

// Summary returns the last district-wide summary of an analysis, as of the
// last refresh or incremental update, with when that was and whether a
// recomputation is pending.
func (e *Engine) Summary(id string) (Summary, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.summary[id]
	if ok {
		st := e.status[id]
		s.ComputedAt, s.Stale = st.computedAt, st.stale
	}
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
// updated where they can be incrementally, else marked stale for the
// background recomputation.
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
	kick := false
	for _, a := range e.analyses {
		if !slices.Contains(a.Inputs(), c.Layer) {
			continue
		}
		st := e.status[a.ID()]
		st.gen++
		// a stale incremental analysis waits for its recomputation: an
		// update would race it
		if inc, ok := a.(Incremental); ok && !c.All && !st.stale {
			up, del, s, err := inc.Update(ctx, e.env(), c)
			if err == nil {
				err = e.apply(ctx, up, del)
			}
			if err == nil {
				e.summary[a.ID()] = s
				st.computedAt = time.Now()
				continue
			}
			if !errors.Is(err, context.Canceled) {
				e.report(fmt.Errorf("analysis %s: incremental update: %w", a.ID(), err))
			}
		}
		st.stale, kick = true, true
	}
	if kick {
		e.busy = true
		select {
		case e.kick <- struct{}{}:
		default: // one is pending already
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
