/*
 * xml.c - recursive-descent XML reader with an arena (see xml.h).
 *
 * parse_element handles one element: its start tag (attributes skipped
 * after a syntax check), then content until the matching end tag: child
 * elements recursively (depth-limited), comments, and character data
 * gathered into a growing buffer that is copied into the arena when the
 * element closes. Every read checks the end of input first.
 */
#include "avatar/xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define XML_MAX_INPUT ((size_t)64 << 20)
#define XML_MAX_DEPTH 64
#define XML_MAX_ELEMENTS 4000000
#define ARENA_BLOCK (64 * 1024)

typedef struct arena_block {
    struct arena_block *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
} arena_block;

struct ls_xml_doc {
    arena_block *blocks;
    ls_xml_node *root;
};

typedef struct parser {
    const char *start, *p, *end;
    const char *what;
    ls_error *err;
    ls_xml_doc *doc;
    size_t elements;
} parser;

typedef struct text_buf {
    char *data;
    size_t len, cap;
} text_buf;

static void *arena_alloc(ls_xml_doc *doc, size_t bytes)
{
    bytes = (bytes + 15) & ~(size_t)15;
    arena_block *b = doc->blocks;
    if (!b || b->size - b->used < bytes) {
        size_t size = bytes > ARENA_BLOCK ? bytes : ARENA_BLOCK;
        b = malloc(sizeof *b + size);
        if (!b)
            return NULL;
        b->used = 0;
        b->size = size;
        b->next = doc->blocks;
        doc->blocks = b;
    }
    void *p = b->data + b->used;
    b->used += bytes;
    return p;
}

static char *arena_strndup(ls_xml_doc *doc, const char *s, size_t n)
{
    char *d = arena_alloc(doc, n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int fail(parser *ps, const char *problem)
{
    return ls_error_set(ps->err, "%s: XML: %s at byte %zu", ps->what, problem,
                        (size_t)(ps->p - ps->start));
}

static int oom(parser *ps)
{
    return fail(ps, "out of memory");
}

static int at(parser *ps, const char *s)
{
    size_t n = strlen(s);
    return (size_t)(ps->end - ps->p) >= n && memcmp(ps->p, s, n) == 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void skip_space(parser *ps)
{
    while (ps->p < ps->end && is_space(*ps->p))
        ps->p++;
}

/* Skips past the next occurrence of `terminator`. */
static int skip_past(parser *ps, const char *terminator, const char *what_unclosed)
{
    size_t n = strlen(terminator);
    while ((size_t)(ps->end - ps->p) >= n) {
        if (memcmp(ps->p, terminator, n) == 0) {
            ps->p += n;
            return 0;
        }
        ps->p++;
    }
    return fail(ps, what_unclosed);
}

static int name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':';
}

static int name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static int read_name(parser *ps, const char **name, size_t *len)
{
    if (ps->p >= ps->end || !name_start(*ps->p))
        return fail(ps, "expected a name");
    *name = ps->p;
    while (ps->p < ps->end && name_char(*ps->p))
        ps->p++;
    *len = (size_t)(ps->p - *name);
    return 0;
}

/* Prolog and epilog items: whitespace, <?...?>, comments, one DOCTYPE. */
static int skip_misc(parser *ps, int allow_prolog)
{
    for (;;) {
        skip_space(ps);
        if (at(ps, "<!--")) {
            if (skip_past(ps, "-->", "unterminated comment"))
                return -1;
        } else if (allow_prolog && at(ps, "<?")) {
            if (skip_past(ps, "?>", "unterminated <?...?>"))
                return -1;
        } else if (allow_prolog && at(ps, "<!DOCTYPE")) {
            if (skip_past(ps, ">", "unterminated DOCTYPE"))
                return -1;
        } else {
            return 0;
        }
    }
}

static int skip_attributes(parser *ps)
{
    for (;;) {
        skip_space(ps);
        if (ps->p >= ps->end)
            return fail(ps, "unterminated start tag");
        if (*ps->p == '>' || at(ps, "/>"))
            return 0;
        const char *name;
        size_t len;
        if (read_name(ps, &name, &len))
            return -1;
        skip_space(ps);
        if (ps->p >= ps->end || *ps->p != '=')
            return fail(ps, "expected '=' after an attribute name");
        ps->p++;
        skip_space(ps);
        if (ps->p >= ps->end || (*ps->p != '"' && *ps->p != '\''))
            return fail(ps, "expected a quoted attribute value");
        char quote = *ps->p++;
        while (ps->p < ps->end && *ps->p != quote && *ps->p != '<')
            ps->p++;
        if (ps->p >= ps->end || *ps->p != quote)
            return fail(ps, "unterminated attribute value");
        ps->p++;
    }
}

static int text_append(text_buf *t, char c)
{
    if (t->len + 1 >= t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 256;
        char *grown = realloc(t->data, cap);
        if (!grown)
            return -1;
        t->data = grown;
        t->cap = cap;
    }
    t->data[t->len++] = c;
    return 0;
}

/* Decodes the entity at ps->p ('&') into one ASCII character. */
static int read_entity(parser *ps, char *out)
{
    static const struct { const char *name; char c; } named[] = {
        { "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' }, { "&quot;", '"' }, { "&apos;", '\'' },
    };
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        if (at(ps, named[i].name)) {
            ps->p += strlen(named[i].name);
            *out = named[i].c;
            return 0;
        }
    }
    if (at(ps, "&#")) {
        ps->p += 2;
        int hex = ps->p < ps->end && *ps->p == 'x';
        ps->p += hex;
        long v = 0;
        int digits = 0;
        for (; ps->p < ps->end && *ps->p != ';' && digits < 8; ps->p++, digits++) {
            char c = *ps->p;
            int d = c >= '0' && c <= '9' ? c - '0'
                  : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0)
                return fail(ps, "bad character reference");
            v = v * (hex ? 16 : 10) + d;
        }
        if (ps->p >= ps->end || *ps->p != ';' || digits == 0 || v <= 0 || v > 127)
            return fail(ps, "character reference not a plain ASCII character");
        ps->p++;
        *out = (char)v;
        return 0;
    }
    return fail(ps, "unknown entity");
}

static int parse_element(parser *ps, int depth, ls_xml_node **out);

/* Content after the start tag, up to and including the end tag. */
static int parse_content(parser *ps, int depth, ls_xml_node *node, const char *name, size_t name_len,
                         text_buf *text)
{
    ls_xml_node **tail = &node->first_child;
    for (;;) {
        if (ps->p >= ps->end)
            return fail(ps, "unterminated element");
        if (at(ps, "</")) {
            ps->p += 2;
            const char *end_name;
            size_t end_len;
            if (read_name(ps, &end_name, &end_len))
                return -1;
            if (end_len != name_len || memcmp(end_name, name, name_len) != 0)
                return fail(ps, "end tag does not match its start tag");
            skip_space(ps);
            if (ps->p >= ps->end || *ps->p != '>')
                return fail(ps, "expected '>'");
            ps->p++;
            return 0;
        }
        if (at(ps, "<!--")) {
            if (skip_past(ps, "-->", "unterminated comment"))
                return -1;
        } else if (at(ps, "<!") || at(ps, "<?")) {
            return fail(ps, "CDATA, declarations and processing instructions are not supported");
        } else if (*ps->p == '<') {
            if (parse_element(ps, depth + 1, tail))
                return -1;
            tail = &(*tail)->next_sibling;
        } else {
            char c = *ps->p;
            if (c == '&') {
                if (read_entity(ps, &c))
                    return -1;
            } else {
                ps->p++;
            }
            if (text_append(text, c))
                return oom(ps);
        }
    }
}

static int parse_element(parser *ps, int depth, ls_xml_node **out)
{
    if (depth > XML_MAX_DEPTH)
        return fail(ps, "elements nested too deeply");
    if (++ps->elements > XML_MAX_ELEMENTS)
        return fail(ps, "too many elements");
    ps->p++; /* '<' */
    const char *name;
    size_t name_len;
    if (read_name(ps, &name, &name_len) || skip_attributes(ps))
        return -1;
    ls_xml_node *node = arena_alloc(ps->doc, sizeof *node);
    if (!node || !(node->name = arena_strndup(ps->doc, name, name_len)))
        return oom(ps);
    node->text = "";
    node->first_child = node->next_sibling = NULL;
    *out = node;
    if (at(ps, "/>")) {
        ps->p += 2;
        return 0;
    }
    ps->p++; /* '>' */
    text_buf text = { 0 };
    int rc = parse_content(ps, depth, node, name, name_len, &text);
    if (rc == 0 && text.len && !(node->text = arena_strndup(ps->doc, text.data, text.len)))
        rc = oom(ps);
    free(text.data);
    return rc;
}

int ls_xml_parse(const char *data, size_t len, const char *what, ls_xml_doc **out, ls_error *err)
{
    *out = NULL;
    if (len > XML_MAX_INPUT)
        return ls_error_set(err, "%s: XML: larger than %zu bytes", what, XML_MAX_INPUT);
    ls_xml_doc *doc = calloc(1, sizeof *doc);
    if (!doc)
        return ls_error_set(err, "%s: XML: out of memory", what);
    parser ps = { data, data, data + len, what, err, doc, 0 };
    if (at(&ps, "\xEF\xBB\xBF"))
        ps.p += 3;
    int rc = skip_misc(&ps, 1);
    if (rc == 0 && (ps.p >= ps.end || *ps.p != '<'))
        rc = fail(&ps, "expected the root element");
    if (rc == 0)
        rc = parse_element(&ps, 1, &doc->root);
    if (rc == 0)
        rc = skip_misc(&ps, 0);
    if (rc == 0 && ps.p != ps.end)
        rc = fail(&ps, "content after the root element");
    if (rc) {
        ls_xml_free(doc);
        return -1;
    }
    *out = doc;
    return 0;
}

void ls_xml_free(ls_xml_doc *doc)
{
    if (!doc)
        return;
    arena_block *b = doc->blocks;
    while (b) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    free(doc);
}

const ls_xml_node *ls_xml_root(const ls_xml_doc *doc)
{
    return doc->root;
}

const ls_xml_node *ls_xml_child(const ls_xml_node *n, const char *name)
{
    for (const ls_xml_node *c = n ? n->first_child : NULL; c; c = c->next_sibling)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}
