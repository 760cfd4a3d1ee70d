package wasm

import (
	"context"
	"encoding/json"

	"github.com/tetratelabs/wazero/api"
)

// The host function sql of ABI.md (module "realmgate"): a guest runs a statement or a stored
// procedure on the data source the host opened for its adapter (a Worklight SQL adapter's
// <dataSourceDefinition>, package adapters/sqlsource). The connection, its password and the
// pool stay in the host; the guest sends the statement text and its parameters, and values
// reach the database as bound parameters only.

// maxSQLCalls bounds the sql calls of one procedure call: each holds a pooled connection for
// its statement, and a guest looping over statements would hold the data source's pool.
const maxSQLCalls = 256

// Results of sql beyond a length: the guest gets no answer to collect.
const (
	sqlNoSource = -1 // the adapter has no data source
	sqlTooMany  = -3 // the call already made maxSQLCalls sql calls
)

// hostSQL is sql(ptr, len) -> i32: the answer JSON becomes the pending result and its length
// is returned, or a negative number when there is no answer.
func (a *adapter) hostSQL(ctx context.Context, mod api.Module, stack []uint64) {
	ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	b := read(mod, "sql", ptr, n)
	st := stateOf(ctx)
	switch {
	case a.sql == nil:
		stack[0] = api.EncodeI32(sqlNoSource)
		return
	case st.sqls >= maxSQLCalls:
		a.logger.Warn("realmgate.sql refused: too many calls in one procedure call", "procedure", st.procedure, "limit", maxSQLCalls)
		stack[0] = api.EncodeI32(sqlTooMany)
		return
	}
	st.sqls++
	answer := a.sql.Do(ctx, b)
	if !json.Valid(answer) {
		answer = []byte(`{"isSuccessful":false,"errors":["the data source gave no answer"]}`)
	}
	st.pending = answer
	stack[0] = api.EncodeU32(uint32(len(st.pending)))
}
