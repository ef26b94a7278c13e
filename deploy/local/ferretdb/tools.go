//go:build tools

// Package tools pins the FerretDB 1.x server that `make setup` builds with `go install`.
package tools

import _ "github.com/FerretDB/FerretDB/cmd/ferretdb"
