// libpng decoding with the project's error handlers (egpng.c); used by guard.cpp. Not named
// png.h, which is libpng's.
#ifndef EDGEID_CVGUARD_EGPNG_H
#define EDGEID_CVGUARD_EGPNG_H

#include <stddef.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eg_png eg_png;

eg_png* eg_png_new(void);
// Reads the header and sets up 8-bit BGR output; 0 on success, -1 with eg_png_message set.
int eg_png_begin(eg_png* g, const unsigned char* buf, size_t len, long max_pixels, int* width, int* height);
// Writes height rows of width*3 BGR bytes, stride apart; 0 on success, -1 with the message set.
int eg_png_read(eg_png* g, unsigned char* dst, size_t stride);
const char* eg_png_message(eg_png* g);
void eg_png_free(eg_png* g);

#ifdef __cplusplus
}
#endif

#endif
