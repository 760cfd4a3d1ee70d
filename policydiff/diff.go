package policydiff

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/realmgate/realmgate/project"
)

// Effect says which way a change moves a resource's protection.
type Effect string

// Effects. A resource's effect is the first of its changes' in the order weakened, strengthened,
// changed: one weakening is enough to gate on, and a resource better protected stays so though
// the name of its test changed too.
const (
	Weakened     Effect = "weakened"
	Strengthened Effect = "strengthened"
	Changed      Effect = "changed"
)

func (e Effect) rank() int {
	switch e {
	case Weakened:
		return 2
	case Strengthened:
		return 1
	}
	return 0
}

// Resource statuses.
const (
	StatusAdded   = "added"
	StatusRemoved = "removed"
	StatusChanged = "changed"
)

// Change is one difference in a resource's protection.
type Change struct {
	Effect Effect `json:"effect"`
	// Via names the calling environment ("App/env") when the change is on the path through it:
	// a procedure without a test of its own is protected by its caller's.
	Via     string `json:"via,omitempty"`
	Message string `json:"message"`
}

// ResourceDiff is how one resource's protection changed.
type ResourceDiff struct {
	Kind    string   `json:"kind"`
	Name    string   `json:"name"`
	Status  string   `json:"status"`
	Effect  Effect   `json:"effect"`
	Changes []Change `json:"changes"`
}

// Report is the difference between two projects' effective security.
type Report struct {
	Old string `json:"old"`
	New string `json:"new"`
	// Weakened is true when protection was weakened anywhere: the exit status of policy diff.
	Weakened  bool           `json:"weakened"`
	Counts    Counts         `json:"counts"`
	Resources []ResourceDiff `json:"resources"`
	Unchanged int            `json:"unchanged"`
	Compared  int            `json:"compared"`
}

// Counts are the resources by effect.
type Counts struct {
	Weakened     int `json:"weakened"`
	Strengthened int `json:"strengthened"`
	Changed      int `json:"changed"`
}

// Diff compares the effective security of two projects, resource by resource, and the rules
// of their own policies. oldName and newName label them in the report.
func Diff(oldName string, old *Model, newName string, cur *Model) *Report {
	rep := &Report{Old: oldName, New: newName, Resources: []ResourceDiff{}}
	keys := map[string]bool{}
	for k := range old.Resources {
		keys[k] = true
	}
	for k := range cur.Resources {
		keys[k] = true
	}
	for _, k := range sortedKeys(keys) {
		o, n := old.Resources[k], cur.Resources[k]
		var rd ResourceDiff
		switch {
		case o == nil:
			rd = added(n)
		case n == nil:
			rd = ResourceDiff{Kind: o.Kind, Name: o.Name, Status: StatusRemoved,
				Changes: []Change{{Effect: Changed, Message: "removed: no longer served"}}}
		default:
			rd = ResourceDiff{Kind: n.Kind, Name: n.Name, Status: StatusChanged, Changes: compareResources(o, n)}
		}
		rep.Compared++
		rep.add(rd)
	}
	names := map[string][]string{} // resource name -> "kind name", for rules that name one
	for _, m := range []*Model{old, cur} {
		for _, r := range m.Resources {
			if k := r.Kind + " " + r.Name; !slices.Contains(names[r.Name], k) {
				names[r.Name] = append(names[r.Name], k)
			}
		}
	}
	for _, rd := range comparePolicies(old.Rules, cur.Rules, names) {
		rep.Compared++
		rep.add(rd)
	}
	sort.SliceStable(rep.Resources, func(i, j int) bool {
		a, b := rep.Resources[i], rep.Resources[j]
		if a.Effect != b.Effect {
			return a.Effect.rank() > b.Effect.rank()
		}
		if a.Kind != b.Kind {
			return kindOrder[a.Kind] < kindOrder[b.Kind]
		}
		return a.Name < b.Name
	})
	return rep
}

func (rep *Report) add(rd ResourceDiff) {
	if len(rd.Changes) == 0 {
		rep.Unchanged++
		return
	}
	// Weakenings first: they are what a reviewer reads the report for.
	sort.SliceStable(rd.Changes, func(i, j int) bool { return rd.Changes[i].Effect.rank() > rd.Changes[j].Effect.rank() })
	rd.Effect = Changed
	for _, c := range rd.Changes {
		if c.Effect.rank() > rd.Effect.rank() {
			rd.Effect = c.Effect
		}
	}
	switch rd.Effect {
	case Weakened:
		rep.Counts.Weakened++
		rep.Weakened = true
	case Changed:
		rep.Counts.Changed++
	default:
		rep.Counts.Strengthened++
	}
	rep.Resources = append(rep.Resources, rd)
}

// added describes a new resource: a weakening when any client reaches it without a login (it
// was not served before, and now is to anyone), a change otherwise.
func added(n *Resource) ResourceDiff {
	rd := ResourceDiff{Kind: n.Kind, Name: n.Name, Status: StatusAdded}
	if len(n.Guards) == 0 {
		// A procedure without a test of its own in a project without applications: no client
		// can call it yet.
		rd.Changes = append(rd.Changes, Change{Effect: Changed, Message: "added; no application calls it"})
	}
	for _, via := range sortedKeys(n.Guards) {
		g := n.Guards[via]
		c := Change{Effect: Changed, Via: via, Message: fmt.Sprintf("added, %s: %s", g.level(), describe(g))}
		if g.level() <= levelAnonymous {
			c.Effect = Weakened
		}
		rd.Changes = append(rd.Changes, c)
	}
	return rd
}

// describe says in a few words what a guard asks.
func describe(g *Guard) string {
	switch g.level() {
	case levelOpen:
		return project.Unprotected
	case levelInternal:
		return "no security test: realms call it, clients cannot"
	}
	var steps []string
	for i, s := range g.Steps {
		steps = append(steps, fmt.Sprintf("step %d: %s", i+1, strings.Join(s, ", ")))
	}
	return fmt.Sprintf("security test %q (%s)", g.Test, strings.Join(steps, "; "))
}

func compareResources(o, n *Resource) []Change {
	var out []Change
	// Guards: one comparison when both have a test of their own, else one per calling
	// environment present in the new project (a caller that is gone calls nothing).
	if _, ownOld := o.Guards[""]; ownOld && len(o.Guards) == 1 && len(n.Guards) == 1 && n.Guards[""] != nil {
		out = append(out, compareGuards(o.Guards[""], n.Guards[""], "")...)
	} else {
		if g := n.Guards[""]; g != nil && len(o.Guards) > 0 && o.Guards[""] == nil {
			out = append(out, Change{Effect: Changed, Message: "now has its own security test " + quoteTest(g) + " instead of its caller's"})
		}
		if g := o.Guards[""]; g != nil && len(n.Guards) > 0 && n.Guards[""] == nil {
			out = append(out, Change{Effect: Changed, Message: "now takes its caller's security test instead of its own " + quoteTest(g)})
		}
		for _, via := range sortedKeys(n.Guards) {
			if via == "" {
				continue
			}
			og := o.Guards[via]
			if og == nil {
				og = o.Guards[""]
			}
			if og == nil {
				// A new environment calls it: like a resource added, a weakening when that
				// environment lets any client through.
				g := n.Guards[via]
				c := Change{Effect: Changed, Via: via, Message: fmt.Sprintf("new caller, %s: %s", g.level(), describe(g))}
				if g.level() <= levelAnonymous {
					c.Effect = Weakened
				}
				out = append(out, c)
				continue
			}
			out = append(out, compareGuards(og, n.Guards[via], via)...)
		}
		if g := n.Guards[""]; g != nil {
			for _, via := range sortedKeys(o.Guards) {
				if via != "" {
					out = append(out, compareGuards(o.Guards[via], g, via)...)
				}
			}
		}
	}
	switch n.Kind {
	case KindEnvironment:
		out = append(out, compareEnvironments(o, n)...)
	case KindStatic:
		out = append(out, compareStatic(o, n)...)
	case KindScope:
		switch {
		case n.TokenLifetimeSec > o.TokenLifetimeSec:
			out = append(out, Change{Effect: Weakened, Message: fmt.Sprintf("access tokens live longer: %ds, were %ds", n.TokenLifetimeSec, o.TokenLifetimeSec)})
		case n.TokenLifetimeSec < o.TokenLifetimeSec:
			out = append(out, Change{Effect: Strengthened, Message: fmt.Sprintf("access tokens live shorter: %ds, were %ds", n.TokenLifetimeSec, o.TokenLifetimeSec)})
		}
	}
	return out
}

func quoteTest(g *Guard) string {
	switch {
	case g.Open:
		return project.Unprotected
	case g.Internal:
		return "(none: realms call it)"
	}
	return fmt.Sprintf("%q", g.Test)
}

// compareGuards lists how protection changed from o to n on one path to a resource.
func compareGuards(o, n *Guard, via string) []Change {
	var out []Change
	add := func(e Effect, format string, args ...any) {
		out = append(out, Change{Effect: e, Via: via, Message: fmt.Sprintf(format, args...)})
	}
	lo, ln := o.level(), n.level()
	switch {
	case lo == levelInternal && ln < lo:
		add(Weakened, "clients may now call it, %s: %s; only realms called it before", ln, describe(n))
	case ln < lo:
		add(Weakened, "now %s: %s; was %s", ln, describe(n), describe(o))
	case ln == levelInternal && ln > lo:
		add(Strengthened, "now called by realms only, not by clients; was %s", describe(o))
	case ln > lo:
		add(Strengthened, "now %s: %s; was %s", ln, describe(n), describe(o))
	}
	if o.Open || o.Internal || n.Open || n.Internal {
		return out
	}
	if o.Test != n.Test {
		add(Changed, "security test %q, was %q", n.Test, o.Test)
	}
	// Realms removed, added and moved between steps.
	for _, r := range realmNames(o) {
		so, sn := o.stepOf(r), n.stepOf(r)
		switch {
		case sn == 0 && r == o.DeviceRealm:
			// The device realm's own rule below says it.
		case sn == 0 && r == project.RealmAuthenticity:
			add(Weakened, "realm %s removed from step %d: the app's authenticity is no longer proven", r, so)
		case sn == 0 && r == project.RealmAnonymousUser:
			add(Changed, "realm %s removed from step %d (it logs nobody in)", r, so)
		case sn == 0:
			add(Weakened, "realm %s removed from step %d", r, so)
		case sn != so:
			add(Changed, "realm %s moved from step %d to step %d", r, so, sn)
		}
	}
	for _, r := range realmNames(n) {
		switch {
		case o.stepOf(r) != 0 || r == n.DeviceRealm:
		case r == project.RealmAnonymousUser:
			add(Changed, "realm %s added in step %d (it logs nobody in)", r, n.stepOf(r))
		default:
			add(Strengthened, "realm %s added in step %d", r, n.stepOf(r))
		}
	}
	// A step removed: realms that were challenged one after another now come together.
	if so, sn := commonSteps(o, n), commonSteps(n, o); sn < so {
		add(Weakened, "a step removed: the realms both tests hold came in %d steps, now in %d (a later realm is challenged before the earlier ones passed)", so, sn)
	}
	out = append(out, compareIdentities(o, n, via)...)
	// Definitions behind the realms both hold.
	for _, r := range realmNames(n) {
		if od, nd := o.Realms[r], n.Realms[r]; od != nil && nd != nil && o.stepOf(r) != 0 {
			for _, c := range compareRealms(r, od, nd) {
				c.Via = via
				out = append(out, c)
			}
		}
	}
	return out
}

// commonSteps is the number of distinct steps of a that hold a realm b holds too.
func commonSteps(a, b *Guard) int {
	n := 0
	for _, step := range a.Steps {
		if slices.ContainsFunc(step, func(r string) bool { return b.stepOf(r) != 0 }) {
			n++
		}
	}
	return n
}

func realmNames(g *Guard) []string {
	var out []string
	for _, s := range g.Steps {
		out = append(out, s...)
	}
	return out
}

// deviceStrength ranks device realms: a provisioned certificate proves a device, a device id as
// the client says it proves nothing.
func deviceStrength(g *Guard) int {
	switch {
	case g.DeviceRealm == "":
		return 0
	case g.DeviceRealm == project.RealmDeviceNoProvision:
		return 1
	}
	return 2
}

func compareIdentities(o, n *Guard, via string) []Change {
	var out []Change
	add := func(e Effect, format string, args ...any) {
		out = append(out, Change{Effect: e, Via: via, Message: fmt.Sprintf(format, args...)})
	}
	if o.UserRealm != n.UserRealm {
		oldLogin := o.UserRealm != "" && !loginless[o.UserRealm]
		newLogin := n.UserRealm != "" && !loginless[n.UserRealm]
		switch {
		case oldLogin && !newLogin:
			add(Weakened, "the user identity no longer comes from a login: user realm %s, was %s", orNone(n.UserRealm), o.UserRealm)
		case !oldLogin && newLogin:
			add(Strengthened, "the user identity now comes from a login: user realm %s, was %s", n.UserRealm, orNone(o.UserRealm))
		default:
			add(Changed, "user realm %s, was %s", orNone(n.UserRealm), orNone(o.UserRealm))
		}
	}
	if o.DeviceRealm != n.DeviceRealm {
		so, sn := deviceStrength(o), deviceStrength(n)
		switch {
		case n.DeviceRealm == "":
			add(Weakened, "device realm %s dropped: the device is no longer identified", o.DeviceRealm)
		case sn < so:
			add(Weakened, "device realm %s, was %s: the device is no longer proven by a provisioned certificate", n.DeviceRealm, o.DeviceRealm)
		case sn > so:
			add(Strengthened, "device realm %s, was %s", n.DeviceRealm, orNone(o.DeviceRealm))
		default:
			add(Changed, "device realm %s, was %s", n.DeviceRealm, o.DeviceRealm)
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// compareRealms lists the changes in what decides whether a client passes realm name. Realmgate
// cannot tell whether a new authenticator, login module or parameter accepts no more clients than
// the old one, so each such change counts as a weakening for a person to review; a login module
// that now rejects every login and a shorter login expiration are strengthenings.
func compareRealms(name string, o, n *RealmDef) []Change {
	var out []Change
	add := func(e Effect, format string, args ...any) {
		out = append(out, Change{Effect: e, Message: fmt.Sprintf(format, args...)})
	}
	if o.Class != n.Class || o.Builtin != n.Builtin {
		add(Weakened, "realm %s: authenticator %s, was %s", name, orNone(n.Class), orNone(o.Class))
	}
	for _, c := range compareParams(o.Params, n.Params) {
		add(Weakened, "realm %s: %s", name, c)
	}
	om, nm := o.LoginModule, n.LoginModule
	switch {
	case om == nil && nm == nil:
	case nm == nil:
		add(Weakened, "realm %s: login module %s removed", name, om.Name)
	case om == nil:
		add(Changed, "realm %s: login module %s added", name, nm.Name)
	default:
		if om.Name != nm.Name {
			renamed := om.Class == nm.Class && maps.Equal(om.Params, nm.Params) && om.ExpirationSec == nm.ExpirationSec && om.SSODevice == nm.SSODevice
			if renamed {
				add(Changed, "realm %s: login module %s renamed %s", name, om.Name, nm.Name)
				return out
			}
			add(Weakened, "realm %s: login module %s (%s), was %s (%s)", name, nm.Name, orNone(nm.Class), om.Name, orNone(om.Class))
		}
		mod := "realm " + name + ": login module " + nm.Name
		rejecting := false
		if c := project.LookupClass(nm.Class); c != nil && c.Kind == "rejecting" {
			rejecting = true
		}
		if om.Class != nm.Class && om.Name == nm.Name {
			e := Weakened
			if rejecting {
				e = Strengthened
			}
			add(e, "%s: class %s, was %s", mod, orNone(nm.Class), orNone(om.Class))
		}
		if !rejecting { // a module that rejects every login reads no parameter
			for _, c := range compareParams(om.Params, nm.Params) {
				add(Weakened, "%s: %s", mod, c)
			}
		}
		eo, en := expiration(om.ExpirationSec), expiration(nm.ExpirationSec)
		switch {
		case en > eo:
			add(Weakened, "%s: a login stays valid longer: %s, was %s", mod, expirationString(nm.ExpirationSec), expirationString(om.ExpirationSec))
		case en < eo:
			add(Strengthened, "%s: a login stays valid shorter: %s, was %s", mod, expirationString(nm.ExpirationSec), expirationString(om.ExpirationSec))
		}
		switch {
		case om.SSODevice == nm.SSODevice:
		case nm.SSODevice == "":
			add(Strengthened, "%s: device single sign-on through %s removed", mod, om.SSODevice)
		case om.SSODevice == "":
			add(Weakened, "%s: a login is now shared with the other apps of the device through %s", mod, nm.SSODevice)
		default:
			add(Weakened, "%s: a login is shared with the other apps of the device through %s, was %s", mod, nm.SSODevice, om.SSODevice)
		}
	}
	return out
}

func expiration(sec int) int {
	if sec < 0 {
		return math.MaxInt
	}
	return sec
}

func expirationString(sec int) string {
	if sec < 0 {
		return "the session's life"
	}
	return fmt.Sprintf("%ds", sec)
}

// compareParams describes parameters added, removed and changed.
func compareParams(o, n map[string]string) []string {
	var out []string
	for _, k := range sortedKeys(o) {
		nv, ok := n[k]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("parameter %s removed (was %s)", k, shown(k, o[k])))
		case nv != o[k]:
			out = append(out, fmt.Sprintf("parameter %s %s, was %s", k, shown(k, nv), shown(k, o[k])))
		}
	}
	for _, k := range sortedKeys(n) {
		if _, ok := o[k]; !ok {
			out = append(out, fmt.Sprintf("parameter %s added (%s)", k, shown(k, n[k])))
		}
	}
	return out
}

// shown quotes a parameter's value for a report, or hides it when the parameter's name says it is
// a secret: reports end up in pull-request comments and CI logs.
func shown(name, value string) string {
	n := strings.ToLower(name)
	for _, s := range []string{"password", "passwd", "secret", "passphrase", "hash", "key"} {
		if strings.Contains(n, s) && value != "" {
			return "a value not shown"
		}
	}
	return fmt.Sprintf("%q", value)
}

func compareEnvironments(o, n *Resource) []Change {
	var out []Change
	add := func(e Effect, format string, args ...any) {
		out = append(out, Change{Effect: e, Message: fmt.Sprintf(format, args...)})
	}
	for _, d := range n.SigningCertificateDigests {
		if !slices.Contains(o.SigningCertificateDigests, d) {
			add(Weakened, "app authenticity accepts another signing certificate: %s", d)
		}
	}
	for _, d := range o.SigningCertificateDigests {
		if !slices.Contains(n.SigningCertificateDigests, d) {
			add(Strengthened, "app authenticity no longer accepts signing certificate %s", d)
		}
	}
	if o.PackageName != n.PackageName {
		add(Changed, "package name %q, was %q", n.PackageName, o.PackageName)
	}
	if o.BundleID != n.BundleID {
		add(Changed, "bundle id %q, was %q", n.BundleID, o.BundleID)
	}
	if o.ProvisioningEntity != n.ProvisioningEntity {
		// A certificate provisioned for a group or the device serves more applications than one
		// provisioned for the application.
		breadth := func(e string) int {
			switch {
			case e == "device":
				return 2
			case strings.HasPrefix(e, "group:"):
				return 1
			}
			return 0
		}
		e := Changed
		switch bo, bn := breadth(o.ProvisioningEntity), breadth(n.ProvisioningEntity); {
		case bn > bo:
			e = Weakened
		case bn < bo:
			e = Strengthened
		}
		add(e, "provisioned certificates are bound to %s, were bound to %s", n.ProvisioningEntity, o.ProvisioningEntity)
	}
	return out
}

func compareStatic(o, n *Resource) []Change {
	var out []Change
	open := n.Guards[""] != nil && n.Guards[""].level() <= levelAnonymous
	for _, p := range n.URLPatterns {
		if slices.Contains(o.URLPatterns, p) {
			continue
		}
		if open {
			out = append(out, Change{Effect: Weakened, Message: fmt.Sprintf("URL pattern %s added: served to any client", p)})
		} else {
			out = append(out, Change{Effect: Changed, Message: fmt.Sprintf("URL pattern %s added", p)})
		}
	}
	for _, p := range o.URLPatterns {
		if !slices.Contains(n.URLPatterns, p) {
			out = append(out, Change{Effect: Changed, Message: fmt.Sprintf("URL pattern %s removed: no longer served", p)})
		}
	}
	if o.Position != n.Position {
		out = append(out, Change{Effect: Changed, Message: fmt.Sprintf("matched in position %d, was %d: the first static resource whose patterns match a URL protects it", n.Position, o.Position)})
	}
	return out
}

// comparePolicies compares the rules of the projects' own policies, package by package. A deny
// or require rule that is no longer there as it was written is a weakening (a changed rule is a
// removed one and an added one: whether it refuses as much cannot be told without running it);
// one added is a strengthening. Any other rule removed or changed is a weakening too, since the
// deny and require rules may read it; one added is a change.
func comparePolicies(o, n []Rule, names map[string][]string) []ResourceDiff {
	byPkg := func(rules []Rule) map[string][]Rule {
		m := map[string][]Rule{}
		for _, r := range rules {
			m[r.Package] = append(m[r.Package], r)
		}
		return m
	}
	op, np := byPkg(o), byPkg(n)
	pkgs := map[string]bool{}
	for k := range op {
		pkgs[k] = true
	}
	for k := range np {
		pkgs[k] = true
	}
	var out []ResourceDiff
	for _, pkg := range sortedKeys(pkgs) {
		rd := ResourceDiff{Kind: KindPolicy, Name: pkg, Status: StatusChanged}
		switch {
		case op[pkg] == nil:
			rd.Status = StatusAdded
		case np[pkg] == nil:
			rd.Status = StatusRemoved
		}
		removed, addedRules := ruleDelta(op[pkg], np[pkg]), ruleDelta(np[pkg], op[pkg])
		// about names the resources a rule names, so that a reviewer sees which it is about.
		about := func(r Rule) string {
			var named []string
			for _, s := range r.Strings {
				named = append(named, names[s]...)
			}
			if len(named) == 0 {
				return ""
			}
			sort.Strings(named)
			return " (it names " + strings.Join(slices.Compact(named), ", ") + ")"
		}
		// A helper rule removed and added under one name is a helper changed.
		changedHelper := map[string]bool{}
		for _, r := range removed {
			if !r.decisive() && slices.ContainsFunc(addedRules, func(a Rule) bool { return a.Name == r.Name }) {
				changedHelper[r.Name] = true
			}
		}
		for _, r := range removed {
			switch {
			case changedHelper[r.Name]:
			case r.decisive():
				rd.Changes = append(rd.Changes, Change{Effect: Weakened, Message: fmt.Sprintf("%s rule removed or changed (was %s)%s: %s", r.Name, r.Pos, about(r), firstLine(r.Source))})
			default:
				rd.Changes = append(rd.Changes, Change{Effect: Weakened, Message: fmt.Sprintf("rule %s removed (was %s), which deny and require rules may read: %s", r.Name, r.Pos, firstLine(r.Source))})
			}
		}
		for _, r := range addedRules {
			switch {
			case changedHelper[r.Name]:
				rd.Changes = append(rd.Changes, Change{Effect: Weakened, Message: fmt.Sprintf("rule %s changed (%s), which deny and require rules may read: %s", r.Name, r.Pos, firstLine(r.Source))})
			case r.decisive():
				rd.Changes = append(rd.Changes, Change{Effect: Strengthened, Message: fmt.Sprintf("%s rule added (%s)%s: %s", r.Name, r.Pos, about(r), firstLine(r.Source))})
			default:
				rd.Changes = append(rd.Changes, Change{Effect: Changed, Message: fmt.Sprintf("rule %s added (%s): %s", r.Name, r.Pos, firstLine(r.Source))})
			}
		}
		out = append(out, rd)
	}
	return out
}

// ruleDelta returns the rules of a that b does not hold as written (a multiset difference).
func ruleDelta(a, b []Rule) []Rule {
	left := map[string]int{}
	for _, r := range b {
		left[r.Text]++
	}
	var out []Rule
	for _, r := range a {
		if left[r.Text] > 0 {
			left[r.Text]--
			continue
		}
		out = append(out, r)
	}
	return out
}

// firstLine is a rule's first line, shortened, to name it in a report.
func firstLine(s string) string {
	s, _, more := strings.Cut(s, "\n")
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > 100 {
		s, more = string(r[:100]), true
	}
	if more {
		s += " ..."
	}
	return s
}
