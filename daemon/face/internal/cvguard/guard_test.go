package cvguard

import (
	"fmt"
	"os"
	"os/exec"
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

// pgm builds a binary PGM of w x h (decoded by cv::imdecode, behind no other wall).
func pgm(w, h int) []byte {
	return append([]byte(fmt.Sprintf("P5 %d %d 255\n", w, h)), make([]byte, w*h)...)
}

// OpenCV's own pixel limit (issue 15 item 1, second wall): EnsurePixelLimit re-executes the
// process with OPENCV_IO_MAX_IMAGE_PIXELS set, after which cv::imdecode refuses a larger
// image. Setting the variable from Go would not do: OpenCV 4.6 reads it when it loads.
func TestEnsurePixelLimit(t *testing.T) {
	if os.Getenv("EDGEID_PIXEL_CHILD") == "1" {
		if err := EnsurePixelLimit(5000); err != nil {
			t.Fatal(err)
		}
		m := gocv.NewMat()
		defer m.Close()
		if err := Decode(pgm(50, 50), gocv.IMReadColor, &m); err != nil {
			t.Fatalf("2500 px under a 5000 px limit: %v", err)
		}
		err := Decode(pgm(100, 100), gocv.IMReadColor, &m)
		fmt.Printf("limit=%s err=%v\n", os.Getenv(PixelLimitEnv), err)
		return
	}
	m := gocv.NewMat()
	defer m.Close()
	if err := Decode(pgm(100, 100), gocv.IMReadColor, &m); err != nil {
		t.Fatalf("without the limit: %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestEnsurePixelLimit$", "-test.v")
	cmd.Env = append(os.Environ(), "EDGEID_PIXEL_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "limit=5000 err=opencv: pixels <= CV_IO_MAX_IMAGE_PIXELS") {
		t.Errorf("child output:\n%s\nwant a decode of 10000 px refused by OpenCV's own limit", out)
	}
}
