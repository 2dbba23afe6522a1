/*
 * test_cascade.c - the XML reader, the cascade reader and the face detector.
 *
 * Usage: test_cascade REF_DIR ASTRONAUT_PNG. The XML reader is checked on
 * small documents (entities, comments, attributes, self-closing tags) and on
 * malformed ones, which must fail with a message. The cascade reader must
 * reject inconsistent cascades (bad indices, rectangles outside the window,
 * tilted features, other formats). The detector runs OpenCV's frontal-face
 * cascade on the astronaut portrait and must find one face whose box
 * overlaps cv2.CascadeClassifier.detectMultiScale's (REF_DIR/detect) by an
 * intersection-over-union of at least 0.8 (both implement the same
 * algorithm; sub-pixel choices in scaling and grouping move edges by a
 * pixel or two). A noise image must give no face.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "avatar/cascade.h"
#include "avatar/xml.h"
#include "check.h"
#include "image/image_io.h"
#include "util/json.h"

static int xml_fails(const char *text, const char *expect_in_message)
{
    ls_xml_doc *doc;
    ls_error err = { 0 };
    int failed = ls_xml_parse(text, strlen(text), "t.xml", &doc, &err) == -1;
    if (!failed)
        ls_xml_free(doc);
    CHECK(failed && strstr(err.msg, expect_in_message), "'%s' -> '%s' (want '%s')", text, err.msg,
          expect_in_message);
    return failed;
}

static void test_xml(void)
{
    const char *text = "\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- c -->\n<!DOCTYPE x>\n"
                       "<a k='v' j=\"w\"><b>1 &lt;2&gt; &amp; &#65;&#x42;</b><!-- in --><c/>"
                       "<b>second</b>tail</a>\n<!-- after -->\n";
    ls_xml_doc *doc;
    ls_error err;
    CHECK(ls_xml_parse(text, strlen(text), "t.xml", &doc, &err) == 0, "%s", err.msg);
    const ls_xml_node *root = ls_xml_root(doc);
    CHECK(strcmp(root->name, "a") == 0 && strcmp(root->text, "tail") == 0, "root a, text '%s'",
          root->text);
    const ls_xml_node *b = ls_xml_child(root, "b");
    CHECK(b && strcmp(b->text, "1 <2> & AB") == 0, "entities decoded: '%s'", b ? b->text : "");
    CHECK(ls_xml_child(root, "c") && ls_xml_child(root, "c")->first_child == NULL, "self-closing c");
    CHECK(b && b->next_sibling && b->next_sibling->next_sibling &&
              strcmp(b->next_sibling->next_sibling->text, "second") == 0,
          "sibling order kept");
    CHECK(ls_xml_child(root, "zzz") == NULL, "missing child is NULL");
    ls_xml_free(doc);

    xml_fails("", "expected the root element");
    xml_fails("<a>", "unterminated element");
    xml_fails("<a></b>", "does not match");
    xml_fails("<a><b></a>", "does not match");
    xml_fails("<a>&bogus;</a>", "unknown entity");
    xml_fails("<a>&#0;</a>", "character reference");
    xml_fails("<a>&#x1F600;</a>", "character reference");
    xml_fails("<a/><b/>", "after the root");
    xml_fails("<a><![CDATA[x]]></a>", "not supported");
    xml_fails("<a k=v></a>", "quoted attribute");
    xml_fails("<a k='v></a>", "unterminated attribute");
    xml_fails("<a><!-- x </a>", "unterminated comment");
    xml_fails("<1a/>", "expected a name");
    char deep[2000] = "";
    for (int i = 0; i < 70; i++)
        strcat(deep, "<d>");
    xml_fails(deep, "nested too deeply");
}

/* A minimal valid cascade: 4x4 window, one feature, one stump stage; %s
 * slots let tests break one part at a time. */
static int cascade_from(const char *features, const char *nodes, const char *type, ls_error *err)
{
    char xml[2048];
    snprintf(xml, sizeof xml,
             "<opencv_storage><cascade type_id=\"opencv-cascade-classifier\">"
             "<stageType>%s</stageType><featureType>HAAR</featureType>"
             "<height>4</height><width>4</width><stages><_><maxWeakCount>1</maxWeakCount>"
             "<stageThreshold>-1.</stageThreshold><weakClassifiers><_>"
             "<internalNodes>%s</internalNodes><leafValues>-1. 1.</leafValues></_>"
             "</weakClassifiers></_></stages><features>%s</features></cascade></opencv_storage>",
             type, nodes, features);
    ls_cascade *c;
    int rc = ls_cascade_parse(xml, strlen(xml), "c.xml", &c, err);
    ls_cascade_free(c);
    return rc;
}

static void test_cascade_errors(void)
{
    const char *good_feature = "<_><rects><_>0 0 2 4 -1.</_><_>2 0 2 4 1.</_></rects></_>";
    ls_error err;
    CHECK(cascade_from(good_feature, "0 -1 0 0.5", "BOOST", &err) == 0, "minimal cascade: %s",
          err.msg);
    CHECK(cascade_from(good_feature, "0 -1 1 0.5", "BOOST", &err) == -1 &&
              strstr(err.msg, "feature index"),
          "feature index out of range: %s", err.msg);
    CHECK(cascade_from(good_feature, "0 -3 0 0.5", "BOOST", &err) == -1, "leaf out of range");
    CHECK(cascade_from(good_feature, "0 -1 0 0.5 0 -1 0 0.5", "BOOST", &err) == 0,
          "unused second node is fine");
    CHECK(cascade_from(good_feature, "1 -1 0 0.5 0 -1 0 0.5", "BOOST", &err) == 0,
          "child pointing forward");
    CHECK(cascade_from(good_feature, "0 -1 0 0.5 0 0 0 0.5", "BOOST", &err) == 0,
          "leaf children");
    CHECK(cascade_from(good_feature, "0 1e300 0 0.5", "BOOST", &err) == -1, "huge child");
    CHECK(cascade_from(good_feature, "0 -1 0", "BOOST", &err) == -1 && strstr(err.msg, "groups of 4"),
          "node needs 4 numbers: %s", err.msg);
    CHECK(cascade_from(good_feature, "0 -1 0 zz", "BOOST", &err) == -1 &&
              strstr(err.msg, "not a number"),
          "garbage number: %s", err.msg);
    CHECK(cascade_from(good_feature, "0 -1 0 0.5", "GAB", &err) == -1 && strstr(err.msg, "BOOST"),
          "stage type: %s", err.msg);
    CHECK(cascade_from("<_><rects><_>2 0 3 4 -1.</_></rects></_>", "0 -1 0 0.5", "BOOST", &err) == -1 &&
              strstr(err.msg, "outside"),
          "rectangle outside the window: %s", err.msg);
    CHECK(cascade_from("<_><rects><_>0 0 2 4 -1.</_></rects><tilted>1</tilted></_>", "0 -1 0 0.5",
                       "BOOST", &err) == -1 && strstr(err.msg, "tilted"),
          "tilted refused: %s", err.msg);
    CHECK(cascade_from("<_><rects/></_>", "0 -1 0 0.5", "BOOST", &err) == -1, "feature without rects");
    CHECK(cascade_from("", "0 -1 0 0.5", "BOOST", &err) == -1, "no features");
    ls_cascade *c;
    const char *old = "<opencv_storage><haarcascade_frontalface type_id=\"opencv-haar-classifier\">"
                      "</haarcascade_frontalface></opencv_storage>";
    CHECK(ls_cascade_parse(old, strlen(old), "old.xml", &c, &err) == -1 &&
              strstr(err.msg, "old-format"),
          "old format refused: %s", err.msg);
    CHECK(ls_cascade_load("/nonexistent.xml", &c, &err) == -1 && strstr(err.msg, "opencv-data"),
          "missing file names the package: %s", err.msg);
}

static double iou(ls_box a, ls_box b)
{
    int ix = (a.x2 < b.x2 ? a.x2 : b.x2) - (a.x1 > b.x1 ? a.x1 : b.x1);
    int iy = (a.y2 < b.y2 ? a.y2 : b.y2) - (a.y1 > b.y1 ? a.y1 : b.y1);
    if (ix <= 0 || iy <= 0)
        return 0;
    double inter = (double)ix * iy;
    return inter / ((double)ls_box_width(a) * ls_box_height(a) +
                    (double)ls_box_width(b) * ls_box_height(b) - inter);
}

static void test_detection(const char *ref_dir, const char *astronaut)
{
    ls_error err;
    ls_cascade *c;
    if (ls_cascade_load(LS_FACE_CASCADE_PATH, &c, &err)) {
        CHECK(0, "%s", err.msg);
        return;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/detect/cascade.json", ref_dir);
    ls_json *ref;
    CHECK(ls_json_read_file(path, &ref, &err) == 0, "%s", err.msg);
    const ls_json *boxes = ls_json_get(ref, "astronaut");
    CHECK(boxes && boxes->u.arr.n == 1, "cv2 found one face");
    ls_json *const *v = boxes->u.arr.items[0]->u.arr.items;
    ls_box want = { (int)v[0]->u.n, (int)v[1]->u.n, (int)(v[0]->u.n + v[2]->u.n),
                    (int)(v[1]->u.n + v[3]->u.n) };
    ls_json_free(ref);

    ls_image grey;
    CHECK(ls_image_read(astronaut, 1, &grey, &err) == 0, "%s", err.msg);
    ls_detect_params p = ls_detect_defaults();
    ls_detection *found;
    int n;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(ls_cascade_detect(c, &grey, &p, &found, &n, &err) == 0, "%s", err.msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    CHECK(n == 1, "one face on the astronaut, got %d", n);
    if (n >= 1) {
        ls_box b = found[0].box;
        double overlap = iou(b, want);
        printf("astronaut: face (%d, %d, %d, %d), %d neighbours; cv2 (%d, %d, %d, %d); IoU %.3f "
               "(bound 0.8); %.0f ms\n",
               b.x1, b.y1, b.x2, b.y2, found[0].neighbours, want.x1, want.y1, want.x2, want.y2,
               overlap, ms);
        CHECK(overlap >= 0.8, "IoU %.3f", overlap);
    }
    free(found);

    /* Uniform noise has no face. */
    unsigned seed = 7;
    for (int i = 0; i < grey.width * grey.height; i++) {
        seed = seed * 1664525u + 1013904223u;
        grey.data[i] = (uint8_t)(seed >> 24);
    }
    CHECK(ls_cascade_detect(c, &grey, &p, &found, &n, &err) == 0 && n == 0,
          "noise: %d detections", n);
    free(found);
    p.scale_factor = 1.0;
    CHECK(ls_cascade_detect(c, &grey, &p, &found, &n, &err) == -1, "scale factor 1 refused");
    ls_image_free(&grey);
    ls_cascade_free(c);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_cascade REF_DIR ASTRONAUT_PNG\n");
        return 2;
    }
    test_xml();
    test_cascade_errors();
    test_detection(argv[1], argv[2]);
    return check_result("test_cascade");
}
