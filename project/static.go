package project

import "strings"

// MatchURLPattern reports whether a URL path matches a Worklight urlPatterns entry, where '*'
// matches any run of characters ("/apps/services/loguploader*").
//
// It runs in time linear in the lengths of the pattern and the path, whatever the stars: the
// literal before the first star must start the path, the one after the last star must end it,
// and each literal between stars is found at its leftmost place after the previous one. Taking
// the leftmost place is never wrong, since it leaves the longest rest of the path to the pieces
// that follow; so there is nothing to backtrack over (a backtracking matcher spent seconds on a
// 60 KB path against "/s/*x*y").
func MatchURLPattern(pattern, p string) bool {
	first := strings.IndexByte(pattern, '*')
	if first < 0 {
		return pattern == p
	}
	last := strings.LastIndexByte(pattern, '*')
	prefix, suffix := pattern[:first], pattern[last+1:]
	if len(p) < len(prefix)+len(suffix) || !strings.HasPrefix(p, prefix) || !strings.HasSuffix(p, suffix) {
		return false
	}
	rest := p[len(prefix) : len(p)-len(suffix)]
	middle := pattern[first+1 : last+1] // each piece ends with its star
	for middle != "" {
		star := strings.IndexByte(middle, '*')
		piece := middle[:star]
		middle = middle[star+1:]
		if piece == "" {
			continue
		}
		i := strings.Index(rest, piece)
		if i < 0 {
			return false
		}
		rest = rest[i+len(piece):]
	}
	return true
}

// StaticResourceAt returns the first static resource whose patterns match urlPath (a cleaned
// path), or nil: the resource the server protects with its security test.
func (p *Project) StaticResourceAt(urlPath string) *StaticResource {
	for _, sr := range p.StaticResources {
		for _, pat := range sr.URLPatterns {
			if MatchURLPattern(pat, urlPath) {
				return sr
			}
		}
	}
	return nil
}
