package depcheck

import (
	_ "github.com/NVIDIA/go-nvml/pkg/nvml"
	_ "github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	_ "github.com/containerd/cgroups/v3/cgroup1"
	_ "github.com/containerd/cgroups/v3/cgroup2"
	_ "github.com/hashicorp/go-memdb"
	_ "github.com/hashicorp/hcl/v2/hclsimple"
	_ "github.com/hashicorp/raft"
	_ "github.com/hashicorp/raft-boltdb/v2"
	_ "github.com/hashicorp/serf/serf"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/urfave/cli/v2"
	_ "github.com/zclconf/go-cty/cty/function/stdlib"
)
