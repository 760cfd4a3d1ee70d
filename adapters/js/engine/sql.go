package main

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/dop251/goja"
)

// Worklight's SQL adapter API over the host's data source (the realmgate.sql host function:
// package adapters/sqlsource runs the statements). The statement texts are the script's top
// level's: createSQLStatement works only while the script loads, as Worklight required, so
// that no text a call builds (from its parameters) reaches the database as SQL. A statement is
// a small object that names its text by number; JSON copies of it (a session's saved state)
// name the same text, and a made-up one names only a text the top level created.

// sqlStatementKey is the member of a statement object that numbers its text.
const sqlStatementKey = "realmgate.sqlStatement"

// sqlHost is the host's data source; the wasm host provides it, a test's fake may not.
type sqlHost interface {
	SQL(request []byte) ([]byte, error)
}

// createSQLStatement(text) returns the statement object of text. Only the script's top level
// may call it.
func (e *engine) createSQLStatement(c goja.FunctionCall) goja.Value {
	if !e.loading {
		e.throw("WL.Server.createSQLStatement: create statements at the script's top level, as Worklight required: a statement created during a call could carry the caller's data as SQL (pass values as parameters of invokeSQLStatement)")
	}
	text := c.Argument(0)
	if goja.IsUndefined(text) || goja.IsNull(text) {
		e.throw("WL.Server.createSQLStatement: no SQL text")
	}
	e.statements = append(e.statements, text.String())
	o := e.vm.NewObject()
	_ = o.Set(sqlStatementKey, len(e.statements)-1)
	return o
}

// invokeSQLStatement({preparedStatement, parameters}) runs a statement: Worklight's result
// ({isSuccessful, resultSet} or {isSuccessful, updateStatementResult}, or {isSuccessful:
// false, errors}).
func (e *engine) invokeSQLStatement(c goja.FunctionCall) goja.Value {
	const api = "WL.Server.invokeSQLStatement"
	opts := e.sqlOptions(api, c.Argument(0))
	ps, _ := opts["preparedStatement"].(map[string]any)
	n, ok := ps[sqlStatementKey].(json.Number)
	i, err := n.Int64()
	if !ok || err != nil || i < 0 || i >= int64(len(e.statements)) {
		e.throw("%s: preparedStatement is not a statement of WL.Server.createSQLStatement", api)
	}
	return e.runSQL(api, map[string]any{"statement": e.statements[i], "parameters": sqlParameters(opts)})
}

// invokeSQLStoredProcedure({procedure, parameters}) calls a stored procedure.
func (e *engine) invokeSQLStoredProcedure(c goja.FunctionCall) goja.Value {
	const api = "WL.Server.invokeSQLStoredProcedure"
	opts := e.sqlOptions(api, c.Argument(0))
	name, ok := opts["procedure"].(string)
	if !ok || strings.TrimSpace(name) == "" {
		e.throw("%s: procedure is not a name", api)
	}
	return e.runSQL(api, map[string]any{"procedure": strings.TrimSpace(name), "parameters": sqlParameters(opts)})
}

func (e *engine) sqlOptions(api string, v goja.Value) map[string]any {
	raw, err := e.fromJS(v)
	if err != nil {
		e.throw("%s: the options are not JSON: %v", api, err)
	}
	opts, ok := raw.(map[string]any)
	if !ok {
		e.throw("%s: the options are not an object", api)
	}
	return opts
}

// sqlParameters are the options' parameters; a missing list is an empty one.
func sqlParameters(opts map[string]any) any {
	if p, ok := opts["parameters"]; ok && p != nil {
		return p
	}
	return []any{}
}

func (e *engine) runSQL(api string, req map[string]any) goja.Value {
	h, ok := e.host.(sqlHost)
	if !ok {
		e.throw("%s: the adapter has no data source", api)
	}
	b, err := json.Marshal(req)
	if err != nil {
		e.throw("%s: %v", api, err)
	}
	out, err := h.SQL(b)
	if err != nil {
		e.throw("%s: %v", api, sqlErrorMessage(err))
	}
	var res any
	d := json.NewDecoder(strings.NewReader(string(out)))
	d.UseNumber()
	if err := d.Decode(&res); err != nil {
		e.throw("%s: the host's answer is not JSON: %v", api, err)
	}
	return e.toJS(res)
}

// errNoDataSource words the host's "no data source" for the script's author.
var errNoDataSource = errors.New("the adapter has no data source: declare one in its XML (<connectivity><connectionPolicy xsi:type=\"sql:SQLConnectionPolicy\">)")

func sqlErrorMessage(err error) error {
	if strings.Contains(err.Error(), "no data source") {
		return errNoDataSource
	}
	return err
}
