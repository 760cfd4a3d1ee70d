// Package jsscan finds, in the text of a Worklight JavaScript adapter, the uses of APIs that
// Realmgate's JavaScript engine does not provide, with their file and line. It reads the script
// as text and runs nothing: the host checks an adapter with it before loading the script into the
// sandbox, so that a team learns at deployment, not at the first call, what does not run.
package jsscan

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Supported are the WL.Server functions the engine provides.
var Supported = map[string]bool{
	"invokeHttp":       true,
	"setActiveUser":    true,
	"getActiveUser":    true,
	"getClientRequest": true,
}

// Refused names, for WL.Server functions refused with a specific reason, that reason.
var Refused = map[string]string{
	"createSQLStatement":       "SQL adapters are not supported: the sandbox has no database connection (rewrite the statements behind an HTTP service the adapter calls with invokeHttp, or as a Go adapter)",
	"invokeSQLStatement":       "SQL adapters are not supported: the sandbox has no database connection (rewrite the statements behind an HTTP service the adapter calls with invokeHttp, or as a Go adapter)",
	"invokeSQLStoredProcedure": "SQL adapters are not supported: the sandbox has no database connection (rewrite the statements behind an HTTP service the adapter calls with invokeHttp, or as a Go adapter)",
	"invokeProcedure":          "calling another procedure is not supported: the called procedure's security test could not be applied (let the client call it)",
}

// APIError is one use of an API the engine does not provide.
type APIError struct {
	File   string
	Line   int
	API    string
	Reason string
}

func (e APIError) Error() string {
	return fmt.Sprintf("%s:%d: %s is not supported: %s", e.File, e.Line, e.API, e.Reason)
}

var (
	wlRef   = regexp.MustCompile(`\bWL\s*\.\s*([A-Za-z_$][\w$]*)(?:\s*\.\s*([A-Za-z_$][\w$]*))?`)
	javaRef = regexp.MustCompile(`\b(Packages\s*\.|java\s*\.\s*(?:lang|util|io|net|sql|text|security|math|nio)\b|javax\s*\.|com\s*\.\s*(?:ibm|worklight)\b)`)
)

// Check scans the code of src (comments and string literals blanked) for WL APIs the engine
// does not provide and for Java calls, and returns one error per use, in file order.
func Check(file, src string) []APIError {
	code := blankCommentsAndStrings(src)
	var errs []APIError
	var newlines []int
	for i := 0; i < len(code); i++ {
		if code[i] == '\n' {
			newlines = append(newlines, i)
		}
	}
	lineOf := func(off int) int { return sort.SearchInts(newlines, off) + 1 }
	for _, m := range wlRef.FindAllStringSubmatchIndex(code, -1) {
		obj := code[m[2]:m[3]]
		member := ""
		if m[4] >= 0 {
			member = code[m[4]:m[5]]
		}
		switch obj {
		case "Logger":
			continue
		case "Server":
			if member == "" || Supported[member] {
				continue
			}
			reason, ok := Refused[member]
			if !ok {
				reason = "the engine provides WL.Server." + strings.Join(sortedKeys(Supported), ", WL.Server.") + " and WL.Logger"
			}
			errs = append(errs, APIError{File: file, Line: lineOf(m[0]), API: "WL.Server." + member, Reason: reason})
		default:
			api := "WL." + obj
			if member != "" {
				api += "." + member
			}
			errs = append(errs, APIError{File: file, Line: lineOf(m[0]), API: api,
				Reason: "the engine provides WL.Server." + strings.Join(sortedKeys(Supported), ", WL.Server.") + " and WL.Logger"})
		}
	}
	for _, m := range javaRef.FindAllStringIndex(code, -1) {
		errs = append(errs, APIError{File: file, Line: lineOf(m[0]), API: "Java (" + strings.Join(strings.Fields(code[m[0]:m[1]]), "") + ")",
			Reason: "Java classes do not exist in the sandbox: rewrite the call in JavaScript, or the adapter as a Go adapter"})
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	return errs
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// blankCommentsAndStrings returns src with every comment and the contents of every string and
// template literal replaced by spaces (newlines kept), so that offsets and lines stay the same and
// an API named in a comment or a message is not taken for a use. Regular expression literals are
// not recognised; a quote inside one may blank a stretch of code, which only hides uses.
func blankCommentsAndStrings(src string) string {
	b := []byte(src)
	blank := func(i int) {
		if b[i] != '\n' {
			b[i] = ' '
		}
	}
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '/' && i+1 < len(b) && b[i+1] == '/':
			for ; i < len(b) && b[i] != '\n'; i++ {
				blank(i)
			}
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			blank(i)
			blank(i + 1)
			for i += 2; i < len(b) && !(b[i] == '*' && i+1 < len(b) && b[i+1] == '/'); i++ {
				blank(i)
			}
			if i < len(b) {
				blank(i)
				if i+1 < len(b) {
					i++
					blank(i)
				}
			}
		case c == '"' || c == '\'' || c == '`':
			for i++; i < len(b) && b[i] != c; i++ {
				if b[i] == '\\' && i+1 < len(b) {
					blank(i)
					i++
				}
				if c != '`' && b[i] == '\n' {
					break
				}
				blank(i)
			}
		}
	}
	return string(b)
}

// Join is one error for the uses: each use as file:line: API, each reason once.
func Join(errs []APIError) error {
	var b strings.Builder
	said := map[string]bool{}
	for i, e := range errs {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s:%d: %s is not supported", e.File, e.Line, e.API)
		if !said[e.Reason] {
			said[e.Reason] = true
			b.WriteString(": " + e.Reason)
		}
	}
	return errors.New(b.String())
}
