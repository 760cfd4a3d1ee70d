//go:build wasip1

package realmgate

import "unsafe"

// realmgate.sql, an addition to ABI version 1: imported only by a module that calls SQL.

//go:wasmimport realmgate sql
func hostSQL(ptr unsafe.Pointer, size uint32) int32

func sqlCall(req []byte) int32 {
	return hostSQL(unsafe.Pointer(unsafe.SliceData(req)), uint32(len(req)))
}

func takeSQLResult(n uint32) []byte { return takeResult(n) }
