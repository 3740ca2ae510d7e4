//go:build !linux

package executor

import "errors"

func enterMountNS() (bool, error) {
	return false, errors.New("mount namespaces need Linux")
}

func bindReadOnly(string) error { return errors.New("read-only binds need Linux") }
