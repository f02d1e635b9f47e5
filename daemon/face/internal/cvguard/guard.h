// C entry points into OpenCV that never let a C++ exception escape: each returns NULL on success
// or a malloc'd message that the caller frees. gocv v0.31 aborts the process on any uncaught
// cv::Exception, so everything that touches untrusted bytes goes through here.
#ifndef EDGEID_CVGUARD_H
#define EDGEID_CVGUARD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// mat is a cv::Mat* (gocv's C.Mat); det is an opaque detector handle.
char* eg_decode(const unsigned char* buf, size_t len, int flags, void* mat);
// JPEG through libjpeg (jpeg.c): warnings are errors, nothing is printed, and the decode stops
// past max_pixels, max_scans, max_millis or max_memory bytes of libjpeg's own buffers.
// orientation (1-8) is the EXIF orientation to apply.
char* eg_decode_jpeg(const unsigned char* buf, size_t len, long max_pixels, int max_scans,
                     long max_millis, long max_memory, int orientation, void* mat);
// PNG through libpng (egpng.c) with its messages kept from stderr; 8-bit BGR as imdecode gives.
char* eg_decode_png(const unsigned char* buf, size_t len, long max_pixels, void* mat);
char* eg_detector_new(const char* model_path, float score, float nms, int top_k, void** det);
char* eg_detector_detect(void* det, void* mat, float* out, int max_rows, int* rows);
void eg_detector_free(void* det);
void eg_set_num_threads(int n);

#ifdef __cplusplus
}
#endif

#endif
