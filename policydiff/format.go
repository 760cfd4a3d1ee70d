package policydiff

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// Output formats of a report.
const (
	FormatText     = "text"
	FormatMarkdown = "markdown"
	FormatJSON     = "json"
)

// Formats lists the formats Write knows.
var Formats = []string{FormatText, FormatMarkdown, FormatJSON}

// Write writes the report in format: text for a terminal, markdown for a pull-request comment,
// json for tools.
func (rep *Report) Write(w io.Writer, format string) error {
	switch format {
	case FormatText:
		return rep.writeText(w)
	case FormatMarkdown:
		return rep.writeMarkdown(w)
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(rep)
	}
	return fmt.Errorf("format %q: use %s", format, strings.Join(Formats, ", "))
}

// verdict is the report's one-line conclusion.
func (rep *Report) verdict() string {
	switch {
	case rep.Weakened:
		return "protection weakened"
	case len(rep.Resources) == 0:
		return "no change in effective security"
	}
	return "no protection weakened"
}

func (rep *Report) summary() string {
	c := rep.Counts
	return fmt.Sprintf("%s weakened, %d strengthened, %d changed, %d unchanged",
		resources(c.Weakened), c.Strengthened, c.Changed, rep.Unchanged)
}

func resources(n int) string {
	if n == 1 {
		return "1 resource"
	}
	return fmt.Sprintf("%d resources", n)
}

func (rep *Report) writeText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "policy diff %s -> %s\n", printable(rep.Old), printable(rep.New))
	for _, rd := range rep.Resources {
		fmt.Fprintf(&b, "\n%-12s %s %s (%s)\n", rd.Effect, rd.Kind, printable(rd.Name), rd.Status)
		for _, c := range rd.Changes {
			via := ""
			if c.Via != "" {
				via = "from " + printable(c.Via) + ": "
			}
			fmt.Fprintf(&b, "  %-12s %s%s\n", c.Effect, via, printable(c.Message))
		}
	}
	fmt.Fprintf(&b, "\n%s: %s\n", rep.summary(), rep.verdict())
	_, err := io.WriteString(w, b.String())
	return err
}

func (rep *Report) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### Realmgate policy diff: %s\n\n", rep.verdict())
	fmt.Fprintf(&b, "%s → %s: %s.\n", code(rep.Old), code(rep.New), rep.summary())
	if len(rep.Resources) > 0 {
		b.WriteString("\n| resource | effect | change |\n| --- | --- | --- |\n")
		for _, rd := range rep.Resources {
			name := fmt.Sprintf("%s %s (%s)", rd.Kind, code(rd.Name), rd.Status)
			for _, c := range rd.Changes {
				effect := string(c.Effect)
				if c.Effect == Weakened {
					effect = "**weakened**"
				}
				msg := cell(c.Message)
				if c.Via != "" {
					msg = "from " + code(c.Via) + ": " + msg
				}
				fmt.Fprintf(&b, "| %s | %s | %s |\n", name, effect, msg)
				name = ""
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// printable replaces control characters, so that names from a project cannot drive a terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return '?'
		}
		return r
	}, s)
}

// cell escapes text for a Markdown table cell: no HTML, no cell breaks, no line breaks.
func cell(s string) string {
	r := strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "&", "&amp;", "`", "'", "\\", `\\`, "*", `\*`, "[", `\[`, "]", `\]`)
	return r.Replace(printable(s))
}

// code writes s as a Markdown code span. A backtick would end the span, and a pipe ends a table
// cell even inside one; text holding either, or a backslash, is written escaped instead.
func code(s string) string {
	s = printable(s)
	if strings.ContainsAny(s, "`|\\") {
		return cell(s)
	}
	return "`" + s + "`"
}
