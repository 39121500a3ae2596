package cdncache

import (
	"io/fs"
	"syscall"
)

// identityOf returns the file identity the operating system gives fi: its
// device and inode, and its change time, which every write, rename or
// chmod moves and no user can set.
func identityOf(fi fs.FileInfo) fileID {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino, ctimeNano: st.Ctim.Nano()}
}
