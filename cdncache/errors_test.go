package cdncache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/dedw3n/hardening/internal/testlog"
)

// TestOnePrefixPerError walks the package's error paths: an error the
// package makes says "cdncache:" once, at its start, whether a Source
// returns it or the Handler logs it (the client sees only a status). A
// Source's not-found error is the fs.FS's own, matching fs.ErrNotExist.
func TestOnePrefixPerError(t *testing.T) {
	ctx := t.Context()
	var made []string
	_, _, err := FS(plainFS{}).Open(ctx, "f.txt")
	require.Error(t, err)
	made = append(made, err.Error())

	for _, src := range []Source{FS(fstest.MapFS{"dir/x": {Data: []byte("x")}}), Dir(t.TempDir()), Dir("/no/such/dir")} {
		for _, key := range []string{"missing.txt", "dir", "../etc/passwd"} {
			_, _, err := src.Open(ctx, key)
			require.ErrorIs(t, err, fs.ErrNotExist, key)
			require.LessOrEqual(t, strings.Count(err.Error(), "cdncache:"), 1, err.Error())
		}
	}

	// Errors the Handler meets are logged, each with its err field.
	errUpstream := errors.New("bucket: read timeout")
	logs := &testlog.Buffer{}
	h := New(Config{Logger: logs.JSON()}, errSource{errUpstream})
	t.Cleanup(func() { h.Close() })
	srv := serve(t, h)
	for _, key := range []string{"read", "negative", "open", "seek"} {
		resp, body := do(t, client(t), "GET", srv.URL+"/"+key, nil)
		require.Equal(t, 500, resp.StatusCode, key)
		require.NotContains(t, body, "bucket")
	}
	lines := logs.Lines(`"err":`)
	require.Len(t, lines, 4, logs.String())
	for _, line := range lines {
		var rec struct{ Err string }
		require.NoError(t, json.Unmarshal([]byte(line), &rec))
		if !strings.HasPrefix(rec.Err, "bucket:") { // the source's own error, as it is
			made = append(made, rec.Err)
		}
	}
	require.Len(t, made, 4, "the four errors this package made")
	for _, e := range made {
		t.Log(e)
		require.True(t, strings.HasPrefix(e, "cdncache: "), e)
		require.Equal(t, 1, strings.Count(e, "cdncache:"), e)
	}
}

// errSource fails in the way its key names: "read" and "seek" give an object
// whose reads or seeks fail with err, "negative" a negative size, "open" err.
type errSource struct{ err error }

func (s errSource) Open(_ context.Context, key string) (io.ReadSeekCloser, ObjectInfo, error) {
	switch key {
	case "read":
		return failing{bytes.NewReader(nil), s.err, nil}, ObjectInfo{Size: 10}, nil
	case "seek":
		return failing{bytes.NewReader([]byte("0123456789")), nil, s.err}, ObjectInfo{Size: 10}, nil
	case "negative":
		return failing{bytes.NewReader(nil), nil, nil}, ObjectInfo{Size: -1}, nil
	}
	return nil, ObjectInfo{}, s.err
}

type failing struct {
	*bytes.Reader
	readErr, seekErr error
}

func (f failing) Read(p []byte) (int, error) {
	if f.readErr != nil {
		return 0, f.readErr
	}
	return f.Reader.Read(p)
}

func (f failing) Seek(off int64, whence int) (int64, error) {
	if f.seekErr != nil {
		return 0, f.seekErr
	}
	return f.Reader.Seek(off, whence)
}

func (failing) Close() error { return nil }
