/*
 * xml.h - a small, bounded XML reader: elements and their text, nothing more.
 *
 * Enough XML for OpenCV's cascade files (and similar data files): the
 * prolog (<?xml ...?>), comments, a DOCTYPE line, elements with attributes
 * (checked for syntax, then dropped), self-closing tags, character data with
 * the five predefined entities and numeric character references (ASCII
 * only). CDATA sections and processing instructions inside the document are
 * refused. Limits: 64 MiB of input, nesting depth 64, 4 million elements;
 * any violation is an error giving the byte offset.
 *
 * All nodes and strings live in one arena owned by the ls_xml_doc, freed in
 * one call.
 */
#ifndef LS_AVATAR_XML_H
#define LS_AVATAR_XML_H

#include <stddef.h>

#include "util/error.h"

typedef struct ls_xml_node ls_xml_node;
struct ls_xml_node {
    const char *name;
    const char *text;            /* character data directly inside, entities decoded */
    ls_xml_node *first_child;
    ls_xml_node *next_sibling;
};

typedef struct ls_xml_doc ls_xml_doc;

int ls_xml_parse(const char *data, size_t len, const char *what, ls_xml_doc **out, ls_error *err);
void ls_xml_free(ls_xml_doc *doc);

const ls_xml_node *ls_xml_root(const ls_xml_doc *doc);

/* The first child element named `name`, or NULL. */
const ls_xml_node *ls_xml_child(const ls_xml_node *n, const char *name);

#endif
