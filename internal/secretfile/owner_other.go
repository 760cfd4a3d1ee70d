//go:build !unix

package secretfile

import "io/fs"

// ownedByMe is true where file ownership is not checked (modes are not checked there either).
func ownedByMe(fs.FileInfo) bool { return true }
