package layers

import "context"

// Bulk is implemented by stores that can write a large import as one
// atomic unit while it streams: nothing is visible until Commit, and a
// Rollback (or an error) leaves the layer as it was. Stores without it get
// the same guarantee from BeginBulk below, which gathers the features and
// writes them with one Upsert.
type Bulk interface {
	BeginBulk(ctx context.Context, layer string) (BulkWriter, error)
}

// BulkWriter receives the features of one import.
type BulkWriter interface {
	Write(ctx context.Context, fs []Feature) error
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// NormalizedWriter is implemented by bulk writers that can take features
// their caller has already passed through the layer's Normalize (an
// import does, to name bad records by line) without validating and copying
// them again. The caller passes nothing else, and no id twice in one
// call; the store's own constraints still apply. Like Write, it does not
// keep fs.
type NormalizedWriter interface {
	WriteNormalized(ctx context.Context, fs []Feature) error
}

// BeginBulk starts an atomic import into st: the store's own Bulk when it
// has one, else a writer that gathers everything for a single Upsert.
func BeginBulk(ctx context.Context, st Store, layer string) (BulkWriter, error) {
	if b, ok := st.(Bulk); ok {
		return b.BeginBulk(ctx, layer)
	}
	return &gather{st: st, layer: layer}, nil
}

type gather struct {
	st    Store
	layer string
	fs    []Feature
}

func (g *gather) Write(_ context.Context, fs []Feature) error {
	g.fs = append(g.fs, fs...)
	return nil
}

func (g *gather) Commit(ctx context.Context) error {
	if len(g.fs) == 0 {
		return nil
	}
	err := g.st.Upsert(ctx, g.layer, g.fs)
	g.fs = nil
	return err
}

func (g *gather) Rollback(context.Context) error {
	g.fs = nil
	return nil
}
