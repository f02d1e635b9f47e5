package face

import (
	"errors"
	"fmt"
	"github.com/edgeid/edgeid/internal/boundedfile"
	"io/fs"
	"time"

	"github.com/edgeid/edgeid/daemon/face/internal/cvguard"
	"gocv.io/x/gocv"
)

// Limits bound what an image may cost before it is decoded.
type Limits struct {
	MaxBytes  int // encoded size
	MaxSide   int // width or height in pixels
	MaxPixels int // width x height
	// JPEG only (0: the DefaultLimits value): scans of a progressive file, and the wall time
	// of the decode.
	MaxScans int
	MaxTime  time.Duration
}

// DefaultLimits fit camera frames, scanned photos and chip images, with room to spare,
// while keeping a decoded image under about 75 MB. Progressive JPEGs from libjpeg have 10
// scans (6 for grey), mozjpeg's and Photoshop's fewer; each scan is a pass over the whole
// image, so thousands of tiny scans cost minutes of CPU.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 16 << 20, MaxSide: 8192, MaxPixels: 25_000_000, MaxScans: 32, MaxTime: 10 * time.Second}
}

// jpegMemoryPerPixel bounds libjpeg's working memory: a progressive file keeps every DCT
// coefficient (2 bytes each, up to 3 per pixel without subsampling) until its last scan.
const jpegMemoryPerPixel = 8

// ImageError explains why an image could not be used; Source names the input.
type ImageError struct {
	Source string
	Err    error
}

func (e *ImageError) Error() string { return e.Source + ": " + e.Err.Error() }
func (e *ImageError) Unwrap() error { return e.Err }

// Decode checks an encoded image against the limits and decodes it to an 8-bit BGR Mat,
// which the caller closes. source names the input in errors.
func Decode(b []byte, lim Limits, source string) (gocv.Mat, Header, error) {
	fail := func(format string, a ...any) (gocv.Mat, Header, error) {
		return gocv.Mat{}, Header{}, &ImageError{Source: source, Err: fmt.Errorf(format, a...)}
	}
	if len(b) == 0 {
		return fail("empty file")
	}
	if len(b) > lim.MaxBytes {
		return fail("%d bytes is larger than the %d-byte limit", len(b), lim.MaxBytes)
	}
	h, err := probe(b)
	if err != nil {
		return fail("%w", err)
	}
	if h.Width > lim.MaxSide || h.Height > lim.MaxSide || h.Width*h.Height > lim.MaxPixels {
		return fail("%s of %dx%d exceeds the limit (%d px a side, %d px in all)", h.Format, h.Width, h.Height, lim.MaxSide, lim.MaxPixels)
	}
	def := DefaultLimits()
	if lim.MaxScans <= 0 {
		lim.MaxScans = def.MaxScans
	}
	if lim.MaxTime <= 0 {
		lim.MaxTime = def.MaxTime
	}
	if h.Scans > lim.MaxScans {
		return fail("jpeg of %d scans exceeds the limit of %d", h.Scans, lim.MaxScans)
	}
	img := gocv.NewMat()

	if h.Format == JPEG {
		// libjpeg with the project's error manager: warnings are errors, nothing reaches
		// stderr, and pixels, scans, memory and time are bounded inside the decoder too.
		err = cvguard.DecodeJPEG(b, cvguard.JPEGLimits{MaxPixels: lim.MaxPixels, MaxScans: lim.MaxScans, MaxTime: lim.MaxTime,
			MaxMemory: jpegMemoryPerPixel * lim.MaxPixels, Orientation: h.Orientation}, &img)
	} else if h.Format == PNG {
		err = cvguard.DecodePNG(b, lim.MaxPixels, &img)
	} else {
		err = cvguard.Decode(b, gocv.IMReadColor, &img)
	}
	if err != nil {
		img.Close()
		return fail("%s %dx%d: %w", h.Format, h.Width, h.Height, err)
	}
	// EXIF orientation may swap the sides of a JPEG; anything else means the decoder read a
	// different header from the one that was checked.
	w, hh := img.Cols(), img.Rows()
	if !(w == h.Width && hh == h.Height) && !(h.Format == JPEG && w == h.Height && hh == h.Width) {
		img.Close()
		return fail("decoded %dx%d, but the header said %dx%d", w, hh, h.Width, h.Height)
	}
	if img.Type() != gocv.MatTypeCV8UC3 {
		img.Close()
		return fail("decoder returned pixel type %v, want 8-bit BGR", img.Type())
	}
	return img, h, nil
}

// EnsureDecoderLimit puts OpenCV's own pixel limit (OPENCV_IO_MAX_IMAGE_PIXELS) at
// DefaultLimits' MaxPixels, re-executing the process if it started without it: OpenCV 4.6 reads
// the variable only when its library loads. Call it first thing in main.
func EnsureDecoderLimit() error { return cvguard.EnsurePixelLimit(DefaultLimits().MaxPixels) }

// ReadFile reads the regular file at path if it holds at most lim.MaxBytes (boundedfile: a
// device or FIFO is refused, not read forever).
func ReadFile(path string, lim Limits) ([]byte, error) {
	b, err := boundedfile.ReadFile(path, int64(lim.MaxBytes))
	var pe *fs.PathError
	if (errors.Is(err, boundedfile.ErrTooLarge) || errors.Is(err, boundedfile.ErrNotRegular)) && errors.As(err, &pe) {
		return nil, &ImageError{Source: path, Err: pe.Err}
	}
	return b, err
}
