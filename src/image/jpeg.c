/*
 * jpeg.c - JPEG decoding and encoding with libjpeg-turbo.
 *
 * libjpeg reports fatal errors through error_exit, which must not return:
 * ours formats the library's message into a buffer and longjmps back to the
 * function that started the work, which cleans up and returns -1. Warnings
 * (corrupt data the library can still decode) are ignored, as OpenCV does.
 * Output is BGR straight from the decoder (JCS_EXT_BGR) or grey.
 */
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "image/codecs.h"
#include "image/image_io.h"

typedef struct jpeg_failure {
    struct jpeg_error_mgr mgr;   /* first member: libjpeg passes &mgr */
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} jpeg_failure;

static void jump_on_error(j_common_ptr cinfo)
{
    jpeg_failure *f = (jpeg_failure *)cinfo->err;
    f->mgr.format_message(cinfo, f->message);
    longjmp(f->jump, 1);
}

static void fail_on_truncation(j_common_ptr cinfo, int level)
{
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
        jump_on_error(cinfo);
}

static void install_failure_handler(jpeg_failure *f)
{
    jpeg_std_error(&f->mgr);
    f->mgr.error_exit = jump_on_error;
    f->mgr.emit_message = fail_on_truncation;
    f->message[0] = '\0';
}

int ls_jpeg_decode(const void *data, size_t len, const char *what, ls_image *out, ls_error *err)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_failure failure;
    out->data = NULL;
    cinfo.err = &failure.mgr;
    install_failure_handler(&failure);
    if (setjmp(failure.jump)) {
        jpeg_destroy_decompress(&cinfo);
        ls_image_free(out);
        return ls_error_set(err, "%s: JPEG: %s", what, failure.message);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, (const unsigned char *)data, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    int grey = cinfo.jpeg_color_space == JCS_GRAYSCALE;
    if (!grey && cinfo.num_components != 3) {
        jpeg_destroy_decompress(&cinfo);
        return ls_error_set(err, "%s: JPEG with %d colour components (CMYK?) not supported", what,
                            cinfo.num_components);
    }
    cinfo.out_color_space = grey ? JCS_GRAYSCALE : JCS_EXT_BGR;
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_width > LS_IMAGE_MAX_SIDE || cinfo.output_height > LS_IMAGE_MAX_SIDE ||
        ls_image_alloc(out, (int)cinfo.output_width, (int)cinfo.output_height, grey ? 1 : 3, err)) {
        jpeg_destroy_decompress(&cinfo);
        return ls_error_set(err, "%s: JPEG size %ux%u not supported", what, cinfo.output_width,
                            cinfo.output_height);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = ls_image_row(out, (int)cinfo.output_scanline);
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

int ls_jpeg_write(const char *path, const ls_image *img, int quality, ls_error *err)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return ls_error_set(err, "%s: cannot create file", path);
    struct jpeg_compress_struct cinfo;
    jpeg_failure failure;
    cinfo.err = &failure.mgr;
    install_failure_handler(&failure);
    if (setjmp(failure.jump)) {
        jpeg_destroy_compress(&cinfo);
        fclose(f);
        return ls_error_set(err, "%s: JPEG: %s", path, failure.message);
    }
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = (JDIMENSION)img->width;
    cinfo.image_height = (JDIMENSION)img->height;
    cinfo.input_components = img->channels;
    cinfo.in_color_space = img->channels == 3 ? JCS_EXT_BGR : JCS_GRAYSCALE;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = ls_image_row(img, (int)cinfo.next_scanline);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    if (fclose(f) != 0)
        return ls_error_set(err, "%s: write failed", path);
    return 0;
}
