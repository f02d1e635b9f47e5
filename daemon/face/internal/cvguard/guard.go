// Package cvguard is the project's own thin cgo layer over OpenCV 4.6 for what gocv v0.31 lacks
// (cv::FaceDetectorYN) and for decoding untrusted image bytes. Every entry point catches C++
// exceptions and returns a Go error, where gocv would abort the whole process.
package cvguard

/*
#cgo pkg-config: opencv4 libjpeg libpng
#cgo CXXFLAGS: --std=c++11
#include <stdlib.h>
#include "guard.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"gocv.io/x/gocv"
	"golang.org/x/sys/unix"
)

// takeError turns a message from the C side into an error and frees it.
func takeError(msg *C.char) error {
	if msg == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(msg))
	return errors.New(C.GoString(msg))
}

// Decode decodes an encoded image into dst with cv::imdecode (flags as gocv.IMReadFlag).
// The caller must have checked the format and dimensions: this only makes sure that an
// OpenCV exception becomes an error.
func Decode(b []byte, flags gocv.IMReadFlag, dst *gocv.Mat) error {
	if len(b) == 0 {
		return errors.New("decode: empty buffer")
	}
	return takeError(C.eg_decode((*C.uchar)(unsafe.Pointer(&b[0])), C.size_t(len(b)), C.int(flags), unsafe.Pointer(dst.Ptr())))
}

// JPEGLimits bound one JPEG decode.
type JPEGLimits struct {
	MaxPixels   int           // width x height
	MaxScans    int           // scans of a progressive file
	MaxTime     time.Duration // wall time of the decode
	MaxMemory   int           // bytes of libjpeg's own working memory (coefficients of a progressive file)
	Orientation int           // EXIF orientation to apply, 1-8 (0 or 1: as stored)
}

// DecodeJPEG decodes a JPEG through libjpeg into an 8-bit BGR dst. Unlike cv::imdecode, a
// libjpeg warning (corrupt or truncated data) is an error, no message is printed to stderr,
// and the limits hold inside the decoder whatever the header probe said.
func DecodeJPEG(b []byte, lim JPEGLimits, dst *gocv.Mat) error {
	if len(b) == 0 {
		return errors.New("jpeg: empty buffer")
	}
	ms := lim.MaxTime.Milliseconds()
	if ms <= 0 {
		ms = 1
	}
	return takeError(C.eg_decode_jpeg((*C.uchar)(unsafe.Pointer(&b[0])), C.size_t(len(b)), C.long(lim.MaxPixels),
		C.int(lim.MaxScans), C.long(ms), C.long(lim.MaxMemory), C.int(lim.Orientation), unsafe.Pointer(dst.Ptr())))
}

// DecodePNG decodes a PNG through libpng into an 8-bit BGR dst, with the same pixels as
// cv::imdecode(IMREAD_COLOR) but no message printed to stderr and its own pixel limit.
func DecodePNG(b []byte, maxPixels int, dst *gocv.Mat) error {
	if len(b) == 0 {
		return errors.New("png: empty buffer")
	}
	return takeError(C.eg_decode_png((*C.uchar)(unsafe.Pointer(&b[0])), C.size_t(len(b)), C.long(maxPixels), unsafe.Pointer(dst.Ptr())))
}

// PixelLimitEnv is OpenCV's own limit on the pixels of an image its decoders allocate.
// OpenCV 4.6 reads it once, in a static initialiser of libopencv_imgcodecs, that is when the
// library is loaded, before any Go code runs: os.Setenv has no effect on it (measured). A
// process must therefore start with it set; EnsurePixelLimit arranges that.
const PixelLimitEnv = "OPENCV_IO_MAX_IMAGE_PIXELS"

// EnsurePixelLimit makes OpenCV's decoders refuse images of more than max pixels, as a wall
// behind the header probe. When the environment does not already hold a limit of at most
// max, it re-executes the running binary (same pid, same arguments) with the limit added, so
// it must be called first thing in main, before any goroutine or file matters. It returns
// only when the limit is in force, or with the error of the exec.
func EnsurePixelLimit(max int) error {
	if v, err := strconv.Atoi(os.Getenv(PixelLimitEnv)); err == nil && v > 0 && v <= max {
		return nil
	}
	env := []string{fmt.Sprintf("%s=%d", PixelLimitEnv, max)}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, PixelLimitEnv+"=") {
			env = append(env, kv)
		}
	}
	return fmt.Errorf("re-executing with %s: %w", PixelLimitEnv, syscall.Exec("/proc/self/exe", os.Args, env))
}

// SetNumThreads sets OpenCV's worker-thread count for the whole process (0 means sequential).
func SetNumThreads(n int) { C.eg_set_num_threads(C.int(n)) }

// DetectorOpts configures YuNet.
type DetectorOpts struct {
	Score float32 // minimum face score
	NMS   float32 // non-maximum suppression IoU threshold
	TopK  int     // candidates kept before NMS
}

// Row is one detection: x, y, w, h, five landmarks (x, y), score.
type Row [15]float32

// MaxFaces bounds how many detections one call returns.
const MaxFaces = 64

// Detector wraps cv::FaceDetectorYN. It is not safe for concurrent use.
type Detector struct {
	p unsafe.Pointer
}

// NewDetector loads a YuNet model from its bytes. OpenCV 4.6 only loads FaceDetectorYN from a
// path, so the bytes (already checked against the manifest) go through a sealed memfd: what is
// loaded is exactly what was checked, whatever happens to the file on disk meanwhile.
func NewDetector(model []byte, o DetectorOpts) (*Detector, error) {
	fd, err := unix.MemfdCreate("edgeid-yunet.onnx", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("detector: memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), "edgeid-yunet.onnx")
	defer f.Close()
	if _, err := f.Write(model); err != nil {
		return nil, fmt.Errorf("detector: memfd write: %w", err)
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_WRITE|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL); err != nil {
		return nil, fmt.Errorf("detector: memfd seal: %w", err)
	}
	// OpenCV picks the importer by file extension, so the memfd is reached through a symlink
	// named *.onnx in a private temporary folder.
	dir, err := os.MkdirTemp("", "edgeid-model-")
	if err != nil {
		return nil, fmt.Errorf("detector: %w", err)
	}
	defer os.RemoveAll(dir)
	link := filepath.Join(dir, "yunet.onnx")
	if err := os.Symlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), link); err != nil {
		return nil, fmt.Errorf("detector: %w", err)
	}
	path := C.CString(link)
	defer C.free(unsafe.Pointer(path))
	var p unsafe.Pointer
	if err := takeError(C.eg_detector_new(path, C.float(o.Score), C.float(o.NMS), C.int(o.TopK), &p)); err != nil {
		return nil, fmt.Errorf("detector: %w", err)
	}
	return &Detector{p: p}, nil
}

// Detect runs the detector on a BGR image and returns at most MaxFaces rows.
func (d *Detector) Detect(img gocv.Mat) ([]Row, error) {
	if d.p == nil {
		return nil, errors.New("detect: detector is closed")
	}
	var buf [MaxFaces]Row
	var n C.int
	err := takeError(C.eg_detector_detect(d.p, unsafe.Pointer(img.Ptr()), (*C.float)(unsafe.Pointer(&buf[0][0])), MaxFaces, &n))
	if err != nil {
		return nil, err
	}
	out := make([]Row, int(n))
	copy(out, buf[:n])
	return out, nil
}

// Close frees the detector.
func (d *Detector) Close() error {
	if d.p != nil {
		C.eg_detector_free(d.p)
		d.p = nil
	}
	return nil
}
