/*
 * kubeward._tree: C ports of two tree walks: the engine's copying at release time
 * (interned_tree) and the inventory's dig (see dig below).
 *
 * interned_tree(value, longest=None) returns what kubeward.engine._interned_tree
 * returns (share_strings copies the objects kept whole with it, release_resource the
 * identity it keeps); engine.py is the reference and every step below names the
 * Python it mirrors.
 *
 * _interned_tree, spelled out:
 *     if isinstance(value, str):  sys.intern(value) if longest is None or len(value) <= longest else value
 *     if isinstance(value, dict): {sys.intern(k) if isinstance(k, str) else k: <copy of v> for k, v in value.items()}
 *     if isinstance(value, list): [<copy of v> for v in value]
 *     else: value (the same object: tuples, numbers, None, bytes...)
 *
 * Exact str, dict and list (all a YAML or JSON loader makes) take fast paths. Every
 * other type is tested with isinstance, as Python does (so subclasses and objects
 * whose __class__ claims str count), and then read through the same protocols the
 * Python uses: len(), value.items(), iter(). What that implies, as in Python:
 *   - a str subclass (key, or value to intern) raises TypeError("can't intern X"),
 *     a non-str that claims str "intern() argument must be str, not X": sys.intern's words;
 *   - the copies of dict and list subclasses are plain dicts and lists;
 *   - containers are built as the comprehensions build them (an empty dict then one
 *     insertion per key, a list grown by appends), so they take the same memory.
 *
 * Differences, by design:
 *   - longest must be None or an int (Python would compare len() with any number);
 *   - recursion: each nested dict or list counts one level (Py_EnterRecursiveCall),
 *     where the Python spends two frames (the call and the comprehension). Hostile
 *     depth raises RecursionError in both, but the C copy goes about twice as deep
 *     before it does (share_strings then interns what Python would have left as is;
 *     the content is the same either way).
 *
 * Memory safety: a reference is held to every key, value and item while it is
 * copied, so that Python code run meanwhile (a custom key's __hash__, a subclass's
 * __len__) cannot free it; an exact dict that changes size while it is copied raises
 * RuntimeError as its items() iterator would, and an exact list is read at its live
 * size, as its iterator reads it.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *ITEMS; /* "items" */

/* longest: strs up to `longest` characters are interned; every one when !bounded */
typedef struct {
    int bounded;
    Py_ssize_t longest;
} Limit;

static PyObject *copy_tree(PyObject *value, const Limit *limit);

/* isinstance(v, cls) for cls str, dict or list. The exact built-in types a loader
 * makes answer at once (their instances cannot claim another __class__). */
static int
is_instance(PyObject *v, PyTypeObject *cls)
{
    PyTypeObject *tp = Py_TYPE(v);
    if (tp == cls) {
        return 1;
    }
    if (tp == &PyUnicode_Type || tp == &PyDict_Type || tp == &PyList_Type || tp == &PyLong_Type ||
        tp == &PyFloat_Type || tp == &PyBool_Type || v == Py_None || tp == &PyTuple_Type || tp == &PyBytes_Type) {
        return 0;
    }
    return PyObject_IsInstance(v, (PyObject *)cls);
}

/* sys.intern(s): a new reference to the interned equal str, or sys.intern's TypeError */
static PyObject *
intern(PyObject *s)
{
    if (PyUnicode_CheckExact(s)) {
        Py_INCREF(s);
        PyUnicode_InternInPlace(&s); /* may replace our reference by the interned str's */
        return s;
    }
    if (PyUnicode_Check(s)) {
        PyErr_Format(PyExc_TypeError, "can't intern %.400s", Py_TYPE(s)->tp_name);
    } else {
        PyErr_Format(PyExc_TypeError, "intern() argument must be str, not %.50s",
                     s == Py_None ? "None" : Py_TYPE(s)->tp_name);
    }
    return NULL;
}

/* the key of a copied dict: sys.intern(k) if isinstance(k, str) else k */
static PyObject *
copy_key(PyObject *k)
{
    int is_str = is_instance(k, &PyUnicode_Type);
    if (is_str < 0) {
        return NULL;
    }
    if (is_str) {
        return intern(k);
    }
    Py_INCREF(k);
    return k;
}

/* {copy_key(k): copy_tree(v) for k, v in d.items()}, d an exact dict */
static PyObject *
copy_dict(PyObject *d, const Limit *limit)
{
    if (Py_EnterRecursiveCall(" while copying a tree")) {
        return NULL;
    }
    PyObject *out = PyDict_New();
    if (out == NULL) {
        goto done;
    }
    Py_ssize_t pos = 0, size = PyDict_GET_SIZE(d);
    PyObject *k, *v;
    while (PyDict_Next(d, &pos, &k, &v)) {
        Py_INCREF(k);
        Py_INCREF(v);
        PyObject *key = copy_key(k); /* the key first, as the comprehension does */
        PyObject *val = key == NULL ? NULL : copy_tree(v, limit);
        int failed = val == NULL || PyDict_SetItem(out, key, val) < 0;
        Py_XDECREF(key);
        Py_XDECREF(val);
        Py_DECREF(k);
        Py_DECREF(v);
        if (failed) {
            Py_CLEAR(out);
            goto done;
        }
        if (PyDict_GET_SIZE(d) != size) { /* what the items() iterator says next */
            PyErr_SetString(PyExc_RuntimeError, "dictionary changed size during iteration");
            Py_CLEAR(out);
            goto done;
        }
    }
done:
    Py_LeaveRecursiveCall();
    return out;
}

/* [copy_tree(v) for v in l], l an exact list (read at its live size, as its iterator does) */
static PyObject *
copy_list(PyObject *l, const Limit *limit)
{
    if (Py_EnterRecursiveCall(" while copying a tree")) {
        return NULL;
    }
    PyObject *out = PyList_New(0); /* grown by appends: the comprehension's allocation */
    if (out == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(l); i++) {
        PyObject *item = PyList_GET_ITEM(l, i);
        Py_INCREF(item);
        PyObject *copy = copy_tree(item, limit);
        Py_DECREF(item);
        int failed = copy == NULL || PyList_Append(out, copy) < 0;
        Py_XDECREF(copy);
        if (failed) {
            Py_CLEAR(out);
            goto done;
        }
    }
done:
    Py_LeaveRecursiveCall();
    return out;
}

/* `for k, v in ...`: unpack an item into two new references, with Python's errors */
static int
unpack_pair(PyObject *pair, PyObject **first, PyObject **second)
{
    if (PyTuple_CheckExact(pair) && PyTuple_GET_SIZE(pair) == 2) {
        *first = Py_NewRef(PyTuple_GET_ITEM(pair, 0));
        *second = Py_NewRef(PyTuple_GET_ITEM(pair, 1));
        return 0;
    }
    PyObject *it = PyObject_GetIter(pair);
    if (it == NULL) {
        if (PyErr_ExceptionMatches(PyExc_TypeError) && Py_TYPE(pair)->tp_iter == NULL && !PySequence_Check(pair)) {
            PyErr_Format(PyExc_TypeError, "cannot unpack non-iterable %.200s object", Py_TYPE(pair)->tp_name);
        }
        return -1;
    }
    PyObject *got[2] = {NULL, NULL};
    int n = 0;
    for (; n < 2; n++) {
        got[n] = PyIter_Next(it);
        if (got[n] == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_Format(PyExc_ValueError, "not enough values to unpack (expected 2, got %d)", n);
            }
            goto fail;
        }
    }
    PyObject *extra = PyIter_Next(it);
    if (extra != NULL) {
        Py_DECREF(extra);
        PyErr_SetString(PyExc_ValueError, "too many values to unpack (expected 2)");
        goto fail;
    }
    if (PyErr_Occurred()) {
        goto fail;
    }
    Py_DECREF(it);
    *first = got[0];
    *second = got[1];
    return 0;
fail:
    Py_XDECREF(got[0]);
    Py_XDECREF(got[1]);
    Py_DECREF(it);
    return -1;
}

/* a dict subclass (or a claimed dict): {copy_key(k): copy_tree(v) for k, v in value.items()} */
static PyObject *
copy_dict_like(PyObject *value, const Limit *limit)
{
    PyObject *items = PyObject_CallMethodNoArgs(value, ITEMS);
    if (items == NULL) {
        return NULL;
    }
    PyObject *it = PyObject_GetIter(items);
    Py_DECREF(items);
    if (it == NULL) {
        return NULL;
    }
    PyObject *out = NULL, *pair;
    if (Py_EnterRecursiveCall(" while copying a tree")) {
        Py_DECREF(it);
        return NULL;
    }
    out = PyDict_New();
    while (out != NULL && (pair = PyIter_Next(it)) != NULL) {
        PyObject *k, *v;
        int failed = unpack_pair(pair, &k, &v) < 0;
        Py_DECREF(pair);
        if (!failed) {
            PyObject *key = copy_key(k);
            PyObject *val = key == NULL ? NULL : copy_tree(v, limit);
            failed = val == NULL || PyDict_SetItem(out, key, val) < 0;
            Py_XDECREF(key);
            Py_XDECREF(val);
            Py_DECREF(k);
            Py_DECREF(v);
        }
        if (failed) {
            Py_CLEAR(out);
        }
    }
    if (out != NULL && PyErr_Occurred()) {
        Py_CLEAR(out);
    }
    Py_LeaveRecursiveCall();
    Py_DECREF(it);
    return out;
}

/* a list subclass (or a claimed list): [copy_tree(v) for v in value] */
static PyObject *
copy_list_like(PyObject *value, const Limit *limit)
{
    PyObject *it = PyObject_GetIter(value);
    if (it == NULL) {
        return NULL;
    }
    if (Py_EnterRecursiveCall(" while copying a tree")) {
        Py_DECREF(it);
        return NULL;
    }
    PyObject *out = PyList_New(0), *item;
    while (out != NULL && (item = PyIter_Next(it)) != NULL) {
        PyObject *copy = copy_tree(item, limit);
        Py_DECREF(item);
        if (copy == NULL || PyList_Append(out, copy) < 0) {
            Py_CLEAR(out);
        }
        Py_XDECREF(copy);
    }
    if (out != NULL && PyErr_Occurred()) {
        Py_CLEAR(out);
    }
    Py_LeaveRecursiveCall();
    Py_DECREF(it);
    return out;
}

/* _interned_tree(value, longest): a new reference, or NULL with an exception */
static PyObject *
copy_tree(PyObject *value, const Limit *limit)
{
    PyTypeObject *tp = Py_TYPE(value);
    if (tp == &PyUnicode_Type) {
        if (!limit->bounded || PyUnicode_GET_LENGTH(value) <= limit->longest) {
            return intern(value);
        }
        return Py_NewRef(value);
    }
    if (tp == &PyDict_Type) {
        return copy_dict(value, limit);
    }
    if (tp == &PyList_Type) {
        return copy_list(value, limit);
    }
    if (tp == &PyLong_Type || tp == &PyFloat_Type || tp == &PyBool_Type || value == Py_None || tp == &PyTuple_Type ||
        tp == &PyBytes_Type) {
        return Py_NewRef(value);
    }
    /* anything else: the isinstance tests, in the Python's order */
    int is = PyObject_IsInstance(value, (PyObject *)&PyUnicode_Type);
    if (is < 0) {
        return NULL;
    }
    if (is) {
        if (limit->bounded) {
            Py_ssize_t n = PyObject_Length(value); /* len(value): a subclass's __len__ */
            if (n < 0) {
                return NULL;
            }
            if (n > limit->longest) {
                return Py_NewRef(value);
            }
        }
        return intern(value);
    }
    is = PyObject_IsInstance(value, (PyObject *)&PyDict_Type);
    if (is) {
        return is < 0 ? NULL : copy_dict_like(value, limit);
    }
    is = PyObject_IsInstance(value, (PyObject *)&PyList_Type);
    if (is) {
        return is < 0 ? NULL : copy_list_like(value, limit);
    }
    return Py_NewRef(value);
}

/* ---- the module ------------------------------------------------------------------------- */

static PyObject *
tree_interned_tree(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    (void)module;
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    if (nargs < 1 || nargs + nkw > 2) {
        PyErr_Format(PyExc_TypeError, "interned_tree() takes a value and an optional longest (%zd arguments given)",
                     nargs + nkw);
        return NULL;
    }
    if (nkw && PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), "longest") != 0) {
        PyErr_Format(PyExc_TypeError, "interned_tree() got an unexpected keyword argument '%U'",
                     PyTuple_GET_ITEM(kwnames, 0));
        return NULL;
    }
    Limit limit = {0, 0};
    PyObject *longest = nargs + nkw == 2 ? args[1] : Py_None;
    if (longest != Py_None) {
        if (!PyLong_Check(longest)) {
            PyErr_Format(PyExc_TypeError, "interned_tree() longest must be None or an int, not %.100s",
                         Py_TYPE(longest)->tp_name);
            return NULL;
        }
        int overflow;
        long long n = PyLong_AsLongLongAndOverflow(longest, &overflow);
        if (n == -1 && PyErr_Occurred()) {
            return NULL;
        }
        /* beyond any length: every str, or none */
        limit.bounded = overflow <= 0;
        limit.longest = overflow < 0 || n < 0 ? -1 : n > PY_SSIZE_T_MAX ? PY_SSIZE_T_MAX : (Py_ssize_t)n;
    }
    return copy_tree(args[0], &limit);
}

/* ------------------------------------------------------------------------------------------
 * dig(obj, *keys): what kubeward.inventory._dig returns, the checks' way into a manifest:
 *
 *     for key in keys:
 *         if isinstance(obj, dict) and not isinstance(key, int): obj = obj.get(key)
 *         elif isinstance(obj, list) and isinstance(key, int) and key < len(obj): obj = obj[key]
 *         else: return None
 *     return obj
 *
 * Exact dicts and lists with a str or small int key (every call the checks make on what a
 * loader made) take the fast path; everything else goes through the same protocols as the
 * Python (obj.get, len(), <, obj[key]), so subclasses, negative and huge indexes, and
 * unhashable keys give the same answers and the same exceptions. A reference is held to
 * the current object at each step. */

static PyObject *GET; /* "get" */

/* isinstance(key, int): bool is an int */
static int
is_int(PyObject *key)
{
    PyTypeObject *tp = Py_TYPE(key);
    if (tp == &PyLong_Type || tp == &PyBool_Type) {
        return 1;
    }
    if (tp == &PyUnicode_Type || tp == &PyFloat_Type || key == Py_None || tp == &PyTuple_Type) {
        return 0;
    }
    return PyObject_IsInstance(key, (PyObject *)&PyLong_Type);
}

/* One step of dig: a new reference to the next object, Py_None's when the step fails
 * (*stop set), or NULL with an exception. */
static PyObject *
dig_step(PyObject *obj, PyObject *key, int *stop)
{
    int key_is_int = is_int(key);
    if (key_is_int < 0) {
        return NULL;
    }
    if (!key_is_int) {
        if (Py_TYPE(obj) == &PyDict_Type) {
            PyObject *found = PyDict_GetItemWithError(obj, key); /* borrowed */
            if (found == NULL && PyErr_Occurred()) {
                return NULL;
            }
            return Py_NewRef(found != NULL ? found : Py_None);
        }
        int is_dict = is_instance(obj, &PyDict_Type);
        if (is_dict < 0) {
            return NULL;
        }
        if (is_dict) {
            return PyObject_CallMethodOneArg(obj, GET, key);
        }
    } else {
        if (Py_TYPE(obj) == &PyList_Type && Py_TYPE(key) == &PyLong_Type) {
            int overflow;
            long long index = PyLong_AsLongLongAndOverflow(key, &overflow);
            if (!overflow && index >= 0) {
                if (index < PyList_GET_SIZE(obj)) {
                    return Py_NewRef(PyList_GET_ITEM(obj, (Py_ssize_t)index));
                }
                *stop = 1;
                return Py_NewRef(Py_None);
            }
        }
        int is_list = is_instance(obj, &PyList_Type);
        if (is_list < 0) {
            return NULL;
        }
        if (is_list) { /* key < len(obj), then obj[key]: as Python does it */
            Py_ssize_t n = PyObject_Size(obj);
            if (n < 0) {
                return NULL;
            }
            PyObject *size = PyLong_FromSsize_t(n);
            if (size == NULL) {
                return NULL;
            }
            int below = PyObject_RichCompareBool(key, size, Py_LT);
            Py_DECREF(size);
            if (below < 0) {
                return NULL;
            }
            if (below) {
                return PyObject_GetItem(obj, key);
            }
        }
    }
    *stop = 1;
    return Py_NewRef(Py_None);
}

static PyObject *
tree_dig(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs < 1) {
        PyErr_SetString(PyExc_TypeError, "dig() missing 1 required positional argument: 'obj'");
        return NULL;
    }
    PyObject *obj = Py_NewRef(args[0]);
    for (Py_ssize_t i = 1; i < nargs; i++) {
        int stop = 0;
        PyObject *next = dig_step(obj, args[i], &stop);
        Py_DECREF(obj);
        if (next == NULL || stop) {
            return next;
        }
        obj = next;
    }
    return obj;
}

static PyMethodDef tree_methods[] = {
    {"dig", (PyCFunction)(void (*)(void))tree_dig, METH_FASTCALL,
     "dig(obj, *keys)\n--\n\n"
     "obj[k1][k2]... or None when a step is missing or of the wrong type: kubeward.inventory._dig."},
    {"interned_tree", (PyCFunction)(void (*)(void))tree_interned_tree, METH_FASTCALL | METH_KEYWORDS,
     "interned_tree(value, /, longest=None)\n--\n\n"
     "A copy of a tree (dicts and lists) with its str keys and its str values (up to\n"
     "``longest`` characters, if given) interned: kubeward.engine._interned_tree."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef tree_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "kubeward._tree",
    .m_doc = "The engine's tree copying at release time, in C (see kubeward.engine).",
    .m_size = -1,
    .m_methods = tree_methods,
};

PyMODINIT_FUNC
PyInit__tree(void)
{
    ITEMS = PyUnicode_InternFromString("items");
    GET = PyUnicode_InternFromString("get");
    if (ITEMS == NULL || GET == NULL) {
        return NULL;
    }
    return PyModule_Create(&tree_module);
}
