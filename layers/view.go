package layers

import "context"

// Viewer is implemented by stores that can lend their stored features to a
// reader instead of copying them: the fast path of readers that only look
// (tiles, analyses, encoders). A lent feature shares its geometry and
// property map with the store, so the callback must neither modify them
// (orb's project, clip and simplify work in place: clone first) nor keep
// them after it returns. Property values are immutable scalars (strings,
// numbers, booleans) and may be kept.
//
// View calls fn like Store.Query: for each feature matching q, in ID order,
// honouring AfterID and Limit, stopping at fn's first error.
type Viewer interface {
	View(ctx context.Context, q Query, fn func(Feature) error) error
}

// View calls fn for each feature of st matching q, lending the stored
// features when st is a Viewer and falling back to Store.Query (copies)
// otherwise. Either way fn must treat the features as read-only and must
// not keep their geometry or property map: see Viewer.
func View(ctx context.Context, st Store, q Query, fn func(Feature) error) error {
	if v, ok := st.(Viewer); ok {
		return v.View(ctx, q, fn)
	}
	return st.Query(ctx, q, fn)
}

// NearestViewer is implemented by stores that can lend the features a
// nearest query finds instead of copying them, on the terms of Viewer:
// fn must neither modify a neighbour's geometry or property map nor keep
// them after it returns.
//
// NearestView calls fn for each neighbour Store.Nearest would return, in
// the same order, stopping at fn's first error.
type NearestViewer interface {
	NearestView(ctx context.Context, q NearestQuery, fn func(Neighbor) error) error
}

// NearestView calls fn for each neighbour of q in st, nearest first,
// lending the stored features when st is a NearestViewer and falling back
// to Store.Nearest (copies) otherwise. Either way fn must treat the
// features as read-only and must not keep their geometry or property map:
// see Viewer.
func NearestView(ctx context.Context, st Store, q NearestQuery, fn func(Neighbor) error) error {
	if v, ok := st.(NearestViewer); ok {
		return v.NearestView(ctx, q, fn)
	}
	ns, err := st.Nearest(ctx, q)
	if err != nil {
		return err
	}
	for _, n := range ns {
		if err := fn(n); err != nil {
			return err
		}
	}
	return nil
}
