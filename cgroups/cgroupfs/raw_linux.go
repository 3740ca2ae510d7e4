package cgroupfs

import (
	"errors"
	"io/fs"
	"syscall"
)

// Control files are read and written with plain system calls, not through
// os.File: on Linux every os.Open tries to register the descriptor with
// Go's network poller (two fcntl calls and an epoll_ctl, and for
// cgroupfs files, which the kernel can poll, a second epoll_ctl on close).
// The executor touches some twenty control files for every job.

// readSmall reads a control file of at most a few pages whole. Errors are
// *fs.PathError, as os.ReadFile's, so that errors.Is(err,
// fs.ErrNotExist) and the messages stay as they were.
func readSmall(path string) ([]byte, error) {
	fd, err := openRetry(path, syscall.O_RDONLY|syscall.O_CLOEXEC)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	buf := make([]byte, 0, 512)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

// writeSmall writes data to an existing control file in one write, as
// os.WriteFile(path, data, 0) does for a file that exists (cgroupfs files
// need no O_TRUNC).
func writeSmall(path string, data []byte) error {
	fd, err := openRetry(path, syscall.O_WRONLY|syscall.O_CLOEXEC)
	if err != nil {
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	err = writeFD(fd, data)
	if cerr := syscall.Close(fd); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: err}
	}
	return nil
}

func writeFD(fd int, data []byte) error {
	for {
		n, err := syscall.Write(fd, data)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n < len(data) {
			return errors.New("short write")
		}
		return nil
	}
}

func openRetry(path string, flags int) (int, error) {
	for {
		fd, err := syscall.Open(path, flags, 0)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}
