package layers

import "context"

// Store holds the features of every base layer. Implementations:
// layers/memstore (embedded, the default) and layers/postgis. Both pass
// layers/storetest.
//
// Ownership: a store hands out copies. Callers may mutate what they receive
// (orb projects and clips in place) without touching stored data.
type Store interface {
	// Query calls fn for each feature matching q, in ID order, stopping at
	// fn's first error and returning it.
	Query(ctx context.Context, q Query, fn func(Feature) error) error
	// Count returns how many features match q, ignoring AfterID and Limit.
	Count(ctx context.Context, q Query) (int, error)
	// Get returns one feature or an error wrapping ErrNotFound.
	Get(ctx context.Context, layer string, id int64) (Feature, error)
	// Nearest returns up to K features ordered by ground distance.
	Nearest(ctx context.Context, q NearestQuery) ([]Neighbor, error)
	// Upsert inserts or replaces features by (layer, ID), all or none.
	Upsert(ctx context.Context, layer string, fs []Feature) error
	// Delete removes features by id, all or none; unknown ids are ignored.
	Delete(ctx context.Context, layer string, ids []int64) error
	// Stats returns the count and extent of every non-empty layer.
	Stats(ctx context.Context) (map[string]LayerStats, error)
	// Kind names the store for /healthz: "memory" or "postgis".
	Kind() string
	// Ping reports whether the store can serve; an error wraps ErrUnavailable.
	Ping(ctx context.Context) error
	Close() error
}
