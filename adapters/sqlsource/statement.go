package sqlsource

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// A statement's text comes from the adapter's script; its values come from the parameters and
// only from them. The scanner below finds the ? placeholders outside quoted text and comments,
// rewrites them for PostgreSQL ($1, $2, ...), refuses a second statement after a semicolon
// (no stacked queries, whatever the driver would allow) and PostgreSQL's own $n (a statement
// numbers its parameters one way only).

// Bounds of a request.
const (
	maxStatement  = 64 << 10 // bytes of a statement's text
	maxParameters = 1024     // parameters of one statement
)

// Errors of statement checks, matched with errors.Is.
var (
	ErrPlaceholders = errors.New("the statement's placeholders do not match its parameters")
	ErrStacked      = errors.New("one statement per call: the text goes on after a semicolon")
	ErrUnterminated = errors.New("the statement has an unterminated quote or comment")
	// ErrProcedureRefused: invokeSQLStoredProcedure names a routine of the database system
	// (or of an extension) rather than one of the application's.
	ErrProcedureRefused = errors.New("the procedure is refused")
)

// prepare checks text and returns it with its placeholders in d's syntax, and the number of
// placeholders.
func prepare(d Dialect, text string) (string, int, error) {
	if len(text) > maxStatement {
		return "", 0, fmt.Errorf("the statement is longer than %d bytes", maxStatement)
	}
	var b strings.Builder
	b.Grow(len(text) + 8)
	n := 0
	ended := false // a semicolon ended the statement: only blanks and comments may follow
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\'' || c == '"' || (c == '`' && d == MySQL):
			j, err := skipQuoted(d, text, i)
			if err != nil {
				return "", 0, err
			}
			if ended {
				return "", 0, ErrStacked
			}
			b.WriteString(text[i:j])
			i = j
		case c == '-' && strings.HasPrefix(text[i:], "--"), c == '#' && d == MySQL:
			j := strings.IndexByte(text[i:], '\n')
			if j < 0 {
				j = len(text) - i
			}
			b.WriteString(text[i : i+j])
			i += j
		case c == '/' && strings.HasPrefix(text[i:], "/*"):
			j := strings.Index(text[i+2:], "*/")
			if j < 0 {
				return "", 0, ErrUnterminated
			}
			b.WriteString(text[i : i+2+j+2])
			i += 2 + j + 2
		case c == '$' && d == PostgreSQL && isDollarTag(text[i:]):
			if i+1 < len(text) && text[i+1] >= '0' && text[i+1] <= '9' {
				return "", 0, fmt.Errorf("%w: write ? for a parameter, not PostgreSQL's $n", ErrPlaceholders)
			}
			j, err := skipDollarQuoted(text, i)
			if err != nil {
				return "", 0, err
			}
			if ended {
				return "", 0, ErrStacked
			}
			b.WriteString(text[i:j])
			i = j
		case c == ';':
			ended = true
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			b.WriteByte(c)
			i++
		default:
			if ended {
				return "", 0, ErrStacked
			}
			if c == '?' {
				n++
				if n > maxParameters {
					return "", 0, fmt.Errorf("%w: more than %d placeholders", ErrPlaceholders, maxParameters)
				}
				if d == PostgreSQL {
					b.WriteString("$" + strconv.Itoa(n))
				} else {
					b.WriteByte('?')
				}
			} else {
				b.WriteByte(c)
			}
			i++
		}
	}
	return b.String(), n, nil
}

// skipQuoted returns the index after the quoted text that starts at text[i]. A doubled quote
// stays inside; MySQL also escapes with a backslash.
func skipQuoted(d Dialect, text string, i int) (int, error) {
	q := text[i]
	for j := i + 1; j < len(text); j++ {
		switch text[j] {
		case '\\':
			if d == MySQL && q != '`' {
				j++
			}
		case q:
			if j+1 < len(text) && text[j+1] == q {
				j++
				continue
			}
			return j + 1, nil
		}
	}
	return 0, ErrUnterminated
}

// isDollarTag reports whether s starts with $n or a PostgreSQL dollar-quote tag ($$, $tag$).
func isDollarTag(s string) bool {
	if len(s) < 2 {
		return false
	}
	if s[1] >= '0' && s[1] <= '9' || s[1] == '$' {
		return true
	}
	return dollarTag.MatchString(s)
}

var dollarTag = regexp.MustCompile(`^\$[A-Za-z_][A-Za-z0-9_]*\$`)

// skipDollarQuoted returns the index after the dollar-quoted string at text[i].
func skipDollarQuoted(text string, i int) (int, error) {
	tag := "$$"
	if text[i+1] != '$' {
		tag = dollarTag.FindString(text[i:])
	}
	j := strings.Index(text[i+len(tag):], tag)
	if j < 0 {
		return 0, ErrUnterminated
	}
	return i + len(tag) + j + len(tag), nil
}

// queryWords are the first words of statements that return rows (a resultSet); any other
// statement answers an update count.
var queryWords = map[string]bool{
	"SELECT": true, "WITH": true, "VALUES": true, "SHOW": true, "EXPLAIN": true,
	"DESCRIBE": true, "DESC": true, "PRAGMA": true, "TABLE": true, "CALL": true,
}

// returnsRows reports whether a statement returns rows, by its first word (past blanks,
// comments and opening parentheses).
func returnsRows(text string) bool {
	for i := 0; i < len(text); {
		switch c := text[i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '(':
			i++
		case strings.HasPrefix(text[i:], "--") || c == '#':
			j := strings.IndexByte(text[i:], '\n')
			if j < 0 {
				return false
			}
			i += j
		case strings.HasPrefix(text[i:], "/*"):
			j := strings.Index(text[i+2:], "*/")
			if j < 0 {
				return false
			}
			i += j + 4
		default:
			j := i
			for j < len(text) && (text[j] >= 'a' && text[j] <= 'z' || text[j] >= 'A' && text[j] <= 'Z') {
				j++
			}
			return queryWords[strings.ToUpper(text[i:j])]
		}
	}
	return false
}

// procedureName is what invokeSQLStoredProcedure accepts as a procedure: an identifier,
// optionally qualified by a schema. It is written into the statement, so nothing else passes.
var procedureName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}(\.[A-Za-z_][A-Za-z0-9_]{0,127})?$`)

// procedureCall returns the statement that calls procedure name with n parameters, the way
// the JDBC drivers run {call name(?, ...)}: CALL on MySQL, SELECT * FROM name(...) on
// PostgreSQL (pgJDBC's translation: a function's rows or its value). SQLite has none.
func procedureCall(d Dialect, name string, n int) (string, error) {
	if !procedureName.MatchString(name) {
		return "", fmt.Errorf("the procedure name %s is not an identifier (letters, digits and _, optionally schema.name)", safeName(name))
	}
	if schema, _, ok := strings.Cut(name, "."); ok && systemSchema(d, schema) {
		return "", fmt.Errorf("%w: %s is in %s, a schema of the database system, not the application's", ErrProcedureRefused, name, schema)
	}
	if n > maxParameters {
		return "", fmt.Errorf("%w: more than %d parameters", ErrPlaceholders, maxParameters)
	}
	marks := make([]string, n)
	for i := range marks {
		if d == PostgreSQL {
			marks[i] = "$" + strconv.Itoa(i+1)
		} else {
			marks[i] = "?"
		}
	}
	args := strings.Join(marks, ", ")
	switch d {
	case PostgreSQL:
		return "SELECT * FROM " + name + "(" + args + ")", nil
	case MySQL:
		return "CALL " + name + "(" + args + ")", nil
	}
	return "", errors.New("SQLite has no stored procedures: run the statement with invokeSQLStatement")
}

// systemSchema reports whether schema (as the guest wrote it, unquoted) is one the database
// system owns. The procedure's name is call-time data, and the routines of these schemas are
// not the application's: PostgreSQL's pg_catalog has functions that run SQL text passed as a
// parameter (query_to_xml) or change the pooled session (set_config), MySQL's sys has
// execute_prepared_stmt, and mysql, performance_schema and information_schema hold the
// server's own state. Unquoted names compare case-insensitively (PostgreSQL folds them to
// lower case; MySQL's schema names are case-insensitive on most file systems).
func systemSchema(d Dialect, schema string) bool {
	s := strings.ToLower(schema)
	switch d {
	case PostgreSQL:
		return s == "information_schema" || strings.HasPrefix(s, "pg_")
	case MySQL:
		return s == "sys" || s == "mysql" || s == "information_schema" || s == "performance_schema"
	}
	return false
}
