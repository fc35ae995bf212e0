/*
 * topicclf._textfast: the common case of topicclf.text.normalize in C.
 *
 * normalize_fast(s) returns exactly text._normalize_py(s), or None when s needs the general
 * Python path (tests compare the two). The rules come from text.py through configure(), so
 * that no constant is written twice:
 *
 *   table          text._TABLE: deletions, spaces, line breaks, Latin eth
 *   safe_ranges    ranges of code points >= U+0300 that NFC leaves alone next to any
 *                  neighbour, as it does every code point below U+0300 (canonical class 0,
 *                  never decomposed, never the second half of a composition). A text with
 *                  any other character (combining marks, Hangul, emoji...) returns None: the
 *                  C code never has to normalise, only to check that NFC is a no-op.
 *   tone_map, initials   text._TONE_MAP and text._INITIALS, for the tone-mark fix
 *   looks_html     text._LOOKS_HTML_RE.search: a text with "<" or "&" is accepted only when
 *                  this finds nothing, i.e. when the Python path would skip HTML handling
 *   boilerplate, boilerplate_max, min_dup_len   the line filter of text._clean_lines
 *
 * The text is translated into a UCS4 buffer; the tone fix and the line clean-up then work in
 * place on that buffer, and the result is built from it (PyUnicode_FromKindAndData picks the
 * narrowest kind).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define LOW 0x300     /* every code point below this is NFC-safe */
#define MAP_END 0x1F00 /* map[] covers Latin, Vietnamese and everything between */
/* map[] codes above any character it may produce */
enum { M_MARKUP = 0xFFFC, M_CR, M_FALLBACK, M_DROP };
enum { FIRST = 1, SECOND = 2 }; /* roles in a tone-map pair: "o" + "à" */
#define MAX_HIGH 64
#define MAX_RANGES 16

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* Translation of c < MAP_END in one table look-up, so that the loop over the text has a
   single rarely taken branch: "<" and "&" (M_MARKUP), "\r" (M_CR: "\r\n" is one break),
   characters to delete and characters that are not NFC-safe. */
static uint16_t map[MAP_END];
static Py_UCS4 cr_to;
static Py_UCS4 high_key[MAX_HIGH], high_val[MAX_HIGH]; /* table entries >= MAP_END */
static int n_high;
static Py_UCS4 range_lo[MAX_RANGES], range_hi[MAX_RANGES];
static int n_ranges;
static unsigned char role[MAP_END];
static PyObject *tone_map, *initials, *looks_html, *boilerplate, *casefold_name, *lower_name;
static Py_ssize_t bp_max, min_dup;
static int configured;

static int in_ranges(Py_UCS4 c) {
    for (int k = 0; k < n_ranges; k++)
        if (c >= range_lo[k] && c <= range_hi[k]) return 1;
    return 0;
}

static Py_UCS4 map_high(Py_UCS4 c) { /* map[] for c >= MAP_END */
    if (in_ranges(c)) return c;
    for (int k = 0; k < n_high; k++)
        if (high_key[k] == c) return high_val[k];
    return M_FALLBACK;
}

static PyObject *str_of(const Py_UCS4 *p, Py_ssize_t n) {
    return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, p, n);
}

/* 1 if str(p[:n]).<method>() is in the set, 0 if not, -1 on error. */
static int key_in(PyObject *set, PyObject *method, const Py_UCS4 *p, Py_ssize_t n) {
    PyObject *t = str_of(p, n);
    if (!t) return -1;
    PyObject *key = PyObject_CallMethodNoArgs(t, method);
    Py_DECREF(t);
    if (!key) return -1;
    int r = PySet_Contains(set, key);
    Py_DECREF(key);
    return r;
}

static int one_char(PyObject *o, Py_ssize_t len, const char *what) {
    if (PyUnicode_Check(o) && PyUnicode_GET_LENGTH(o) == len) return 0;
    PyErr_Format(PyExc_ValueError, "configure: %s must be a %zd-character str", what, len);
    return -1;
}

static PyObject *configure(PyObject *self, PyObject *args) {
    PyObject *table, *ranges, *tmap, *inits, *html, *bp, *key, *val;
    Py_ssize_t bmax, mdup, pos = 0;
    if (!PyArg_ParseTuple(args, "O!O!O!O!OO!nn:configure", &PyDict_Type, &table, &PyTuple_Type,
                          &ranges, &PyDict_Type, &tmap, &PyFrozenSet_Type, &inits, &html,
                          &PyFrozenSet_Type, &bp, &bmax, &mdup))
        return NULL;
    configured = 0;
    if (!PyCallable_Check(html) || mdup < 1 || PyTuple_GET_SIZE(ranges) > MAX_RANGES) {
        PyErr_SetString(PyExc_ValueError, "configure: bad looks_html, min_dup_len or ranges");
        return NULL;
    }
    n_ranges = 0;
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(ranges); k++) {
        unsigned int lo, hi;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(ranges, k), "II", &lo, &hi)) return NULL;
        if (lo < LOW || hi < lo) return PyErr_Format(PyExc_ValueError, "configure: bad range");
        range_lo[n_ranges] = lo, range_hi[n_ranges++] = hi;
    }
    for (Py_UCS4 c = 0; c < MAP_END; c++) map[c] = c < LOW || in_ranges(c) ? c : M_FALLBACK;
    n_high = 0;
    while (PyDict_Next(table, &pos, &key, &val)) {
        long c = PyLong_AsLong(key);
        if (c == -1 && PyErr_Occurred()) return NULL;
        Py_UCS4 to = M_DROP;
        if (val != Py_None) {
            if (one_char(val, 1, "a table value") < 0) return NULL;
            to = PyUnicode_READ_CHAR(val, 0);
        }
        /* the table must produce NFC-safe characters, and a safe range must not hide a
           table entry (map_high checks the ranges first) */
        if (c < 0 || c > 0x10FFFF || (c >= LOW && in_ranges((Py_UCS4)c)) ||
            (to != M_DROP && (to >= M_MARKUP || (to >= LOW && !in_ranges(to)))) ||
            to == '<' || to == '&' || (c >= MAP_END && n_high == MAX_HIGH))
            return PyErr_Format(PyExc_ValueError, "configure: unsupported table entry %ld", c);
        if (c < MAP_END) map[c] = (uint16_t)to;
        else high_key[n_high] = (Py_UCS4)c, high_val[n_high++] = to;
    }
    if (map['<'] != '<' || map['&'] != '&')
        return PyErr_Format(PyExc_ValueError, "configure: the table must keep '<' and '&'");
    cr_to = map['\r'];
    map['\r'] = M_CR, map['<'] = M_MARKUP, map['&'] = M_MARKUP;
    memset(role, 0, sizeof role);
    pos = 0;
    while (PyDict_Next(tmap, &pos, &key, &val)) {
        if (one_char(key, 2, "a tone-map key") < 0 || one_char(val, 2, "a tone-map value") < 0)
            return NULL;
        Py_UCS4 a = PyUnicode_READ_CHAR(key, 0), b = PyUnicode_READ_CHAR(key, 1);
        if (a >= MAP_END || b >= MAP_END)
            return PyErr_Format(PyExc_ValueError, "configure: unsupported tone-map key");
        role[a] |= FIRST, role[b] |= SECOND;
    }
    Py_INCREF(tmap);
    Py_XSETREF(tone_map, tmap);
    Py_INCREF(inits);
    Py_XSETREF(initials, inits);
    Py_INCREF(html);
    Py_XSETREF(looks_html, html);
    Py_INCREF(bp);
    Py_XSETREF(boilerplate, bp);
    bp_max = bmax, min_dup = mdup, configured = 1;
    Py_RETURN_NONE;
}

/* text._fix_tones in place. Its regex matches a toned second vowel after its first vowel
   ("oà", "uỷ": a tone-map key) not followed by a letter or digit ((?![^\W_]): \w minus "_" is
   Py_UNICODE_ISALNUM in the re module; marks cannot follow, they are not NFC-safe). Editing
   in place is fine: the checks for a later pair never read an earlier one, which is followed
   by a non-letter that stops the walk back over the initial. */
static int fix_tones(Py_UCS4 *buf, Py_ssize_t n) {
    for (Py_ssize_t k = 1; k < n; k++) {
        Py_UCS4 a = buf[k - 1], b = buf[k];
        if (b >= MAP_END || !(role[b] & SECOND) || a >= MAP_END || !(role[a] & FIRST)) continue;
        if (k + 1 < n && Py_UNICODE_ISALNUM(buf[k + 1])) continue;
        PyObject *pair = str_of(buf + k - 1, 2);
        if (!pair) return -1;
        PyObject *rep = PyDict_GetItemWithError(tone_map, pair); /* borrowed */
        Py_DECREF(pair);
        if (!rep) {
            if (PyErr_Occurred()) return -1;
            continue;
        }
        Py_ssize_t j = k - 1, i = j;
        while (i > 0 && j - i <= 3 && Py_UNICODE_ISALPHA(buf[i - 1])) i--;
        if (i > 0 && Py_UNICODE_ISALPHA(buf[i - 1])) continue; /* too long to be an initial */
        int r = key_in(initials, lower_name, buf + i, j - i);   /* str.lower, not per char */
        if (r < 0) return -1;
        if (r) buf[j] = PyUnicode_READ_CHAR(rep, 0), buf[k] = PyUnicode_READ_CHAR(rep, 1);
    }
    return 0;
}

/* Four independent multiply chains over pairs of characters, then a final mix: one chain
   (FNV) costs ~4 cycles a character, most of the time of the whole function. Equal hashes
   are confirmed with memcmp. */
static uint64_t hash_line(const Py_UCS4 *p, Py_ssize_t n) {
    const uint64_t K = 0x9E3779B97F4A7C15ULL;
    uint64_t h[4] = {(uint64_t)n, 1, 2, 3}, x;
    Py_ssize_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int j = 0; j < 4; j++) {
            memcpy(&x, p + k + 2 * j, sizeof x);
            h[j] = (h[j] ^ x) * K;
        }
    for (; k < n; k++) h[0] = (h[0] ^ p[k]) * K;
    x = h[0] ^ (h[1] << 16 | h[1] >> 48) ^ (h[2] << 32 | h[2] >> 32) ^ (h[3] << 48 | h[3] >> 16);
    x ^= x >> 32; /* the multiplications only carry bits upwards: fold the high half down */
    x *= K;
    return x ^ x >> 29;
}

typedef struct { Py_ssize_t start, len; uint64_t h; } Seen; /* len 0: empty slot */

/* text._clean_lines in place; returns the new length, or -1 on error. Each kept line is
   written at w plus its separator ("\n", or "\n\n" after a blank line); that never passes
   the read position, because the input had at least as many "\n" there, and each character
   written was read first. Kept lines of min_dup+ characters stay where they were written, so
   the table of seen lines points into the output. */
static Py_ssize_t clean_lines(Py_UCS4 *buf, Py_ssize_t n) {
    Seen *seen = NULL;
    uint64_t mask = 0;
    Py_ssize_t r = 0, w = 0;
    int any = 0, blank = 0;
    while (r <= n) { /* n "\n" make n + 1 lines, as in str.split */
        Py_ssize_t pos = w + (any ? 1 + blank : 0), len = 0;
        int after_space = 1; /* a space at the start or after a space is dropped */
        for (; r < n && buf[r] != '\n'; r++) {
            int space = buf[r] == ' ';
            buf[pos + len] = buf[r]; /* branch-free: kept only if len moves on */
            len += !(space & after_space);
            after_space = space;
        }
        r++;
        if (len && buf[pos + len - 1] == ' ') len--; /* strip the right */
        if (!len) {
            blank = 1;
            continue;
        }
        if (len <= bp_max) {
            int b = key_in(boilerplate, casefold_name, buf + pos, len);
            if (b < 0) goto error;
            if (b) continue;
        }
        if (len >= min_dup) {
            if (!seen) { /* at most n / (min_dup + 1) + 1 such lines: load <= 1/2 */
                uint64_t cap = 16;
                while (cap < 2 * (uint64_t)(n / min_dup + 1)) cap *= 2;
                if (!(seen = PyMem_Calloc(cap, sizeof *seen))) {
                    PyErr_NoMemory();
                    goto error;
                }
                mask = cap - 1;
            }
            uint64_t h = hash_line(buf + pos, len);
            uint64_t s = h & mask;
            while (seen[s].len && !(seen[s].h == h && seen[s].len == len &&
                                    !memcmp(buf + seen[s].start, buf + pos, len * sizeof *buf)))
                s = (s + 1) & mask;
            if (seen[s].len) continue; /* a repeat */
            seen[s] = (Seen){pos, len, h};
        }
        if (any) {
            buf[w++] = '\n';
            if (blank) buf[w++] = '\n';
        }
        any = 1, blank = 0, w = pos + len;
    }
    PyMem_Free(seen);
    return w;
error:
    PyMem_Free(seen);
    return -1;
}

/* The character pass: src[0:n] translated into buf. Returns the new length, or -1 if the text
   needs the Python path; *flags gets 1 if a "<" or "&" was seen, 2 if a tone-map pair was. */
static ALWAYS_INLINE Py_ssize_t translate(int kind, const void *src, Py_ssize_t n,
                                          Py_UCS4 *buf, int *flags) {
    Py_ssize_t w = 0;
    int markup = 0, tone = 0, prev_role = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, src, i), m = c < MAP_END ? map[c] : map_high(c);
        if (m >= M_MARKUP) {
            if (m == M_DROP) continue;
            if (m == M_FALLBACK) return -1; /* NFC might change the text */
            if (m == M_MARKUP) {
                markup = 1;
                m = c;
            } else { /* M_CR: Python replaces "\r\n" by "\n" before translating */
                if (i + 1 < n && PyUnicode_READ(kind, src, i + 1) == '\n') continue;
                if ((m = cr_to) == M_DROP) continue;
            }
        }
        /* pairs are looked for in the translated text: a deleted zero-width character can
           join "o" and "à" */
        int r = m < MAP_END ? role[m] : 0;
        tone |= prev_role & (r >> 1); /* FIRST, then SECOND */
        prev_role = r;
        buf[w++] = m;
    }
    *flags = markup | tone << 1;
    return w;
}

static PyObject *normalize_fast(PyObject *self, PyObject *s) {
    if (!PyUnicode_Check(s)) return PyErr_Format(PyExc_TypeError, "normalize_fast expects str");
    if (!configured) return PyErr_Format(PyExc_RuntimeError, "_textfast is not configured");
    Py_ssize_t n = PyUnicode_GET_LENGTH(s), w;
    const void *data = PyUnicode_DATA(s);
    int flags = 0;
    Py_UCS4 *buf = PyMem_Malloc((n + 1) * sizeof *buf);
    PyObject *res = NULL;
    if (!buf) return PyErr_NoMemory();
    int kind = PyUnicode_KIND(s);
    /* the character pass reads only s (alive: the caller holds it) and buf: other Python
       threads (the scoring ones) may run meanwhile */
    Py_BEGIN_ALLOW_THREADS
    switch (kind) { /* one loop per kind, each with a constant kind */
    case PyUnicode_1BYTE_KIND: w = translate(PyUnicode_1BYTE_KIND, data, n, buf, &flags); break;
    case PyUnicode_2BYTE_KIND: w = translate(PyUnicode_2BYTE_KIND, data, n, buf, &flags); break;
    default: w = translate(PyUnicode_4BYTE_KIND, data, n, buf, &flags);
    }
    Py_END_ALLOW_THREADS
    if (w < 0) goto fallback;
    if (flags & 1) { /* the Python path leaves the text alone unless looks_html finds something */
        PyObject *t = str_of(buf, w), *m = t ? PyObject_CallOneArg(looks_html, t) : NULL;
        Py_XDECREF(t);
        if (!m) goto done;
        int found = m != Py_None;
        Py_DECREF(m);
        if (found) goto fallback;
    }
    if ((flags & 2) && fix_tones(buf, w) < 0) goto done;
    if ((w = clean_lines(buf, w)) < 0) goto done;
    res = str_of(buf, w);
    goto done;
fallback:
    res = Py_None;
    Py_INCREF(res);
done:
    PyMem_Free(buf);
    return res;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS,
     "configure(table, safe_ranges, tone_map, initials, looks_html, boilerplate, "
     "boilerplate_max, min_dup_len): the rules of text.py, set once at its import"},
    {"normalize_fast", normalize_fast, METH_O,
     "normalize_fast(s: str) -> str | None: text._normalize_py(s), or None for the Python path"},
    {NULL}};

static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "_textfast",
                                       "C fast path of topicclf.text.normalize", -1, methods};

PyMODINIT_FUNC PyInit__textfast(void) {
    if (!(casefold_name = PyUnicode_InternFromString("casefold"))) return NULL;
    if (!(lower_name = PyUnicode_InternFromString("lower"))) return NULL;
    return PyModule_Create(&moduledef);
}
