package js

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
)

// EngineSource returns the folder of the engine module's Go main package, for building it from
// source (development, tests, hostd adapter build-js-engine). It is found beside this file as the
// compiler saw it: a binary built with -trimpath has no such folder and gets an error that says
// to use a prebuilt engine module.
func EngineSource() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if ok && filepath.IsAbs(file) {
		dir := filepath.Join(filepath.Dir(file), "engine")
		if st, err := os.Stat(filepath.Join(dir, "wl.go")); err == nil && st.Mode().IsRegular() {
			return dir, nil
		}
	}
	return "", errors.New("the JavaScript engine's source is not beside this binary (built with -trimpath or moved): build the engine with hostd adapter build-js-engine from a checkout and name it in hostd.yaml (jsEngine)")
}
