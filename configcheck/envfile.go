package configcheck

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxEnvFileSize bounds what ParseEnvFile reads.
const maxEnvFileSize = 1 << 20

// ParseEnvFile parses a .env-style file into a map, for [Map] and the
// --env-file flag of [RuleSet.Command]. The format is the common subset of
// Docker's --env-file and dotenv:
//
//   - one KEY=value per line; KEY is a letter or underscore followed by
//     letters, digits and underscores; spaces around "=" are allowed;
//   - blank lines and lines starting with "#" are ignored, as is a leading
//     "export ";
//   - an unquoted value runs to the end of the line, with surrounding spaces
//     removed; " #" starts a comment;
//   - a 'single-quoted' value is literal; a "double-quoted" value understands
//     \n, \r, \t, \", \\ and \$; both may span lines; only a comment may
//     follow the closing quote;
//   - there is no ${VAR} expansion: values are taken literally.
//
// A key set twice, a NUL byte, an unterminated quote or a file over 1 MiB is
// an error. Errors name line numbers only, never text from the file: a line
// that does not parse is often the rest of a value, such as an unquoted
// multi-line PEM key, and even what looks like a name may be part of one.
func ParseEnvFile(r io.Reader) (map[string]string, error) {
	m, err := parseEnvFile(r)
	if err != nil {
		return nil, fmt.Errorf("configcheck: %w", err)
	}
	return m, nil
}

// parseEnvFile is ParseEnvFile with errors that do not name the package,
// for check-config to print under its own name.
func parseEnvFile(r io.Reader) (map[string]string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxEnvFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading env file: %w", err)
	}
	if len(b) > maxEnvFileSize {
		return nil, errors.New("env file is larger than 1 MiB")
	}
	p := envParser{s: strings.TrimPrefix(string(b), "\uFEFF"), line: 1}
	return p.parse()
}

type envParser struct {
	s      string
	pos    int
	line   int
	spaced bool // spaces followed the "=" of the current line
}

func (p *envParser) errorf(line int, format string, args ...any) error {
	return fmt.Errorf("env file line %d: "+format, append([]any{line}, args...)...)
}

func (p *envParser) parse() (map[string]string, error) {
	if strings.IndexByte(p.s, 0) >= 0 {
		line := 1 + strings.Count(p.s[:strings.IndexByte(p.s, 0)], "\n")
		return nil, p.errorf(line, "NUL byte")
	}
	out := make(map[string]string)
	firstLine := make(map[string]int)
	for p.pos < len(p.s) {
		p.skipSpaces()
		if p.pos >= len(p.s) {
			break
		}
		switch p.s[p.pos] {
		case '\n':
			p.pos++
			p.line++
			continue
		case '\r':
			if p.pos+1 < len(p.s) && p.s[p.pos+1] == '\n' {
				p.pos += 2
				p.line++
				continue
			}
		case '#':
			p.skipToEOL()
			continue
		}
		line := p.line
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		val, err := p.value()
		if err != nil {
			return nil, err
		}
		if prev, dup := firstLine[key]; dup {
			return nil, p.errorf(line, "sets a variable already set on line %d", prev)
		}
		firstLine[key] = line
		out[key] = val
	}
	return out, nil
}

func (p *envParser) skipSpaces() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

// skipToEOL moves past the end of the current line.
func (p *envParser) skipToEOL() {
	if i := strings.IndexByte(p.s[p.pos:], '\n'); i >= 0 {
		p.pos += i + 1
		p.line++
		return
	}
	p.pos = len(p.s)
}

func isKeyStart(c byte) bool {
	return c == '_' || ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z')
}

func isKeyByte(c byte) bool { return isKeyStart(c) || ('0' <= c && c <= '9') }

func (p *envParser) key() (string, error) {
	if strings.HasPrefix(p.s[p.pos:], "export") {
		rest := p.s[p.pos+len("export"):]
		if rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			p.pos += len("export")
			p.skipSpaces()
		}
	}
	start := p.pos
	if p.pos >= len(p.s) || !isKeyStart(p.s[p.pos]) {
		return "", p.errorf(p.line, "expected NAME=value, NAME being a letter or _ then letters, digits or _")
	}
	for p.pos < len(p.s) && isKeyByte(p.s[p.pos]) {
		p.pos++
	}
	key := p.s[start:p.pos]
	p.skipSpaces()
	if p.pos >= len(p.s) || p.s[p.pos] != '=' {
		return "", p.errorf(p.line, "expected NAME=value; a value spread over several lines must be quoted")
	}
	p.pos++
	start = p.pos
	p.skipSpaces()
	p.spaced = p.pos > start
	return key, nil
}

func (p *envParser) value() (string, error) {
	if p.pos >= len(p.s) {
		return "", nil
	}
	switch p.s[p.pos] {
	case '"', '\'':
		return p.quoted(p.s[p.pos])
	}
	end := strings.IndexByte(p.s[p.pos:], '\n')
	if end < 0 {
		end = len(p.s) - p.pos
	}
	raw := p.s[p.pos : p.pos+end]
	// " #" or "\t#" starts a comment; a "#" inside a word does not.
	for i := 1; i < len(raw); i++ {
		if raw[i] == '#' && (raw[i-1] == ' ' || raw[i-1] == '\t') {
			raw = raw[:i]
			break
		}
	}
	if len(raw) > 0 && raw[0] == '#' && p.spaced {
		raw = ""
	}
	p.pos += end
	return strings.TrimRight(raw, " \t\r"), nil
}

func (p *envParser) quoted(q byte) (string, error) {
	startLine := p.line
	p.pos++ // opening quote
	var b strings.Builder
	for {
		if p.pos >= len(p.s) {
			return "", p.errorf(startLine, "unterminated quoted value")
		}
		c := p.s[p.pos]
		switch {
		case c == q:
			p.pos++
			return b.String(), p.afterQuote()
		case c == '\\' && q == '"' && p.pos+1 < len(p.s):
			n := p.s[p.pos+1]
			switch n {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case '"', '\\', '$':
				b.WriteByte(n)
			default:
				b.WriteByte('\\')
				b.WriteByte(n)
			}
			if n == '\n' {
				p.line++
			}
			p.pos += 2
		default:
			if c == '\n' {
				p.line++
			}
			b.WriteByte(c)
			p.pos++
		}
	}
}

// afterQuote accepts spaces and a comment after a closing quote.
func (p *envParser) afterQuote() error {
	p.skipSpaces()
	if p.pos < len(p.s) && p.s[p.pos] == '\r' {
		p.pos++
	}
	if p.pos >= len(p.s) || p.s[p.pos] == '\n' {
		return nil
	}
	if p.s[p.pos] == '#' {
		p.skipToEOL()
		return nil
	}
	return p.errorf(p.line, "unexpected text after the closing quote")
}
