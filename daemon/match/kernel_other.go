//go:build !amd64 && !arm64

package match

func bestKernels() kernels { return portableKernels }
