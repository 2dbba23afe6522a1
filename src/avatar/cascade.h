/*
 * cascade.h - Viola-Jones face detection with OpenCV's Haar cascade files.
 *
 * The cascade is read from the XML files OpenCV ships (Debian: opencv-data,
 * /usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml):
 * boosted stages of decision trees (stumps or deeper) over upright Haar
 * features of up to 3 weighted rectangles in a fixed window (24x24 for faces).
 * Only the current format (<cascade type_id="opencv-cascade-classifier">,
 * stageType BOOST, featureType HAAR) is accepted; tilted features are refused.
 *
 * Detection (cascade_detect.c) follows the classic algorithm: the grey image
 * is shrunk by successive scale factors, and at each scale a window slides
 * over it; each window is normalised by its standard deviation (integral
 * image and integral of squares), and passes when every stage's sum of
 * tree leaves reaches the stage threshold. Windows that pass are grouped:
 * overlapping hits form a cluster, and clusters with enough members become
 * detections (the average box), like cv2's detectMultiScale.
 */
#ifndef LS_AVATAR_CASCADE_H
#define LS_AVATAR_CASCADE_H

#include <stddef.h>

#include "image/image.h"
#include "util/error.h"

#define LS_FACE_CASCADE_PATH "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"

typedef struct ls_cascade ls_cascade;

int ls_cascade_load(const char *path, ls_cascade **out, ls_error *err);
int ls_cascade_parse(const char *xml, size_t len, const char *what, ls_cascade **out, ls_error *err);
void ls_cascade_free(ls_cascade *c);

typedef struct ls_detect_params {
    double scale_factor;  /* window growth per scale, > 1 (cv2 default 1.1) */
    int min_neighbours;   /* a cluster needs more hits than this (cv2 default 3) */
    int min_size;         /* smallest face side in pixels of the input image (0: the window) */
    int max_side;         /* the image is first shrunk so its longer side is at most this (0: never) */
} ls_detect_params;

/* cv2 defaults plus a 640-pixel working size. */
ls_detect_params ls_detect_defaults(void);

typedef struct ls_detection {
    ls_box box;
    int neighbours;       /* windows in its cluster */
} ls_detection;

/* All detections in a grey image, in image coordinates; *out is malloc'd
 * (free() it; NULL when *n == 0). */
int ls_cascade_detect(const ls_cascade *c, const ls_image *grey, const ls_detect_params *p,
                      ls_detection **out, int *n, ls_error *err);

#endif
