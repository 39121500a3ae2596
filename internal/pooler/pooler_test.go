package pooler

import (
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Mode
		wantErr bool
	}{
		{"", Auto, false}, {"auto", Auto, false}, {" None ", None, false},
		{"TRANSACTION", Transaction, false}, {"session", Auto, true}, {"1", Auto, true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("Parse(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err == nil {
			if back, _ := Parse(got.String()); back != got {
				t.Errorf("Parse(%v.String()) = %v", got, back)
			}
		}
	}
}

func TestDecideAndConfigure(t *testing.T) {
	tests := []struct {
		dsn      string
		mode     Mode
		wantTx   bool
		wantExec pgx.QueryExecMode
	}{
		{"postgres://u@ep-a-1-pooler.eu-central-1.aws.neon.tech/db", Auto, true, ExecMode},
		{"postgres://u@ep-a-1.eu-central-1.aws.neon.tech/db", Auto, false, pgx.QueryExecModeCacheStatement},
		{"postgres://u@aws-0-us-east-1.pooler.supabase.com:6543/db", Auto, true, ExecMode},
		{"postgres://u@aws-0-us-east-1.pooler.supabase.com:5432/db", Auto, false, pgx.QueryExecModeCacheStatement},
		// A fully qualified name's trailing dot, and any case, name the same host.
		{"postgres://u@aws-0-eu-west-1.pooler.supabase.com.:6543/db", Auto, true, ExecMode},
		{"postgres://u@AWS-0-EU-WEST-1.Pooler.Supabase.COM.:6543/db", Auto, true, ExecMode},
		{"postgres://u@db.abcdefghijklmnop.supabase.co.:6543/db", Auto, true, ExecMode},
		{"postgres://u@EP-A-1-POOLER.eu-central-1.aws.neon.tech./db", Auto, true, ExecMode},
		{"postgres://u@aws-0-eu-west-1.pooler.supabase.com.:5432/db", Auto, false, pgx.QueryExecModeCacheStatement},
		{"postgres://u@localhost.:6543/db", Auto, false, pgx.QueryExecModeCacheStatement},
		{"host=/var/run/postgresql,aws-0-eu-west-1.pooler.supabase.com. port=5432,6543 user=u", Auto, true, ExecMode},
		{"postgres://u@localhost:6543/db", Auto, false, pgx.QueryExecModeCacheStatement},
		{"postgres://u@localhost/db", Transaction, true, ExecMode},
		{"postgres://u@ep-a-1-pooler.neon.tech/db", None, false, pgx.QueryExecModeCacheStatement},
		{"postgres://u@localhost/db?default_query_exec_mode=simple_protocol", Transaction, true, pgx.QueryExecModeSimpleProtocol},
	}
	for _, tt := range tests {
		cc, err := pgx.ParseConfig(tt.dsn)
		if err != nil {
			t.Fatal(err)
		}
		d := Decide(tt.mode, &cc.Config)
		got, why := Configure(cc, d)
		if d.Transaction != tt.wantTx || got != tt.wantExec || cc.DefaultQueryExecMode != got || why == "" {
			t.Errorf("%s with %v: transaction %v, exec %v (%s); want %v, %v", tt.dsn, tt.mode, d.Transaction, got, why, tt.wantTx, tt.wantExec)
		}
	}
}
