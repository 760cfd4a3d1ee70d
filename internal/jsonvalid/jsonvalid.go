// Package jsonvalid checks that bytes are one JSON value, by exactly the rules of
// encoding/json.Valid, at several times its speed. Both adapter backends (wasm and go-plugin)
// check the input and the output of every call with it, and encoding/json's table-driven scanner
// cost more than the rest of a backend's work on inputs of a few KiB. It walks nested values with
// an explicit stack, so a hostile document cannot grow the goroutine's stack. A differential fuzz
// target holds it equal to encoding/json.Valid.
package jsonvalid

import (
	"bytes"
	"encoding/binary"
)

// maxDepth is encoding/json's nesting limit: deeper documents are invalid.
const maxDepth = 10000

// Valid reports whether data is exactly one JSON value, surrounded by optional whitespace.
func Valid(data []byte) bool {
	var small [64]byte
	stack := small[:0] // the open containers, '{' or '['
	i := ws(data, 0)
	for {
		// A value starts at i.
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case '{', '[':
			open := data[i]
			stack = append(stack, open)
			if len(stack) > maxDepth {
				return false
			}
			i = ws(data, i+1)
			if i < len(data) && data[i] == open+2 { // '}' is '{'+2, ']' is '['+2
				stack = stack[:len(stack)-1]
				i++
				break
			}
			if open == '{' {
				if i = key(data, i); i < 0 {
					return false
				}
			}
			continue
		case '"':
			i = str(data, i+1)
		case 't':
			i = lit(data, i, "true")
		case 'f':
			i = lit(data, i, "false")
		case 'n':
			i = lit(data, i, "null")
		default:
			i = num(data, i)
		}
		if i < 0 {
			return false
		}
		// After a value: close containers until a comma starts the next value.
		for {
			i = ws(data, i)
			if len(stack) == 0 {
				return i == len(data)
			}
			if i >= len(data) {
				return false
			}
			top := stack[len(stack)-1]
			if data[i] == top+2 {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if data[i] != ',' {
				return false
			}
			i = ws(data, i+1)
			if top == '{' {
				if i = key(data, i); i < 0 {
					return false
				}
			}
			break
		}
	}
}

// ws returns the index of the first non-whitespace byte at or after i.
func ws(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// key reads `"name" :` and the whitespace after it, returning where the member's value starts,
// or -1.
func key(data []byte, i int) int {
	if i >= len(data) || data[i] != '"' {
		return -1
	}
	if i = str(data, i+1); i < 0 {
		return -1
	}
	i = ws(data, i)
	if i >= len(data) || data[i] != ':' {
		return -1
	}
	return ws(data, i+1)
}

// str reads the rest of a string whose opening quote is before i and returns the index after
// its closing quote, or -1. It jumps to the next quote or backslash with the vectorised
// bytes.IndexByte and checks the bytes in between for control characters eight at a time:
// strings are most of what adapters exchange.
func str(data []byte, i int) int {
	for {
		rest := data[i:]
		q := bytes.IndexByte(rest, '"')
		if q < 0 {
			return -1
		}
		seg := rest[:q]
		esc := bytes.IndexByte(seg, '\\')
		if esc >= 0 {
			seg = seg[:esc]
		}
		if hasControl(seg) {
			return -1
		}
		if esc < 0 {
			return i + q + 1
		}
		i += esc + 1
		if i >= len(data) {
			return -1
		}
		switch data[i] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i++
		case 'u':
			if i+4 >= len(data) {
				return -1
			}
			for _, h := range data[i+1 : i+5] {
				if !isHex(h) {
					return -1
				}
			}
			i += 5
		default:
			return -1
		}
	}
}

// hasControl reports whether b holds a byte below 0x20, eight bytes at a time: for a word x,
// (x - 0x20 in every byte) & ^x & 0x80 in every byte is non-zero exactly when some byte of x is
// below 0x20 ("hasless" of Bit Twiddling Hacks).
func hasControl(b []byte) bool {
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		if (x-0x2020202020202020)&^x&0x8080808080808080 != 0 {
			return true
		}
		b = b[8:]
	}
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// lit reads the literal word at i.
func lit(data []byte, i int, word string) int {
	if len(data)-i < len(word) || string(data[i:i+len(word)]) != word {
		return -1
	}
	return i + len(word)
}

// num reads a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func num(data []byte, i int) int {
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i >= len(data):
		return -1
	case data[i] == '0':
		i++
	case '1' <= data[i] && data[i] <= '9':
		i = digits(data, i+1)
	default:
		return -1
	}
	if i < len(data) && data[i] == '.' {
		j := digits(data, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := digits(data, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(data []byte, i int) int {
	for i < len(data) && '0' <= data[i] && data[i] <= '9' {
		i++
	}
	return i
}
