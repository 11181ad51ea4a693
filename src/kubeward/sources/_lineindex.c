/*
 * kubeward.sources._lineindex: a C port of kubeward.sources.locate.TextIndex.
 *
 * LineIndex(text).line_of(path) returns exactly what TextIndex(text).line_of(path)
 * returns: the 0-based line of the deepest node of `path` present in a block-style
 * YAML document, read by indentation, or None for a text without content lines.
 * locate.py is the reference; every step below names the Python it mirrors.
 *
 * The text is read as UTF-8 bytes. Indents count ASCII spaces and line breaks are
 * "\n" only, so lines and indents are the same in bytes as in characters; keys are
 * compared as bytes (UTF-8 is injective); where Python strips Unicode whitespace
 * (str.strip(), str.split(None)) the same characters are recognised in UTF-8.
 *
 * Path elements: str is a mapping key, an int >= 0 (bool included) a sequence
 * index. Anything else raises TypeError and the caller falls back to TextIndex, so
 * no behaviour of Python's for odd input has to be reproduced here.
 *
 * Memory: the index holds a reference to the text (whose UTF-8 buffer it reads),
 * one array of entries, one of "- " marker indents, and an arena for everything
 * built lazily by lookups (per-node key lists and item starts), freed at once.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* One content line: TextIndex.entries' (line, markers, indent, content). */
typedef struct {
    int32_t line;   /* 0-based line number */
    int32_t indent; /* indent of the content, after the "- " markers */
    int32_t start;  /* content: byte offset in the text */
    int32_t len;    /* content: byte length, trailing "\r" removed */
    int32_t mark;   /* first marker indent in LineIndex.markers */
    int32_t nmark;  /* number of "- " markers */
} Entry;

/* One key of a mapping: TextIndex._keymap's key -> (entry, end, inline). */
typedef struct {
    int32_t start, len; /* the key's bytes in the text */
    int32_t entry, end; /* its entry, and the end of its value block */
    int32_t inline_;    /* the value sits on the key's own line */
} Key;

/* What the entries in [lo, hi) with `skip` leading markers consumed read as: their
 * mapping keys and their sequence items, each computed on first use. */
typedef struct Node {
    int32_t lo, hi, skip;
    int32_t has_map, has_seq;
    Key *keys;
    int32_t nkeys;
    int32_t *table; /* open addressing over keys (index + 1; 0 = empty), for large mappings */
    uint32_t mask;
    int32_t *starts; /* entries where the items start */
    int32_t nstarts;
    int32_t depth;    /* marker depth of an item starting at lo */
    int32_t seq_ok;   /* a sequence indent was found (TextIndex._item's seq_indent is not None) */
} Node;

/* The arena's unit: aligned for every type stored there (int32_t, pointers). */
typedef union {
    void *p;
    int64_t i;
    double d;
} Align;

typedef struct Block {
    struct Block *next;
    size_t used, size;
    Align data[];
} Block;

typedef struct {
    PyObject_HEAD
    PyObject *text; /* owns the UTF-8 buffer `buf` points into */
    const char *buf;
    Entry *entries;
    int32_t n;
    int32_t *markers;
    Node **nodes; /* open addressing on (lo, hi, skip); NULL = empty */
    size_t nodes_mask, nodes_count;
    Block *arena;
    void *scratch; /* growable buffer for building key and start lists */
    size_t scratch_size;
} LineIndex;

/* Walk state: TextIndex._walk's (lo, hi, skip, line, finished). */
typedef struct {
    int32_t lo, hi, skip, line, finished;
} State;

#define HASH_MIN_KEYS 8

/* ---- memory ---------------------------------------------------------------------- */

static void *
arena_alloc(LineIndex *self, size_t size)
{
    size = (size + sizeof(Align) - 1) / sizeof(Align) * sizeof(Align);
    Block *b = self->arena;
    if (b == NULL || b->size - b->used < size) {
        size_t want = b ? b->size * 2 : 2048;
        if (want < size) {
            want = size;
        }
        Block *nb = PyMem_Malloc(sizeof(Block) + want);
        if (nb == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        nb->next = b;
        nb->used = 0;
        nb->size = want;
        self->arena = b = nb;
    }
    void *p = (char *)b->data + b->used;
    b->used += size;
    return p;
}

static void *
scratch_reserve(LineIndex *self, size_t size)
{
    if (self->scratch_size < size) {
        size_t want = self->scratch_size ? self->scratch_size : 256;
        while (want < size) {
            want *= 2;
        }
        void *p = PyMem_Realloc(self->scratch, want);
        if (p == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        self->scratch = p;
        self->scratch_size = want;
    }
    return self->scratch;
}

/* ---- Python's whitespace, in UTF-8 ------------------------------------------------- */

/* str.isspace(): \t\n\v\f\r, \x1c-\x1f, space, U+0085, U+00A0, U+1680, U+2000-U+200A,
 * U+2028, U+2029, U+202F, U+205F, U+3000. */
static inline int
ascii_space(unsigned char c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
}

/* Byte length of a whitespace character starting at p (< e), else 0. Its first byte
 * is ASCII or a lead byte, never a continuation byte, so scanning bytewise is safe. */
static inline int
space_at(const unsigned char *p, const unsigned char *e)
{
    unsigned char c = p[0];
    if (c < 0x80) {
        return ascii_space(c);
    }
    if (c == 0xC2) {
        return e - p >= 2 && (p[1] == 0x85 || p[1] == 0xA0) ? 2 : 0;
    }
    if (e - p < 3) {
        return 0;
    }
    if (c == 0xE1) {
        return p[1] == 0x9A && p[2] == 0x80 ? 3 : 0;
    }
    if (c == 0xE2) {
        if (p[1] == 0x80) {
            return p[2] <= 0x8A || p[2] == 0xA8 || p[2] == 0xA9 || p[2] == 0xAF ? 3 : 0;
        }
        return p[1] == 0x81 && p[2] == 0x9F ? 3 : 0;
    }
    if (c == 0xE3) {
        return p[1] == 0x80 && p[2] == 0x80 ? 3 : 0;
    }
    return 0;
}

/* Byte length of a whitespace character ending at e (> s), else 0. */
static inline int
space_before(const unsigned char *s, const unsigned char *e)
{
    unsigned char c = e[-1];
    if (c < 0x80) {
        return ascii_space(c);
    }
    if (e - s >= 2 && e[-2] == 0xC2) {
        return c == 0x85 || c == 0xA0 ? 2 : 0;
    }
    if (e - s >= 3 && space_at(e - 3, e) == 3) {
        return 3;
    }
    return 0;
}

/* str.strip() */
static inline void
strip(const unsigned char **s, const unsigned char **e)
{
    int k;
    while (*s < *e && (k = space_at(*s, *e)) != 0) {
        *s += k;
    }
    while (*s < *e && (k = space_before(*s, *e)) != 0) {
        *e -= k;
    }
}

/* ---- one line: _split_key and _is_inline -------------------------------------------- */

/* First occurrence of ':' followed by `next` in [s, e), or NULL (str.find(":" + next)). */
static const unsigned char *
find_colon(const unsigned char *s, const unsigned char *e, unsigned char next)
{
    while (s < e) {
        const unsigned char *c = memchr(s, ':', (size_t)(e - s));
        if (c == NULL || c + 1 >= e) {
            return NULL;
        }
        if (c[1] == next) {
            return c;
        }
        s = c + 1;
    }
    return NULL;
}

/* _split_key: the key and the (stripped) rest of a "key: value" line; 0 if none. */
static int
split_key(const unsigned char *c, const unsigned char *e, const unsigned char **ks, const unsigned char **ke,
          const unsigned char **rs, const unsigned char **re)
{
    if (c < e && (c[0] == '\'' || c[0] == '"')) {
        const unsigned char *close = c + 1 < e ? memchr(c + 1, c[0], (size_t)(e - c - 1)) : NULL;
        if (close == NULL || close + 1 >= e || close[1] != ':') {
            return 0;
        }
        const unsigned char *rest = close + 2;
        if (rest < e && rest[0] != ' ' && rest[0] != '\t') {
            return 0;
        }
        *ks = c + 1;
        *ke = close;
        *rs = rest;
        *re = e;
        strip(rs, re);
        return 1;
    }
    const unsigned char *colon = find_colon(c, e, ' ');
    if (colon == NULL) {
        colon = find_colon(c, e, '\t');
    }
    if (colon == NULL) {
        if (c == e || e[-1] != ':') {
            return 0;
        }
        colon = e - 1;
    }
    *ks = c;
    *ke = colon;
    int k;
    while (*ks < *ke && (k = space_before(*ks, *ke)) != 0) { /* .rstrip() */
        *ke -= k;
    }
    *rs = colon + 1;
    *re = e;
    strip(rs, re);
    return 1;
}

/* _is_inline: does a key's value continue on its own line? `rest` is stripped. */
static int
is_inline(const unsigned char *r, const unsigned char *e)
{
    if (r == e || r[0] == '#') {
        return 0;
    }
    if (r[0] == '&' || r[0] == '!') { /* rest.split(None, 1): is there a second part, not a comment? */
        int k = 0;
        while (r < e && (k = space_at(r, e)) == 0) {
            r++;
        }
        if (r == e) {
            return 0;
        }
        while (r < e && (k = space_at(r, e)) != 0) {
            r += k;
        }
        return r < e && r[0] != '#'; /* r < e always: rest is stripped */
    }
    return 1;
}

/* ---- building the entries: TextIndex.__init__ ------------------------------------------ */

static int
build_entries(LineIndex *self, const unsigned char *text, Py_ssize_t size)
{
    Py_ssize_t lines = 1;
    for (const unsigned char *p = text, *end = text + size; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++) {
        lines++;
    }
    self->entries = PyMem_Malloc((size_t)lines * sizeof(Entry));
    if (self->entries == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    size_t mcap = 0, mlen = 0;
    int32_t number = 0, n = 0;
    const unsigned char *p = text, *end = text + size;
    for (;;) {
        const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
        const unsigned char *e = nl ? nl : end;
        const unsigned char *q = p;
        while (q < e && *q == ' ') { /* raw.lstrip(" ") */
            q++;
        }
        int keep = q < e && *q != '#';
        if (keep && *q == '-' && q == p && e - q >= 3 && memcmp(q, "---", 3) == 0) {
            keep = 0; /* a document marker ("..." never starts with "-": it is content) */
        }
        if (keep) {
            Entry *en = &self->entries[n++];
            int32_t indent = (int32_t)(q - p);
            en->line = number;
            en->mark = (int32_t)mlen;
            en->nmark = 0;
            while (q < e && *q == '-' && (q + 1 == e || q[1] == ' ' || q[1] == '\r')) {
                if (mlen == mcap) {
                    size_t want = mcap ? mcap * 2 : 16;
                    int32_t *m = PyMem_Realloc(self->markers, want * sizeof(int32_t));
                    if (m == NULL) {
                        PyErr_NoMemory();
                        return -1;
                    }
                    self->markers = m;
                    mcap = want;
                }
                self->markers[mlen++] = indent;
                en->nmark++;
                const unsigned char *r = q + 1;
                while (r < e && *r == ' ') {
                    r++;
                }
                indent += (int32_t)(r - q);
                q = r;
            }
            if (en->nmark && q < e && *q == '#') {
                q = e; /* "- # comment": an item with no content here */
            }
            const unsigned char *ce = e;
            while (ce > q && ce[-1] == '\r') { /* .rstrip("\r") */
                ce--;
            }
            en->indent = indent;
            en->start = (int32_t)(q - text);
            en->len = (int32_t)(ce - q);
        }
        if (nl == NULL) {
            break;
        }
        p = nl + 1;
        number++;
    }
    self->n = n;
    return 0;
}

/* ---- nodes: _keymap and _item ------------------------------------------------------------- */

static inline size_t
node_slot(int32_t lo, int32_t hi, int32_t skip)
{
    uint64_t h = ((uint64_t)(uint32_t)lo * 0x9E3779B97F4A7C15u) ^ ((uint64_t)(uint32_t)hi * 0xC2B2AE3D27D4EB4Fu) ^ (uint32_t)skip;
    return (size_t)(h ^ (h >> 29));
}

/* The node for [lo, hi) with `skip` markers consumed, created on first use. */
static Node *
get_node(LineIndex *self, int32_t lo, int32_t hi, int32_t skip)
{
    if (self->nodes_count * 2 >= self->nodes_mask) { /* also the first time: mask 0 */
        size_t size = self->nodes_mask ? (self->nodes_mask + 1) * 2 : 32;
        Node **table = PyMem_Calloc(size, sizeof(Node *));
        if (table == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        for (size_t i = 0; self->nodes != NULL && i <= self->nodes_mask; i++) {
            Node *node = self->nodes[i];
            if (node != NULL) {
                size_t slot = node_slot(node->lo, node->hi, node->skip) & (size - 1);
                while (table[slot] != NULL) {
                    slot = (slot + 1) & (size - 1);
                }
                table[slot] = node;
            }
        }
        PyMem_Free(self->nodes);
        self->nodes = table;
        self->nodes_mask = size - 1;
    }
    size_t slot = node_slot(lo, hi, skip) & self->nodes_mask;
    for (Node *node; (node = self->nodes[slot]) != NULL; slot = (slot + 1) & self->nodes_mask) {
        if (node->lo == lo && node->hi == hi && node->skip == skip) {
            return node;
        }
    }
    Node *node = arena_alloc(self, sizeof(Node));
    if (node == NULL) {
        return NULL;
    }
    memset(node, 0, sizeof(Node));
    node->lo = lo;
    node->hi = hi;
    node->skip = skip;
    self->nodes[slot] = node;
    self->nodes_count++;
    return node;
}

static inline uint32_t
hash_bytes(const unsigned char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h = (h ^ s[i]) * 16777619u;
    }
    return h;
}

/* _keymap: the keys of the mapping in [lo, node->hi). */
static int
build_map(LineIndex *self, Node *node, int32_t lo)
{
    const Entry *entries = self->entries;
    const unsigned char *text = (const unsigned char *)self->buf;
    int32_t hi = node->hi;
    node->has_map = 1;
    if (node->skip < entries[lo].nmark) {
        return 0; /* a sequence, not a mapping */
    }
    int32_t first = entries[lo].len ? lo : lo + 1; /* "-" alone: the mapping starts below */
    if (first >= hi) {
        return 0;
    }
    int32_t indent = entries[first].indent;
    int32_t count = 0;
    for (int32_t i = first; i < hi; i++) {
        /* keys sit at the mapping's indent; a "- " line there belongs to a compact
         * sequence, except the item's own first line */
        const Entry *en = &entries[i];
        if (en->indent != indent || (en->nmark && i != lo)) {
            continue;
        }
        const unsigned char *ks, *ke, *rs, *re;
        if (!split_key(text + en->start, text + en->start + en->len, &ks, &ke, &rs, &re)) {
            continue;
        }
        Key *keys = scratch_reserve(self, (size_t)(count + 1) * sizeof(Key));
        if (keys == NULL) {
            return -1;
        }
        keys[count].start = (int32_t)(ks - text);
        keys[count].len = (int32_t)(ke - ks);
        keys[count].entry = i;
        keys[count].inline_ = is_inline(rs, re);
        count++;
    }
    if (count == 0) {
        return 0;
    }
    Key *keys = arena_alloc(self, (size_t)count * sizeof(Key));
    if (keys == NULL) {
        return -1;
    }
    memcpy(keys, self->scratch, (size_t)count * sizeof(Key));
    for (int32_t k = 0; k < count; k++) {
        keys[k].end = k + 1 < count ? keys[k + 1].entry : hi;
    }
    node->keys = keys;
    node->nkeys = count;
    if (count > HASH_MIN_KEYS) {
        uint32_t size = 16;
        while (size < (uint32_t)count * 2) {
            size *= 2;
        }
        int32_t *table = arena_alloc(self, size * sizeof(int32_t));
        if (table == NULL) {
            return -1;
        }
        memset(table, 0, size * sizeof(int32_t));
        node->table = table;
        node->mask = size - 1;
        for (int32_t k = 0; k < count; k++) {
            const unsigned char *s = text + keys[k].start;
            uint32_t slot = hash_bytes(s, (size_t)keys[k].len) & node->mask;
            for (;; slot = (slot + 1) & node->mask) {
                int32_t other = table[slot] - 1;
                if (other < 0) {
                    table[slot] = k + 1;
                    break;
                }
                if (keys[other].len == keys[k].len && memcmp(text + keys[other].start, s, (size_t)keys[k].len) == 0) {
                    table[slot] = k + 1; /* the last duplicate wins, as in decoding */
                    break;
                }
            }
        }
    }
    return 0;
}

static const Key *
find_key(LineIndex *self, const Node *node, const char *s, Py_ssize_t len)
{
    const char *text = self->buf;
    if (node->table != NULL) {
        uint32_t slot = hash_bytes((const unsigned char *)s, (size_t)len) & node->mask;
        for (;; slot = (slot + 1) & node->mask) {
            int32_t k = node->table[slot] - 1;
            if (k < 0) {
                return NULL;
            }
            const Key *key = &node->keys[k];
            if (key->len == len && memcmp(text + key->start, s, (size_t)len) == 0) {
                return key;
            }
        }
    }
    for (int32_t k = node->nkeys - 1; k >= 0; k--) { /* the last duplicate wins */
        const Key *key = &node->keys[k];
        if (key->len == len && memcmp(text + key->start, s, (size_t)len) == 0) {
            return key;
        }
    }
    return NULL;
}

/* _item, for every index at once: where the items of the sequence in [lo, node->hi) start. */
static int
build_seq(LineIndex *self, Node *node, int32_t lo)
{
    const Entry *entries = self->entries;
    const int32_t *markers = self->markers;
    int32_t skip = node->skip;
    int32_t seq_indent = 0;
    node->has_seq = 1;
    if (skip < entries[lo].nmark) {
        node->depth = skip;
        seq_indent = markers[entries[lo].mark + skip];
        node->seq_ok = 1;
    }
    int32_t count = 0;
    for (int32_t i = lo; i < node->hi; i++) {
        int32_t nm = entries[i].nmark, first = 0;
        if (i == lo && skip) {
            first = skip;
        }
        if (nm <= first) {
            continue;
        }
        const int32_t *m = markers + entries[i].mark + first;
        if (!node->seq_ok) {
            seq_indent = m[0];
            node->seq_ok = 1;
        }
        if (m[0] == seq_indent) {
            int32_t *starts = scratch_reserve(self, (size_t)(count + 1) * sizeof(int32_t));
            if (starts == NULL) {
                return -1;
            }
            starts[count++] = i;
        }
        else if (m[0] < seq_indent) {
            break;
        }
    }
    if (count) {
        node->starts = arena_alloc(self, (size_t)count * sizeof(int32_t));
        if (node->starts == NULL) {
            return -1;
        }
        memcpy(node->starts, self->scratch, (size_t)count * sizeof(int32_t));
    }
    node->nstarts = count;
    return 0;
}

/* ---- walking: _step ------------------------------------------------------------------------ */

/* Descend one path element; -1 with an exception set on error. */
static int
step(LineIndex *self, State *st, PyObject *part)
{
    if (st->lo >= st->hi) {
        st->finished = 1;
        return 0;
    }
    const Entry *entries = self->entries;
    if (PyUnicode_Check(part)) {
        Py_ssize_t len;
        const char *s = PyUnicode_AsUTF8AndSize(part, &len);
        if (s == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
                return -1;
            }
            PyErr_Clear(); /* a lone surrogate: no key of an encodable text equals it */
            st->finished = 1;
            return 0;
        }
        Node *node = get_node(self, st->lo, st->hi, st->skip);
        if (node == NULL || (!node->has_map && build_map(self, node, st->lo) < 0)) {
            return -1;
        }
        const Key *key = find_key(self, node, s, len);
        if (key == NULL) {
            st->finished = 1;
            return 0;
        }
        /* a value on the key's own line (flow collection, scalar) has no lines below */
        st->lo = key->entry + 1;
        st->hi = key->end;
        st->skip = 0;
        st->line = entries[key->entry].line;
        st->finished = key->inline_;
        return 0;
    }
    if (!PyLong_Check(part)) {
        PyErr_Format(PyExc_TypeError, "path elements must be str or int >= 0, not %.100s", Py_TYPE(part)->tp_name);
        return -1;
    }
    int overflow;
    long long index = PyLong_AsLongLongAndOverflow(part, &overflow);
    if (index == -1 && !overflow && PyErr_Occurred()) {
        return -1;
    }
    if (overflow < 0 || (!overflow && index < 0)) {
        PyErr_SetString(PyExc_TypeError, "path indexes must be >= 0");
        return -1;
    }
    Node *node = get_node(self, st->lo, st->hi, st->skip);
    if (node == NULL || (!node->has_seq && build_seq(self, node, st->lo) < 0)) {
        return -1;
    }
    if (!node->seq_ok || overflow > 0 || index >= node->nstarts) {
        st->finished = 1;
        return 0;
    }
    int32_t begin = node->starts[index];
    int32_t end = index + 1 < node->nstarts ? node->starts[index + 1] : node->hi;
    int32_t skip = (begin == st->lo ? node->depth : 0) + 1;
    int content_here = skip < entries[begin].nmark || entries[begin].len > 0;
    /* an item whose "-" stands alone starts on the next line */
    st->line = content_here || begin + 1 >= end ? entries[begin].line : entries[begin + 1].line;
    st->lo = begin;
    st->hi = end;
    st->skip = skip;
    return 0;
}

/* ---- the type -------------------------------------------------------------------------------- */

static PyObject *
LineIndex_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"text", NULL};
    PyObject *text;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "U:LineIndex", kwlist, &text)) {
        return NULL;
    }
    Py_ssize_t size;
    const char *buf = PyUnicode_AsUTF8AndSize(text, &size);
    if (buf == NULL) {
        return NULL;
    }
    if (size > INT32_MAX - 2) {
        PyErr_SetString(PyExc_OverflowError, "text too large for LineIndex");
        return NULL;
    }
    LineIndex *self = (LineIndex *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    Py_INCREF(text);
    self->text = text;
    self->buf = buf;
    if (build_entries(self, (const unsigned char *)buf, size) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static void
LineIndex_dealloc(LineIndex *self)
{
    Block *b = self->arena;
    while (b != NULL) {
        Block *next = b->next;
        PyMem_Free(b);
        b = next;
    }
    PyMem_Free(self->nodes);
    PyMem_Free(self->scratch);
    PyMem_Free(self->markers);
    PyMem_Free(self->entries);
    Py_XDECREF(self->text);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
LineIndex_line_of(LineIndex *self, PyObject *path)
{
    if (self->n == 0) {
        Py_RETURN_NONE; /* TextIndex answers None before looking at the path */
    }
    if (!PyTuple_Check(path)) {
        PyErr_Format(PyExc_TypeError, "path must be a tuple, not %.100s", Py_TYPE(path)->tp_name);
        return NULL;
    }
    State st = {0, self->n, 0, self->entries[0].line, 0};
    Py_ssize_t count = PyTuple_GET_SIZE(path);
    for (Py_ssize_t i = 0; i < count && !st.finished; i++) {
        if (step(self, &st, PyTuple_GET_ITEM(path, i)) < 0) {
            return NULL;
        }
    }
    return PyLong_FromLong(st.line);
}

static PyObject *
LineIndex_entries(LineIndex *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *list = PyList_New(self->n);
    if (list == NULL) {
        return NULL;
    }
    for (int32_t i = 0; i < self->n; i++) {
        const Entry *en = &self->entries[i];
        PyObject *markers = PyTuple_New(en->nmark);
        if (markers == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        for (int32_t k = 0; k < en->nmark; k++) {
            PyObject *v = PyLong_FromLong(self->markers[en->mark + k]);
            if (v == NULL) {
                Py_DECREF(markers);
                Py_DECREF(list);
                return NULL;
            }
            PyTuple_SET_ITEM(markers, k, v);
        }
        PyObject *item = Py_BuildValue("(iNis#)", en->line, markers, en->indent, self->buf + en->start, (Py_ssize_t)en->len);
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}

static Py_ssize_t
LineIndex_len(LineIndex *self)
{
    return self->n;
}

static PyMethodDef LineIndex_methods[] = {
    {"line_of", (PyCFunction)LineIndex_line_of, METH_O,
     "line_of(path: tuple) -> int | None\n--\n\n"
     "0-based line of the deepest node of path found, or None for an empty text.\n"
     "Raises TypeError for a path element that is neither a str nor an int >= 0."},
    {"entries", (PyCFunction)LineIndex_entries, METH_NOARGS,
     "entries() -> list\n--\n\nThe content lines as TextIndex.entries has them (for tests)."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods LineIndex_as_sequence = {
    .sq_length = (lenfunc)LineIndex_len,
};

static PyTypeObject LineIndexType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kubeward.sources._lineindex.LineIndex",
    .tp_doc = PyDoc_STR("LineIndex(text)\n--\n\nField path -> line for block-style YAML; "
                        "a C port of kubeward.sources.locate.TextIndex."),
    .tp_basicsize = sizeof(LineIndex),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = LineIndex_new,
    .tp_dealloc = (destructor)LineIndex_dealloc,
    .tp_methods = LineIndex_methods,
    .tp_as_sequence = &LineIndex_as_sequence,
};

static struct PyModuleDef lineindex_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "kubeward.sources._lineindex",
    .m_doc = "Source-line recovery for block-style YAML, in C (see kubeward.sources.locate).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__lineindex(void)
{
    if (PyType_Ready(&LineIndexType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&lineindex_module);
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddType(module, &LineIndexType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
