/*
 * topicclf._langscan: the word/letter evidence count of topicclf.lang.detect_language in C.
 *
 * Scanner(words, langs, glue, vi_letters, marks, nfc_safe).scan(head) returns
 * (counts, n_vi, n_vi_not_lower), the numbers of lang._latin_scores_py, in one pass over the
 * str buffer and without a Python object per token:
 *
 *   tokens          those of head.replace(g, " ") (every g in glue) .split(): maximal runs of
 *                   characters that are neither whitespace (Py_UNICODE_ISSPACE, as str.split)
 *                   nor glue;
 *   counts          {lang: n} for every lang in langs (in that order): n counts the tokens that
 *                   are a key of `words` (exact, case-sensitive match) whose value, a bit mask,
 *                   has bit langs.index(lang) set;
 *   n_vi            characters of head that are in vi_letters;
 *   n_vi_not_lower  those of them inside tokens for which str.islower() is False.
 *
 * has_mark(text) is bool(re.search("[marks]", text)), where marks lists ranges as pairs of
 * characters (first, last), both included: the non-Latin scripts of lang.py.
 * surely_nfc(text) is True when every character of text is in nfc_safe (lang.py passes
 * characters that are NFC wherever they stand), False when unicodedata must tell.
 *
 * tests/test_lang_fast.py checks all three against the Python code.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_LANGS 32
#define FNV_OFFSET 1469598103934665603ULL
#define FNV_PRIME 1099511628211ULL

#if PY_VERSION_HEX < 0x030C0000  /* legacy (wstr) strings exist up to 3.11 */
#define READY(o) PyUnicode_READY(o)
#else
#define READY(o) 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* Character classes, as bits */
enum { SEP = 1, VI = 2, LOWER = 4, UPPER = 8 /* uppercase or titlecase */, MARK = 16, NFC = 32 };

typedef struct { uint64_t hash; Py_ssize_t off, len; uint32_t langs; } Slot;  /* len 0: empty */

typedef struct {
    PyObject_HEAD
    Py_UCS4 *chars;      /* the words' code points, one after the other */
    Slot *slots;         /* open addressing with linear probing; mask + 1 slots */
    uint64_t mask;
    Py_ssize_t maxlen;   /* longest word: longer tokens are not looked up */
    PyObject *langs;     /* tuple of str */
    uint8_t *bmp;        /* class of every character below 0x10000 */
    Py_UCS4 *astral;     /* glue and Vietnamese letters above 0xFFFF (none, in practice) */
    uint8_t *astral_cls; /* and their SEP or VI bit */
    Py_ssize_t nastral;
    Py_UCS4 *ranges;     /* marks: first, last, first, last... */
    Py_ssize_t nranges;
} Scanner;

static ALWAYS_INLINE uint64_t hash_step(uint64_t h, Py_UCS4 ch) { return (h ^ ch) * FNV_PRIME; }
static ALWAYS_INLINE uint64_t slot_of(const Scanner *s, uint64_t h) { return (h ^ (h >> 32)) & s->mask; }

/* SEP: whitespace for str.split (Py_UNICODE_ISSPACE); LOWER, UPPER: as str.islower sees them */
static unsigned unicode_class(Py_UCS4 ch) {
    return (Py_UNICODE_ISSPACE(ch) ? SEP : 0) | (Py_UNICODE_ISLOWER(ch) ? LOWER : 0)
           | (Py_UNICODE_ISUPPER(ch) || Py_UNICODE_ISTITLE(ch) ? UPPER : 0);
}

static int astral_marked(const Scanner *s, Py_UCS4 ch) {
    for (Py_ssize_t k = 0; k < s->nranges; k += 2)
        if (s->ranges[k] <= ch && ch <= s->ranges[k + 1]) return 1;
    return 0;
}

static ALWAYS_INLINE unsigned char_class(const Scanner *s, Py_UCS4 ch) {
    if (ch < 0x10000) return s->bmp[ch];
    unsigned c = unicode_class(ch);  /* emoji, rare CJK... */
    for (Py_ssize_t k = 0; k < s->nastral; k++)
        if (s->astral[k] == ch) c |= s->astral_cls[k];
    return c;  /* without MARK: scan() does not use it */
}

/* The language mask of the token data[start:start + len] with hash h; 0 if not a word. */
static ALWAYS_INLINE uint32_t lookup(const Scanner *s, uint64_t h, int kind, const void *data,
                                     Py_ssize_t start, Py_ssize_t len) {
    for (uint64_t i = slot_of(s, h);; i = (i + 1) & s->mask) {
        const Slot *sl = &s->slots[i];
        if (sl->len == 0) return 0;
        if (sl->hash != h || sl->len != len) continue;
        const Py_UCS4 *w = s->chars + sl->off;
        Py_ssize_t k = 0;
        while (k < len && w[k] == PyUnicode_READ(kind, data, start + k)) k++;
        if (k == len) return sl->langs;
    }
}

/* The whole scan for one string kind; `kind` is a constant at each call, so the compiler
   makes one loop per kind. */
static ALWAYS_INLINE void scan_kind(const Scanner *s, int kind, const void *data, Py_ssize_t n,
                                    Py_ssize_t *counts, Py_ssize_t *n_vi, Py_ssize_t *n_cap) {
    Py_ssize_t start = 0, len = 0, vi = 0;
    unsigned cases = 0;  /* LOWER | UPPER bits of the token's characters */
    uint64_t h = FNV_OFFSET;
    for (Py_ssize_t i = 0; i <= n; i++) {
        if (i < n) {
            Py_UCS4 ch = PyUnicode_READ(kind, data, i);
            unsigned c = char_class(s, ch);
            if (!(c & SEP)) {  /* one more character of the current token */
                if (len++ == 0) start = i;
                h = hash_step(h, ch);
                vi += (c & VI) != 0;
                cases |= c;
                continue;
            }
        }
        if (len == 0) continue;  /* a separator (or the end) after a separator */
        /* a token ends */
        if (len <= s->maxlen)
            for (uint32_t m = lookup(s, h, kind, data, start, len), b = 0; m; m >>= 1, b++)
                counts[b] += m & 1;
        if (vi) {
            /* str.islower(): a lowercase character and no upper/titlecase one; for a single
               character just ISLOWER (CPython's shortcut) */
            int lower = len == 1 ? (cases & LOWER) != 0 : (cases & (LOWER | UPPER)) == LOWER;
            *n_vi += vi;
            if (!lower) *n_cap += vi;
        }
        len = vi = 0;
        cases = 0;
        h = FNV_OFFSET;
    }
}

static int check_str(PyObject *o, const char *method) {
    if (!PyUnicode_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s() expects str, got %.100s", method, Py_TYPE(o)->tp_name);
        return -1;
    }
    return READY(o);
}

static PyObject *Scanner_scan(Scanner *s, PyObject *head) {
    if (check_str(head, "scan") < 0) return NULL;
    Py_ssize_t counts[MAX_LANGS] = {0}, n_vi = 0, n_cap = 0, n = PyUnicode_GET_LENGTH(head);
    const void *data = PyUnicode_DATA(head);
    switch (PyUnicode_KIND(head)) {
    case PyUnicode_1BYTE_KIND: scan_kind(s, PyUnicode_1BYTE_KIND, data, n, counts, &n_vi, &n_cap); break;
    case PyUnicode_2BYTE_KIND: scan_kind(s, PyUnicode_2BYTE_KIND, data, n, counts, &n_vi, &n_cap); break;
    default: scan_kind(s, PyUnicode_4BYTE_KIND, data, n, counts, &n_vi, &n_cap); break;
    }
    PyObject *dict = PyDict_New();
    if (dict == NULL) return NULL;
    for (Py_ssize_t b = 0; b < PyTuple_GET_SIZE(s->langs); b++) {
        PyObject *v = PyLong_FromSsize_t(counts[b]);
        if (v == NULL || PyDict_SetItem(dict, PyTuple_GET_ITEM(s->langs, b), v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(dict);
            return NULL;
        }
        Py_DECREF(v);
    }
    return Py_BuildValue("(Nnn)", dict, n_vi, n_cap);
}

static PyObject *Scanner_has_mark(Scanner *s, PyObject *text) {
    if (check_str(text, "has_mark") < 0) return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (ch < 0x10000 ? (s->bmp[ch] & MARK) : astral_marked(s, ch)) Py_RETURN_TRUE;
    }
    Py_RETURN_FALSE;
}

static PyObject *Scanner_surely_nfc(Scanner *s, PyObject *text) {
    if (check_str(text, "surely_nfc") < 0) return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (ch >= 0x10000 || !(s->bmp[ch] & NFC)) Py_RETURN_FALSE;
    }
    Py_RETURN_TRUE;
}

static void Scanner_dealloc(Scanner *s) {
    PyMem_Free(s->chars);
    PyMem_Free(s->slots);
    Py_XDECREF(s->langs);
    PyMem_Free(s->bmp);
    PyMem_Free(s->astral);
    PyMem_Free(s->astral_cls);
    PyMem_Free(s->ranges);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static PyObject *Scanner_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"words", "langs", "glue", "vi_letters", "marks", "nfc_safe", NULL};
    PyObject *words, *langs, *glue, *vi_letters, *marks, *nfc_safe, *key, *value;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!O!UUUU:Scanner", kwlist, &PyDict_Type, &words,
                                     &PyTuple_Type, &langs, &glue, &vi_letters, &marks, &nfc_safe))
        return NULL;
    Py_ssize_t nlangs = PyTuple_GET_SIZE(langs);
    if (nlangs > MAX_LANGS) return PyErr_Format(PyExc_ValueError, "at most %d langs", MAX_LANGS);
    Scanner *s = (Scanner *)type->tp_alloc(type, 0);  /* zero-filled */
    if (s == NULL) return NULL;
    Py_INCREF(langs);
    s->langs = langs;
    if (READY(glue) < 0 || READY(vi_letters) < 0 || READY(marks) < 0 || READY(nfc_safe) < 0)
        goto fail;

    /* words: code points into s->chars, one slot each in a table at most half full */
    Py_ssize_t pos = 0, total = 0, off = 0;
    while (PyDict_Next(words, &pos, &key, &value)) {
        if (!PyUnicode_Check(key)) {
            PyErr_SetString(PyExc_TypeError, "words: keys must be str");
            goto fail;
        }
        if (READY(key) < 0) goto fail;
        total += PyUnicode_GET_LENGTH(key);
    }
    uint64_t size = 16;
    while (size < 2 * (uint64_t)PyDict_GET_SIZE(words)) size *= 2;
    s->mask = size - 1;
    s->chars = PyMem_Malloc(sizeof(Py_UCS4) * (total + 1));
    s->slots = PyMem_Calloc(size, sizeof(Slot));
    if (s->chars == NULL || s->slots == NULL) { PyErr_NoMemory(); goto fail; }
    pos = 0;
    while (PyDict_Next(words, &pos, &key, &value)) {
        unsigned long long mask = PyLong_AsUnsignedLongLong(value);
        if (mask == (unsigned long long)-1 && PyErr_Occurred()) goto fail;
        if (mask >> nlangs) {  /* nlangs <= 32: a defined shift */
            PyErr_SetString(PyExc_ValueError, "words: a language mask has a bit >= len(langs)");
            goto fail;
        }
        Py_ssize_t len = PyUnicode_GET_LENGTH(key);
        if (len == 0) continue;  /* str.split() never gives an empty token */
        int kind = PyUnicode_KIND(key);
        const void *data = PyUnicode_DATA(key);
        uint64_t h = FNV_OFFSET;
        for (Py_ssize_t k = 0; k < len; k++) {
            s->chars[off + k] = PyUnicode_READ(kind, data, k);
            h = hash_step(h, s->chars[off + k]);
        }
        uint64_t i = slot_of(s, h);
        while (s->slots[i].len != 0) i = (i + 1) & s->mask;  /* dict keys: no duplicates */
        s->slots[i] = (Slot){h, off, len, (uint32_t)mask};
        off += len;
        if (len > s->maxlen) s->maxlen = len;
    }

    /* character classes: the BMP in a table; glue and Vietnamese letters above it in a list,
       marks above it through their ranges */
    Py_ssize_t nglue = PyUnicode_GET_LENGTH(glue), nvi = PyUnicode_GET_LENGTH(vi_letters);
    s->nranges = PyUnicode_GET_LENGTH(marks);
    if (s->nranges % 2) {
        PyErr_SetString(PyExc_ValueError, "marks: pairs of characters");
        goto fail;
    }
    s->bmp = PyMem_Malloc(0x10000);
    s->astral = PyMem_Malloc(sizeof(Py_UCS4) * (nglue + nvi + 1));
    s->astral_cls = PyMem_Malloc(nglue + nvi + 1);
    s->ranges = PyMem_Malloc(sizeof(Py_UCS4) * (s->nranges + 1));
    if (!s->bmp || !s->astral || !s->astral_cls || !s->ranges) { PyErr_NoMemory(); goto fail; }
    for (Py_UCS4 ch = 0; ch < 0x10000; ch++) s->bmp[ch] = (uint8_t)unicode_class(ch);
    for (Py_ssize_t k = 0; k < nglue + nvi; k++) {
        Py_UCS4 ch = k < nglue ? PyUnicode_READ_CHAR(glue, k)
                               : PyUnicode_READ_CHAR(vi_letters, k - nglue);
        uint8_t bit = k < nglue ? SEP : VI;
        if (ch < 0x10000) {
            s->bmp[ch] |= bit;
        } else {
            s->astral[s->nastral] = ch;
            s->astral_cls[s->nastral++] = bit;
        }
    }
    for (Py_ssize_t k = 0; k < s->nranges; k += 2) {
        Py_UCS4 first = PyUnicode_READ_CHAR(marks, k), last = PyUnicode_READ_CHAR(marks, k + 1);
        s->ranges[k] = first;
        s->ranges[k + 1] = last;
        for (Py_UCS4 ch = first; ch <= last && ch < 0x10000; ch++) s->bmp[ch] |= MARK;
    }
    for (Py_ssize_t k = 0; k < PyUnicode_GET_LENGTH(nfc_safe); k++) {
        Py_UCS4 ch = PyUnicode_READ_CHAR(nfc_safe, k);
        if (ch < 0x10000) s->bmp[ch] |= NFC;  /* above: surely_nfc() says False */
    }
    return (PyObject *)s;
fail:
    Py_DECREF(s);
    return NULL;
}

static PyMethodDef Scanner_methods[] = {
    {"scan", (PyCFunction)Scanner_scan, METH_O,
     "scan(head: str) -> ({lang: words}, n_vi, n_vi_not_lower)"},
    {"has_mark", (PyCFunction)Scanner_has_mark, METH_O,
     "has_mark(text: str) -> bool: whether a character of text is in one of the marks ranges"},
    {"surely_nfc", (PyCFunction)Scanner_surely_nfc, METH_O,
     "surely_nfc(text: str) -> bool: whether every character of text is in nfc_safe"},
    {NULL}
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "topicclf._langscan.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Scanner(words: dict[str, int], langs: tuple[str, ...], glue: str, vi_letters: str,"
              " marks: str, nfc_safe: str)\n\n"
              "Counts lexicon words per language and Vietnamese-only letters.",
    .tp_methods = Scanner_methods,
    .tp_new = Scanner_new,
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, .m_name = "_langscan", .m_doc = "C evidence count of topicclf.lang",
    .m_size = -1};

PyMODINIT_FUNC PyInit__langscan(void) {
    if (PyType_Ready(&ScannerType) < 0) return NULL;
    PyObject *m = PyModule_Create(&moduledef);
    if (m == NULL) return NULL;
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(m, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(&ScannerType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
