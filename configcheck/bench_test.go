package configcheck

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

func BenchmarkCheckClean(b *testing.B) {
	rs, src := testRules(), Map(validProduction())
	b.ReportAllocs()
	for b.Loop() {
		if rep := rs.Check(Production, src); !rep.OK {
			b.Fatal(rep)
		}
	}
}

func BenchmarkCheckProblems(b *testing.B) {
	rs := testRules()
	src := Map(with(validProduction(), "SESSION_SECRET", "changeme", "PORT", "x",
		"DATABASE_URL", "postgres://a:b@db/app?sslmode=disable&pool_min_conns=9&pool_max_conns=2"))
	b.ReportAllocs()
	for b.Loop() {
		rep := rs.Check(Production, src)
		_ = rep.WriteText(io.Discard)
	}
}

// BenchmarkCheckTypos checks against an environment of 200 unrelated
// variables, as on a busy host.
func BenchmarkCheckTypos(b *testing.B) {
	m := validProduction()
	for i := range 200 {
		m[fmt.Sprintf("UNRELATED_VARIABLE_%03d", i)] = "x"
	}
	rs, src := testRules(), Map(m)
	b.ReportAllocs()
	for b.Loop() {
		rs.Check(Production, src)
	}
}

func BenchmarkParseEnvFile(b *testing.B) {
	var sb strings.Builder
	for k, v := range validProduction() {
		fmt.Fprintf(&sb, "# %s\nexport %s=\"%s\"\n", k, k, v)
	}
	in := sb.String()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseEnvFile(strings.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
}
