/*
 * topicclf._ngram: the hot loop of NgramVectorizer.transform in C.
 *
 * Same result as the NumPy path in features.py (tests compare the two): lower-cased UTF-8
 * bytes are split into syllables (ASCII letters/digits and every byte >= 0x80; the Unicode
 * punctuation and symbol blocks U+00A0-U+00BF, U+2000-U+206F, U+20A0-U+2BFF, U+FE00-U+FE0F,
 * U+FFF0-U+FFFF, U+1F000-U+1FFFF (emoji) and U+E0000-U+E007F separate tokens), tokens map to ids
 * through a hash table, n-grams to integer codes (code = code * base + id + 1), codes to
 * columns through a second hash table, and each row gets (sublinear) TF x IDF and an L2 norm.
 * Columns inside a row come out in first-occurrence order (CSR without sorted indices).
 *
 * Texts come in as bytes (already lower-cased UTF-8) or as str, which is lower-cased and
 * encoded here in one pass: the same bytes as str.lower().encode("utf-8", "surrogatepass")
 * for every str without U+0130 or U+03A3, the two characters whose str.lower() is not the
 * per-character simple mapping (features.py sends texts holding them as bytes).
 *
 * No NumPy headers: arrays come in through the buffer protocol and go out as bytes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

typedef struct { uint64_t h; int32_t id; int32_t len; } TokSlot;
typedef struct { int64_t code; int64_t col; } CodeSlot;
typedef struct { Py_ssize_t start, len; uint64_t h; } Span;  /* one token of a text */

typedef struct {
    PyObject_HEAD
    char *tokbuf;
    int64_t *tokoff;
    int64_t ntok;
    TokSlot *tslots;
    uint64_t tmask;
    /* columns: unigrams through a dense array by token id, longer n-grams through an
       open-addressing table keyed by code (lookups are independent, so a prefetch pass lets
       the CPU overlap their cache misses) */
    int32_t *unicol;
    CodeSlot *cslots;
    uint64_t cmask;
    int64_t nfeat;
    double *idf;
    int lo, hi, sublinear, l2, digits;
    int64_t base;
} Featurizer;

#define FNV_OFFSET 1469598103934665603ULL
#define PREFETCH_AHEAD 48
#define FNV_PRIME 1099511628211ULL

static uint64_t fnv1a(const char *s, Py_ssize_t n) {
    uint64_t h = FNV_OFFSET;
    for (Py_ssize_t i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= FNV_PRIME; }
    return h;
}

static uint64_t mix64(uint64_t x) {
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27; x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t table_size(int64_t n) {
    uint64_t s = 16;
    while (s < (uint64_t)(n * 2 + 1)) s <<= 1;
    return s;
}

static void Featurizer_dealloc(Featurizer *self) {
    PyMem_Free(self->tokbuf); PyMem_Free(self->tokoff); PyMem_Free(self->tslots);
    PyMem_Free(self->unicol); PyMem_Free(self->idf);
    PyMem_Free(self->cslots);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int32_t token_id_h(const Featurizer *f, const char *s, Py_ssize_t n, uint64_t hv) {
    uint64_t h = hv & f->tmask;
    for (;;) {
        TokSlot *t = &f->tslots[h];
        if (t->id < 0) return -1;
        if (t->h == hv && t->len == n && memcmp(f->tokbuf + f->tokoff[t->id], s, n) == 0) return t->id;
        h = (h + 1) & f->tmask;
    }
}

static inline uint64_t code_slot(const Featurizer *f, int64_t code) { return mix64((uint64_t)code) & f->cmask; }

static inline int64_t code_col(const Featurizer *f, int64_t code) {
    uint64_t h = code_slot(f, code);
    for (;;) {
        const CodeSlot *c = &f->cslots[h];
        if (c->code == code) return c->col;
        if (c->code < 0) return -1;
        h = (h + 1) & f->cmask;
    }
}

/* Featurizer(tokens: list[bytes], codes: int64 buffer, idf: float64 buffer, lo, hi, sublinear, l2, digits) */
static int Featurizer_init(Featurizer *self, PyObject *args, PyObject *kw) {
    PyObject *tokens;
    Py_buffer codes, idf;
    int lo, hi, sublinear, l2, digits;
    if (!PyArg_ParseTuple(args, "O!y*y*iiiii", &PyList_Type, &tokens, &codes, &idf, &lo, &hi, &sublinear, &l2, &digits))
        return -1;
    int rc = -1;
    Py_ssize_t ntok = PyList_GET_SIZE(tokens);
    int64_t nfeat = codes.len / 8;
    if (codes.len % 8 || idf.len != nfeat * 8 || lo < 1 || hi < lo || hi > 3 || nfeat >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "inconsistent featurizer arrays");
        goto done;
    }
    Py_ssize_t total = 0;
    for (Py_ssize_t i = 0; i < ntok; i++) {
        PyObject *t = PyList_GET_ITEM(tokens, i);
        if (!PyBytes_Check(t)) { PyErr_SetString(PyExc_TypeError, "tokens must be bytes"); goto done; }
        total += PyBytes_GET_SIZE(t);
    }
    self->ntok = ntok; self->nfeat = nfeat; self->lo = lo; self->hi = hi;
    self->sublinear = sublinear; self->l2 = l2; self->digits = digits; self->base = ntok + 1;
    uint64_t ts = table_size(ntok);
    self->tmask = ts - 1;
    self->tokbuf = PyMem_Malloc(total + 1);
    self->tokoff = PyMem_Malloc(sizeof(int64_t) * (ntok + 1));
    self->tslots = PyMem_Malloc(sizeof(TokSlot) * ts);
    self->unicol = PyMem_Malloc(sizeof(int32_t) * (ntok + 1));
    self->idf = PyMem_Malloc(sizeof(double) * (nfeat + 1));
    uint64_t cs = table_size(nfeat);
    self->cmask = cs - 1;
    const int64_t *cp = (const int64_t *)codes.buf;
    self->cslots = PyMem_Malloc(sizeof(CodeSlot) * cs);
    if (!self->tokbuf || !self->tokoff || !self->tslots || !self->unicol || !self->idf || !self->cslots) {
        PyErr_NoMemory(); goto done;
    }
    for (uint64_t k = 0; k < cs; k++) self->cslots[k].code = -1;
    for (uint64_t k = 0; k < ts; k++) self->tslots[k].id = -1;
    Py_ssize_t off = 0;
    for (Py_ssize_t i = 0; i < ntok; i++) {
        PyObject *t = PyList_GET_ITEM(tokens, i);
        Py_ssize_t n = PyBytes_GET_SIZE(t);
        memcpy(self->tokbuf + off, PyBytes_AS_STRING(t), n);
        self->tokoff[i] = off; off += n;
        uint64_t hv = fnv1a(PyBytes_AS_STRING(t), n);
        uint64_t h = hv & self->tmask;
        while (self->tslots[h].id >= 0) h = (h + 1) & self->tmask;
        self->tslots[h].h = hv; self->tslots[h].id = (int32_t)i; self->tslots[h].len = (int32_t)n;
    }
    for (Py_ssize_t i = 0; i <= ntok; i++) self->unicol[i] = -1;
    int64_t base = self->base;
    for (int64_t j = 0; j < nfeat; j++) {
        int64_t c = cp[j];
        if ((j && c <= cp[j - 1]) || c < 1) {
            PyErr_SetString(PyExc_ValueError, "codes must be positive and strictly increasing"); goto done;
        }
        if (c < base) { self->unicol[c - 1] = (int32_t)j; continue; }
        uint64_t h = code_slot(self, c);
        while (self->cslots[h].code >= 0) h = (h + 1) & self->cmask;
        self->cslots[h].code = c; self->cslots[h].col = j;
    }
    memcpy(self->idf, idf.buf, sizeof(double) * nfeat);
    rc = 0;
done:
    PyBuffer_Release(&codes);
    PyBuffer_Release(&idf);
    return rc;
}

typedef struct { char *p; Py_ssize_t len, cap; } Buf;

static int buf_reserve(Buf *b, Py_ssize_t extra) {
    if (b->len + extra <= b->cap) return 0;
    Py_ssize_t cap = b->cap ? b->cap : 1 << 16;
    while (cap < b->len + extra) cap *= 2;
    char *p = PyMem_RawRealloc(b->p, cap);  /* Raw: called without the GIL */
    if (!p) return -1;
    b->p = p; b->cap = cap;
    return 0;
}

/* Simple lower-case mapping of U+0000-U+024F and U+1E00-U+1EFF (Latin, Vietnamese), filled at
   import: the generic Py_UNICODE_TOLOWER lookup costs more than all the rest of the loop. */
static Py_UCS4 lower_latin[0x250], lower_viet[0x100];
static double sublog[64];  /* 1 + log(k), the sublinear term frequency of a count k */

static inline Py_UCS4 to_lower(Py_UCS4 c) {
    if (c < 0x250) return lower_latin[c];
    if (c - 0x1E00 < 0x100) return lower_viet[c - 0x1E00];
    return Py_UNICODE_TOLOWER(c);
}

/* Byte classes of the tokenizer: 0 an ASCII separator, 1 a token byte, 2-6 the lead bytes
   0xc2, 0xe2, 0xef, 0xf0 and 0xf3, separators when the character is in one of the separator
   blocks (features.py, _UNICODE_PUNCT): U+00A0-U+00BF; U+2000-U+206F and U+20A0-U+2BFF;
   U+FE00-U+FE0F and U+FFF0-U+FFFF; U+1F000-U+1FFFF; U+E0000-U+E007F. */
static unsigned char bclass[256];

#define CONT(b) ((b) >= 0x80 && (b) <= 0xbf)

/* Length in bytes of the separator at s[i], 0 if s[i] starts or continues a token. */
static inline int sep_at(const unsigned char *s, Py_ssize_t i, Py_ssize_t len) {
    switch (bclass[s[i]]) {
    case 0: return 1;
    case 1: return 0;
    case 2: return (i + 1 < len && s[i + 1] >= 0xa0 && s[i + 1] <= 0xbf) ? 2 : 0;
    case 3: {
        if (i + 2 >= len || !CONT(s[i + 2])) return 0;
        unsigned char b1 = s[i + 1], b2 = s[i + 2];
        return (b1 == 0x80 || (b1 == 0x81 && b2 <= 0xaf) || (b1 == 0x82 && b2 >= 0xa0) ||
                (b1 >= 0x83 && b1 <= 0xaf)) ? 3 : 0;
    }
    case 4:
        return (i + 2 < len && CONT(s[i + 2]) &&
                ((s[i + 1] == 0xb8 && s[i + 2] <= 0x8f) || (s[i + 1] == 0xbf && s[i + 2] >= 0xb0))) ? 3 : 0;
    case 5:
        return (i + 3 < len && s[i + 1] == 0x9f && CONT(s[i + 2]) && CONT(s[i + 3])) ? 4 : 0;
    default:
        return (i + 3 < len && s[i + 1] == 0xa0 && (s[i + 2] == 0x80 || s[i + 2] == 0x81) && CONT(s[i + 3])) ? 4 : 0;
    }
}

/* Whether the code point c >= 0x80 separates tokens (the same blocks as sep_at). */
static inline int sep_cp(Py_UCS4 c) {
    if (c < 0x2000) return c >= 0xA0 && c <= 0xBF;
    if (c <= 0x2BFF) return c <= 0x206F || c >= 0x20A0;
    if (c < 0xFE00) return 0;
    if (c <= 0xFFFF) return c <= 0xFE0F || c >= 0xFFF0;
    return (c >= 0x1F000 && c <= 0x1FFFF) || (c >= 0xE0000 && c <= 0xE007F);
}

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* The tokens of a str, as the bytes path would find them in str.lower().encode("utf-8",
   "surrogatepass"): each code point is lower-cased, classified (the separators are the ASCII
   non-alphanumerics and sep_cp, exactly the byte classes above) and,
   inside a token, written out as UTF-8 and hashed. Returns the number of spans. */
static ALWAYS_INLINE Py_ssize_t str_spans(const Featurizer *f, int kind, const void *data, Py_ssize_t n,
                                          unsigned char *o, Span *sp) {
    Py_ssize_t k = 0, ns = 0;
    int in_tok = 0;
    uint64_t hv = 0;
#define FEED(b) (o[k++] = (unsigned char)(b), hv = (hv ^ (unsigned char)(b)) * FNV_PRIME)
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = to_lower(PyUnicode_READ(kind, data, i));
        int tok = c < 0x80 ? bclass[c] : !sep_cp(c);
        if (!tok) {
            if (in_tok) {
                sp[ns].len = k - sp[ns].start; sp[ns].h = hv;
                __builtin_prefetch(&f->tslots[hv & f->tmask]);
                ns++; in_tok = 0;
            }
            continue;
        }
        if (!in_tok) { in_tok = 1; sp[ns].start = k; hv = FNV_OFFSET; }
        if (c < 0x80) FEED((!f->digits && c >= '1' && c <= '9') ? '0' : c);
        else if (c < 0x800) { FEED(0xc0 | (c >> 6)); FEED(0x80 | (c & 0x3f)); }
        else if (c < 0x10000) { FEED(0xe0 | (c >> 12)); FEED(0x80 | ((c >> 6) & 0x3f)); FEED(0x80 | (c & 0x3f)); }
        else { FEED(0xf0 | (c >> 18)); FEED(0x80 | ((c >> 12) & 0x3f)); FEED(0x80 | ((c >> 6) & 0x3f)); FEED(0x80 | (c & 0x3f)); }
    }
#undef FEED
    if (in_tok) {
        sp[ns].len = k - sp[ns].start; sp[ns].h = hv;
        __builtin_prefetch(&f->tslots[hv & f->tmask]);
        ns++;
    }
    return ns;
}

static PyObject *transform_or_score(Featurizer *f, PyObject *arg, const float *tab, Py_ssize_t K);

/* transform(texts: list[bytes | str]) -> (data float32 bytes, indices int64 bytes, indptr int64 bytes); releases the GIL */
static PyObject *Featurizer_transform(Featurizer *f, PyObject *args) {
    PyObject *arg;
    Py_buffer tabv = {0};
    Py_ssize_t K = 0;
    if (!PyArg_ParseTuple(args, "O|y*n", &arg, &tabv, &K)) return NULL;
    /* with a table: linear scores instead of features (see the method's docstring) */
    const float *tab = tabv.buf;
    if (tab && (K < 1 || tabv.len != (Py_ssize_t)sizeof(float) * (K + 1) * f->nfeat)) {
        PyBuffer_Release(&tabv);
        PyErr_SetString(PyExc_ValueError, "table must be float32 (n_features, 1 + n_outputs)");
        return NULL;
    }
    PyObject *r = transform_or_score(f, arg, tab, K);
    if (tab) PyBuffer_Release(&tabv);
    return r;
}

static PyObject *transform_or_score(Featurizer *f, PyObject *arg, const float *tab, Py_ssize_t K) {
    if (!PyList_Check(arg)) { PyErr_SetString(PyExc_TypeError, "expected a list of bytes"); return NULL; }
    if (!f->tslots) { PyErr_SetString(PyExc_RuntimeError, "featurizer not initialised"); return NULL; }
    /* a tuple copy keeps every bytes object alive while the GIL is released */
    PyObject *items = PyList_AsTuple(arg);
    if (!items) return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(items);
    for (Py_ssize_t d = 0; d < n; d++) {
        PyObject *o = PyTuple_GET_ITEM(items, d);
        if (!PyBytes_Check(o) && !PyUnicode_Check(o)) {
            Py_DECREF(items);
            PyErr_SetString(PyExc_TypeError, "texts must be bytes or str");
            return NULL;
        }
#if PY_VERSION_HEX < 0x030C0000
        if (PyUnicode_Check(o) && PyUnicode_READY(o) < 0) { Py_DECREF(items); return NULL; }
#endif
    }
    Buf data = {0}, ind = {0}, cnt = {0}, spn = {0}, tfb = {0}, low = {0};
    uint64_t cnt_size = 0;  /* slots in cnt */
    int64_t *indptr = PyMem_RawMalloc(sizeof(int64_t) * (n + 1));
    double *scores = tab ? PyMem_RawCalloc((size_t)(n * K + 1), sizeof(double)) : NULL;
    PyObject *result = NULL;
    int oom = 0;
    if (!indptr || (tab && !scores)) {
        PyMem_RawFree(indptr); PyMem_RawFree(scores); Py_DECREF(items);
        return PyErr_NoMemory();
    }
    indptr[0] = 0;
    int64_t nnz = 0;
    /* pure C from here to the end of the loop: other Python threads run meanwhile */
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t d = 0; d < n; d++) {
        PyObject *o = PyTuple_GET_ITEM(items, d);
        const unsigned char *s;
        Py_ssize_t nspan;
        int64_t row_start = nnz;
        if (PyUnicode_Check(o)) {
            /* pass 1 for str (reading its buffer needs no GIL, the tuple keeps it alive):
               lower-case, split and hash in one go, with the tokens' UTF-8 bytes in low */
            Py_ssize_t n_ch = PyUnicode_GET_LENGTH(o);
            low.len = spn.len = 0;
            if (buf_reserve(&low, 4 * n_ch + 1) < 0 ||
                buf_reserve(&spn, (Py_ssize_t)sizeof(Span) * (n_ch / 2 + 1)) < 0) goto nomem;
            const void *data = PyUnicode_DATA(o);
            unsigned char *lo = (unsigned char *)low.p;
            Span *sp = (Span *)spn.p;
            switch (PyUnicode_KIND(o)) {  /* one loop per kind, each with a constant kind */
            case PyUnicode_1BYTE_KIND: nspan = str_spans(f, PyUnicode_1BYTE_KIND, data, n_ch, lo, sp); break;
            case PyUnicode_2BYTE_KIND: nspan = str_spans(f, PyUnicode_2BYTE_KIND, data, n_ch, lo, sp); break;
            default: nspan = str_spans(f, PyUnicode_4BYTE_KIND, data, n_ch, lo, sp);
            }
            s = lo;
        } else {
            s = (const unsigned char *)PyBytes_AS_STRING(o);
            Py_ssize_t len = PyBytes_GET_SIZE(o);
            if (!f->digits) {  /* digits 1-9 read as 0, on a copy */
                low.len = 0;
                if (buf_reserve(&low, len + 1) < 0) goto nomem;
                for (Py_ssize_t k = 0; k < len; k++) low.p[k] = (s[k] >= '1' && s[k] <= '9') ? '0' : (char)s[k];
                s = (const unsigned char *)low.p;
            }
            /* pass 1 for bytes: token spans and their hashes, prefetching each token's slot,
               so that the lookups of pass 2 find them in cache */
            spn.len = 0;
            Py_ssize_t i = 0;
            for (;;) {
                while (i < len) {  /* skip separators */
                    int k = sep_at(s, i, len);
                    if (!k) break;
                    i += k;
                }
                if (i >= len) break;
                Py_ssize_t t0 = i;
                uint64_t hv = FNV_OFFSET;
                while (i < len && !sep_at(s, i, len)) { hv ^= s[i]; hv *= FNV_PRIME; i++; }
                if (buf_reserve(&spn, sizeof(Span)) < 0) goto nomem;
                Span *sp = (Span *)(spn.p + spn.len);
                sp->start = t0; sp->len = i - t0; sp->h = hv;
                spn.len += sizeof(Span);
                __builtin_prefetch(&f->tslots[hv & f->tmask]);
            }
            nspan = spn.len / (Py_ssize_t)sizeof(Span);
        }
        /* pass 2: token ids, then n-gram codes */
        if (buf_reserve(&ind, 8 * (f->hi - f->lo + 1) * (nspan + 1)) < 0) goto nomem;
        int64_t *out = (int64_t *)ind.p + ind.len / 8;
        int64_t prev[3] = {-1, -1, -1};  /* ids of the last tokens, most recent first */
        int nprev = 0;
        for (Py_ssize_t k = 0; k < nspan; k++) {
            const Span *sp = (const Span *)spn.p + k;
            int64_t id = token_id_h(f, (const char *)s + sp->start, sp->len, sp->h);
            prev[2] = prev[1]; prev[1] = prev[0]; prev[0] = id;
            if (nprev < 3) nprev++;
            for (int g = f->lo; g <= f->hi && g <= nprev; g++) {
                int bad = 0;
                for (int m = 0; m < g; m++) bad |= prev[m] < 0;
                if (bad) break;
                int64_t code = 0;
                for (int m = g - 1; m >= 0; m--) code = code * f->base + prev[m] + 1;
                *out++ = code;
            }
        }
        ind.len = (char *)out - ind.p;
        /* codes -> columns: each slot is prefetched PREFETCH_AHEAD lookups before it is read,
           so that a dozen cache misses are in flight at any time (more stall the CPU) */
        int64_t *codes = (int64_t *)ind.p + row_start;
        int64_t ncodes = ind.len / 8 - row_start;
        for (int64_t k = 0; k < ncodes && k < PREFETCH_AHEAD; k++)
            if (codes[k] >= f->base) __builtin_prefetch(&f->cslots[code_slot(f, codes[k])]);
        int64_t kept = 0;
        for (int64_t k = 0; k < ncodes; k++) {
            if (k + PREFETCH_AHEAD < ncodes && codes[k + PREFETCH_AHEAD] >= f->base)
                __builtin_prefetch(&f->cslots[code_slot(f, codes[k + PREFETCH_AHEAD])]);
            int64_t c = codes[k];
            int64_t col = c < f->base ? f->unicol[c - 1] : code_col(f, c);
            if (col < 0) continue;
            codes[kept++] = col;
            if (tab) {  /* the row's first and last float */
                __builtin_prefetch(tab + col * (K + 1));
                __builtin_prefetch(tab + col * (K + 1) + K);
            } else {
                __builtin_prefetch(&f->idf[col]);
            }
        }
        ind.len = 8 * (row_start + kept);
        /* count repeated columns of this row with an open-addressing table that stays empty
           between rows: only the slots a row used are cleared, in insertion order */
        int64_t occ = kept;
        uint64_t need = table_size(occ > 0 ? occ : 1);
        if (need > cnt_size) {
            cnt.len = 0;
            if (buf_reserve(&cnt, (Py_ssize_t)(sizeof(int64_t) * need)) < 0) goto nomem;
            memset(cnt.p, 0xff, sizeof(int64_t) * need);
            cnt_size = need;
        }
        uint64_t hmask = need - 1;  /* a small row touches only the start of the table */
        int shift = 64 - __builtin_ctzll(need);  /* multiply-shift hashing into need slots */
        int64_t *slot = (int64_t *)cnt.p;  /* (col << 32) | count, -1 = empty */
        if (buf_reserve(&tfb, (Py_ssize_t)((sizeof(double) + sizeof(uint64_t)) * (occ + 1))) < 0) goto nomem;
        uint64_t *used = (uint64_t *)tfb.p + (occ + 1);  /* slots in first-use order */
        int64_t *cols = codes;
        int64_t uniq = 0;
        for (int64_t k = 0; k < occ; k++) {
            uint64_t h = ((uint64_t)cols[k] * 0x9E3779B97F4A7C15ULL) >> shift;
            for (;;) {
                if (slot[h] < 0) { slot[h] = ((int64_t)cols[k] << 32) | 1; used[uniq++] = h; break; }
                if ((slot[h] >> 32) == cols[k]) { slot[h]++; break; }
                h = (h + 1) & hmask;
            }
        }
        /* unique columns back in place, in first-occurrence order, with their counts in tf[] */
        double *tf = (double *)tfb.p;
        for (int64_t w = 0; w < uniq; w++) {
            int64_t v = slot[used[w]];
            cols[w] = v >> 32;
            tf[w] = (double)(v & 0xffffffff);
            slot[used[w]] = -1;
        }
        if (tab) {  /* scores: sum over the row's columns of weight x table row, then the norm */
            double ss = 0.0, *out = scores + d * K;
            for (int64_t k = 0; k < uniq; k++) {
                const float *row = tab + cols[k] * (K + 1);
                double t = tf[k];
                double v = (f->sublinear ? (t < 64 ? sublog[(int)t] : 1.0 + log(t)) : t) * row[0];
                ss += v * v;
                for (Py_ssize_t j = 0; j < K; j++) out[j] += v * row[1 + j];
            }
            double scale = (f->l2 && ss > 0) ? 1.0 / sqrt(ss) : 1.0;
            for (Py_ssize_t j = 0; j < K; j++) out[j] *= scale;
            ind.len = 0;  /* nothing of this row is kept */
            continue;
        }
        ind.len = 8 * (row_start + uniq);
        nnz = row_start + uniq;
        /* weights of this row */
        int64_t rn = nnz - row_start;
        if (buf_reserve(&data, 4 * rn) < 0) goto nomem;
        double ss = 0.0;
        for (int64_t k = 0; k < rn; k++) {
            double t = tf[k];  /* most counts are small: 1 + log(t) from a table */
            double v = (f->sublinear ? (t < 64 ? sublog[(int)t] : 1.0 + log(t)) : t) * f->idf[cols[k]];
            tf[k] = v; ss += v * v;
        }
        double scale = (f->l2 && ss > 0) ? 1.0 / sqrt(ss) : 1.0;
        for (int64_t k = 0; k < rn; k++) ((float *)data.p)[row_start + k] = (float)(tf[k] * scale);
        data.len += 4 * rn;
        indptr[d + 1] = nnz;
    }
    goto done_loop;
nomem:
    oom = 1;
done_loop:
    Py_END_ALLOW_THREADS
    if (oom) { PyErr_NoMemory(); goto fail; }
    if (tab) {
        result = PyByteArray_FromStringAndSize((char *)scores, (Py_ssize_t)(sizeof(double) * n * K));
        goto fail;
    }
    /* bytearrays, so NumPy views of them are writable and scipy takes them without a copy;
       column indices as int32 (scipy's own index type for these sizes) */
    for (int64_t k = 0; k < nnz; k++) ((int32_t *)ind.p)[k] = (int32_t)((int64_t *)ind.p)[k];
    PyObject *bd = PyByteArray_FromStringAndSize(data.p ? data.p : "", (Py_ssize_t)(4 * nnz));
    PyObject *bi = PyByteArray_FromStringAndSize(ind.p ? ind.p : "", (Py_ssize_t)(4 * nnz));
    PyObject *bp = PyByteArray_FromStringAndSize((char *)indptr, (Py_ssize_t)(8 * (n + 1)));
    if (bd && bi && bp) result = PyTuple_Pack(3, bd, bi, bp);
    Py_XDECREF(bd); Py_XDECREF(bi); Py_XDECREF(bp);
fail:
    PyMem_RawFree(data.p); PyMem_RawFree(ind.p); PyMem_RawFree(cnt.p); PyMem_RawFree(spn.p); PyMem_RawFree(tfb.p);
    PyMem_RawFree(low.p);
    PyMem_RawFree(indptr); PyMem_RawFree(scores);
    Py_DECREF(items);
    return result;
}

static PyMethodDef Featurizer_methods[] = {
    {"transform", (PyCFunction)Featurizer_transform, METH_VARARGS,
     "transform(texts) -> (data float32, indices int32, indptr int64) as bytearrays: the CSR rows.\n"
     "transform(texts, table, k) -> float64 (n, k) as a bytearray: X @ W for the rows X would have,\n"
     "without building them. table is float32 (n_features, 1 + k): each feature's idf, then its\n"
     "k weights (one miss per feature instead of three: idf, CSR, weight row)."},
    {NULL}
};

static PyTypeObject FeaturizerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "topicclf._ngram.Featurizer",
    .tp_basicsize = sizeof(Featurizer),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Featurizer_init,
    .tp_dealloc = (destructor)Featurizer_dealloc,
    .tp_methods = Featurizer_methods,
    .tp_doc = "N-gram TF-IDF featurizer (see topicclf.features)",
};

static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "_ngram", "C hot loop of topicclf.features", -1, NULL};

PyMODINIT_FUNC PyInit__ngram(void) {
    for (Py_UCS4 c = 0; c < 0x250; c++) lower_latin[c] = Py_UNICODE_TOLOWER(c);
    for (int k = 1; k < 64; k++) sublog[k] = 1.0 + log((double)k);
    for (int b = 0; b < 256; b++)
        bclass[b] = b == 0xc2 ? 2 : b == 0xe2 ? 3 : b == 0xef ? 4 : b == 0xf0 ? 5 : b == 0xf3 ? 6 : b >= 0x80 ? 1
                  : ((b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z'));
    for (Py_UCS4 c = 0; c < 0x100; c++) lower_viet[c] = Py_UNICODE_TOLOWER(c + 0x1E00);
    if (PyType_Ready(&FeaturizerType) < 0) return NULL;
    PyObject *m = PyModule_Create(&moduledef);
    if (!m) return NULL;
    Py_INCREF(&FeaturizerType);
    if (PyModule_AddObject(m, "Featurizer", (PyObject *)&FeaturizerType) < 0) { Py_DECREF(&FeaturizerType); Py_DECREF(m); return NULL; }
    return m;
}
