package cdncache

import (
	"context"
	"io"
	"io/fs"
	"net/http"
)

// statter is implemented by sources that can describe an object without
// opening it (Dir). A request answered from kept validators and encoded
// bodies, or with a 304, then costs one stat and no open; the file is
// opened only when its bytes are read (lazyFile).
type statter interface {
	stat(ctx context.Context, key string) (ObjectInfo, error)
}

func (d *dirSource) stat(_ context.Context, key string) (ObjectInfo, error) {
	root, err := d.getRoot()
	if err != nil {
		return ObjectInfo{}, notFound(key, err)
	}
	fi, err := root.Stat(key)
	if err != nil {
		return ObjectInfo{}, notFound(key, err)
	}
	if !fi.Mode().IsRegular() {
		return ObjectInfo{}, &fs.PathError{Op: "open", Path: key, Err: fs.ErrNotExist}
	}
	return ObjectInfo{Size: fi.Size(), ModTime: fi.ModTime(), id: identityOf(fi)}, nil
}

// mayNotRead reports whether r may be answered without reading key's
// bytes: with a 304, or from a kept encoded body. Other requests open the
// object at once, rather than stat it first.
func mayNotRead(r *http.Request, key string) bool {
	if hasConditional(r.Header) {
		return true
	}
	if _, ranged := r.Header["Range"]; ranged || len(r.Header["Accept-Encoding"]) == 0 {
		return false
	}
	t := typeByExtension(key)
	return t == "" || compressible(t)
}

// openOrStat opens key in s, or with stat and a statter, describes it and
// defers the open to the first read.
func openOrStat(ctx context.Context, s Source, key string, stat bool) (io.ReadSeekCloser, ObjectInfo, error) {
	st, ok := s.(statter)
	if !stat || !ok {
		return s.Open(ctx, key)
	}
	info, err := st.stat(ctx, key)
	if err != nil {
		return nil, ObjectInfo{}, err
	}
	return &lazyFile{open: func() (io.ReadSeekCloser, ObjectInfo, error) { return s.Open(ctx, key) }, want: info}, info, nil
}

// lazyFile is an object's file, opened on first use. The file opened must
// be the version its stat described (same size, modification time and
// identity), else every use fails with errChanged and the request is
// served again from an open.
type lazyFile struct {
	open func() (io.ReadSeekCloser, ObjectInfo, error)
	want ObjectInfo
	f    io.ReadSeekCloser
	err  error
}

func (l *lazyFile) file() (io.ReadSeekCloser, error) {
	if l.f == nil && l.err == nil {
		f, info, err := l.open()
		switch {
		case err != nil:
			l.err = err
		case info.Size != l.want.Size || !info.ModTime.Equal(l.want.ModTime) || info.id != l.want.id:
			f.Close()
			l.err = errChanged
		default:
			l.f = f
		}
	}
	return l.f, l.err
}

func (l *lazyFile) Read(p []byte) (int, error) {
	f, err := l.file()
	if err != nil {
		return 0, err
	}
	return f.Read(p)
}

func (l *lazyFile) Seek(off int64, whence int) (int64, error) {
	f, err := l.file()
	if err != nil {
		return 0, err
	}
	return f.Seek(off, whence)
}

func (l *lazyFile) Close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}

// opened returns the file r is, opening a lazyFile.
func opened(r io.ReadSeekCloser) (io.ReadSeekCloser, error) {
	if l, ok := r.(*lazyFile); ok {
		return l.file()
	}
	return r, nil
}
