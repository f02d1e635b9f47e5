package cvguard

import (
	"strings"
	"testing"

	"gocv.io/x/gocv"
)

// Without the guard, each of these throws a cv::Exception that gocv would turn into abort().

func TestNewDetectorCatchesException(t *testing.T) {
	_, err := NewDetector([]byte("this is not an ONNX model"), DetectorOpts{Score: 0.7, NMS: 0.3, TopK: 10})
	if err == nil || !strings.Contains(err.Error(), "opencv:") {
		t.Fatalf("NewDetector(garbage): %v, want an opencv error", err)
	}
}

func TestDecodeCatchesAndReports(t *testing.T) {
	m := gocv.NewMat()
	defer m.Close()
	for _, b := range [][]byte{{0xff, 0xd8, 0xff}, []byte("P5 1 1 255 "), []byte("garbage")} {
		if err := Decode(b, gocv.IMReadColor, &m); err == nil {
			t.Errorf("Decode(%q) succeeded", b)
		}
	}
	if err := Decode(nil, gocv.IMReadColor, &m); err == nil {
		t.Error("Decode(nil) succeeded")
	}
}
