// libjpeg decoding with the project's error manager (jpeg.c); used by guard.cpp.
#ifndef EDGEID_CVGUARD_JPEG_H
#define EDGEID_CVGUARD_JPEG_H

#include <stddef.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eg_jpeg eg_jpeg;

eg_jpeg* eg_jpeg_new(void);
// Reads the header and every scan; 0 on success, -1 with eg_jpeg_message set.
int eg_jpeg_begin(eg_jpeg* j, const unsigned char* buf, size_t len, long max_pixels, int max_scans,
                  long max_millis, long max_memory, int* width, int* height);
// Writes height rows of width*3 BGR bytes, stride apart; 0 on success, -1 with the message set.
int eg_jpeg_read(eg_jpeg* j, unsigned char* dst, size_t stride);
const char* eg_jpeg_message(eg_jpeg* j);
void eg_jpeg_free(eg_jpeg* j);

#ifdef __cplusplus
}
#endif

#endif
