/*
 * kubeward.sources._guard: a C port of the YAML loader's guard.
 *
 * needs_faithful(text) returns exactly what kubeward.sources.yamlparse's
 * _needs_faithful_regex(text) returns:
 *
 *     _UNSAFE.search(text) is not None            (A)
 *     or "<<" in text                             (B)
 *     or _UNSAFE_AT_START.match(text) is not None (C)
 *
 * with TOKEN = _UNSAFE_TOKEN and END = _END (see yamlparse.py). Spelled out:
 *   (A) some i with text[i] in " \t\n[{,:", text[i+1] in "yYnNoO0-9*!+%-" (the
 *       lookahead) and TOKEN matching at i+1;
 *   (C) TOKEN matching at 0 (here a token may also start with "_": the 19-digit
 *       alternative, which the lookahead of (A) excludes).
 * TOKEN's last alternatives are keys a YAML 1.2 reader makes no string of (numbers,
 * true/false, null; explicit and empty keys), followed by KEY_END = _KEY_END.
 *
 * Bytes, not characters. The text is read as UTF-8. Every character the regexes
 * name is ASCII, hence one byte, and no byte of a multi-byte UTF-8 sequence is
 * below 0x80, so a byte test "is this ASCII character" equals the character test.
 * The one negated class, [^ \t\r\n,\[\]{}"'] (after "*" or "!"), is applied only
 * right after an ASCII byte, i.e. at a character's first byte; a non-ASCII
 * character's first byte is >= 0xC2 and counts as "other", as the character does.
 * Runs ([0-9_], hex, blanks) are ASCII, so run lengths in bytes are lengths in
 * characters ({19,}). "$" under MULTILINE is the end of the text or a "\n" (Python
 * does not take "\r", "\x85" or "\u2028" for line ends there), the same in bytes.
 * A text with no UTF-8 (lone surrogates) raises UnicodeEncodeError; the caller
 * falls back to the regex.
 *
 * Why one forward scan per alternative gives the regex's answer (no backtracking
 * needed). Python's engine is complete for a pattern without atomic groups or
 * possessive quantifiers: it returns a match iff some choice of alternatives and
 * repetition counts matches. So only existence matters, and for each alternative:
 *   - END at r is "[ \t]*" then a tail that needs r == len or a byte in
 *     "\r\n#:,]}". A blank is in none of those, so a shorter blank run would stop
 *     on a blank where every tail fails: only the maximal run can succeed.
 *   - The greedy runs before END are [0-9_]+, [0-9a-fA-F_]+ and [0-9_]{19,}. No run
 *     byte is a blank or in "\r\n#:,]}", so END fails right after any shorter run
 *     (it would start on a run byte): only the maximal run can be followed by END,
 *     and the alternative matches iff the maximal run is long enough and END
 *     matches after it. The same holds for KEY_END ([ \t]*:) after a key's run,
 *     which holds neither a blank nor ":".
 *   - [-+]? : if text[p] is a sign, leaving it out makes the next item start on the
 *     sign, which neither "0" nor [0-9_] matches; if it is not, the sign is absent.
 *     So the sign is taken iff it is there.
 *   - The booleans are fixed words; each one that is a prefix at p is tried, with
 *     END right after it ("y" and "yes" are both tried on "yes").
 *   - The search (A) tries every start i independently, as the loop below does.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Byte classes for the main loop: a pair (text[i], text[i+1]) is looked at when
 * PREV[text[i]] & NEXT[text[i+1]] is non-zero. */
#define PAIR_TOKEN 1 /* [ \t\n[{,:] then [yYnNoO0-9*!+%-]: TOKEN may start at i+1 */
#define PAIR_MERGE 2 /* "<" then "<": a merge key (B) */

static unsigned char PREV[256];
static unsigned char NEXT[256];
static unsigned char STOP[256]; /* [ \t\r\n,\[\]{}"'] : what may not follow "*" or "!" */
static unsigned char KEYSTOP[256]; /* [ \t\r\n#:,\[\]{}] : what ends a number-like key's run */

static void
init_tables(void)
{
    for (const char *c = " \t\n[{,:"; *c; c++) {
        PREV[(unsigned char)*c] |= PAIR_TOKEN;
    }
    for (const char *c = "yYnNoO0123456789*!+%-~tTfF.?:"; *c; c++) {
        NEXT[(unsigned char)*c] |= PAIR_TOKEN;
    }
    PREV['<'] |= PAIR_MERGE;
    NEXT['<'] |= PAIR_MERGE;
    for (const char *c = " \t\r\n,[]{}\"'"; *c; c++) {
        STOP[(unsigned char)*c] = 1;
    }
    for (const char *c = " \t\r\n#:,[]{}"; *c; c++) {
        KEYSTOP[(unsigned char)*c] = 1;
    }
}

typedef const unsigned char *Text;

/* "$" under MULTILINE at r: the end of the text or before a "\n". */
static inline int
eol(Text s, Py_ssize_t n, Py_ssize_t r)
{
    return r == n || s[r] == '\n';
}

/* "\r?$" at r */
static inline int
cr_eol(Text s, Py_ssize_t n, Py_ssize_t r)
{
    return eol(s, n, r) || (s[r] == '\r' && eol(s, n, r + 1));
}

/* _END at r: [ \t]*(?:\r?$|#|:(?:[ \t]|\r?$)|[,\]}]) */
static int
end_at(Text s, Py_ssize_t n, Py_ssize_t r)
{
    while (r < n && (s[r] == ' ' || s[r] == '\t')) { /* maximal: see the top comment */
        r++;
    }
    if (cr_eol(s, n, r)) {
        return 1;
    }
    switch (s[r]) {
    case '#':
    case ',':
    case ']':
    case '}':
        return 1;
    case ':':
        r++;
        return (r < n && (s[r] == ' ' || s[r] == '\t')) || cr_eol(s, n, r);
    default:
        return 0;
    }
}

/* The word w (length len) at p, followed by END. */
static inline int
word_at(Text s, Py_ssize_t n, Py_ssize_t p, const char *w, Py_ssize_t len)
{
    return n - p >= len && memcmp(s + p, w, (size_t)len) == 0 && end_at(s, n, p + len);
}

/* _KEY_END at r: [ \t]*:(?:[ \t]|\r?$) -- the blank run is maximal, as in end_at */
static int
key_end_at(Text s, Py_ssize_t n, Py_ssize_t r)
{
    while (r < n && (s[r] == ' ' || s[r] == '\t')) {
        r++;
    }
    if (r == n || s[r] != ':') {
        return 0;
    }
    r++;
    return (r < n && (s[r] == ' ' || s[r] == '\t')) || cr_eol(s, n, r);
}

/* The word w (length len) at p, followed by KEY_END. */
static inline int
key_word_at(Text s, Py_ssize_t n, Py_ssize_t p, const char *w, Py_ssize_t len)
{
    return n - p >= len && memcmp(s + p, w, (size_t)len) == 0 && key_end_at(s, n, p + len);
}

static inline int
is_digit_(unsigned char c)
{
    return (c >= '0' && c <= '9') || c == '_';
}

static inline int
is_hex_(unsigned char c)
{
    return is_digit_(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* _UNSAFE_TOKEN matches at p (p < n). */
static int
token_at(Text s, Py_ssize_t n, Py_ssize_t p)
{
    switch (s[p]) {
    /* YAML 1.1 booleans: (?:[yYnN]|[yY]es|YES|[nN]o|NO|[oO]n|ON|[oO]ff|OFF) END */
    case 'y':
        return end_at(s, n, p + 1) || word_at(s, n, p, "yes", 3);
    case 'Y':
        return end_at(s, n, p + 1) || word_at(s, n, p, "Yes", 3) || word_at(s, n, p, "YES", 3);
    case 'n':
        return end_at(s, n, p + 1) || word_at(s, n, p, "no", 2) || key_word_at(s, n, p, "null", 4);
    case 'N':
        return end_at(s, n, p + 1) || word_at(s, n, p, "No", 2) || word_at(s, n, p, "NO", 2) ||
               key_word_at(s, n, p, "Null", 4) || key_word_at(s, n, p, "NULL", 4);
    /* keys a YAML 1.2 reader makes no string of: (?:~|null|Null|NULL|true|...|FALSE) KEY_END */
    case '~':
        return key_end_at(s, n, p + 1);
    case 't':
        return key_word_at(s, n, p, "true", 4);
    case 'T':
        return key_word_at(s, n, p, "True", 4) || key_word_at(s, n, p, "TRUE", 4);
    case 'f':
        return key_word_at(s, n, p, "false", 5);
    case 'F':
        return key_word_at(s, n, p, "False", 5) || key_word_at(s, n, p, "FALSE", 5);
    /* explicit and empty keys: [?:](?:[ \t]|\r?$) */
    case '?':
    case ':':
        return (p + 1 < n && (s[p + 1] == ' ' || s[p + 1] == '\t')) || cr_eol(s, n, p + 1);
    case 'o':
        return word_at(s, n, p, "on", 2) || word_at(s, n, p, "off", 3);
    case 'O':
        return word_at(s, n, p, "On", 2) || word_at(s, n, p, "ON", 2) || word_at(s, n, p, "Off", 3) ||
               word_at(s, n, p, "OFF", 3);
    /* aliases and tags: [*!][^ \t\r\n,\[\]{}"'] */
    case '*':
    case '!':
        return p + 1 < n && !STOP[s[p + 1]];
    /* directives */
    case '%':
        return 1;
    default:
        break;
    }
    /* numbers: [-+]?0(?:[0-9_]+|[xXbBoO][0-9a-fA-F_]+) END  |  [-+]?[0-9_]{19,} END */
    Py_ssize_t q = p;
    if (s[q] == '+' || s[q] == '-') {
        q++; /* taken iff present: see the top comment */
    }
    /* number-like keys: (?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|[-+]?\.?[0-9][^KEYSTOP]*) KEY_END.
     * The "." is taken iff present, as the sign is; the run is maximal: it holds neither a
     * blank nor ":", so KEY_END can only start where it stops. */
    if (q < n && s[q] == '.') {
        if (key_word_at(s, n, q + 1, "inf", 3) || key_word_at(s, n, q + 1, "Inf", 3) ||
            key_word_at(s, n, q + 1, "INF", 3)) {
            return 1;
        }
        if (q == p && (key_word_at(s, n, p + 1, "nan", 3) || key_word_at(s, n, p + 1, "NaN", 3) ||
                       key_word_at(s, n, p + 1, "NAN", 3))) {
            return 1;
        }
    }
    Py_ssize_t k = q < n && s[q] == '.' ? q + 1 : q;
    if (k < n && s[k] >= '0' && s[k] <= '9') {
        while (k < n && !KEYSTOP[s[k]]) {
            k++;
        }
        if (key_end_at(s, n, k)) {
            return 1;
        }
    }
    Py_ssize_t r = q;
    while (r < n && is_digit_(s[r])) {
        r++;
    }
    if (r - q >= 19 && end_at(s, n, r)) {
        return 1;
    }
    if (q < n && s[q] == '0') {
        if (r - (q + 1) >= 1 && end_at(s, n, r)) { /* 0[0-9_]+ : the run after the "0" */
            return 1;
        }
        if (q + 1 < n) {
            switch (s[q + 1]) {
            case 'x': case 'X': case 'b': case 'B': case 'o': case 'O': {
                Py_ssize_t t = q + 2;
                while (t < n && is_hex_(s[t])) {
                    t++;
                }
                return t - (q + 2) >= 1 && end_at(s, n, t);
            }
            default:
                break;
            }
        }
    }
    return 0;
}

static int
guard(Text s, Py_ssize_t n)
{
    if (n > 0 && token_at(s, n, 0)) { /* (C) */
        return 1;
    }
    /* (A) and (B) in one pass over the pairs of neighbouring bytes */
    for (Py_ssize_t i = 0; i + 1 < n; i++) {
        unsigned char hit = PREV[s[i]] & NEXT[s[i + 1]];
        if (hit) {
            if ((hit & PAIR_MERGE) || token_at(s, n, i + 1)) {
                return 1;
            }
        }
    }
    return 0;
}

static PyObject *
guard_needs_faithful(PyObject *module, PyObject *text)
{
    (void)module;
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "needs_faithful() argument must be str, not %.100s", Py_TYPE(text)->tp_name);
        return NULL;
    }
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(text, &n);
    if (s == NULL) {
        return NULL; /* UnicodeEncodeError: lone surrogates; the caller uses the regex */
    }
    return PyBool_FromLong(guard((Text)s, n));
}

static PyMethodDef guard_methods[] = {
    {"needs_faithful", guard_needs_faithful, METH_O,
     "needs_faithful(text: str) -> bool\n--\n\n"
     "True when a YAML 1.2 reader might read text unlike Kubernetes does: the answer of\n"
     "kubeward.sources.yamlparse._needs_faithful_regex. Raises UnicodeEncodeError for a\n"
     "text with no UTF-8 (lone surrogates)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef guard_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "kubeward.sources._guard",
    .m_doc = "The YAML loader's guard, in C (see kubeward.sources.yamlparse).",
    .m_size = -1,
    .m_methods = guard_methods,
};

PyMODINIT_FUNC
PyInit__guard(void)
{
    init_tables();
    return PyModule_Create(&guard_module);
}
