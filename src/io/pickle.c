/*
 * pickle.c - the subset of the pickle virtual machine that torch.save,
 * numpy and plain pickle.dump use (see pickle.h).
 *
 * The VM reads one opcode at a time, keeping a stack of objects, a stack of
 * MARK positions and the memo (BINPUT/MEMOIZE store, BINGET fetches). Every
 * object is a pkl_node allocated from one per-parse list, so objects shared
 * through the memo are freed exactly once, by ls_pkl_free() on the root.
 *
 * Besides the public values (ls_pkl), a node can hold an internal object
 * that only lives during unpickling: an allowed global (class or function),
 * a torch storage made from a persistent id, a numpy dtype, or a numpy array
 * waiting for its BUILD. "Calling" a global (REDUCE, NEWOBJ) is a switch
 * over the allowed ones:
 *   collections.OrderedDict()                     -> empty DICT
 *   torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)
 *                                                 -> TENSOR
 *   torch._utils._rebuild_parameter(tensor, ...)  -> that TENSOR
 *   numpy scalar(dtype, bytes)                    -> INT, FLOAT or BOOL
 *   numpy dtype('i8', False, True)                -> dtype (BUILD sets byte order)
 *   numpy _reconstruct(ndarray, ...) + BUILD, and _frombuffer(bytes, dtype,
 *   shape, order)                                 -> nested LISTs of numbers
 * BUILD on a dict or tensor ignores its state (torch stores hooks there).
 * Anything else is an error naming the opcode or global and its byte
 * offset.
 *
 * Bounds: every read is checked against the input length; the memo index is
 * bounded by the input length; the number of nodes is bounded by a multiple
 * of it. At STOP the result is checked to be a tree of public values without
 * cycles, at most PKL_MAX_DEPTH deep and PKL_MAX_TREE nodes when shared
 * objects are counted at each place they appear, so walks over the result
 * always end quickly.
 */
#include "io/pickle.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/raw_tensor.h"
#include "util/file.h"

#define PKL_MAX_DEPTH 100
#define PKL_MAX_TREE (1u << 22)
#define PKL_MAX_FILE_BYTES (1u << 30)

/* ---------------------------------------------------------------- dtypes */

size_t ls_dtype_size(ls_dtype t)
{
    static const size_t sizes[] = { 4, 2, 2, 8, 8, 4, 1 };
    return (unsigned)t < sizeof sizes / sizeof sizes[0] ? sizes[t] : 0;
}

const char *ls_dtype_name(ls_dtype t)
{
    static const char *const names[] = { "float32", "float16", "bfloat16", "float64",
                                         "int64",   "int32",   "uint8" };
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

/* ----------------------------------------------------------------- nodes */

typedef enum node_role {
    ROLE_VALUE,      /* a public ls_pkl value */
    ROLE_GLOBAL,     /* an allowed class or function */
    ROLE_STORAGE,    /* a torch storage (persistent id) */
    ROLE_NP_DTYPE,   /* a numpy dtype */
    ROLE_NP_PENDING, /* numpy _reconstruct result, waiting for BUILD */
} node_role;

typedef enum global_id {
    G_ORDERED_DICT,
    G_REBUILD_TENSOR,
    G_REBUILD_PARAMETER,
    G_TORCH_STORAGE,
    G_NP_SCALAR,
    G_NP_DTYPE,
    G_NP_RECONSTRUCT,
    G_NP_NDARRAY,
    G_NP_FROMBUFFER,
} global_id;

typedef struct allowed_global {
    const char *module, *name;
    global_id id;
    ls_dtype storage_dtype;
} allowed_global;

static const allowed_global allowed_globals[] = {
    { "collections", "OrderedDict", G_ORDERED_DICT, 0 },
    { "torch._utils", "_rebuild_tensor_v2", G_REBUILD_TENSOR, 0 },
    { "torch._utils", "_rebuild_parameter", G_REBUILD_PARAMETER, 0 },
    { "torch", "FloatStorage", G_TORCH_STORAGE, LS_DTYPE_F32 },
    { "torch", "HalfStorage", G_TORCH_STORAGE, LS_DTYPE_F16 },
    { "torch", "BFloat16Storage", G_TORCH_STORAGE, LS_DTYPE_BF16 },
    { "torch", "DoubleStorage", G_TORCH_STORAGE, LS_DTYPE_F64 },
    { "torch", "LongStorage", G_TORCH_STORAGE, LS_DTYPE_I64 },
    { "torch", "IntStorage", G_TORCH_STORAGE, LS_DTYPE_I32 },
    { "torch", "ByteStorage", G_TORCH_STORAGE, LS_DTYPE_U8 },
    { "numpy.core.multiarray", "scalar", G_NP_SCALAR, 0 },
    { "numpy._core.multiarray", "scalar", G_NP_SCALAR, 0 },
    { "numpy", "dtype", G_NP_DTYPE, 0 },
    { "numpy.core.multiarray", "_reconstruct", G_NP_RECONSTRUCT, 0 },
    { "numpy._core.multiarray", "_reconstruct", G_NP_RECONSTRUCT, 0 },
    { "numpy", "ndarray", G_NP_NDARRAY, 0 },
    { "numpy.core.numeric", "_frombuffer", G_NP_FROMBUFFER, 0 },
    { "numpy._core.numeric", "_frombuffer", G_NP_FROMBUFFER, 0 },
};

typedef struct np_dtype {
    char kind;        /* 'i', 'u', 'f' or 'b' */
    int size;         /* bytes */
    int big_endian;
} np_dtype;

typedef struct pkl_node pkl_node;
struct pkl_node {
    ls_pkl v;                      /* first member: a node is its public value */
    node_role role;
    union {
        const allowed_global *global;
        struct { ls_dtype dtype; char *key; int64_t numel; } storage;
        np_dtype dtype;
    } x;
    size_t cap;                    /* allocated items of a LIST, TUPLE or DICT */
    int walk_state;                /* 0 unseen, 1 being walked, 2 done */
    uint64_t tree_size;            /* nodes below and including this one, shared ones repeated */
    pkl_node *next_alloc;          /* every node of one parse */
    pkl_node *all;                 /* on the root only: head of that list */
};

/* ------------------------------------------------------------------- VM */

typedef struct vm {
    const uint8_t *data;
    size_t len, pos, op_at;
    const char *what;
    ls_error *err;
    pkl_node **stack;
    size_t sp, stack_cap;
    size_t *marks;
    size_t n_marks, marks_cap;
    pkl_node **memo;
    size_t memo_cap, memo_len;
    pkl_node *all;
    size_t n_nodes, max_nodes;
} vm;

static int vm_fail(vm *m, const char *fmt, ...) LS_PRINTF(2, 3);

static int vm_fail(vm *m, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ls_error_set(m->err, "%s: pickle: byte %zu: %s", m->what, m->op_at, msg);
}

static void free_node_contents(pkl_node *n)
{
    switch (n->v.kind) {
    case LS_PKL_STRING:
    case LS_PKL_BYTES:
        free(n->v.u.str.data);
        break;
    case LS_PKL_LIST:
    case LS_PKL_TUPLE:
        free(n->v.u.seq.items);
        break;
    case LS_PKL_DICT:
        free(n->v.u.dict.keys);
        free(n->v.u.dict.values);
        break;
    case LS_PKL_TENSOR:
        free(n->v.u.tensor.storage_key);
        break;
    default:
        break;
    }
    if (n->role == ROLE_STORAGE)
        free(n->x.storage.key);
}

static void free_nodes(pkl_node *list)
{
    while (list) {
        pkl_node *next = list->next_alloc;
        free_node_contents(list);
        free(list);
        list = next;
    }
}

static pkl_node *new_node(vm *m, node_role role, ls_pkl_kind kind)
{
    if (m->n_nodes >= m->max_nodes) {
        vm_fail(m, "too many objects for the input size");
        return NULL;
    }
    pkl_node *n = calloc(1, sizeof *n);
    if (!n) {
        vm_fail(m, "out of memory");
        return NULL;
    }
    n->role = role;
    n->v.kind = kind;
    n->next_alloc = m->all;
    m->all = n;
    m->n_nodes++;
    return n;
}

static const char *node_description(const pkl_node *n)
{
    static const char *const kinds[] = { "None",  "bool",  "int",  "float", "str",
                                         "bytes", "list",  "tuple", "dict", "tensor" };
    switch (n->role) {
    case ROLE_GLOBAL: return n->x.global->name;
    case ROLE_STORAGE: return "storage";
    case ROLE_NP_DTYPE: return "numpy dtype";
    case ROLE_NP_PENDING: return "unfinished numpy array";
    default: return kinds[n->v.kind];
    }
}

static int is_value(const pkl_node *n, ls_pkl_kind kind)
{
    return n->role == ROLE_VALUE && n->v.kind == kind;
}

/* --------------------------------------------------------- stack, memo */

static int push(vm *m, pkl_node *n)
{
    if (!n)
        return -1;
    if (m->sp == m->stack_cap) {
        size_t cap = m->stack_cap * 2;
        pkl_node **bigger = realloc(m->stack, cap * sizeof *bigger);
        if (!bigger)
            return vm_fail(m, "out of memory");
        m->stack = bigger;
        m->stack_cap = cap;
    }
    m->stack[m->sp++] = n;
    return 0;
}

/* The current frame is the part of the stack above the last MARK. */
static size_t frame_base(const vm *m)
{
    return m->n_marks ? m->marks[m->n_marks - 1] : 0;
}

static pkl_node *pop(vm *m)
{
    if (m->sp <= frame_base(m)) {
        vm_fail(m, "stack underflow");
        return NULL;
    }
    return m->stack[--m->sp];
}

static pkl_node *top(vm *m)
{
    if (m->sp <= frame_base(m)) {
        vm_fail(m, "stack underflow");
        return NULL;
    }
    return m->stack[m->sp - 1];
}

static int push_mark(vm *m)
{
    if (m->n_marks == m->marks_cap) {
        size_t cap = m->marks_cap ? m->marks_cap * 2 : 16;
        size_t *bigger = realloc(m->marks, cap * sizeof *bigger);
        if (!bigger)
            return vm_fail(m, "out of memory");
        m->marks = bigger;
        m->marks_cap = cap;
    }
    m->marks[m->n_marks++] = m->sp;
    return 0;
}

/* Ends the frame of the last MARK: its *count objects stay readable at
 * m->stack + *from until the next push. */
static int pop_mark(vm *m, size_t *from, size_t *count)
{
    if (!m->n_marks)
        return vm_fail(m, "no MARK on the stack");
    size_t base = m->marks[--m->n_marks];
    *from = base;
    *count = m->sp - base;
    m->sp = base;
    return 0;
}

static int memo_put(vm *m, uint64_t index)
{
    /* Writers number memo entries consecutively, and each takes at least one
     * byte of input, so a larger index means a corrupt stream. */
    if (index > m->len)
        return vm_fail(m, "memo index %llu out of range", (unsigned long long)index);
    pkl_node *n = top(m);
    if (!n)
        return -1;
    if (index >= m->memo_cap) {
        size_t cap = m->memo_cap ? m->memo_cap : 64;
        while (cap <= index)
            cap *= 2;
        pkl_node **bigger = realloc(m->memo, cap * sizeof *bigger);
        if (!bigger)
            return vm_fail(m, "out of memory");
        memset(bigger + m->memo_cap, 0, (cap - m->memo_cap) * sizeof *bigger);
        m->memo = bigger;
        m->memo_cap = cap;
    }
    if (!m->memo[index])
        m->memo_len++;
    m->memo[index] = n;
    return 0;
}

static int memo_get(vm *m, uint64_t index)
{
    if (index >= m->memo_cap || !m->memo[index])
        return vm_fail(m, "memo entry %llu is not set", (unsigned long long)index);
    return push(m, m->memo[index]);
}

/* ---------------------------------------------------------- input bytes */

static int need(vm *m, uint64_t n)
{
    if (n > m->len - m->pos)
        return vm_fail(m, "truncated (needs %llu more bytes)", (unsigned long long)n);
    return 0;
}

static uint64_t read_le(vm *m, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)m->data[m->pos + i] << (8 * i);
    m->pos += n;
    return v;
}

/* Reads an n-byte little-endian length after the opcode. */
static int read_length(vm *m, int n, uint64_t *len)
{
    if (need(m, n) < 0)
        return -1;
    *len = read_le(m, n);
    return 0;
}

/* -------------------------------------------------------- value builders */

static pkl_node *new_int(vm *m, int64_t i)
{
    pkl_node *n = new_node(m, ROLE_VALUE, LS_PKL_INT);
    if (n)
        n->v.u.i = i;
    return n;
}

static pkl_node *new_float(vm *m, double f)
{
    pkl_node *n = new_node(m, ROLE_VALUE, LS_PKL_FLOAT);
    if (n)
        n->v.u.f = f;
    return n;
}

static pkl_node *new_bool(vm *m, int b)
{
    pkl_node *n = new_node(m, ROLE_VALUE, LS_PKL_BOOL);
    if (n)
        n->v.u.b = b;
    return n;
}

/* STRING or BYTES holding a NUL-terminated copy of bytes. */
static pkl_node *new_text(vm *m, ls_pkl_kind kind, const void *bytes, size_t len)
{
    pkl_node *n = new_node(m, ROLE_VALUE, kind);
    if (!n)
        return NULL;
    n->v.u.str.data = malloc(len + 1);
    if (!n->v.u.str.data) {
        vm_fail(m, "out of memory");
        return NULL;
    }
    memcpy(n->v.u.str.data, bytes, len);
    n->v.u.str.data[len] = '\0';
    n->v.u.str.len = len;
    return n;
}

static int read_text(vm *m, ls_pkl_kind kind, int length_bytes)
{
    uint64_t len;
    if (read_length(m, length_bytes, &len) < 0 || need(m, len) < 0)
        return -1;
    pkl_node *n = new_text(m, kind, m->data + m->pos, (size_t)len);
    m->pos += (size_t)len;
    return push(m, n);
}

/* Appends `count` items to a LIST or TUPLE node. */
static int seq_extend(vm *m, pkl_node *seq, pkl_node *const *items, size_t count)
{
    size_t n = seq->v.u.seq.n;
    if (n + count > seq->cap) {
        size_t cap = seq->cap ? seq->cap : 4;
        while (cap < n + count)
            cap *= 2;
        ls_pkl **bigger = realloc(seq->v.u.seq.items, cap * sizeof *bigger);
        if (!bigger)
            return vm_fail(m, "out of memory");
        seq->v.u.seq.items = bigger;
        seq->cap = cap;
    }
    for (size_t i = 0; i < count; i++)
        seq->v.u.seq.items[n + i] = &items[i]->v;
    seq->v.u.seq.n = n + count;
    return 0;
}

static int push_tuple(vm *m, pkl_node *const *items, size_t count)
{
    pkl_node *t = new_node(m, ROLE_VALUE, LS_PKL_TUPLE);
    if (!t || seq_extend(m, t, items, count) < 0)
        return -1;
    return push(m, t);
}

/* Sets key/value pairs (items alternate key, value) in a DICT node. Python
 * never writes a key twice; if a stream does, both entries are kept and
 * ls_pkl_dict_get() finds the last, as Python would. */
static int dict_set(vm *m, pkl_node *dict, pkl_node *const *items, size_t count)
{
    if (!is_value(dict, LS_PKL_DICT))
        return vm_fail(m, "SETITEM on a %s", node_description(dict));
    if (count % 2)
        return vm_fail(m, "SETITEMS with an odd number of objects");
    size_t n = dict->v.u.dict.n, pairs = count / 2;
    if (n + pairs > dict->cap) {
        size_t cap = dict->cap ? dict->cap : 8;
        while (cap < n + pairs)
            cap *= 2;
        ls_pkl **keys = realloc(dict->v.u.dict.keys, cap * sizeof *keys);
        if (!keys)
            return vm_fail(m, "out of memory");
        dict->v.u.dict.keys = keys;
        ls_pkl **values = realloc(dict->v.u.dict.values, cap * sizeof *values);
        if (!values)
            return vm_fail(m, "out of memory");
        dict->v.u.dict.values = values;
        dict->cap = cap;
    }
    for (size_t i = 0; i < pairs; i++) {
        dict->v.u.dict.keys[n + i] = &items[2 * i]->v;
        dict->v.u.dict.values[n + i] = &items[2 * i + 1]->v;
    }
    dict->v.u.dict.n = n + pairs;
    return 0;
}

/* ------------------------------------------------------------- globals */

static int find_global(vm *m, const char *module, size_t module_len, const char *name,
                       size_t name_len)
{
    for (size_t i = 0; i < sizeof allowed_globals / sizeof allowed_globals[0]; i++) {
        const allowed_global *g = &allowed_globals[i];
        if (strlen(g->module) == module_len && memcmp(g->module, module, module_len) == 0 &&
            strlen(g->name) == name_len && memcmp(g->name, name, name_len) == 0) {
            pkl_node *n = new_node(m, ROLE_GLOBAL, LS_PKL_NONE);
            if (n)
                n->x.global = g;
            return push(m, n);
        }
    }
    return vm_fail(m, "global '%.*s.%.*s' is not allowed", (int)(module_len > 100 ? 100 : module_len),
                   module, (int)(name_len > 100 ? 100 : name_len), name);
}

/* GLOBAL: "module\nname\n". */
static int op_global(vm *m)
{
    const char *parts[2];
    size_t lens[2];
    for (int i = 0; i < 2; i++) {
        const uint8_t *start = m->data + m->pos;
        const uint8_t *nl = memchr(start, '\n', m->len - m->pos);
        if (!nl)
            return vm_fail(m, "GLOBAL without a newline");
        parts[i] = (const char *)start;
        lens[i] = (size_t)(nl - start);
        m->pos += lens[i] + 1;
    }
    return find_global(m, parts[0], lens[0], parts[1], lens[1]);
}

static int op_stack_global(vm *m)
{
    pkl_node *name = pop(m), *module = name ? pop(m) : NULL;
    if (!module)
        return -1;
    if (!is_value(name, LS_PKL_STRING) || !is_value(module, LS_PKL_STRING))
        return vm_fail(m, "STACK_GLOBAL needs two strings");
    return find_global(m, module->v.u.str.data, module->v.u.str.len, name->v.u.str.data,
                       name->v.u.str.len);
}

/* ---------------------------------------------------------------- torch */

/* BINPERSID: ('storage', StorageType, key, location, numel) -> storage; the
 * legacy (non-zip) format adds a sixth item, view metadata, None unless the
 * storage is a view of another (not supported). */
static int op_persistent_id(vm *m)
{
    pkl_node *pid = pop(m);
    if (!pid)
        return -1;
    if (!is_value(pid, LS_PKL_TUPLE) || pid->v.u.seq.n < 5 || pid->v.u.seq.n > 6)
        return vm_fail(m, "persistent id is not a 5- or 6-tuple");
    if (pid->v.u.seq.n == 6 && !is_value((pkl_node *)pid->v.u.seq.items[5], LS_PKL_NONE))
        return vm_fail(m, "persistent id is a storage view (not supported)");
    ls_pkl **it = pid->v.u.seq.items;
    pkl_node *tag = (pkl_node *)it[0], *type = (pkl_node *)it[1], *key = (pkl_node *)it[2];
    pkl_node *numel = (pkl_node *)it[4];
    if (!is_value(tag, LS_PKL_STRING) || strcmp(tag->v.u.str.data, "storage") != 0)
        return vm_fail(m, "persistent id is not a storage");
    if (type->role != ROLE_GLOBAL || type->x.global->id != G_TORCH_STORAGE)
        return vm_fail(m, "persistent id has no storage type");
    if (!is_value(key, LS_PKL_STRING) || key->v.u.str.len == 0 ||
        strlen(key->v.u.str.data) != key->v.u.str.len || strchr(key->v.u.str.data, '/'))
        return vm_fail(m, "persistent id has a bad storage key");
    if (!is_value(numel, LS_PKL_INT) || numel->v.u.i < 0)
        return vm_fail(m, "persistent id has a bad element count");
    pkl_node *s = new_node(m, ROLE_STORAGE, LS_PKL_NONE);
    if (!s)
        return -1;
    s->x.storage.dtype = type->x.global->storage_dtype;
    s->x.storage.numel = numel->v.u.i;
    s->x.storage.key = strdup(key->v.u.str.data);
    if (!s->x.storage.key)
        return vm_fail(m, "out of memory");
    return push(m, s);
}

/* Copies a tuple of non-negative ints; -1 if it is anything else. */
static int int_tuple(const pkl_node *t, int64_t *out, int max, int *n)
{
    if (!is_value(t, LS_PKL_TUPLE) || t->v.u.seq.n > (size_t)max)
        return -1;
    for (size_t i = 0; i < t->v.u.seq.n; i++) {
        const pkl_node *e = (const pkl_node *)t->v.u.seq.items[i];
        if (!is_value(e, LS_PKL_INT) || e->v.u.i < 0)
            return -1;
        out[i] = e->v.u.i;
    }
    *n = (int)t->v.u.seq.n;
    return 0;
}

/* _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]) */
static pkl_node *rebuild_tensor(vm *m, pkl_node *const *a, size_t n)
{
    int ndim = 0, nstride = 0;
    pkl_node *t = NULL;
    if ((n != 6 && n != 7) || a[0]->role != ROLE_STORAGE || !is_value(a[1], LS_PKL_INT) ||
        a[1]->v.u.i < 0 || !is_value(a[4], LS_PKL_BOOL)) {
        vm_fail(m, "_rebuild_tensor_v2: bad arguments");
        return NULL;
    }
    if (!(t = new_node(m, ROLE_VALUE, LS_PKL_TENSOR)))
        return NULL;
    ls_pkl_tensor *d = &t->v.u.tensor;
    if (int_tuple(a[2], d->shape, 8, &ndim) < 0 || int_tuple(a[3], d->stride, 8, &nstride) < 0 ||
        ndim != nstride) {
        vm_fail(m, "_rebuild_tensor_v2: bad size or stride (up to 8 dimensions)");
        return NULL;
    }
    d->ndim = ndim;
    d->dtype = a[0]->x.storage.dtype;
    d->storage_numel = a[0]->x.storage.numel;
    d->offset = a[1]->v.u.i;
    d->storage_key = strdup(a[0]->x.storage.key);
    if (!d->storage_key) {
        vm_fail(m, "out of memory");
        return NULL;
    }
    return t;
}

/* ---------------------------------------------------------------- numpy */

/* numpy.dtype('i8', False, True) */
static pkl_node *make_np_dtype(vm *m, pkl_node *const *a, size_t n)
{
    if (n < 1 || !is_value(a[0], LS_PKL_STRING)) {
        vm_fail(m, "numpy.dtype: bad arguments");
        return NULL;
    }
    const char *s = a[0]->v.u.str.data;
    char kind = s[0];
    int size = (kind && s[1] >= '1' && s[1] <= '8' && !s[2]) ? s[1] - '0' : 0;
    int ok = (kind == 'i' || kind == 'u') ? (size == 1 || size == 2 || size == 4 || size == 8)
             : kind == 'f'                ? (size == 2 || size == 4 || size == 8)
             : kind == 'b'                ? size == 1
                                          : 0;
    if (!ok) {
        vm_fail(m, "numpy dtype '%.20s' is not supported", s);
        return NULL;
    }
    pkl_node *d = new_node(m, ROLE_NP_DTYPE, LS_PKL_NONE);
    if (d)
        d->x.dtype = (np_dtype){ kind, size, 0 };
    return d;
}

/* BUILD on a dtype: state (version, byteorder, ...). */
static int build_np_dtype(vm *m, pkl_node *d, const pkl_node *state)
{
    if (!is_value(state, LS_PKL_TUPLE) || state->v.u.seq.n < 2 ||
        !is_value((const pkl_node *)state->v.u.seq.items[1], LS_PKL_STRING))
        return vm_fail(m, "numpy dtype: bad state");
    const char *order = ((const pkl_node *)state->v.u.seq.items[1])->v.u.str.data;
    if (strcmp(order, ">") == 0)
        d->x.dtype.big_endian = 1;
    else if (strcmp(order, "<") && strcmp(order, "|") && strcmp(order, "="))
        return vm_fail(m, "numpy dtype: bad byte order '%.8s'", order);
    return 0;
}

/* One numpy element as an INT, FLOAT or BOOL node. */
static pkl_node *np_element(vm *m, np_dtype t, const uint8_t *src)
{
    uint8_t b[8];
    for (int i = 0; i < t.size; i++)
        b[i] = src[t.big_endian ? t.size - 1 - i : i];
    uint64_t u = 0;
    for (int i = 0; i < t.size; i++)
        u |= (uint64_t)b[i] << (8 * i);
    if (t.kind == 'b')
        return new_bool(m, u != 0);
    if (t.kind == 'u') {
        if (u > INT64_MAX) {
            vm_fail(m, "numpy uint64 value too large");
            return NULL;
        }
        return new_int(m, (int64_t)u);
    }
    if (t.kind == 'i') {
        int shift = 64 - 8 * t.size; /* sign-extend */
        return new_int(m, (int64_t)(u << shift) >> shift);
    }
    if (t.size == 2)
        return new_float(m, ls_half_to_float((uint16_t)u));
    if (t.size == 4) {
        float f;
        uint32_t bits = (uint32_t)u;
        memcpy(&f, &bits, sizeof f);
        return new_float(m, f);
    }
    double d;
    memcpy(&d, &u, sizeof d);
    return new_float(m, d);
}

/* numpy scalar(dtype, bytes) */
static pkl_node *make_np_scalar(vm *m, pkl_node *const *a, size_t n)
{
    if (n != 2 || a[0]->role != ROLE_NP_DTYPE || !is_value(a[1], LS_PKL_BYTES) ||
        a[1]->v.u.str.len != (size_t)a[0]->x.dtype.size) {
        vm_fail(m, "numpy scalar: bad arguments");
        return NULL;
    }
    return np_element(m, a[0]->x.dtype, (const uint8_t *)a[1]->v.u.str.data);
}

typedef struct np_array {
    np_dtype dtype;
    int ndim;
    int64_t shape[LS_RAW_MAX_DIMS];
    int64_t stride[LS_RAW_MAX_DIMS]; /* in elements */
    const uint8_t *data;
} np_array;

/* Fills `list` (a fresh LIST node) with dimension `dim` of the array. */
static int fill_np_list(vm *m, const np_array *a, int dim, int64_t offset, pkl_node *list)
{
    list->role = ROLE_VALUE;
    list->v.kind = LS_PKL_LIST;
    for (int64_t i = 0; i < a->shape[dim]; i++) {
        int64_t at = offset + i * a->stride[dim];
        pkl_node *item;
        if (dim + 1 == a->ndim) {
            item = np_element(m, a->dtype, a->data + at * a->dtype.size);
        } else {
            item = new_node(m, ROLE_VALUE, LS_PKL_LIST);
            if (item && fill_np_list(m, a, dim + 1, at, item) < 0)
                return -1;
        }
        if (!item || seq_extend(m, list, &item, 1) < 0)
            return -1;
    }
    return 0;
}

/* Turns `target` into the array's value: nested lists, or one number for
 * a 0-d array. The raw bytes must match the shape exactly. */
static int np_array_value(vm *m, pkl_node *target, np_dtype dtype, const pkl_node *shape, int fortran,
                          const pkl_node *raw)
{
    np_array a = { .dtype = dtype };
    if (int_tuple(shape, a.shape, LS_RAW_MAX_DIMS, &a.ndim) < 0)
        return vm_fail(m, "numpy array: bad shape (up to %d dimensions)", LS_RAW_MAX_DIMS);
    if (!is_value(raw, LS_PKL_BYTES))
        return vm_fail(m, "numpy array: data is not bytes");
    int64_t numel = 1;
    for (int i = 0; i < a.ndim; i++)
        if (__builtin_mul_overflow(numel, a.shape[i], &numel))
            return vm_fail(m, "numpy array: shape too large");
    if (numel > (int64_t)(raw->v.u.str.len / (size_t)dtype.size) ||
        (uint64_t)numel * (uint64_t)dtype.size != raw->v.u.str.len)
        return vm_fail(m, "numpy array: %zu data bytes do not match the shape", raw->v.u.str.len);
    int64_t s = 1;
    for (int k = 0; k < a.ndim; k++) {
        int i = fortran ? k : a.ndim - 1 - k;
        a.stride[i] = s;
        s *= a.shape[i] ? a.shape[i] : 1;
    }
    a.data = (const uint8_t *)raw->v.u.str.data;
    if (a.ndim > 0)
        return fill_np_list(m, &a, 0, 0, target);
    pkl_node *scalar = np_element(m, dtype, a.data);
    if (!scalar)
        return -1;
    target->role = ROLE_VALUE;
    target->v = scalar->v;   /* numbers own no memory, so a copy is complete */
    return 0;
}

/* _reconstruct(ndarray, (0,), b'b') -> an array waiting for BUILD. */
static pkl_node *np_reconstruct(vm *m, pkl_node *const *a, size_t n)
{
    if (n != 3 || a[0]->role != ROLE_GLOBAL || a[0]->x.global->id != G_NP_NDARRAY) {
        vm_fail(m, "numpy _reconstruct: bad arguments");
        return NULL;
    }
    return new_node(m, ROLE_NP_PENDING, LS_PKL_NONE);
}

/* BUILD on an array: state (version, shape, dtype, is_fortran, rawdata). */
static int build_np_array(vm *m, pkl_node *target, const pkl_node *state)
{
    pkl_node *const *s = (pkl_node *const *)state->v.u.seq.items;
    if (!is_value(state, LS_PKL_TUPLE) || state->v.u.seq.n != 5 || s[2]->role != ROLE_NP_DTYPE ||
        !is_value(s[3], LS_PKL_BOOL))
        return vm_fail(m, "numpy array: bad state");
    return np_array_value(m, target, s[2]->x.dtype, s[1], s[3]->v.u.b, s[4]);
}

/* _frombuffer(bytes, dtype, shape, order) */
static pkl_node *np_frombuffer(vm *m, pkl_node *const *a, size_t n)
{
    if (n != 4 || a[1]->role != ROLE_NP_DTYPE || !is_value(a[3], LS_PKL_STRING) ||
        (strcmp(a[3]->v.u.str.data, "C") && strcmp(a[3]->v.u.str.data, "F"))) {
        vm_fail(m, "numpy _frombuffer: bad arguments");
        return NULL;
    }
    pkl_node *out = new_node(m, ROLE_VALUE, LS_PKL_LIST);
    if (!out || np_array_value(m, out, a[1]->x.dtype, a[2], a[3]->v.u.str.data[0] == 'F', a[0]) < 0)
        return NULL;
    return out;
}

/* -------------------------------------------------------- REDUCE, BUILD */

static int op_call(vm *m, const char *opname)
{
    pkl_node *args = pop(m), *callable = args ? pop(m) : NULL;
    if (!callable)
        return -1;
    if (callable->role != ROLE_GLOBAL)
        return vm_fail(m, "%s on a %s", opname, node_description(callable));
    if (!is_value(args, LS_PKL_TUPLE))
        return vm_fail(m, "%s arguments are not a tuple", opname);
    pkl_node *const *a = (pkl_node *const *)args->v.u.seq.items;
    size_t n = args->v.u.seq.n;
    pkl_node *result = NULL;
    switch (callable->x.global->id) {
    case G_ORDERED_DICT:
        if (n != 0)
            return vm_fail(m, "OrderedDict with arguments");
        result = new_node(m, ROLE_VALUE, LS_PKL_DICT);
        break;
    case G_REBUILD_TENSOR:
        result = rebuild_tensor(m, a, n);
        break;
    case G_REBUILD_PARAMETER:
        if (n < 1 || !is_value(a[0], LS_PKL_TENSOR))
            return vm_fail(m, "_rebuild_parameter: bad arguments");
        result = a[0];
        break;
    case G_NP_SCALAR:
        result = make_np_scalar(m, a, n);
        break;
    case G_NP_DTYPE:
        result = make_np_dtype(m, a, n);
        break;
    case G_NP_RECONSTRUCT:
        result = np_reconstruct(m, a, n);
        break;
    case G_NP_FROMBUFFER:
        result = np_frombuffer(m, a, n);
        break;
    default:
        return vm_fail(m, "%s: %s.%s cannot be called", opname, callable->x.global->module,
                       callable->x.global->name);
    }
    return push(m, result);
}

static int op_build(vm *m)
{
    pkl_node *state = pop(m), *target = state ? top(m) : NULL;
    if (!target)
        return -1;
    if (target->role == ROLE_NP_DTYPE)
        return build_np_dtype(m, target, state);
    if (target->role == ROLE_NP_PENDING)
        return build_np_array(m, target, state);
    if (is_value(target, LS_PKL_DICT) || is_value(target, LS_PKL_TENSOR))
        return 0; /* OrderedDict attributes and tensor hooks are not needed */
    return vm_fail(m, "BUILD on a %s", node_description(target));
}

/* ------------------------------------------------------------ the loop */

static int op_append(vm *m, int many)
{
    size_t from = 0, count = 1;
    if (many) {
        if (pop_mark(m, &from, &count) < 0)
            return -1;
    } else {
        if (!pop(m))
            return -1;
        from = m->sp;
    }
    pkl_node *list = top(m);
    if (!list)
        return -1;
    if (!is_value(list, LS_PKL_LIST))
        return vm_fail(m, "APPEND to a %s", node_description(list));
    return seq_extend(m, list, m->stack + from, count);
}

static int op_setitem(vm *m, int many)
{
    size_t from = 0, count = 2;
    if (many) {
        if (pop_mark(m, &from, &count) < 0)
            return -1;
    } else {
        if (m->sp < frame_base(m) + 2)
            return vm_fail(m, "stack underflow");
        m->sp -= 2;
        from = m->sp;
    }
    pkl_node *dict = top(m);
    if (!dict)
        return -1;
    return dict_set(m, dict, m->stack + from, count);
}

static int op_long(vm *m, int length_bytes)
{
    uint64_t n;
    if (read_length(m, length_bytes, &n) < 0)
        return -1;
    if (n > 8)
        return vm_fail(m, "integer wider than 64 bits");
    if (need(m, n) < 0)
        return -1;
    uint64_t u = read_le(m, (int)n);
    if (n > 0 && n < 8 && (u >> (8 * n - 1)) & 1)
        u |= ~(uint64_t)0 << (8 * n); /* sign-extend */
    return push(m, new_int(m, (int64_t)u));
}

static int op_binfloat(vm *m)
{
    if (need(m, 8) < 0)
        return -1;
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) /* big-endian */
        bits = bits << 8 | m->data[m->pos + i];
    m->pos += 8;
    double d;
    memcpy(&d, &bits, sizeof d);
    return push(m, new_float(m, d));
}

static int op_tuple_n(vm *m, size_t n)
{
    if (m->sp < frame_base(m) + n)
        return vm_fail(m, "stack underflow");
    m->sp -= n;
    return push_tuple(m, m->stack + m->sp, n);
}

static int op_memo_put(vm *m, int index_bytes)
{
    uint64_t index;
    if (read_length(m, index_bytes, &index) < 0)
        return -1;
    return memo_put(m, index);
}

static int op_memo_get(vm *m, int index_bytes)
{
    uint64_t index;
    if (read_length(m, index_bytes, &index) < 0)
        return -1;
    return memo_get(m, index);
}

/* Runs one opcode; 1 at STOP. */
static int step(vm *m)
{
    m->op_at = m->pos;
    if (need(m, 1) < 0)
        return -1;
    uint8_t op = m->data[m->pos++];
    uint64_t v;
    switch (op) {
    case 0x80: /* PROTO */
        if (need(m, 1) < 0)
            return -1;
        if (m->data[m->pos] > 5)
            return vm_fail(m, "unsupported protocol %d", m->data[m->pos]);
        m->pos++;
        return 0;
    case 0x95: /* FRAME: the stream is read in order, so frames need no work */
        return read_length(m, 8, &v);
    case '.': return 1;                                   /* STOP */
    case '(': return push_mark(m);                        /* MARK */
    case '}': return push(m, new_node(m, ROLE_VALUE, LS_PKL_DICT));  /* EMPTY_DICT */
    case ']': return push(m, new_node(m, ROLE_VALUE, LS_PKL_LIST));  /* EMPTY_LIST */
    case ')': return push_tuple(m, NULL, 0);              /* EMPTY_TUPLE */
    case 0x85: return op_tuple_n(m, 1);                   /* TUPLE1 */
    case 0x86: return op_tuple_n(m, 2);                   /* TUPLE2 */
    case 0x87: return op_tuple_n(m, 3);                   /* TUPLE3 */
    case 't': {                                           /* TUPLE */
        size_t from = 0, count = 0;
        if (pop_mark(m, &from, &count) < 0)
            return -1;
        return push_tuple(m, m->stack + from, count);
    }
    case 'a': return op_append(m, 0);                     /* APPEND */
    case 'e': return op_append(m, 1);                     /* APPENDS */
    case 's': return op_setitem(m, 0);                    /* SETITEM */
    case 'u': return op_setitem(m, 1);                    /* SETITEMS */
    case 'J':                                             /* BININT */
        if (read_length(m, 4, &v) < 0)
            return -1;
        return push(m, new_int(m, (int32_t)(uint32_t)v));
    case 'K':                                             /* BININT1 */
        if (read_length(m, 1, &v) < 0)
            return -1;
        return push(m, new_int(m, (int64_t)v));
    case 'M':                                             /* BININT2 */
        if (read_length(m, 2, &v) < 0)
            return -1;
        return push(m, new_int(m, (int64_t)v));
    case 0x8a: return op_long(m, 1);                      /* LONG1 */
    case 0x8b: return op_long(m, 4);                      /* LONG4 */
    case 'G': return op_binfloat(m);                      /* BINFLOAT */
    case 'N': return push(m, new_node(m, ROLE_VALUE, LS_PKL_NONE));  /* NONE */
    case 0x88: return push(m, new_bool(m, 1));            /* NEWTRUE */
    case 0x89: return push(m, new_bool(m, 0));            /* NEWFALSE */
    case 'X': return read_text(m, LS_PKL_STRING, 4);      /* BINUNICODE */
    case 0x8c: return read_text(m, LS_PKL_STRING, 1);     /* SHORT_BINUNICODE */
    case 0x8d: return read_text(m, LS_PKL_STRING, 8);     /* BINUNICODE8 */
    case 'B': return read_text(m, LS_PKL_BYTES, 4);       /* BINBYTES */
    case 'C': return read_text(m, LS_PKL_BYTES, 1);       /* SHORT_BINBYTES */
    case 0x8e: return read_text(m, LS_PKL_BYTES, 8);      /* BINBYTES8 */
    case 0x96: return read_text(m, LS_PKL_BYTES, 8);      /* BYTEARRAY8 */
    case 'q': return op_memo_put(m, 1);                   /* BINPUT */
    case 'r': return op_memo_put(m, 4);                   /* LONG_BINPUT */
    case 0x94: return memo_put(m, m->memo_len);           /* MEMOIZE */
    case 'h': return op_memo_get(m, 1);                   /* BINGET */
    case 'j': return op_memo_get(m, 4);                   /* LONG_BINGET */
    case 'c': return op_global(m);                        /* GLOBAL */
    case 0x93: return op_stack_global(m);                 /* STACK_GLOBAL */
    case 'R': return op_call(m, "REDUCE");                /* REDUCE */
    case 0x81: return op_call(m, "NEWOBJ");               /* NEWOBJ */
    case 'b': return op_build(m);                         /* BUILD */
    case 'Q': return op_persistent_id(m);                 /* BINPERSID */
    default:
        return vm_fail(m, "unsupported opcode 0x%02x", op);
    }
}

/* ------------------------------------------------------------ the result */

/* Checks the result is a finite tree of public values (see the top). */
static int check_result(vm *m, pkl_node *n, int depth)
{
    if (n->walk_state == 2)
        return 0;
    if (n->walk_state == 1)
        return vm_fail(m, "the result contains a reference cycle");
    if (depth > PKL_MAX_DEPTH)
        return vm_fail(m, "the result is nested more than %d deep", PKL_MAX_DEPTH);
    if (n->role != ROLE_VALUE)
        return vm_fail(m, "the result contains a %s", node_description(n));
    n->walk_state = 1;
    uint64_t size = 1;
    size_t count = 0;
    ls_pkl **children[2] = { NULL, NULL };
    if (n->v.kind == LS_PKL_LIST || n->v.kind == LS_PKL_TUPLE) {
        children[0] = n->v.u.seq.items;
        count = n->v.u.seq.n;
    } else if (n->v.kind == LS_PKL_DICT) {
        children[0] = n->v.u.dict.keys;
        children[1] = n->v.u.dict.values;
        count = n->v.u.dict.n;
    }
    for (int c = 0; c < 2 && children[c]; c++) {
        for (size_t i = 0; i < count; i++) {
            pkl_node *child = (pkl_node *)children[c][i];
            if (check_result(m, child, depth + 1) < 0)
                return -1;
            size += child->tree_size;
            if (size > PKL_MAX_TREE)
                return vm_fail(m, "the result has more than %u objects", PKL_MAX_TREE);
        }
    }
    n->tree_size = size;
    n->walk_state = 2;
    return 0;
}

int ls_pkl_parse_prefix(const void *data, size_t len, const char *what, ls_pkl **out, size_t *used,
                        ls_error *err)
{
    vm m = { .data = data, .len = len, .what = what, .err = err };
    /* Each opcode makes at most one object, except numpy arrays, which make
     * one per element of their data: a few objects per input byte at most. */
    m.max_nodes = 4 * len + 64;
    *out = NULL;
    /* Allocated up front so that slices of the stack are never NULL + 0. */
    m.stack_cap = 64;
    m.stack = malloc(m.stack_cap * sizeof *m.stack);
    if (!m.stack)
        return ls_error_set(err, "%s: out of memory", what);
    int rc;
    while ((rc = step(&m)) == 0)
        ;
    pkl_node *root = NULL;
    if (rc == 1) {
        m.op_at = m.pos - 1;
        if (!used && m.pos != m.len)
            rc = vm_fail(&m, "%zu bytes after STOP", m.len - m.pos);
        else if (m.n_marks || m.sp != 1)
            rc = vm_fail(&m, "STOP with %zu objects and %zu marks on the stack", m.sp, m.n_marks);
        else if (check_result(&m, m.stack[0], 0) == 0)
            root = m.stack[0];
    }
    free(m.stack);
    free(m.marks);
    free(m.memo);
    if (!root) {
        free_nodes(m.all);
        return -1;
    }
    root->all = m.all;
    *out = &root->v;
    if (used)
        *used = m.pos;
    return 0;
}

int ls_pkl_parse(const void *data, size_t len, const char *what, ls_pkl **out, ls_error *err)
{
    return ls_pkl_parse_prefix(data, len, what, out, NULL, err);
}

int ls_pkl_storage_dtype(const ls_pkl *root, const char *key, ls_dtype *dtype)
{
    for (const pkl_node *n = ((const pkl_node *)root)->all; n; n = n->next_alloc)
        if (n->role == ROLE_STORAGE && strcmp(n->x.storage.key, key) == 0) {
            *dtype = n->x.storage.dtype;
            return 0;
        }
    return -1;
}

void ls_pkl_free(ls_pkl *v)
{
    if (v)
        free_nodes(((pkl_node *)v)->all);
}

int ls_pkl_read_file(const char *path, ls_pkl **out, ls_error *err)
{
    *out = NULL;
    void *data;
    size_t len;
    if (ls_read_file(path, PKL_MAX_FILE_BYTES, &data, &len, err) != 0)
        return -1;
    int rc = ls_pkl_parse(data, len, path, out, err);
    free(data);
    return rc;
}

const ls_pkl *ls_pkl_dict_get(const ls_pkl *dict, const char *key)
{
    if (!dict || dict->kind != LS_PKL_DICT)
        return NULL;
    size_t key_len = strlen(key);
    for (size_t i = dict->u.dict.n; i-- > 0;) {
        const ls_pkl *k = dict->u.dict.keys[i];
        if (k->kind == LS_PKL_STRING && k->u.str.len == key_len && memcmp(k->u.str.data, key, key_len) == 0)
            return dict->u.dict.values[i];
    }
    return NULL;
}
