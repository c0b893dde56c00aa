// Package ledger is the hazard ledger (隐患台账) on the hazards layer: a
// lifecycle reported → assigned → rectifying → accepted → closed (销号)
// with re-opening, overdue detection, listed supervision (挂牌督办) of
// overdue major hazards, an append-only history of every transition and
// the counts the dashboards show (SEED-NOTES-1 §4.1, §6).
package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"riskmap/layers"
)

// Lifecycle states (layers.HazardStatuses).
const (
	Reported   = "reported"
	Assigned   = "assigned"
	Rectifying = "rectifying"
	Accepted   = "accepted"
	Closed     = "closed"
)

// next lists the legal moves. Forward one step at a time (no skipping
// acceptance: 对号销账、闭环管理). Re-opening goes back to rectifying: an
// acceptance the closure audit rejects (审核把关销号), or a closed hazard
// the re-check finds back (回头看); its unit, person and deadline are
// known, so it need not be assigned again.
var next = map[string][]string{
	Reported:   {Assigned},
	Assigned:   {Rectifying},
	Rectifying: {Accepted},
	Accepted:   {Closed, Rectifying},
	Closed:     {Rectifying},
}

// Allowed returns the states a hazard in state from may move to.
func Allowed(from string) []string { return slices.Clone(next[from]) }

// Requires returns the fields a move from one state to another needs
// (set in the move's fields or already on the hazard), and "note" where
// the move needs a note. major is whether the hazard is a major one.
func Requires(from, to string, major bool) []string {
	switch {
	case to == Assigned:
		return []string{"responsible_unit", "responsible_person", "deadline"}
	case to == Rectifying && (from == Accepted || from == Closed):
		return []string{"note"}
	case to == Rectifying && major:
		return []string{"measures", "temporary_measures"}
	case to == Rectifying:
		return []string{"measures"}
	case to == Accepted:
		return []string{"acceptance_officer"}
	}
	return []string{}
}

// Open reports whether a state is still open (not yet accepted or closed).
func Open(status string) bool { return layers.HazardOpen(status) }

// TransitionError is an illegal move; the web layer answers 409 with the
// allowed states.
type TransitionError struct {
	ID       int64
	From, To string
	Allowed  []string
}

func (e *TransitionError) Error() string {
	allowed := "none"
	if len(e.Allowed) > 0 {
		allowed = strings.Join(e.Allowed, ", ")
	}
	return fmt.Sprintf("hazard %d cannot move from %s to %s; allowed: %s", e.ID, e.From, e.To, allowed)
}

// Transition is one entry of a hazard's history.
type Transition struct {
	Hazard int64     `json:"hazard"`
	From   string    `json:"from"` // "" for the creation
	To     string    `json:"to"`
	By     string    `json:"by"` // the token's name
	At     time.Time `json:"at"`
	Note   string    `json:"note"`
}

// History is the append-only record of transitions. Implementations:
// FileHistory and PGHistory.
type History interface {
	// Append records t. A move (From not "") whose From is not the
	// hazard's last recorded state — another server moved it meanwhile —
	// is refused with an error wrapping ErrMovedMeanwhile; hazards with no
	// history yet (loaded, not reported through the ledger) accept any.
	Append(ctx context.Context, t Transition) error
	// History returns a hazard's transitions, oldest first.
	History(ctx context.Context, hazard int64) ([]Transition, error)
}

// ErrMovedMeanwhile is a move that lost a race with another one; it wraps
// layers.ErrConflict (409): reload the hazard and try again.
var ErrMovedMeanwhile = fmt.Errorf("%w: the hazard was moved meanwhile; reload it", layers.ErrConflict)

// checkLast is Append's check: the last recorded state must be t.From.
func checkLast(t Transition, last string, known bool) error {
	if t.From == "" || !known || last == t.From {
		return nil
	}
	return fmt.Errorf("hazard %d is %s by its history, not %s: %w", t.Hazard, last, t.From, ErrMovedMeanwhile)
}

// China is the time zone whose date decides what is overdue.
var china = time.FixedZone("CST", 8*3600)

// Ledger runs the lifecycle over a store's hazards layer.
type Ledger struct {
	store layers.Store
	layer *layers.Layer
	hist  History
	now   func() time.Time
	mu    sync.Mutex // one change at a time in this process
}

// New returns the ledger of st's hazards layer.
func New(st layers.Store, cat *layers.Catalog, h History) (*Ledger, error) {
	l, err := cat.Layer(layers.Hazards)
	if err != nil {
		return nil, err
	}
	return &Ledger{store: st, layer: l, hist: h, now: time.Now}, nil
}

// SetClock replaces time.Now (tests, and demos of a fixed day).
func (l *Ledger) SetClock(now func() time.Time) { l.now = now }

// today is the current date in China as YYYY-MM-DD.
func (l *Ledger) today() string { return l.now().In(china).Format(time.DateOnly) }

// Derive sets the computed fields of a hazard's properties as of today
// (YYYY-MM-DD): overdue = the deadline has passed and the hazard is still
// open; listed_supervision = overdue major hazards are listed, and a
// listing ends when the hazard is accepted or closed (摘牌). It reports
// whether anything changed.
func Derive(p map[string]any, today string) bool {
	status, _ := p["status"].(string)
	deadline, _ := p["deadline"].(string)
	overdue := Open(status) && deadline != "" && deadline < today
	listed, _ := p["listed_supervision"].(bool)
	major, _ := p["major"].(bool)
	switch {
	case !Open(status):
		listed = false
	case major && overdue:
		listed = true
	}
	changed := p["overdue"] != overdue || p["listed_supervision"] != listed
	p["overdue"], p["listed_supervision"] = overdue, listed
	return changed
}

// Hazard is a hazard with where it may go and how it got here.
type Hazard struct {
	Feature  layers.Feature
	Allowed  []string
	Requires map[string][]string // per allowed state, what the move needs (see Requires)
	History  []Transition
}

// Get returns a hazard, its computed fields current.
func (l *Ledger) Get(ctx context.Context, id int64) (Hazard, error) {
	f, err := l.store.Get(ctx, layers.Hazards, id)
	if err != nil {
		return Hazard{}, err
	}
	return l.hazard(ctx, f)
}

func (l *Ledger) hazard(ctx context.Context, f layers.Feature) (Hazard, error) {
	if f.Props == nil {
		f.Props = map[string]any{}
	}
	Derive(f.Props, l.today())
	h, err := l.hist.History(ctx, f.ID)
	if err != nil {
		return Hazard{}, err
	}
	if h == nil {
		h = []Transition{}
	}
	status, _ := f.Props["status"].(string)
	major, _ := f.Props["major"].(bool)
	req := map[string][]string{}
	for _, to := range next[status] {
		req[to] = Requires(status, to, major)
	}
	return Hazard{Feature: f, Allowed: Allowed(status), Requires: req, History: h}, nil
}

// History returns a hazard's transitions, oldest first; an unknown hazard
// wraps layers.ErrNotFound.
func (l *Ledger) History(ctx context.Context, id int64) ([]Transition, error) {
	h, err := l.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return h.History, nil
}

// Create adds a reported hazard. Without an id it gets the next free one;
// without found_date, today. Its status must be empty or reported.
func (l *Ledger) Create(ctx context.Context, f layers.Feature, by, note string) (Hazard, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f = f.Clone()
	if f.Props == nil {
		f.Props = map[string]any{}
	}
	if s, ok := f.Props["status"]; ok && s != Reported && s != "已上报" {
		return Hazard{}, &layers.ValidationError{Layer: layers.Hazards, Field: "status",
			Reason: fmt.Sprintf("a new hazard is reported, got %v; move it on with transitions", s)}
	}
	f.Props["status"] = Reported
	if f.Props["found_date"] == nil {
		f.Props["found_date"] = l.today()
	}
	if f.Props["major"] == nil {
		f.Props["major"] = false // the map styles by it: always a boolean
	}
	for _, k := range []string{"overdue", "acceptance_officer", "acceptance_date", "closed_date"} {
		delete(f.Props, k)
	}
	if f.ID == 0 {
		id, err := l.nextID(ctx)
		if err != nil {
			return Hazard{}, err
		}
		f.ID = id
	} else if _, err := l.store.Get(ctx, layers.Hazards, f.ID); err == nil {
		return Hazard{}, fmt.Errorf("%w: hazard %d exists", layers.ErrConflict, f.ID)
	} else if !errors.Is(err, layers.ErrNotFound) {
		return Hazard{}, err
	}
	if err := l.layer.Normalize(&f); err != nil {
		return Hazard{}, err
	}
	Derive(f.Props, l.today())
	if err := l.store.Upsert(ctx, layers.Hazards, []layers.Feature{f}); err != nil {
		return Hazard{}, err
	}
	t := Transition{Hazard: f.ID, To: Reported, By: by, At: l.now().UTC(), Note: note}
	if err := l.hist.Append(ctx, t); err != nil {
		_ = l.store.Delete(context.WithoutCancel(ctx), layers.Hazards, []int64{f.ID})
		return Hazard{}, fmt.Errorf("recording the history: %w", err)
	}
	return l.hazard(ctx, f)
}

func (l *Ledger) nextID(ctx context.Context) (int64, error) {
	var max int64
	err := l.store.Query(ctx, layers.Query{Layer: layers.Hazards}, func(f layers.Feature) error {
		max = f.ID // ID order
		return nil
	})
	return max + 1, err
}

// fixed are the fields a transition may not set: the ledger keeps them.
var fixed = []string{"status", "overdue", "acceptance_date", "closed_date"}

// Transition moves a hazard to state to, setting fields on the way (the
// responsible unit when assigning, the acceptance officer when
// accepting, …). An illegal move is a *TransitionError; a missing field
// the target state needs is a *layers.ValidationError naming it.
func (l *Ledger) Transition(ctx context.Context, id int64, to, by, note string, fields map[string]any) (Hazard, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	old, err := l.store.Get(ctx, layers.Hazards, id)
	if err != nil {
		return Hazard{}, err
	}
	f := old.Clone()
	if f.Props == nil {
		f.Props = map[string]any{}
	}
	from, _ := f.Props["status"].(string)
	if code, err := l.statusField().Coerce(to); err == nil && code != nil {
		to = code.(string) // 已交办 → assigned
	}
	if !slices.Contains(next[from], to) {
		return Hazard{}, &TransitionError{ID: id, From: from, To: to, Allowed: Allowed(from)}
	}
	bad := func(field, format string, a ...any) error {
		return &layers.ValidationError{Layer: layers.Hazards, ID: id, Field: field, Reason: fmt.Sprintf(format, a...)}
	}
	for k, v := range fields {
		if slices.Contains(fixed, k) {
			return Hazard{}, bad(k, "set by the ledger, not by a transition")
		}
		f.Props[k] = v
	}
	today := l.today()
	f.Props["status"] = to
	need := func(names ...string) error {
		for _, n := range names {
			if v, ok := f.Props[n]; !ok || v == nil || v == "" {
				return bad(n, "required to move to %s", to)
			}
		}
		return nil
	}
	reopen := (from == Accepted || from == Closed) && to == Rectifying
	switch {
	case reopen:
		for _, k := range []string{"acceptance_officer", "acceptance_date", "closed_date"} {
			delete(f.Props, k)
		}
	case to == Accepted:
		f.Props["acceptance_date"] = today
	case to == Closed:
		f.Props["closed_date"] = today
	}
	if err := l.layer.Normalize(&f); err != nil {
		return Hazard{}, err
	}
	// 五定 when assigning; measures (and for a major hazard 临时性保护措施)
	// when rectifying; the officer when accepting; why, when re-opening
	major, _ := f.Props["major"].(bool)
	for _, n := range Requires(from, to, major) {
		if n == "note" {
			if strings.TrimSpace(note) == "" {
				return Hazard{}, bad("note", "re-opening needs a note saying why")
			}
			continue
		}
		if err := need(n); err != nil {
			return Hazard{}, err
		}
	}
	Derive(f.Props, today)
	// The record first: its check on the last state keeps two servers
	// from both moving the hazard from the same state.
	t := Transition{Hazard: id, From: from, To: to, By: by, At: l.now().UTC(), Note: note}
	if err := l.hist.Append(ctx, t); err != nil {
		return Hazard{}, fmt.Errorf("recording the move: %w", err)
	}
	if err := l.store.Upsert(ctx, layers.Hazards, []layers.Feature{f}); err != nil {
		// the history is append-only: record that the move did not happen
		undo := Transition{Hazard: id, From: to, To: from, By: by, At: l.now().UTC(),
			Note: "undone: the hazard could not be written"} // the cause goes to the caller, not the public history
		if uerr := l.hist.Append(context.WithoutCancel(ctx), undo); uerr != nil {
			return Hazard{}, errors.Join(err, fmt.Errorf("recording the undo: %w", uerr))
		}
		return Hazard{}, err
	}
	return l.hazard(ctx, f)
}

func (l *Ledger) statusField() layers.Field {
	f, _ := l.layer.Field("status")
	return f
}

// Sweep brings overdue and listed_supervision of every hazard up to date
// (deadlines pass without anyone writing), so that tiles and items show
// them; it returns how many hazards changed.
func (l *Ledger) Sweep(ctx context.Context) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	today := l.today()
	var changed []layers.Feature
	err := l.store.Query(ctx, layers.Query{Layer: layers.Hazards}, func(f layers.Feature) error {
		if f.Props == nil {
			f.Props = map[string]any{}
		}
		if Derive(f.Props, today) {
			changed = append(changed, f)
		}
		return nil
	})
	if err != nil || len(changed) == 0 {
		return 0, err
	}
	for c := range slices.Chunk(changed, 5000) {
		if err := l.store.Upsert(ctx, layers.Hazards, c); err != nil {
			return 0, err
		}
	}
	return len(changed), nil
}
