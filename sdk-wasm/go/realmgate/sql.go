package realmgate

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// The data source of a SQL adapter (ABI.md, realmgate.sql): the host owns the connection that
// the adapter XML's <dataSourceDefinition> names; the guest sends a statement and its
// parameters, which reach the database as bound values only.

// Errors of SQL. ErrNoDataSource: the adapter declares no data source (or the host gives it
// none); ErrSQLLimit: the procedure call made too many SQL calls.
var (
	ErrNoDataSource = errors.New("realmgate: the adapter has no data source")
	ErrSQLLimit     = errors.New("realmgate: sql: too many calls in one procedure call")
)

// SQLRequest is a statement with ? placeholders, or a stored procedure, with its parameters
// (strings, numbers, booleans, nil).
type SQLRequest struct {
	Statement  string `json:"statement,omitempty"`
	Procedure  string `json:"procedure,omitempty"`
	Parameters []any  `json:"parameters"`
}

// SQLAnswer is the host's answer, in Worklight's shape: a query's ResultSet (column name to
// value: numbers, strings, booleans, nil, base64 for binary data, RFC 3339 for times), or the
// UpdateStatementResult of any other statement, or the Errors of a failure.
type SQLAnswer struct {
	IsSuccessful          bool             `json:"isSuccessful"`
	ResultSet             []map[string]any `json:"resultSet,omitempty"`
	UpdateStatementResult *struct {
		UpdateCount int64 `json:"updateCount"`
	} `json:"updateStatementResult,omitempty"`
	Errors []string `json:"errors,omitempty"`
}

// SQL runs req on the adapter's data source. A statement the database refused, one that ran
// past the call's deadline or returned more rows than the host's cap is an error with the
// host's message.
func SQL(req SQLRequest) (*SQLAnswer, error) {
	if req.Parameters == nil {
		req.Parameters = []any{}
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("realmgate: sql: %w", err)
	}
	out, err := SQLJSON(b)
	if err != nil {
		return nil, err
	}
	var a SQLAnswer
	if err := json.Unmarshal(out, &a); err != nil {
		return nil, fmt.Errorf("realmgate: sql: the host's answer: %w", err)
	}
	if !a.IsSuccessful {
		return &a, fmt.Errorf("realmgate: sql: %s", strings.Join(a.Errors, "; "))
	}
	return &a, nil
}

// SQLJSON sends a request's JSON as it is and returns the answer's JSON (what a JavaScript
// engine hands its script); the error is ErrNoDataSource or ErrSQLLimit.
func SQLJSON(request []byte) ([]byte, error) {
	n := sqlCall(request)
	switch {
	case n == -1:
		return nil, ErrNoDataSource
	case n == -3:
		return nil, ErrSQLLimit
	case n < 0:
		return nil, fmt.Errorf("realmgate: sql: the host answered %d", n)
	}
	return takeSQLResult(uint32(n)), nil
}
