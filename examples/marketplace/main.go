// Command marketplace is the module's example server: a small marketplace
// that composes every package of github.com/dedw3n/hardening.
//
// It is a placeholder until the marketplace issue lands: it says so and exits.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "marketplace: placeholder: the example server is not built yet")
}
