package jsapi

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzScan feeds arbitrary text to the scanner: it never panics, and it either reports uses at
// positions inside the script or returns one of its errors.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		"WL.Server.invokeHttp({transformation: {type: 'xslFile', xslFile: 'f.xsl'}});",
		"var s = WL.Server; s.invokeSQLStatement(); var a = b, b = a; a.x();",
		"function f(com) { return com.x; } java.lang.System.exit(0); importPackage(java.io);",
		"WL.Server[x]; WL[y].z; WL.Logger['info'](1); `${WL.Server.getActiveUser()}`",
		"class A { m() { return WL.Server.setActiveUser(null); } }; (() => WL.Logger.log(1))();",
		"function f( {",
	} {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.js"))
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		r, err := Scan("A-impl.js", src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) && !errors.Is(err, ErrTooDeep) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		lines := 1 // at most: JavaScript ends lines at \n, \r, U+2028 and U+2029
		for _, c := range string(src) {
			if c == '\n' || c == '\r' || c == '\u2028' || c == '\u2029' {
				lines++
			}
		}
		for _, u := range r.Uses {
			if u.Pos.Line < 1 || u.Pos.Line > lines || u.Pos.Column < 1 || u.Status == 0 {
				t.Fatalf("use %+v outside the script's %d lines", u, lines)
			}
		}
	})
}
