package jsapi

import (
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/parser"
)

// Bounds of what Scan reads: a script's size, and how deeply its code may nest. Real adapters
// are far below both (the largest in the corpus is 247 KB, nested a few dozen levels); the bounds
// keep a hostile file from exhausting the memory or the stack of the process that checks it.
const (
	MaxSourceBytes = 4 << 20
	MaxNesting     = 1000
)

// ErrTooLarge and ErrTooDeep are returned by Scan for a script beyond its bounds.
var (
	ErrTooLarge = fmt.Errorf("the script is larger than %d bytes", MaxSourceBytes)
	ErrTooDeep  = fmt.Errorf("the script nests more than %d levels deep", MaxNesting)
)

// Pos is a place in a script: line and column, both from 1 (the column counts bytes).
type Pos struct {
	Line, Column int
}

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Column) }

// Use is one use of a server API in a script, with its status in the runtime.
type Use struct {
	Support
	Pos Pos
	// Detail says more when API names a family: the Java name called (java.lang.System.out),
	// the XSL file of a transformation (filtered.xsl), the computed access (WL.Server[...]).
	Detail string
}

// Name names the use as a reader would: the API, or for a family what it is and its detail.
func (u Use) Name() string {
	switch u.API {
	case FamilyJava:
		return fmt.Sprintf("Java (%s)", u.Detail)
	case FamilyXSL, FamilyStockXSL:
		return fmt.Sprintf("an XSL transformation (%s)", u.Detail)
	case FamilyDynamic:
		return fmt.Sprintf("a computed member (%s)", u.Detail)
	}
	return u.API
}

// Report is what Scan finds in one script.
type Report struct {
	// File is the name the script was scanned under, as given to Scan.
	File string
	// Uses are the server APIs the script uses, in source order.
	Uses []Use
	// Functions are the names the script defines at its top level (function declarations,
	// variables and assignments), each where it is defined: the procedures it can serve.
	Functions map[string]Pos
}

// Refused returns the uses the runtime refuses.
func (r *Report) Refused() []Use {
	var out []Use
	for _, u := range r.Uses {
		if u.Status != Supported {
			out = append(out, u)
		}
	}
	return out
}

// MissingFunctions returns, in the order given, the procedures the script defines no function
// for.
func (r *Report) MissingFunctions(procedures []string) []string {
	var out []string
	for _, p := range procedures {
		if _, ok := r.Functions[p]; !ok {
			out = append(out, p)
		}
	}
	return out
}

// APIs returns the distinct APIs the script uses, in name order.
func (r *Report) APIs() []string {
	var out []string
	for _, u := range r.Uses {
		if !slices.Contains(out, u.API) {
			out = append(out, u.API)
		}
	}
	slices.Sort(out)
	return out
}

// maxXSLBytes bounds the stylesheet ResolveXSL reads.
const maxXSLBytes = 1 << 20

// ResolveXSL decides the XSL transformations of the report by the stylesheets they name, read
// with read (from the adapter's folder): one that is Worklight's stock filtered.xsl is
// supported, any other refused; one that cannot be read, or whose name is not a plain file of
// the folder, is refused saying so.
func (r *Report) ResolveXSL(read func(name string) ([]byte, error)) {
	for i, u := range r.Uses {
		if u.API != FamilyXSL {
			continue
		}
		if !fs.ValidPath(u.Detail) || strings.Contains(u.Detail, "/") {
			r.Uses[i].Support = Support{API: FamilyXSL, Status: Refused,
				Reason: fmt.Sprintf("%q is not the name of a file in the adapter's folder", u.Detail),
				Fix:    "name a stylesheet of the adapter's folder, as Worklight did"}
			continue
		}
		data, err := read(u.Detail)
		switch {
		case err != nil:
			r.Uses[i].Support = Support{API: FamilyXSL, Status: Refused,
				Reason: fmt.Sprintf("the adapter's folder holds no readable %s", u.Detail),
				Fix:    "add the stylesheet beside the script, or drop the transformation"}
		case len(data) <= maxXSLBytes && IsStockFilter(data):
			r.Uses[i].Support = Classify(FamilyStockXSL)
		}
	}
}

// IsStockFilter reports whether a stylesheet is the filtered.xsl of Worklight's adapter
// template (comments and white space aside), which turns an RSS feed into {"Items": [{title,
// guid, link, description, pubDate}, ...]}: most projects kept it unchanged, and the runtime
// applies it without an XSLT engine.
func IsStockFilter(xsl []byte) bool { return normalizeXSL(string(xsl)) == stockFilterNormalized }

// stockFilter is Worklight's template filtered.xsl without its comments, white space collapsed.
const stockFilter = `<?xml version="1.0" encoding="UTF-8"?> <xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:h="http://www.w3.org/1999/xhtml"> <xsl:output method="text"/> <xsl:template match="/"> { 'Items': [ <xsl:for-each select="//item"> { 'title': '<xsl:value-of select="title"/>', 'guid': '<xsl:value-of select="guid"/>', 'link': '<xsl:value-of select="link"/>', 'description': '<xsl:value-of select="description"/>', 'pubDate': '<xsl:value-of select="pubDate"/>' }, </xsl:for-each> ] } </xsl:template> </xsl:stylesheet>`

var (
	xmlComment            = regexp.MustCompile(`(?s)<!--.*?-->`)
	xmlDecl               = regexp.MustCompile(`^<\?xml[^>]*\?>`)
	xmlSpaces             = regexp.MustCompile(`\s+`)
	stockFilterNormalized = normalizeXSL(stockFilter)
)

// normalizeXSL drops comments and the XML declaration and collapses white space.
func normalizeXSL(s string) string {
	s = xmlComment.ReplaceAllString(s, " ")
	s = xmlSpaces.ReplaceAllString(strings.TrimSpace(s), " ")
	return strings.TrimSpace(xmlDecl.ReplaceAllString(s, ""))
}

// XSLFiles returns the XSL files the script's invokeHttp transformations name, in name order.
func (r *Report) XSLFiles() []string {
	var out []string
	for _, u := range r.Uses {
		if (u.API == FamilyXSL || u.API == FamilyStockXSL) && !slices.Contains(out, u.Detail) {
			out = append(out, u.Detail)
		}
	}
	slices.Sort(out)
	return out
}

// Err returns the reason the runtime cannot load the script, a *LoadError, or nil: a use of a
// refused API, or one of the declared procedures the script defines no function for.
func (r *Report) Err(procedures []string) error {
	refused, missing := r.Refused(), r.MissingFunctions(procedures)
	if len(refused) == 0 && len(missing) == 0 {
		return nil
	}
	return &LoadError{File: r.File, Refused: refused, Missing: missing}
}

// LoadError is a script the runtime refuses to load: the uses of refused APIs, and the declared
// procedures it has no function for.
type LoadError struct {
	File    string
	Refused []Use
	Missing []string
}

func (e *LoadError) Error() string {
	var parts []string
	if len(e.Refused) > 0 {
		u := e.Refused[0]
		msg := fmt.Sprintf("%s:%s: %s is refused: %s", e.File, u.Pos, u.Name(), u.Reason)
		if n := len(e.Refused) - 1; n > 0 {
			msg += fmt.Sprintf(" (and %d more refused uses)", n)
		}
		parts = append(parts, msg)
	}
	if len(e.Missing) > 0 {
		parts = append(parts, fmt.Sprintf("%s defines no function for procedures %s", e.File, strings.Join(e.Missing, ", ")))
	}
	return strings.Join(parts, "; ")
}

// SyntaxError is a script that does not parse, with where the parser stopped.
type SyntaxError struct {
	File    string
	Pos     Pos
	Message string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%s: syntax error: %s", e.File, e.Pos, e.Message)
}

// Scan parses a script and lists the server APIs it uses, without running it: file names the
// script in positions and errors. A script that does not parse returns a *SyntaxError; one beyond
// the bounds ErrTooLarge or ErrTooDeep.
//
// Names are resolved as a reader would, with JavaScript's function scopes: WL.Server.invokeHttp,
// WL.Server["invokeHttp"], and simple aliases (var s = WL.Server; s.invokeHttp(...)) where the
// alias is in scope; a parameter or variable of the same name in an inner function shadows it.
// Java is recognised by its package roots (java, javax, com, Packages) and by Rhino's
// importPackage, importClass and JavaImporter, unless the script declares the name in scope.
func Scan(name string, src []byte) (*Report, error) {
	if len(src) > MaxSourceBytes {
		return nil, ErrTooLarge
	}
	if nesting(src) > MaxNesting {
		return nil, ErrTooDeep
	}
	prog, err := parse(name, src)
	if err != nil {
		return nil, err
	}
	s := &scanner{
		file:     prog.File,
		report:   &Report{File: name, Functions: map[string]Pos{}},
		scopes:   map[ast.Node]*scope{},
		implicit: newScope(),
		seen:     map[file.Idx]bool{},
	}
	s.topLevel(prog)
	if err := s.walkScoped(prog, s.declare); err != nil {
		return nil, err
	}
	if err := s.walkScoped(prog, s.collect); err != nil {
		return nil, err
	}
	s.resolveAliases()
	if err := s.walkScoped(prog, s.visit); err != nil {
		return nil, err
	}
	slices.SortStableFunc(s.report.Uses, func(a, b Use) int {
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line - b.Pos.Line
		}
		return a.Pos.Column - b.Pos.Column
	})
	return s.report, nil
}

// parse runs goja's parser with source maps off (a script could otherwise name a file for the
// parser to read), turning its error list, and any panic of the parser, into an error.
func parse(name string, src []byte) (prog *ast.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			prog, err = nil, &SyntaxError{File: name, Pos: Pos{Line: 1, Column: 1}, Message: fmt.Sprintf("the parser failed: %v", r)}
		}
	}()
	prog, err = parser.ParseFile(nil, name, src, 0, parser.WithDisableSourceMaps)
	if err == nil {
		return prog, nil
	}
	var list parser.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		return nil, &SyntaxError{File: name, Pos: Pos{Line: list[0].Position.Line, Column: list[0].Position.Column}, Message: list[0].Message}
	}
	var one *parser.Error
	if errors.As(err, &one) {
		return nil, &SyntaxError{File: name, Pos: Pos{Line: one.Position.Line, Column: one.Position.Column}, Message: one.Message}
	}
	return nil, &SyntaxError{File: name, Pos: Pos{Line: 1, Column: 1}, Message: err.Error()}
}

// nesting returns how deeply the brackets of src nest, skipping strings and comments; a
// bracket inside a regular expression literal may count, which only overestimates.
func nesting(src []byte) int {
	depth, deepest := 0, 0
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case '(', '[', '{':
			depth++
			deepest = max(deepest, depth)
		case ')', ']', '}':
			depth = max(depth-1, 0)
		case '"', '\'', '`':
			for i++; i < len(src) && src[i] != c; i++ {
				if src[i] == '\\' {
					i++
				}
			}
		case '/':
			switch {
			case i+1 < len(src) && src[i+1] == '/':
				for i < len(src) && src[i] != '\n' {
					i++
				}
			case i+1 < len(src) && src[i+1] == '*':
				end := strings.Index(string(src[i+2:]), "*/")
				if end < 0 {
					return deepest
				}
				i += end + 3
			}
		}
	}
	return deepest
}

// path is a resolved member chain, WL.Server.invokeHttp as {"WL", "Server", "invokeHttp"}, with
// where its first name stands; dynamic is set when a member of it is computed.
type path struct {
	names   []string
	at      file.Idx
	dynamic bool
}

// Roots of the names Scan resolves.
const rootWL = "WL"

// javaRoots are the names under which Rhino exposes Java packages.
var javaRoots = []string{"java", "javax", "com", "Packages"}

// javaFunctions are Rhino's functions that bring Java classes into a script.
var javaFunctions = []string{"importPackage", "importClass", "JavaImporter"}

type scanner struct {
	file   *file.File
	report *Report
	// scopes are the names declared by the script (the *ast.Program) and by each function;
	// stack the scopes around the node a walk is at, innermost last.
	scopes map[ast.Node]*scope
	stack  []*scope
	// implicit holds the aliases of names assigned without a declaration (implicit globals).
	implicit *scope
	// candidates are the right-hand sides of simple assignments to names, aliases resolves them.
	candidates []candidate
	// seen keeps one use per place, however the tree reaches it.
	seen map[file.Idx]bool
}

// scope is what a function (or the script) declares: its names, and those of them that alias a
// WL or Java chain.
type scope struct {
	names   map[string]bool
	aliases map[string]path
}

func newScope() *scope { return &scope{names: map[string]bool{}, aliases: map[string]path{}} }

// candidate is an assignment that may make an alias: name, in scope target, gets value, to be
// resolved in the scopes of stack.
type candidate struct {
	name   string
	target *scope
	value  ast.Expression
	stack  []*scope
}

// walkScoped walks the tree, keeping s.stack to the scopes around each node visit sees.
func (s *scanner) walkScoped(prog *ast.Program, visit func(ast.Node) bool) error {
	s.stack = s.stack[:0]
	return walk(prog, func(n ast.Node) bool {
		switch n.(type) {
		case *ast.Program, *ast.FunctionLiteral, *ast.ArrowFunctionLiteral:
			sc := s.scopes[n]
			if sc == nil {
				sc = newScope()
				s.scopes[n] = sc
			}
			s.stack = append(s.stack, sc)
		}
		return visit(n)
	}, func(n ast.Node) {
		switch n.(type) {
		case *ast.Program, *ast.FunctionLiteral, *ast.ArrowFunctionLiteral:
			s.stack = s.stack[:len(s.stack)-1]
		}
	})
}

// lookup returns the innermost scope of stack that declares name, or nil for a name the script
// does not declare (a global of the runtime, or an implicit global).
func lookup(stack []*scope, name string) *scope {
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].names[name] {
			return stack[i]
		}
	}
	return nil
}

func (s *scanner) pos(idx file.Idx) Pos {
	p := s.file.Position(int(idx) - s.file.Base())
	return Pos{Line: p.Line, Column: p.Column}
}

// topLevel records the names the script defines at its top level.
func (s *scanner) topLevel(prog *ast.Program) {
	def := func(id *ast.Identifier) {
		if id == nil {
			return
		}
		if _, dup := s.report.Functions[id.Name.String()]; !dup {
			s.report.Functions[id.Name.String()] = s.pos(id.Idx)
		}
	}
	bindings := func(list []*ast.Binding) {
		for _, b := range list {
			if id, ok := b.Target.(*ast.Identifier); ok {
				def(id)
			}
		}
	}
	for _, st := range prog.Body {
		switch st := st.(type) {
		case *ast.FunctionDeclaration:
			def(st.Function.Name)
		case *ast.VariableStatement:
			bindings(st.List)
		case *ast.LexicalDeclaration:
			bindings(st.List)
		case *ast.ExpressionStatement:
			if as, ok := st.Expression.(*ast.AssignExpression); ok {
				if id, ok := as.Left.(*ast.Identifier); ok {
					def(id)
				}
			}
		}
	}
}

// declare records the names each scope declares: variables, parameters (bindings too),
// function names, catch parameters.
func (s *scanner) declare(n ast.Node) bool {
	top := s.stack[len(s.stack)-1]
	switch n := n.(type) {
	case *ast.Binding:
		bindingNames(n.Target, top.names)
	case *ast.FunctionDeclaration:
		if n.Function != nil && n.Function.Name != nil {
			top.names[n.Function.Name.Name.String()] = true
		}
	case *ast.FunctionLiteral:
		if n.Name != nil {
			top.names[n.Name.Name.String()] = true // a function's name, in its own scope
		}
	case *ast.CatchStatement:
		bindingNames(n.Parameter, top.names)
	}
	return true
}

// bindingNames adds the names a binding target declares: a name, or those of a pattern.
func bindingNames(t ast.Expression, into map[string]bool) {
	switch t := t.(type) {
	case *ast.Identifier:
		into[t.Name.String()] = true
	case *ast.ObjectPattern:
		for _, p := range t.Properties {
			switch p := p.(type) {
			case *ast.PropertyShort:
				into[p.Name.Name.String()] = true
			case *ast.PropertyKeyed:
				bindingNames(p.Value, into)
			}
		}
		bindingNames(t.Rest, into)
	case *ast.ArrayPattern:
		for _, e := range t.Elements {
			bindingNames(e, into)
		}
		bindingNames(t.Rest, into)
	case *ast.AssignExpression: // a default value: [a = 1]
		bindingNames(t.Left, into)
	}
}

// collect gathers the alias candidates: names given a value by a declaration or an assignment.
func (s *scanner) collect(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.Binding:
		if id, ok := n.Target.(*ast.Identifier); ok && n.Initializer != nil {
			s.addCandidate(id.Name.String(), s.stack[len(s.stack)-1], n.Initializer)
		}
	case *ast.AssignExpression:
		if id, ok := n.Left.(*ast.Identifier); ok && n.Operator.String() == "=" {
			target := lookup(s.stack, id.Name.String())
			if target == nil {
				target = s.implicit
			}
			s.addCandidate(id.Name.String(), target, n.Right)
		}
	}
	return true
}

func (s *scanner) addCandidate(name string, target *scope, value ast.Expression) {
	s.candidates = append(s.candidates, candidate{name: name, target: target, value: value, stack: slices.Clone(s.stack)})
}

// resolveAliases turns the candidates that name a WL or Java chain into aliases, until no more
// resolve (an alias may name another).
func (s *scanner) resolveAliases() {
	for range len(s.candidates) + 1 {
		grew := false
		for _, c := range s.candidates {
			if _, done := c.target.aliases[c.name]; done || c.name == rootWL {
				continue
			}
			if p, ok := s.resolveIn(c.stack, c.value, 0); ok && !p.dynamic {
				c.target.aliases[c.name] = path{names: p.names}
				grew = true
			}
		}
		if !grew {
			return
		}
	}
}

// resolve returns the chain an expression names where the walk is, when it starts at WL, a Java
// root or an alias.
func (s *scanner) resolve(e ast.Expression, depth int) (path, bool) {
	return s.resolveIn(s.stack, e, depth)
}

// resolveIn resolves an expression in the given scopes.
func (s *scanner) resolveIn(stack []*scope, e ast.Expression, depth int) (path, bool) {
	if depth > MaxNesting {
		return path{}, false
	}
	switch e := e.(type) {
	case *ast.Identifier:
		name := e.Name.String()
		sc := lookup(stack, name)
		switch {
		case name == rootWL && (sc == nil || len(stack) > 0 && sc == stack[0]):
			// WL is the runtime's, even where the script also declares it (var WL = WL || {}).
			return path{names: []string{name}, at: e.Idx}, true
		case sc == nil && slices.Contains(javaRoots, name):
			return path{names: []string{name}, at: e.Idx}, true
		case sc == nil:
			sc = s.implicit
		}
		if a, ok := sc.aliases[name]; ok {
			return path{names: slices.Clone(a.names), at: e.Idx}, true
		}
	case *ast.DotExpression:
		if p, ok := s.resolveIn(stack, e.Left, depth+1); ok {
			p.names = append(p.names, e.Identifier.Name.String())
			return p, true
		}
	case *ast.BracketExpression:
		if p, ok := s.resolveIn(stack, e.Left, depth+1); ok {
			if lit, isLit := e.Member.(*ast.StringLiteral); isLit {
				p.names = append(p.names, lit.Value.String())
			} else {
				p.names = append(p.names, "[...]")
				p.dynamic = true
			}
			return p, true
		}
	}
	return path{}, false
}

// visit records the uses a node makes; it returns false where its children hold nothing more.
func (s *scanner) visit(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.DotExpression, *ast.BracketExpression:
		p, ok := s.resolve(n.(ast.Expression), 0)
		if !ok {
			return true
		}
		return s.member(p, n)
	case *ast.CallExpression:
		s.javaFunction(n.Callee)
	case *ast.NewExpression:
		s.javaFunction(n.Callee)
	case *ast.PropertyKeyed:
		if !n.Computed && keyName(n.Key) == "transformation" {
			s.transformation(n.Key.Idx0(), n.Value)
		}
	case *ast.AssignExpression:
		if d, ok := n.Left.(*ast.DotExpression); ok && d.Identifier.Name.String() == "transformation" {
			s.transformation(d.Identifier.Idx, n.Right)
		}
	}
	return true
}

// member records the use a resolved chain makes; it returns whether to look inside the node.
func (s *scanner) member(p path, n ast.Node) bool {
	root := p.names[0]
	if root != rootWL {
		// A Java chain: java.lang.System.out.println, Packages.com.example.Auth.check.
		s.add(FamilyJava, p.at, strings.Join(p.names, "."))
		return false
	}
	if len(p.names) < 2 {
		return false
	}
	if p.names[1] == "[...]" || (len(p.names) > 2 && p.names[2] == "[...]") {
		s.add(FamilyDynamic, p.at, strings.ReplaceAll(strings.Join(p.names[:min(3, len(p.names))], "."), ".[...]", "[...]"))
		if b, ok := n.(*ast.BracketExpression); ok {
			return !isLiteral(b.Member)
		}
		return true
	}
	switch p.names[1] {
	case "Server", "Logger":
		if len(p.names) < 3 {
			return false // WL.Server itself, given a name or passed on: its uses are recorded
		}
	}
	s.add(strings.Join(p.names[:min(3, len(p.names))], "."), p.at, "")
	return false
}

func isLiteral(e ast.Expression) bool {
	_, ok := e.(*ast.StringLiteral)
	return ok
}

// javaFunction records a call of importPackage, importClass or JavaImporter.
func (s *scanner) javaFunction(callee ast.Expression) {
	id, ok := callee.(*ast.Identifier)
	if !ok {
		return
	}
	if name := id.Name.String(); slices.Contains(javaFunctions, name) && lookup(s.stack, name) == nil {
		s.add(FamilyJava, id.Idx, name)
	}
}

// transformation records an invokeHttp transformation of type xslFile: an object literal
// {type: 'xslFile', xslFile: 'filtered.xsl'} given as the transformation of a request.
func (s *scanner) transformation(at file.Idx, v ast.Expression) {
	obj, ok := v.(*ast.ObjectLiteral)
	if !ok {
		return
	}
	kind, xsl := "", ""
	for _, prop := range obj.Value {
		kp, ok := prop.(*ast.PropertyKeyed)
		if !ok || kp.Computed {
			continue
		}
		switch keyName(kp.Key) {
		case "type":
			if lit, ok := kp.Value.(*ast.StringLiteral); ok {
				kind = lit.Value.String()
			}
		case "xslFile":
			if lit, ok := kp.Value.(*ast.StringLiteral); ok {
				xsl = lit.Value.String()
			} else {
				xsl = "(computed)"
			}
		}
	}
	if kind == "xslFile" {
		s.add(FamilyXSL, at, xsl)
	}
}

// keyName returns the name of a property key written as a name or a string.
func keyName(k ast.Expression) string {
	switch k := k.(type) {
	case *ast.Identifier:
		return k.Name.String()
	case *ast.StringLiteral:
		return k.Value.String()
	}
	return ""
}

func (s *scanner) add(api string, at file.Idx, detail string) {
	if s.seen[at] {
		return
	}
	s.seen[at] = true
	sup := Classify(api)
	if api == apiCreateSQLStatement && len(s.stack) > 1 {
		sup = sqlStatementInFunction // table.go
	}
	s.report.Uses = append(s.report.Uses, Use{Support: sup, Pos: s.pos(at), Detail: detail})
}

// astPkg is the package of goja's syntax tree: walk descends only into its types.
var astPkg = reflect.TypeFor[ast.Program]().PkgPath()

// walk calls visit for every node of the tree under n, parents first, and leave after a node's
// children; visit returning false skips the node's children, and its leave. goja's ast package has no walker; this one follows the exported
// fields of its types, so a node type added there is walked too. DeclarationList fields repeat
// declarations the statements hold (for hoisting) and are skipped.
func walk(n ast.Node, visit func(ast.Node) bool, leave func(ast.Node)) error {
	return walkValue(reflect.ValueOf(n), visit, leave, 0)
}

// fieldCache maps each struct type of the syntax tree to the indexes of the fields walk
// follows; reading them from reflect once per type, not per node, makes the walk cost less than
// the parse.
var fieldCache sync.Map // reflect.Type -> []int

// walkedFields returns the indexes of t's fields that walk follows: exported, not a
// DeclarationList, and only for types of goja's ast package.
func walkedFields(t reflect.Type) []int {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]int)
	}
	var out []int
	if t.PkgPath() == astPkg {
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && f.Name != "DeclarationList" {
				out = append(out, i)
			}
		}
	}
	fieldCache.Store(t, out)
	return out
}

func walkValue(v reflect.Value, visit func(ast.Node) bool, leave func(ast.Node), depth int) error {
	if depth > 8*MaxNesting {
		return ErrTooDeep
	}
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return walkValue(v.Elem(), visit, leave, depth)
	case reflect.Pointer:
		if v.IsNil() || v.Type().Elem().PkgPath() != astPkg {
			return nil
		}
		node, isNode := v.Interface().(ast.Node)
		if isNode && !visit(node) {
			return nil
		}
		if err := walkValue(v.Elem(), visit, leave, depth+1); err != nil {
			return err
		}
		if isNode {
			leave(node)
		}
		return nil
	case reflect.Struct:
		for _, i := range walkedFields(v.Type()) {
			if err := walkValue(v.Field(i), visit, leave, depth); err != nil {
				return err
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			if err := walkValue(v.Index(i), visit, leave, depth); err != nil {
				return err
			}
		}
	}
	return nil
}
