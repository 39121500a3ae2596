package testlog_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dedw3n/hardening/internal/testlog"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConcurrentLoggersAndLines(t *testing.T) {
	var b testlog.Buffer
	text, json := b.Text(), b.JSON()
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			text.Debug("text record", "n", i)
			json.Warn("json record", "n", i)
		}()
	}
	wg.Wait()
	require.Len(t, b.Lines("text record"), 10)
	require.Len(t, b.Lines(`"msg":"json record"`, `"level":"WARN"`), 10)
	require.Equal(t, 20, b.Count("record"))
	require.Empty(t, b.Lines("text record", "WARN"))
}
