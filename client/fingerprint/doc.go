// Package fingerprint tells a nai client what its host is: CPUs, memory,
// kernel, and above all its GPUs (index, UUID, model, memory, PCI bus id,
// NVLink peers, MIG mode, driver and CUDA version), and then keeps watching
// those GPUs: utilisation and memory use every few seconds, and health.
//
// # One code path for real and fake GPUs
//
// Everything about GPUs is read through github.com/NVIDIA/go-nvml's
// nvml.Interface, using only per-Device methods. On a GPU host that is
// nvml.New(), which dlopens libnvidia-ml.so.1; a host without it is not an
// error: Fingerprint returns no GPUs and Host.NVMLError says why, so the
// agent runs without GPUs and says so. With Options.DevGPUs = N the same code
// reads a FakeMachine instead: go-nvml's mock server (pkg/nvml/mock/server,
// the GPUs of pkg/nvml/mock/dgxh100 and friends) with N = 1..1024 devices.
// The fake machine answers the calls the mock leaves unset:
//
//   - UUIDs are name-based on (seed, model, index), so a restarted dev agent
//     with the same N sees the same GPUs; minor numbers equal indices; PCI bus
//     ids are 0000000D:BB:00.0 with D = index/256, BB = index%256.
//   - NVLink topology, read like real hardware through
//     Device.GetP2PStatus(other, P2P_CAPS_INDEX_NVLINK): on "h100" (the
//     default), "h200", "b200" and "a100" (SXM boards) every GPU is joined to
//     the others of its board of eight through NVSwitch (0-7, 8-15, ...); on
//     "a100-pcie" and "a30" NVLink bridges join pairs (0-1, 2-3, ...).
//   - Utilisation, memory used, uncorrected ECC counts, "GPU is lost" and XID
//     events are knobs (FakeMachine.SetUsage, AddECCErrors, SetLost,
//     InjectXID) for tests and dev agents.
//
// # Health
//
// A Monitor (NewMonitor, Start, Stop) samples every GPU each interval and
// listens for NVML events. A GPU becomes unhealthy, once and for good until
// the agent restarts, on a critical XID (application XIDs such as 13, 31, 43
// are ignored), a double-bit ECC event, a rise of its uncorrected volatile
// ECC count since the monitor started, or an NVML call answering
// ERROR_GPU_IS_LOST / RESET_REQUIRED / GPU_NOT_FOUND. Each change is sent once
// on Changes(); GPUs() and Usage() give the current state.
//
// # Without cgo
//
// go-nvml needs cgo. A binary built without a C compiler still builds this
// package (nvml_nocgo.go): real hosts report no GPUs with a reason, fakes
// have the same identities and topology but no load, faults or monitor.
//
// # Imports
//
// This package imports structs and go-nvml only. It must not import server,
// fsm, scheduler, api, cgroups or cmd: the client wires it to the rest.
package fingerprint
