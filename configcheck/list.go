package configcheck

import (
	"io"
	"strings"
	"text/tabwriter"
)

// WriteList documents the rule set: one line per variable with its type,
// default, whether it is secret, and its rules. It is what
// `check-config --list` prints, so documentation is generated from the same
// rule set that checks and loads.
//
//	VARIABLE  TYPE  DEFAULT  SECRET  RULES
//	PORT      int   8080     -       int 0..65535
func (rs *RuleSet) WriteList(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	_, _ = io.WriteString(tw, "VARIABLE\tTYPE\tDEFAULT\tSECRET\tRULES\n")
	for i := range rs.Vars {
		v := &rs.Vars[i]
		def, secret := v.Default, "-"
		if def == "" {
			def = "-"
		}
		if v.Secret {
			secret = "yes"
		}
		var rules []string
		for _, r := range v.Rules {
			if r.check != nil {
				rules = append(rules, r.String())
			}
		}
		_, _ = io.WriteString(tw, v.Name+"\t"+v.typ()+"\t"+def+"\t"+secret+"\t"+strings.Join(rules, "; ")+"\n")
	}
	return tw.Flush()
}
