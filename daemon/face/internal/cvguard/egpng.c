// PNG decoding through libpng with the project's own error and warning handlers. OpenCV 4.6
// creates its libpng reader without handlers, so libpng prints "libpng error: ..." and
// "libpng warning: ..." to stderr. Here errors and warnings become the returned message, the
// decoder has its own size limit, and the result is the 8-bit BGR image cv::imdecode would
// give (same transforms). C for the same reason as jpeg.c: libpng reports errors by longjmp.
#include "egpng.h"

#include <png.h>
#include <stdio.h>
#include <string.h>

struct eg_png {
    png_structp png;
    png_infop info;
    const unsigned char* buf;
    size_t len, pos;
    char msg[256];
};

static void png_fail(png_structp p, png_const_charp text) {
    eg_png* g = (eg_png*)png_get_error_ptr(p);
    snprintf(g->msg, sizeof g->msg, "%s", text);
    png_longjmp(p, 1);
}

// A warning (bad CRC in an ancillary chunk, an incorrect sRGB profile) is not fatal to libpng;
// it is kept as the message but the image is not refused for it, as cv::imdecode does not.
static void png_warn(png_structp p, png_const_charp text) {
    (void)p;
    (void)text;
}

static void png_read_mem(png_structp p, png_bytep out, size_t n) {
    eg_png* g = (eg_png*)png_get_io_ptr(p);
    if (n > g->len - g->pos) {
        png_error(p, "truncated: the data ends early");
    }
    memcpy(out, g->buf + g->pos, n);
    g->pos += n;
}

eg_png* eg_png_new(void) { return (eg_png*)calloc(1, sizeof(eg_png)); }

const char* eg_png_message(eg_png* g) { return g->msg; }

int eg_png_begin(eg_png* g, const unsigned char* buf, size_t len, long max_pixels, int* width, int* height) {
    g->buf = buf;
    g->len = len;
    g->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, g, png_fail, png_warn);
    if (g->png == NULL) {
        snprintf(g->msg, sizeof g->msg, "out of memory");
        return -1;
    }
    g->info = png_create_info_struct(g->png);
    if (g->info == NULL) {
        snprintf(g->msg, sizeof g->msg, "out of memory");
        return -1;
    }
    if (setjmp(png_jmpbuf(g->png))) {
        return -1;
    }
    png_set_read_fn(g->png, g, png_read_mem);
    png_set_user_limits(g->png, 1u << 16, 1u << 16);
    png_set_chunk_malloc_max(g->png, 8u << 20);
    png_read_info(g->png, g->info);
    png_uint_32 w = png_get_image_width(g->png, g->info);
    png_uint_32 h = png_get_image_height(g->png, g->info);
    if ((long long)w * (long long)h > max_pixels) {
        snprintf(g->msg, sizeof g->msg, "%ux%u exceeds the decoder's limit of %ld pixels", (unsigned)w, (unsigned)h, max_pixels);
        return -1;
    }
    int ct = png_get_color_type(g->png, g->info);
    int depth = png_get_bit_depth(g->png, g->info);
    // The transforms of OpenCV's PngDecoder for IMREAD_COLOR.
    if (depth == 16) {
        png_set_strip_16(g->png);
    }
    if (ct == PNG_COLOR_TYPE_PALETTE) {
        png_set_palette_to_rgb(g->png);
    }
    if ((ct & PNG_COLOR_MASK_COLOR) == 0 && depth < 8) {
        png_set_expand_gray_1_2_4_to_8(g->png);
    }
    if (png_get_valid(g->png, g->info, PNG_INFO_tRNS)) {
        png_set_tRNS_to_alpha(g->png);
    }
    png_set_strip_alpha(g->png);
    if ((ct & PNG_COLOR_MASK_COLOR) == 0) {
        png_set_gray_to_rgb(g->png);
    }
    png_set_bgr(g->png);
    png_set_interlace_handling(g->png);
    png_read_update_info(g->png, g->info);
    if (png_get_rowbytes(g->png, g->info) != (size_t)w * 3) {
        snprintf(g->msg, sizeof g->msg, "unexpected row layout");
        return -1;
    }
    *width = (int)w;
    *height = (int)h;
    return 0;
}

int eg_png_read(eg_png* g, unsigned char* dst, size_t stride) {
    png_uint_32 h = png_get_image_height(g->png, g->info);
    png_bytepp rows = (png_bytepp)malloc(sizeof(png_bytep) * h);
    if (rows == NULL) {
        snprintf(g->msg, sizeof g->msg, "out of memory");
        return -1;
    }
    for (png_uint_32 y = 0; y < h; y++) {
        rows[y] = dst + (size_t)y * stride;
    }
    if (setjmp(png_jmpbuf(g->png))) {
        free(rows);
        return -1;
    }
    png_read_image(g->png, rows);
    png_read_end(g->png, NULL);
    free(rows);
    return 0;
}

void eg_png_free(eg_png* g) {
    if (g == NULL) {
        return;
    }
    if (g->png != NULL) {
        png_destroy_read_struct(&g->png, g->info ? &g->info : NULL, NULL);
    }
    free(g);
}
