// JPEG decoding through libjpeg with the project's own error manager. OpenCV 4.6 decodes JPEG
// with libjpeg's default message handler, which prints warnings ("Corrupt JPEG data: premature
// end of data segment") to stderr and then returns a grey-filled image as if nothing happened.
// Here every warning is an error, no message reaches stderr, and the decode is bounded in
// pixels, scans, memory and time. libjpeg reports errors by longjmp, so this file is C: no C++
// frame lies between a setjmp and the libjpeg call that may jump to it.
#include "jpeg.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jpeglib.h>
#include <jerror.h>

struct eg_jpeg {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX + 64];
    int max_scans;
    struct timespec deadline;
    int created;
};

static void fail_with(j_common_ptr c, const char* text) {
    eg_jpeg* j = (eg_jpeg*)c->client_data;
    snprintf(j->msg, sizeof j->msg, "%s", text);
    longjmp(j->jump, 1);
}

static void on_error(j_common_ptr c) {
    char buf[JMSG_LENGTH_MAX];
    if (c->err->msg_code == JERR_NO_BACKING_STORE) {
        // max_memory_to_use was reached: libjpeg would spill to a temporary file it lacks.
        fail_with(c, "working memory limit reached");
    }
    (*c->err->format_message)(c, buf);
    fail_with(c, buf);
}

// Warnings (level < 0) are errors: corrupt or truncated data must not become a picture.
// Trace messages (level >= 0) are dropped.
static void on_message(j_common_ptr c, int level) {
    if (level < 0) {
        on_error(c);
    }
}

static void no_output(j_common_ptr c) { (void)c; }

static int past(const struct timespec* t) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

// Called by libjpeg between MCU rows and between scans.
static void on_progress(j_common_ptr c) {
    eg_jpeg* j = (eg_jpeg*)c->client_data;
    if (j->cinfo.input_scan_number > j->max_scans) {
        char buf[96];
        snprintf(buf, sizeof buf, "more than %d scans", j->max_scans);
        fail_with(c, buf);
    }
    if (past(&j->deadline)) {
        fail_with(c, "decode time limit reached");
    }
}

eg_jpeg* eg_jpeg_new(void) {
    eg_jpeg* j = (eg_jpeg*)calloc(1, sizeof(eg_jpeg));
    return j;
}

const char* eg_jpeg_message(eg_jpeg* j) { return j->msg; }

int eg_jpeg_begin(eg_jpeg* j, const unsigned char* buf, size_t len, long max_pixels, int max_scans,
                  long max_millis, long max_memory, int* width, int* height) {
    if (setjmp(j->jump)) {
        return -1;
    }
    j->cinfo.err = jpeg_std_error(&j->jerr);
    j->jerr.error_exit = on_error;
    j->jerr.emit_message = on_message;
    j->jerr.output_message = no_output;
    j->cinfo.client_data = j;
    j->max_scans = max_scans;
    clock_gettime(CLOCK_MONOTONIC, &j->deadline);
    j->deadline.tv_sec += max_millis / 1000;
    j->deadline.tv_nsec += (max_millis % 1000) * 1000000L;
    if (j->deadline.tv_nsec >= 1000000000L) {
        j->deadline.tv_sec++;
        j->deadline.tv_nsec -= 1000000000L;
    }
    jpeg_create_decompress(&j->cinfo);
    j->created = 1;
    j->cinfo.mem->max_memory_to_use = max_memory;
    j->progress.progress_monitor = on_progress;
    j->cinfo.progress = &j->progress;
    jpeg_mem_src(&j->cinfo, buf, (unsigned long)len);
    jpeg_read_header(&j->cinfo, TRUE);
    if (j->cinfo.image_width == 0 || j->cinfo.image_height == 0 ||
        (long long)j->cinfo.image_width * (long long)j->cinfo.image_height > max_pixels) {
        snprintf(j->msg, sizeof j->msg, "%ux%u exceeds the decoder's limit of %ld pixels",
                 j->cinfo.image_width, j->cinfo.image_height, max_pixels);
        return -1;
    }
    if (j->cinfo.num_components != 1 && j->cinfo.num_components != 3) {
        snprintf(j->msg, sizeof j->msg, "%d components (grey or colour accepted)", j->cinfo.num_components);
        return -1;
    }
    j->cinfo.out_color_space = JCS_EXT_BGR;
    // Reads every scan of a progressive file, calling on_progress as it goes.
    jpeg_start_decompress(&j->cinfo);
    *width = (int)j->cinfo.output_width;
    *height = (int)j->cinfo.output_height;
    return 0;
}

int eg_jpeg_read(eg_jpeg* j, unsigned char* dst, size_t stride) {
    if (setjmp(j->jump)) {
        return -1;
    }
    while (j->cinfo.output_scanline < j->cinfo.output_height) {
        JSAMPROW row = dst + (size_t)j->cinfo.output_scanline * stride;
        if (jpeg_read_scanlines(&j->cinfo, &row, 1) != 1) {
            snprintf(j->msg, sizeof j->msg, "decoder stopped at row %u", j->cinfo.output_scanline);
            return -1;
        }
    }
    // Reads to the end-of-image marker: a warning about what follows the last scan fails too.
    jpeg_finish_decompress(&j->cinfo);
    return 0;
}

void eg_jpeg_free(eg_jpeg* j) {
    if (j == NULL) {
        return;
    }
    if (j->created) {
        jpeg_destroy_decompress(&j->cinfo);
    }
    free(j);
}
