/*
 * topicclf._jsonrec: the fields a scoring run needs from one JSONL line, in one pass.
 *
 * fields(line: bytes, names: tuple[str, ...]) -> dict | None
 * lines(blob: bytes, names) -> list[tuple[int, dict | bytes]]   (every line of a blob at once)
 *
 * Reads a line that holds one JSON object and returns {name: value} for the wanted top-level
 * keys it has (the last one wins, as in json.loads). The whole line is validated as JSON, but
 * only the wanted values become Python objects, and strings are scanned 8 bytes at a time: a
 * 3 KB Vietnamese article costs little more than its UTF-8 decoding, where bytes.decode +
 * json.loads cost about twice that.
 *
 * None means "not handled here": the caller parses the line with json.loads, which is the
 * referee. That covers every invalid line (so the reject reason is the stdlib's) and every
 * case whose exact meaning is better left to it: a key with an escape or a non-ASCII byte, a
 * surrogate escape (\ud800-\udfff), invalid UTF-8, NaN/Infinity, a wanted value that is not
 * a string, null or an integer, and nesting deeper than MAX_DEPTH. tests/test_score_reading.py
 * compares the two on generated and mutated lines.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_DEPTH 64
#define MAX_NAMES 8

typedef struct { const unsigned char *p, *end; } Cur;

enum { NOPE = 0, OK = 1, ERR = -1 };  /* ERR: a Python exception is set */

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
/* high bit set in each byte of v that is zero (and maybe in bytes above one that is) */
#define ZERO_BYTES(v) (((v) - ONES) & ~(v) & HIGHS)

static void ws(Cur *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int hexval(const unsigned char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char ch = p[i];
        v <<= 4;
        if (ch >= '0' && ch <= '9') v |= ch - '0';
        else if (ch >= 'a' && ch <= 'f') v |= ch - 'a' + 10;
        else if (ch >= 'A' && ch <= 'F') v |= ch - 'A' + 10;
        else return 0;
    }
    *out = v;
    return 1;
}

/* Whether [p, end) is valid UTF-8 as Python's strict decoder sees it (no overlongs, no
   surrogates, nothing over U+10FFFF). */
static int valid_utf8(const unsigned char *p, const unsigned char *end) {
    while (p < end) {
        unsigned char b = *p;
        if (b < 0x80) { p++; continue; }
        if (b >= 0xC2 && b <= 0xDF) {
            if (end - p < 2 || (p[1] & 0xC0) != 0x80) return 0;
            p += 2;
        } else if (b >= 0xE0 && b <= 0xEF) {
            if (end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
            if ((b == 0xE0 && p[1] < 0xA0) || (b == 0xED && p[1] >= 0xA0)) return 0;
            p += 3;
        } else if (b >= 0xF0 && b <= 0xF4) {
            if (end - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
            if ((b == 0xF0 && p[1] < 0x90) || (b == 0xF4 && p[1] >= 0x90)) return 0;
            p += 4;
        } else {
            return 0;
        }
    }
    return 1;
}

static unsigned char *put_utf8(unsigned char *o, unsigned cp) {
    if (cp < 0x80) { *o++ = (unsigned char)cp; }
    else if (cp < 0x800) { *o++ = 0xC0 | (cp >> 6); *o++ = 0x80 | (cp & 0x3F); }
    else { *o++ = 0xE0 | (cp >> 12); *o++ = 0x80 | ((cp >> 6) & 0x3F); *o++ = 0x80 | (cp & 0x3F); }
    return o;
}

/* A string at c->p (on its opening quote): validated, and with out != NULL turned into a str.
   Escapes of surrogates are left to json.loads (pairs and lone ones alike). */
static int string(Cur *c, PyObject **out) {
    const unsigned char *start = c->p + 1, *p = start, *end = c->end;
    int escapes = 0, high = 0;
    for (;;) {
        /* 8 bytes at a time while they hold no quote, backslash or control character */
        while (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            uint64_t hit = ZERO_BYTES(w ^ (0x22 * ONES)) | ZERO_BYTES(w ^ (0x5C * ONES))
                           | ((w - 0x20 * ONES) & ~w & HIGHS);
            if (hit) break;
            high |= (w & HIGHS) != 0;
            p += 8;
        }
        if (p >= end) return NOPE;  /* no closing quote */
        unsigned char ch = *p;
        if (ch == '"') break;
        if (ch < 0x20) return NOPE;  /* a raw control character: invalid JSON */
        if (ch == '\\') {
            if (end - p < 2) return NOPE;
            unsigned char e = p[1];
            if (e == 'u') {
                unsigned v;
                if (end - p < 6 || !hexval(p + 2, &v) || (v >= 0xD800 && v <= 0xDFFF)) return NOPE;
                p += 6;
            } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
                p += 2;
            } else {
                return NOPE;
            }
            escapes = 1;
            continue;
        }
        high |= ch >= 0x80;
        p++;
    }
    c->p = p + 1;
    if (!out) return !high || valid_utf8(start, p) ? OK : NOPE;
    if (!escapes) {
        *out = PyUnicode_DecodeUTF8((const char *)start, p - start, NULL);
        return *out ? OK : ERR;
    }
    unsigned char *buf = PyMem_Malloc(p - start + 1), *o = buf;
    if (!buf) { PyErr_NoMemory(); return ERR; }
    for (const unsigned char *q = start; q < p;) {
        const unsigned char *bs = memchr(q, '\\', p - q);
        if (!bs) bs = p;
        memcpy(o, q, bs - q);
        o += bs - q;
        if (bs == p) break;
        unsigned char e = bs[1];
        if (e == 'u') {
            unsigned v = 0;
            hexval(bs + 2, &v);
            o = put_utf8(o, v);
            q = bs + 6;
        } else {
            *o++ = e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e;
            q = bs + 2;
        }
    }
    *out = PyUnicode_DecodeUTF8((const char *)buf, o - buf, NULL);
    PyMem_Free(buf);
    return *out ? OK : ERR;
}

/* A number at c->p, by the JSON grammar; *integer: no fraction and no exponent. */
static int number(Cur *c, int *integer) {
    const unsigned char *p = c->p, *end = c->end;
    if (p < end && *p == '-') p++;
    if (p >= end) return NOPE;
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') { while (p < end && *p >= '0' && *p <= '9') p++; }
    else return NOPE;  /* "-Infinity" and the like: json.loads */
    *integer = 1;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9') return NOPE;
        while (p < end && *p >= '0' && *p <= '9') p++;
        *integer = 0;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || *p < '0' || *p > '9') return NOPE;
        while (p < end && *p >= '0' && *p <= '9') p++;
        *integer = 0;
    }
    c->p = p;
    return OK;
}

static int literal(Cur *c, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return NOPE;
    c->p += n;
    return OK;
}

/* Any value, validated and passed over. */
static int skip(Cur *c, int depth) {
    if (c->p >= c->end) return NOPE;
    unsigned char ch = *c->p;
    int integer, r;
    if (ch == '"') return string(c, NULL);
    if (ch == '-' || (ch >= '0' && ch <= '9')) return number(c, &integer);
    if (ch == 't') return literal(c, "true");
    if (ch == 'f') return literal(c, "false");
    if (ch == 'n') return literal(c, "null");
    if ((ch != '{' && ch != '[') || depth >= MAX_DEPTH) return NOPE;
    unsigned char close = ch == '{' ? '}' : ']';
    c->p++;
    ws(c);
    if (c->p < c->end && *c->p == close) { c->p++; return OK; }
    for (;;) {
        if (close == '}') {
            if (c->p >= c->end || *c->p != '"') return NOPE;
            if ((r = string(c, NULL)) != OK) return r;
            ws(c);
            if (c->p >= c->end || *c->p != ':') return NOPE;
            c->p++;
            ws(c);
        }
        if ((r = skip(c, depth + 1)) != OK) return r;
        ws(c);
        if (c->p >= c->end) return NOPE;
        if (*c->p == ',') { c->p++; ws(c); continue; }
        if (*c->p == close) { c->p++; return OK; }
        return NOPE;
    }
}

/* The value of a wanted key: a str, None or an int; anything else is left to json.loads. */
static int wanted(Cur *c, PyObject **out) {
    unsigned char ch = c->p < c->end ? *c->p : 0;
    if (ch == '"') return string(c, out);
    if (ch == 'n') {
        if (literal(c, "null") != OK) return NOPE;
        *out = Py_NewRef(Py_None);
        return OK;
    }
    if (ch == '-' || (ch >= '0' && ch <= '9')) {
        const unsigned char *start = c->p;
        int integer;
        char digits[64];
        if (number(c, &integer) != OK || !integer || c->p - start >= (Py_ssize_t)sizeof digits) return NOPE;
        memcpy(digits, start, c->p - start);
        digits[c->p - start] = 0;
        *out = PyLong_FromString(digits, NULL, 10);
        return *out ? OK : ERR;
    }
    return NOPE;
}

typedef struct {
    PyObject *names;
    Py_ssize_t k;
    const char *name[MAX_NAMES];
    Py_ssize_t len[MAX_NAMES];
} Names;

static int names_init(Names *n, PyObject *names) {
    n->names = names;
    n->k = PyTuple_GET_SIZE(names);
    if (n->k > MAX_NAMES) { PyErr_SetString(PyExc_TypeError, "at most 8 names"); return -1; }
    for (Py_ssize_t j = 0; j < n->k; j++) {
        PyObject *nm = PyTuple_GET_ITEM(names, j);
        if (!PyUnicode_Check(nm)) { PyErr_SetString(PyExc_TypeError, "names must be str"); return -1; }
        if (!(n->name[j] = PyUnicode_AsUTF8AndSize(nm, &n->len[j]))) return -1;
    }
    return 0;
}

/* The wanted fields of the line [start, end) as a new dict, a new reference to None (left to
   json.loads), or NULL with an exception set. */
static PyObject *one_line(const Names *nm, const unsigned char *start, const unsigned char *end) {
    PyObject *result = NULL, *values[MAX_NAMES] = {NULL};
    Py_ssize_t k = nm->k;
    int r = NOPE;
    Cur c = {start, end};
    ws(&c);
    if (c.p >= c.end || *c.p != '{') goto done;
    c.p++;
    ws(&c);
    if (c.p < c.end && *c.p == '}') {
        c.p++;
    } else {
        for (;;) {
            if (c.p >= c.end || *c.p != '"') goto done;
            const unsigned char *key = c.p + 1;
            if ((r = string(&c, NULL)) != OK) goto done;
            Py_ssize_t klen = c.p - 1 - key;
            r = NOPE;
            for (Py_ssize_t i = 0; i < klen; i++) {
                if (key[i] == '\\' || key[i] >= 0x80) goto done;  /* json.loads decides */
            }
            ws(&c);
            if (c.p >= c.end || *c.p != ':') goto done;
            c.p++;
            ws(&c);
            Py_ssize_t hit = -1;
            for (Py_ssize_t j = 0; j < k; j++) {
                if (nm->len[j] == klen && memcmp(nm->name[j], key, klen) == 0) { hit = j; break; }
            }
            if (hit >= 0) {
                PyObject *v = NULL;
                if ((r = wanted(&c, &v)) != OK) goto done;
                Py_XSETREF(values[hit], v);  /* a repeated key: the last one wins */
            } else if ((r = skip(&c, 1)) != OK) {
                goto done;
            }
            r = NOPE;
            ws(&c);
            if (c.p < c.end && *c.p == ',') { c.p++; ws(&c); continue; }
            if (c.p < c.end && *c.p == '}') { c.p++; break; }
            goto done;
        }
    }
    ws(&c);
    if (c.p != c.end) { r = NOPE; goto done; }  /* extra data */
    if (!(result = PyDict_New())) { r = ERR; goto done; }
    r = OK;
    for (Py_ssize_t j = 0; j < k; j++) {
        if (values[j] && PyDict_SetItem(result, PyTuple_GET_ITEM(nm->names, j), values[j]) < 0) {
            Py_CLEAR(result);
            r = ERR;
            break;
        }
    }
done:
    for (Py_ssize_t j = 0; j < MAX_NAMES; j++) Py_XDECREF(values[j]);
    if (r == ERR) {
        /* invalid UTF-8 in a wanted string, or an integer over Python's digit limit: json.loads
           decides, and says why */
        if (PyErr_ExceptionMatches(PyExc_UnicodeDecodeError) || PyErr_ExceptionMatches(PyExc_ValueError)) {
            PyErr_Clear();
            Py_RETURN_NONE;
        }
        return NULL;
    }
    if (r != OK) Py_RETURN_NONE;
    return result;
}

static PyObject *fields(PyObject *self, PyObject *args) {
    Py_buffer line;
    PyObject *names;
    Names nm;
    if (!PyArg_ParseTuple(args, "y*O!", &line, &PyTuple_Type, &names)) return NULL;
    PyObject *out = names_init(&nm, names) < 0 ? NULL
        : one_line(&nm, (const unsigned char *)line.buf, (const unsigned char *)line.buf + line.len);
    PyBuffer_Release(&line);
    return out;
}

/* lines(blob, names) -> list of (k, fields or line): one entry per line of blob that is not
   blank (only b" \t\n\r\v\f"), k its 0-based number in blob; the fields as fields() gives
   them, or the line's bytes (without its b"\n") where json.loads must decide. */
static PyObject *lines(PyObject *self, PyObject *args) {
    Py_buffer blob;
    PyObject *names, *out = NULL;
    Names nm;
    if (!PyArg_ParseTuple(args, "y*O!", &blob, &PyTuple_Type, &names)) return NULL;
    if (names_init(&nm, names) < 0 || !(out = PyList_New(0))) goto fail;
    const unsigned char *p = blob.buf, *end = p + blob.len;
    for (Py_ssize_t k = 0; p < end; k++) {
        const unsigned char *nl = memchr(p, '\n', end - p), *stop = nl ? nl : end;
        const unsigned char *q = p;
        while (q < stop && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\v' || *q == '\f')) q++;
        if (q < stop) {  /* not a blank line */
            PyObject *v = one_line(&nm, p, stop);
            if (v == Py_None) {
                Py_DECREF(v);
                v = PyBytes_FromStringAndSize((const char *)p, stop - p);
            }
            PyObject *item = v ? Py_BuildValue("(nN)", k, v) : NULL;
            if (!item || PyList_Append(out, item) < 0) { Py_XDECREF(item); goto fail; }
            Py_DECREF(item);
        }
        p = nl ? nl + 1 : end;
    }
    PyBuffer_Release(&blob);
    return out;
fail:
    Py_XDECREF(out);
    PyBuffer_Release(&blob);
    return NULL;
}

static PyMethodDef methods[] = {
    {"fields", fields, METH_VARARGS,
     "fields(line, names) -> dict | None: the wanted top-level fields of a line holding a JSON object, "
     "or None where json.loads must decide (invalid or unusual lines)."},
    {"lines", lines, METH_VARARGS,
     "lines(blob, names) -> list of (k, dict | bytes): fields() for each line of blob that is not blank; "
     "the line itself where json.loads must decide."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "_jsonrec", NULL, -1, methods};

PyMODINIT_FUNC PyInit__jsonrec(void) { return PyModule_Create(&moduledef); }
