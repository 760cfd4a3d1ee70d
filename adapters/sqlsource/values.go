package sqlsource

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// parameters turns the guest's JSON parameters into driver values: strings, numbers (int64
// when integral, float64 otherwise), booleans and null. An object or an array is refused: a
// parameter is one value, bound as data, never SQL.
func parameters(raw []json.RawMessage) ([]any, error) {
	args := make([]any, len(raw))
	for i, r := range raw {
		r = bytes.TrimSpace(r)
		if len(r) == 0 {
			return nil, fmt.Errorf("parameter %d is empty", i+1)
		}
		switch r[0] {
		case '"':
			var s string
			if err := json.Unmarshal(r, &s); err != nil {
				return nil, fmt.Errorf("parameter %d: %w", i+1, err)
			}
			args[i] = s
		case 't', 'f':
			var b bool
			if err := json.Unmarshal(r, &b); err != nil {
				return nil, fmt.Errorf("parameter %d: %w", i+1, err)
			}
			args[i] = b
		case 'n':
			args[i] = nil
		case '{', '[':
			return nil, fmt.Errorf("parameter %d is an object or an array; a parameter is a string, a number, a boolean or null", i+1)
		default:
			s := string(r)
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				args[i] = n
			} else if f, err := strconv.ParseFloat(s, 64); err == nil {
				args[i] = f
			} else {
				return nil, fmt.Errorf("parameter %d is not a JSON value", i+1)
			}
		}
	}
	return args, nil
}

// binaryTypes are the database type names whose bytes are binary data (base64 in JSON).
var binaryTypes = map[string]bool{
	"BYTEA": true, "BLOB": true, "TINYBLOB": true, "MEDIUMBLOB": true, "LONGBLOB": true,
	"BINARY": true, "VARBINARY": true, "BIT": true, "GEOMETRY": true,
}

// numericTypes are the database type names of exact numbers the drivers hand over as text.
var numericTypes = map[string]bool{"NUMERIC": true, "DECIMAL": true}

// jsonValue maps a scanned column value to JSON: numbers, strings, booleans, null, binary data
// as base64, times as RFC 3339 (UTC when the database gives no zone), exact numbers as JSON
// numbers.
func jsonValue(v any, dbType string) any {
	dbType = strings.ToUpper(dbType)
	switch x := v.(type) {
	case nil:
		return nil
	case []byte:
		if binaryTypes[dbType] || !utf8.Valid(x) {
			return base64.StdEncoding.EncodeToString(x)
		}
		return textValue(string(x), dbType)
	case string:
		return textValue(x, dbType)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64) // JSON has no NaN or infinity
		}
		return x
	case float32:
		return jsonValue(float64(x), dbType)
	case int64, int32, int16, int8, int, uint64, uint32, uint16, uint8, uint, bool:
		return x
	default:
		return fmt.Sprint(x)
	}
}

// textValue is a text column's value: a JSON number for exact numeric types, else the string.
// An exact number that JSON cannot write (PostgreSQL's NUMERIC NaN, Infinity and -Infinity)
// stays a string: json.Number("NaN") would fail the whole answer when it is marshalled.
func textValue(s, dbType string) any {
	if numericTypes[dbType] && jsonNumber.MatchString(s) {
		return json.Number(s)
	}
	return s
}

// jsonNumber is JSON's number grammar (RFC 8259 section 6). strconv.ParseFloat accepts more
// ("NaN", "Inf", "0x1p-2", "1_000"), none of which encoding/json writes.
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
