// Command gen prints the DDL of layers of the riskmap catalog, the starting
// point of a migration that adds or changes a layer:
//
//	go run ./layers/postgis/internal/gen [layer id ...]
//
// With no arguments it prints every base layer. Released migrations are
// never regenerated: write a new numbered file in layers/postgis/migrations.
package main

import (
	"fmt"
	"os"

	"riskmap/layers"
	"riskmap/layers/postgis"
)

func main() {
	cat := layers.NewCatalog()
	ls := cat.Base()
	if len(os.Args) > 1 {
		ls = ls[:0]
		for _, id := range os.Args[1:] {
			l, err := cat.Layer(id)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			ls = append(ls, l)
		}
	}
	for _, l := range ls {
		fmt.Printf("-- %s: %s / %s\n%s\n", l.ID, l.Title.Zh, l.Title.En, postgis.CreateTableSQL(l))
	}
}
