package cdncache

import (
	"os"
	"strconv"
	"strings"
)

// linkedKey returns the key under root (the resolved path of a Dir) of the
// file f really is, when it differs from key: f was reached through a
// symbolic link. It returns "" when they agree or the path is unknown.
func linkedKey(f *os.File, root, key string) string {
	if root == "" {
		return ""
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return ""
	}
	var p string
	_ = rc.Control(func(fd uintptr) {
		p, err = os.Readlink("/proc/self/fd/" + strconv.FormatUint(uint64(fd), 10))
	})
	if err != nil {
		return ""
	}
	rel, ok := strings.CutPrefix(p, root+"/")
	if !ok || rel == key {
		return ""
	}
	return rel
}
