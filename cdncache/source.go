package cdncache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Source is where a Handler finds objects: an fs.FS (FS), a directory (Dir)
// or an object-storage backend implementing this one method.
type Source interface {
	// Open returns the object stored under key, a slash-separated path
	// without leading slash that the Handler has already checked (no "..",
	// no dotfile segment, no backslash or NUL). The reader must support
	// seeking so that ranges can be served; the Handler closes it. When
	// there is no such object Open returns an error matching fs.ErrNotExist
	// and the Handler tries the next source.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, ObjectInfo, error)
}

// ObjectInfo describes an object returned by a Source.
type ObjectInfo struct {
	// Size is the length of the object in bytes.
	Size int64
	// ModTime is the last modification; the zero time means unknown (no
	// Last-Modified is sent). Objects with neither ModTime nor Hash are
	// assumed never to change while the Handler runs.
	ModTime time.Time
	// ContentType is the media type; "" means by extension, else sniffed.
	ContentType string
	// Hash is a content hash the store already has (e.g. a SHA-256 or an
	// S3 single-part ETag); the ETag is derived from it instead of reading the
	// object. "" means the Handler hashes the content itself, once per object
	// version.
	Hash string

	id fileID // set by Dir and FS from the file's stat, when the system gives it
}

// FS returns a Source serving the regular files of fsys, such as an
// embed.FS. Directories are never listed. Files must implement io.Seeker or
// io.ReaderAt (those of embed.FS, os.DirFS and fstest.MapFS do).
func FS(fsys fs.FS) Source { return fsSource{fsys} }

type fsSource struct{ fsys fs.FS }

func (s fsSource) Open(_ context.Context, key string) (io.ReadSeekCloser, ObjectInfo, error) {
	f, err := s.fsys.Open(key)
	if err != nil {
		return nil, ObjectInfo{}, err
	}
	return regularFile(f, key)
}

// regularFile checks that f is a seekable regular file and describes it.
func regularFile(f fs.File, key string) (io.ReadSeekCloser, ObjectInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, ObjectInfo{}, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, ObjectInfo{}, &fs.PathError{Op: "open", Path: key, Err: fs.ErrNotExist}
	}
	info := ObjectInfo{Size: fi.Size(), ModTime: fi.ModTime(), id: identityOf(fi)}
	switch rf := f.(type) {
	case io.ReadSeekCloser:
		return rf, info, nil
	case io.ReaderAt:
		return sectionFile{io.NewSectionReader(rf, 0, fi.Size()), f}, info, nil
	}
	f.Close()
	return nil, ObjectInfo{}, fmt.Errorf("cdncache: %s: file does not implement io.Seeker or io.ReaderAt", key)
}

type sectionFile struct {
	*io.SectionReader
	io.Closer
}

// Dir returns a Source serving the regular files under the directory dir,
// opened with os.OpenRoot so that nothing outside it is reachable: symbolic
// links may point within dir only, and ".." never escapes. On Linux a link
// whose target lies under another Config.Prefixes policy than the link
// itself (from "public/" into "private/") is refused as not found, so a
// link never loosens a policy; links within one policy are served (also
// when /proc cannot say where a link led). Elsewhere a link takes the
// policy of the key it is requested by. The
// directory is
// opened on first use and kept open until the Handler's Close; if it is
// missing, every key is not found until it appears.
func Dir(dir string) Source { return &dirSource{dir: dir} }

type dirSource struct {
	dir      string
	mu       sync.Mutex // guards root and resolved
	root     *os.Root
	resolved string // dir with its symbolic links resolved; "" if unknown
}

func (d *dirSource) getRoot() (*os.Root, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.root == nil {
		r, err := os.OpenRoot(d.dir)
		if err != nil {
			return nil, err
		}
		d.root = r
		d.resolved = ""
		if abs, err := filepath.Abs(d.dir); err == nil {
			d.resolved, _ = filepath.EvalSymlinks(abs)
		}
	}
	return d.root, nil
}

func (d *dirSource) Open(_ context.Context, key string) (io.ReadSeekCloser, ObjectInfo, error) {
	root, err := d.getRoot()
	if err != nil {
		return nil, ObjectInfo{}, notFound(key, err)
	}
	// O_NONBLOCK: a FIFO is opened without waiting for a writer, then
	// refused as not regular; it changes nothing for regular files.
	f, err := root.OpenFile(key, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		// Escapes, symlink loops and permission errors are all "not found":
		// the client learns nothing about what lies outside or is hidden.
		return nil, ObjectInfo{}, notFound(key, err)
	}
	return regularFile(f, key)
}

// linkedKey returns the key of the file obj really is, when a symbolic
// link led from key to another one; "" otherwise or when unknown.
func (d *dirSource) linkedKey(obj io.ReadSeeker, key string) string {
	f, ok := obj.(*os.File)
	if !ok {
		return ""
	}
	d.mu.Lock()
	resolved := d.resolved
	d.mu.Unlock()
	return linkedKey(f, resolved, key)
}

// Close closes the directory; a later Open reopens it.
func (d *dirSource) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.root == nil {
		return nil
	}
	err := d.root.Close()
	d.root = nil
	return err
}

// notFound wraps err so that it matches fs.ErrNotExist.
func notFound(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return &fs.PathError{Op: "open", Path: key, Err: fmt.Errorf("%w (%v)", fs.ErrNotExist, err)}
}
