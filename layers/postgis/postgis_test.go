package postgis_test

import (
	"context"
	"testing"

	"riskmap/layers"
	"riskmap/layers/postgis"
	"riskmap/layers/postgis/pgtest"
	"riskmap/layers/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() (layers.Store, error) {
		dsn := pgtest.Database(t)
		return func() (layers.Store, error) {
			return postgis.Open(context.Background(), dsn, layers.NewCatalog())
		}
	})
}
