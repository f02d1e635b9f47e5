#include "guard.h"
#include "egpng.h"
#include "jpeg.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <memory>
#include <mutex>
#include <streambuf>
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/objdetect/face.hpp>

namespace {

char* dup_message(const std::string& s) {
    char* p = static_cast<char*>(std::malloc(s.size() + 1));
    if (p != nullptr) {
        std::memcpy(p, s.c_str(), s.size() + 1);
    }
    return p;
}

// cv::Exception::what() carries file and line noise; err.msg is the useful part.
char* from_exception() {
    try {
        throw;
    } catch (const cv::Exception& e) {
        return dup_message("opencv: " + e.err + " (in " + e.func + ")");
    } catch (const std::bad_alloc&) {
        return dup_message("opencv: out of memory");
    } catch (const std::exception& e) {
        return dup_message(std::string("opencv: ") + e.what());
    } catch (...) {
        return dup_message("opencv: unknown C++ exception");
    }
}

// OpenCV 4.6 writes decoder failures to std::cerr ("imdecode_(''): can't read data: ...") and
// its codecs' messages (OpenJPEG's) through its logger. The logger is silenced, and std::cerr,
// which nothing else in this Go process uses, goes to a per-thread buffer whose text becomes
// part of the returned error. No file descriptor is touched.
class ThreadBuf : public std::streambuf {
public:
    static std::string take() {
        std::string s;
        s.swap(buffer());
        return s;
    }

protected:
    int overflow(int c) override {
        if (c != traits_type::eof()) {
            put(static_cast<char>(c));
        }
        return c;
    }
    std::streamsize xsputn(const char* s, std::streamsize n) override {
        for (std::streamsize i = 0; i < n; i++) {
            put(s[i]);
        }
        return n;
    }

private:
    static std::string& buffer() {
        thread_local std::string b;
        return b;
    }
    static void put(char c) {
        std::string& b = buffer();
        if (b.size() < 512) {
            b.push_back(c);
        }
    }
};

void quiet_opencv() {
    static std::once_flag once;
    std::call_once(once, [] {
        cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
        static ThreadBuf buf;
        std::cerr.rdbuf(&buf);
    });
}

// what OpenCV printed, on one line, without its "imdecode_(''): " prefix.
std::string printed() {
    std::string s = ThreadBuf::take();
    const std::string prefix = "imdecode_(''): ";
    if (s.compare(0, prefix.size(), prefix) == 0) {
        s.erase(0, prefix.size());
    }
    for (char& c : s) {
        if (c == '\n' || c == '\r') {
            c = ' ';
        }
    }
    while (!s.empty() && s.back() == ' ') {
        s.pop_back();
    }
    return s;
}

struct Detector {
    cv::Ptr<cv::FaceDetectorYN> yn;
};

}  // namespace

extern "C" char* eg_decode(const unsigned char* buf, size_t len, int flags, void* mat) {
    try {
        if (len == 0 || len > static_cast<size_t>(INT32_MAX)) {
            return dup_message("decode: empty or oversized buffer");
        }
        // The Mat header borrows buf; imdecode copies what it decodes.
        quiet_opencv();
        const cv::Mat raw(1, static_cast<int>(len), CV_8UC1, const_cast<unsigned char*>(buf));
        ThreadBuf::take();
        cv::Mat img = cv::imdecode(raw, flags);
        const std::string said = printed();
        if (img.empty()) {
            return dup_message("decode: the decoder could not read the image" + (said.empty() ? "" : ": " + said));
        }
        *static_cast<cv::Mat*>(mat) = img;
        return nullptr;
    } catch (...) {
        return from_exception();
    }
}

namespace {

// The EXIF orientations, as OpenCV's imdecode applies them.
void orient(cv::Mat& img, int orientation) {
    cv::Mat t;
    switch (orientation) {
    case 2: cv::flip(img, img, 1); break;
    case 3: cv::flip(img, img, -1); break;
    case 4: cv::flip(img, img, 0); break;
    case 5: cv::transpose(img, t); img = t; break;
    case 6: cv::transpose(img, t); cv::flip(t, img, 1); break;
    case 7: cv::transpose(img, t); cv::flip(t, img, -1); break;
    case 8: cv::transpose(img, t); cv::flip(t, img, 0); break;
    default: break;
    }
}

struct JpegFree {
    void operator()(eg_jpeg* j) const { eg_jpeg_free(j); }
};

struct PngFree {
    void operator()(eg_png* g) const { eg_png_free(g); }
};

}  // namespace

extern "C" char* eg_decode_jpeg(const unsigned char* buf, size_t len, long max_pixels, int max_scans,
                                long max_millis, long max_memory, int orientation, void* mat) {
    try {
        std::unique_ptr<eg_jpeg, JpegFree> j(eg_jpeg_new());
        if (!j) {
            return dup_message("jpeg: out of memory");
        }
        int w = 0, h = 0;
        if (eg_jpeg_begin(j.get(), buf, len, max_pixels, max_scans, max_millis, max_memory, &w, &h) != 0) {
            return dup_message(std::string("jpeg: ") + eg_jpeg_message(j.get()));
        }
        cv::Mat img(h, w, CV_8UC3);
        if (eg_jpeg_read(j.get(), img.data, img.step[0]) != 0) {
            return dup_message(std::string("jpeg: ") + eg_jpeg_message(j.get()));
        }
        orient(img, orientation);
        *static_cast<cv::Mat*>(mat) = img;
        return nullptr;
    } catch (...) {
        return from_exception();
    }
}

extern "C" char* eg_decode_png(const unsigned char* buf, size_t len, long max_pixels, void* mat) {
    try {
        std::unique_ptr<eg_png, PngFree> g(eg_png_new());
        if (!g) {
            return dup_message("png: out of memory");
        }
        int w = 0, h = 0;
        if (eg_png_begin(g.get(), buf, len, max_pixels, &w, &h) != 0) {
            return dup_message(std::string("png: ") + eg_png_message(g.get()));
        }
        cv::Mat img(h, w, CV_8UC3);
        if (eg_png_read(g.get(), img.data, img.step[0]) != 0) {
            return dup_message(std::string("png: ") + eg_png_message(g.get()));
        }
        *static_cast<cv::Mat*>(mat) = img;
        return nullptr;
    } catch (...) {
        return from_exception();
    }
}

extern "C" char* eg_detector_new(const char* model_path, float score, float nms, int top_k, void** det) {
    try {
        Detector* d = new Detector();
        d->yn = cv::FaceDetectorYN::create(model_path, "", cv::Size(320, 320), score, nms, top_k);
        if (d->yn.empty()) {
            delete d;
            return dup_message("detector: create returned nothing");
        }
        *det = d;
        return nullptr;
    } catch (...) {
        return from_exception();
    }
}

extern "C" char* eg_detector_detect(void* det, void* mat, float* out, int max_rows, int* rows) {
    try {
        Detector* d = static_cast<Detector*>(det);
        const cv::Mat& img = *static_cast<cv::Mat*>(mat);
        if (img.empty() || img.type() != CV_8UC3) {
            return dup_message("detect: want a non-empty 8-bit BGR image");
        }
        d->yn->setInputSize(img.size());
        cv::Mat faces;
        d->yn->detect(img, faces);
        *rows = 0;
        if (faces.empty()) {
            return nullptr;
        }
        if (faces.type() != CV_32F || faces.cols != 15) {
            return dup_message("detect: unexpected output layout");
        }
        const int n = faces.rows < max_rows ? faces.rows : max_rows;
        for (int i = 0; i < n; i++) {
            std::memcpy(out + i * 15, faces.ptr<float>(i), 15 * sizeof(float));
        }
        *rows = n;
        return nullptr;
    } catch (...) {
        return from_exception();
    }
}

extern "C" void eg_detector_free(void* det) {
    delete static_cast<Detector*>(det);
}

extern "C" void eg_set_num_threads(int n) {
    try {
        cv::setNumThreads(n);
    } catch (...) {
    }
}
