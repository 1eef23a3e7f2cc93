/* Compiled TLS kernel: the TLS-over-TCP dissector of tls.py (TlsDissector, its per-direction
 * reassembly, TcpStream) and the ClientHello / ServerHello parsers of tls_hello.py, ported line for
 * line, so that a flow gets exactly the facts (and the same DissectError messages) as the Python
 * reference.
 *
 * Kernel(dissect_error, client_prints, server_prints, hello_facts).dissector() makes one flow's
 * Dissector, whose feed(pkt, facts) is TlsDissector.feed. A hello is parsed here; the fingerprints
 * (versions offered, JA3, JA4, JA3S) come from the Python functions client_prints / server_prints
 * (tls._client_prints / tls._server_prints, called with the same key tuple as the Python path) and
 * are remembered per distinct hello in the kernel's bounded caches (keyed by the bytes those prints
 * depend on, each field behind its length). A hello the C parser finds malformed goes to the Python
 * hello_facts (tls.hello_facts), which raises the DissectError naming the defect.
 *
 * Every read is bounded by the buffer length; nothing here is global and mutable. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_PACKETS 32     /* tls.MAX_PACKETS */
#define MAX_HELLO 32768    /* tls.MAX_HELLO */
#define HANDSHAKE 22
#define ALERT 21
#define MAX_RECORD (16384 + 2048)
#define MAX_HELD 4
#define STREAM_LIMIT (MAX_HELLO + 8192)
#define MAX_PENDING 64     /* TcpStream: out-of-order segments kept */
#define MOD32 4294967296LL
#define MAX_CACHE 4096     /* distinct hellos remembered per kernel before the cache restarts */

typedef const unsigned char *Bytes;

#define U16(b, i) (((unsigned)(b)[i] << 8) | (b)[(i) + 1])
#define U24(b, i) (((Py_ssize_t)(b)[i] << 16) | ((Py_ssize_t)(b)[(i) + 1] << 8) | (b)[(i) + 2])

/* ------------------------------------------------------------------------------------------ */
/* Kernel: the Python callables and the fingerprint caches shared by a run's dissectors.        */

typedef struct {
    PyObject_HEAD
    PyObject *error, *client_prints, *server_prints, *hello_facts;
    PyObject *client_cache, *server_cache;
    PyObject *t; /* "t" */
    PyObject *s_sni, *s_alpn, *s_ech, *s_versions, *s_ja3, *s_ja4, *s_version, *s_cipher, *s_ja3s;
} Kernel;

/* ------------------------------------------------------------------------------------------ */
/* Hello parsers: 1 parsed and facts written, 0 declined (nothing touched), -1 error set.        */

typedef struct {
    Py_ssize_t p, q;
    int present;
} Range;

static int hello_start(Bytes b, Py_ssize_t n, unsigned type, Py_ssize_t *p, Py_ssize_t *end) {
    if (n < 4 || b[0] != type) return 0;
    *end = 4 + U24(b, 1);
    if (*end > n || *end < 39 || b[38] > 32) return 0;
    *p = 39 + b[38];
    return 1;
}

/* The extensions vector at p: its data range, framing of every extension checked. */
static int extensions(Bytes b, Py_ssize_t p, Py_ssize_t end, Py_ssize_t *start, Py_ssize_t *stop) {
    if (p + 2 > end || p + 2 + (Py_ssize_t)U16(b, p) > end) return 0;
    *start = p + 2;
    *stop = p + 2 + U16(b, p);
    for (p = *start; p < *stop;) {
        if (p + 4 > *stop) return 0;
        Py_ssize_t q = p + 4 + U16(b, p + 2);
        if (q > *stop) return 0;
        p = q;
    }
    return 1;
}

/* tls_hello._server_name: 1 with the host name's range, 2 without one, 0 on a defect. */
static int server_name(Bytes b, Py_ssize_t p, Py_ssize_t e, Range *out) {
    if (p + 2 > e) return 0;
    Py_ssize_t end = p + 2 + U16(b, p);
    if (end > e) return 0;
    for (p += 2; p < end;) {
        if (p + 3 > end) return 0;
        Py_ssize_t q = p + 3 + U16(b, p + 1);
        if (q > end) return 0;
        if (b[p] == 0) {
            out->p = p + 3, out->q = q, out->present = 1;
            return 1;
        }
        p = q;
    }
    return 2;
}

/* tls_hello._alpn: the protocol list's range (entries checked), and the first entry's range. */
static int alpn(Bytes b, Py_ssize_t p, Py_ssize_t e, Range *list, Range *first) {
    if (p + 2 > e) return 0;
    Py_ssize_t end = p + 2 + U16(b, p);
    if (end > e) return 0;
    list->p = p + 2, list->q = end, list->present = 1;
    first->present = 0;
    for (p += 2; p < end;) {
        Py_ssize_t q = p + 1 + b[p];
        if (q > end) return 0;
        if (!first->present) first->p = p + 1, first->q = q, first->present = 1;
        p = q;
    }
    return 1;
}

/* tls_hello._list16: a vector of two-byte values with a two-byte (wide) or one-byte length. */
static int list16(Bytes b, Py_ssize_t p, Py_ssize_t e, int wide, Range *out) {
    Py_ssize_t q;
    if (wide) {
        if (p + 2 > e) return 0;
        q = p + 2 + U16(b, p), p += 2;
    } else {
        if (p >= e) return 0;
        q = p + 1 + b[p], p += 1;
    }
    if (q > e || ((q - p) & 1)) return 0;
    out->p = p, out->q = q, out->present = 1;
    return 1;
}

static PyObject *u16_tuple(Bytes b, Range r) {
    PyObject *t = PyTuple_New(r.present ? (r.q - r.p) / 2 : 0);
    if (t == NULL) return NULL;
    for (Py_ssize_t i = 0; r.present && r.p + 2 * i < r.q; i++) {
        PyObject *v = PyLong_FromLong((long)U16(b, r.p + 2 * i));
        if (v == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, v);
    }
    return t;
}

static PyObject *u8_tuple(Bytes b, Range r) {
    PyObject *t = PyTuple_New(r.present ? r.q - r.p : 0);
    if (t == NULL) return NULL;
    for (Py_ssize_t i = 0; r.present && r.p + i < r.q; i++)
        PyTuple_SET_ITEM(t, i, PyLong_FromLong(b[r.p + i])); /* small ints: cached, never NULL */
    return t;
}

static PyObject *ext_tuple(Bytes b, Py_ssize_t p, Py_ssize_t stop, Py_ssize_t count) {
    PyObject *t = PyTuple_New(count);
    if (t == NULL) return NULL;
    for (Py_ssize_t i = 0; p < stop; i++, p += 4 + U16(b, p + 2)) {
        PyObject *v = PyLong_FromLong((long)U16(b, p));
        if (v == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, v);
    }
    return t;
}

/* Cache key bytes: the ranges' bytes, each behind its 4-byte length (so the key is injective). */
static unsigned char *put_range(unsigned char *w, Bytes b, Range r) {
    Py_ssize_t n = r.present ? r.q - r.p : 0;
    *w++ = (unsigned char)(n >> 24), *w++ = (unsigned char)(n >> 16);
    *w++ = (unsigned char)(n >> 8), *w++ = (unsigned char)n;
    if (n) memcpy(w, b + r.p, (size_t)n);
    return w + n;
}

static unsigned char *put_exts(unsigned char *w, Bytes b, Py_ssize_t p, Py_ssize_t stop, Py_ssize_t count) {
    *w++ = (unsigned char)(count >> 8), *w++ = (unsigned char)count;
    for (; p < stop; p += 4 + U16(b, p + 2)) *w++ = b[p], *w++ = b[p + 1];
    return w;
}

/* The prints compute(pykey) gives, remembered in cache under key (a miss). New ref. */
static PyObject *remember(PyObject *cache, PyObject *key, PyObject *compute, PyObject *pykey) {
    PyObject *value = PyObject_CallOneArg(compute, pykey);
    if (value == NULL) return NULL;
    if (!PyTuple_Check(value) || PyTuple_GET_SIZE(value) != 3) {
        Py_DECREF(value);
        PyErr_SetString(PyExc_TypeError, "prints must be a 3-tuple");
        return NULL;
    }
    if (PyDict_GET_SIZE(cache) >= MAX_CACHE) PyDict_Clear(cache);
    if (PyDict_SetItem(cache, key, value) < 0) Py_CLEAR(value);
    return value;
}

/* str of the server name bytes as tls_hello does: decode (utf-8, backslashreplace), then lower(). */
static PyObject *sni_text(Bytes s, Py_ssize_t n) {
    Py_ssize_t i = 0;
    while (i < n && s[i] < 0x80) i++;
    if (i < n) {
        PyObject *raw = PyUnicode_DecodeUTF8((const char *)s, n, "backslashreplace");
        if (raw == NULL) return NULL;
        PyObject *low = PyObject_CallMethod(raw, "lower", NULL);
        Py_DECREF(raw);
        return low;
    }
    PyObject *text = PyUnicode_New(n, 127);
    if (text == NULL) return NULL;
    Py_UCS1 *w = PyUnicode_1BYTE_DATA(text);
    for (i = 0; i < n; i++) w[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (Py_UCS1)(s[i] + 32) : s[i];
    return text;
}

static PyObject *alpn_list(Bytes b, Range r) {
    PyObject *list = PyList_New(0);
    if (list == NULL || !r.present) return list;
    for (Py_ssize_t p = r.p; p < r.q; p += 1 + b[p]) {
        PyObject *name = PyUnicode_DecodeUTF8((const char *)b + p + 1, b[p], "backslashreplace");
        if (name == NULL || PyList_Append(list, name) < 0) {
            Py_XDECREF(name);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(name);
    }
    return list;
}

static int set_attr(PyObject *facts, PyObject *name, PyObject *value) {
    if (value == NULL) return -1;
    int rc = PyObject_SetAttr(facts, name, value);
    Py_DECREF(value);
    return rc;
}

/* tls_hello._client_hello, then tls.client_hello_facts(..., "t"). */
static int client_hello(Kernel *k, Bytes b, Py_ssize_t n, PyObject *facts) {
    Py_ssize_t p, end, q;
    if (!hello_start(b, n, 1, &p, &end) || p + 2 > end) return 0;
    q = p + 2 + U16(b, p);
    if (q > end || ((q - p) & 1)) return 0;
    Range ciphers = {p + 2, q, 1};
    if (q >= end || q + 1 + b[q] > end) return 0;
    p = q + 1 + b[q];
    Range sni = {0}, alpn_all = {0}, alpn0 = {0}, versions = {0}, groups = {0}, formats = {0}, sigs = {0};
    Py_ssize_t ext_start = 0, ext_stop = 0, count = 0;
    int ech = 0, sni_none = 1;
    if (p != end) {
        if (!extensions(b, p, end, &ext_start, &ext_stop)) return 0;
        for (p = ext_start; p < ext_stop; p = q, count++) {
            unsigned type = U16(b, p);
            Py_ssize_t d = p + 4;
            q = d + U16(b, p + 2);
            switch (type) {
            case 0x0000:
                if (sni_none && d < q) {
                    int r = server_name(b, d, q, &sni);
                    if (!r) return 0;
                    sni_none = r == 2;
                }
                break;
            case 0x0010:
                if (!alpn(b, d, q, &alpn_all, &alpn0)) return 0;
                break;
            case 0x002B:
                if (!list16(b, d, q, 0, &versions)) return 0;
                break;
            case 0x000A:
                if (!list16(b, d, q, 1, &groups)) return 0;
                break;
            case 0x000B:
                if (d >= q || d + 1 + b[d] > q) return 0;
                formats.p = d + 1, formats.q = d + 1 + b[d], formats.present = 1;
                break;
            case 0x000D:
                if (!list16(b, d, q, 1, &sigs)) return 0;
                break;
            case 0xFE0D:
            case 0xFFCE:
                ech = 1;
                break;
            }
        }
    }
    Range legacy = {4, 6, 1};
    Range *parts[] = {&legacy, &ciphers, &groups, &formats, &sigs, &versions, &alpn0};
    Py_ssize_t size = 2 + 1 + 2 * count;
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        size += 4 + (parts[i]->present ? parts[i]->q - parts[i]->p : 0);
    PyObject *key = PyBytes_FromStringAndSize(NULL, size);
    if (key == NULL) return -1;
    unsigned char *w = (unsigned char *)PyBytes_AS_STRING(key);
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) w = put_range(w, b, *parts[i]);
    *w++ = (unsigned char)alpn0.present;
    put_exts(w, b, ext_start, ext_stop, count);
    PyObject *prints = PyDict_GetItemWithError(k->client_cache, key);
    if (prints != NULL) {
        Py_INCREF(prints);
    } else if (!PyErr_Occurred()) {
        /* the key tuple of tls.client_hello_facts */
        PyObject *alpn_first = alpn0.present
                                   ? PyBytes_FromStringAndSize((const char *)b + alpn0.p, alpn0.q - alpn0.p)
                                   : Py_NewRef(Py_None);
        PyObject *pykey = alpn_first == NULL
                              ? NULL
                              : Py_BuildValue("(OiNNNNNNN)", k->t, (int)U16(b, 4), u16_tuple(b, ciphers),
                                              ext_tuple(b, ext_start, ext_stop, count), u16_tuple(b, groups),
                                              u8_tuple(b, formats), u16_tuple(b, sigs), u16_tuple(b, versions),
                                              alpn_first);
        if (pykey != NULL) {
            prints = remember(k->client_cache, key, k->client_prints, pykey);
            Py_DECREF(pykey);
        }
    }
    Py_DECREF(key);
    if (prints == NULL) return -1;
    PyObject *name = sni.present ? sni_text(b + sni.p, sni.q - sni.p) : Py_NewRef(Py_None);
    int rc = set_attr(facts, k->s_sni, name);
    rc = rc < 0 ? rc : set_attr(facts, k->s_alpn, alpn_list(b, alpn_all));
    rc = rc < 0 ? rc : PyObject_SetAttr(facts, k->s_ech, ech ? Py_True : Py_False);
    rc = rc < 0 ? rc : set_attr(facts, k->s_versions, PySequence_List(PyTuple_GET_ITEM(prints, 0)));
    rc = rc < 0 ? rc : PyObject_SetAttr(facts, k->s_ja3, PyTuple_GET_ITEM(prints, 1));
    rc = rc < 0 ? rc : PyObject_SetAttr(facts, k->s_ja4, PyTuple_GET_ITEM(prints, 2));
    Py_DECREF(prints);
    return rc < 0 ? -1 : 1;
}

/* tls_hello._server_hello, then tls._server_hello_facts. */
static int server_hello(Kernel *k, Bytes b, Py_ssize_t n, PyObject *facts) {
    Py_ssize_t p, end, ext_start = 0, ext_stop = 0, count = 0;
    if (!hello_start(b, n, 2, &p, &end) || p + 3 > end) return 0;
    unsigned cipher = U16(b, p), selected = 0;
    int has_selected = 0;
    p += 3;
    if (p != end) {
        if (!extensions(b, p, end, &ext_start, &ext_stop)) return 0;
        for (p = ext_start; p < ext_stop; p += 4 + U16(b, p + 2), count++) {
            if (U16(b, p) == 0x002B) {
                if (U16(b, p + 2) < 2) return 0;
                selected = U16(b, p + 4), has_selected = 1;
            }
        }
    }
    PyObject *key = PyBytes_FromStringAndSize(NULL, 7 + 2 + 2 * count);
    if (key == NULL) return -1;
    unsigned char *w = (unsigned char *)PyBytes_AS_STRING(key);
    w[0] = b[4], w[1] = b[5], w[2] = (unsigned char)(cipher >> 8), w[3] = (unsigned char)cipher;
    w[4] = (unsigned char)has_selected, w[5] = (unsigned char)(selected >> 8), w[6] = (unsigned char)selected;
    put_exts(w + 7, b, ext_start, ext_stop, count);
    PyObject *prints = PyDict_GetItemWithError(k->server_cache, key);
    if (prints != NULL) {
        Py_INCREF(prints);
    } else if (!PyErr_Occurred()) {
        PyObject *sel = has_selected ? PyLong_FromLong((long)selected) : Py_NewRef(Py_None);
        PyObject *pykey = sel == NULL ? NULL
                                      : Py_BuildValue("(iNiN)", (int)U16(b, 4), sel, (int)cipher,
                                                      ext_tuple(b, ext_start, ext_stop, count));
        if (pykey != NULL) {
            prints = remember(k->server_cache, key, k->server_prints, pykey);
            Py_DECREF(pykey);
        }
    }
    Py_DECREF(key);
    if (prints == NULL) return -1;
    int rc = PyObject_SetAttr(facts, k->s_version, PyTuple_GET_ITEM(prints, 0));
    rc = rc < 0 ? rc : PyObject_SetAttr(facts, k->s_cipher, PyTuple_GET_ITEM(prints, 1));
    rc = rc < 0 ? rc : PyObject_SetAttr(facts, k->s_ja3s, PyTuple_GET_ITEM(prints, 2));
    Py_DECREF(prints);
    return rc < 0 ? -1 : 1;
}

/* ------------------------------------------------------------------------------------------ */
/* TcpStream (tcpstream.py) with its limit, and the pending out-of-order segments.              */

typedef struct {
    long long rel;
    PyObject *payload; /* bytes, strong */
    Py_ssize_t skip;   /* the segment's bytes are payload[skip:] */
} Pending;

typedef struct {
    int has_base, overflow, npending;
    long long base, next, limit;
    unsigned char *buf;
    Py_ssize_t off, len, cap; /* data is buf[off:len] */
    Pending *pending; /* MAX_PENDING entries, allocated when a segment first arrives early */
} Stream;

static void stream_init(Stream *s) {
    memset(s, 0, sizeof *s);
    s->limit = STREAM_LIMIT;
}

static void stream_free(Stream *s) {
    for (int i = 0; i < s->npending; i++) Py_DECREF(s->pending[i].payload);
    PyMem_Free(s->pending);
    PyMem_Free(s->buf);
    stream_init(s);
}

/* Make room for need bytes in the heap buffer *buf of capacity *cap. */
static int grow(unsigned char **buf, Py_ssize_t *cap, Py_ssize_t need) {
    if (need <= *cap) return 0;
    Py_ssize_t size = *cap ? *cap : 2048;
    while (size < need) size *= 2;
    unsigned char *bigger = PyMem_Realloc(*buf, (size_t)size);
    if (bigger == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *buf = bigger, *cap = size;
    return 0;
}

static int stream_append(Stream *s, Bytes chunk, Py_ssize_t n) {
    long long room = s->limit - (s->len - s->off);
    if (n > room) n = (Py_ssize_t)(room > 0 ? room : 0), s->overflow = 1;
    if (n <= 0) return 0;
    if (s->len + n > s->cap) {
        if (s->off) {
            memmove(s->buf, s->buf + s->off, (size_t)(s->len - s->off));
            s->len -= s->off, s->off = 0;
        }
        if (grow(&s->buf, &s->cap, s->len + n) < 0) return -1;
    }
    memcpy(s->buf + s->len, chunk, (size_t)n);
    s->len += n, s->next += n;
    return 0;
}

static int stream_add(Stream *s, unsigned long long seq, PyObject *payload) {
    Py_ssize_t n = PyBytes_GET_SIZE(payload), skip = 0;
    Bytes data = (Bytes)PyBytes_AS_STRING(payload);
    if (n == 0) return 0;
    if (!s->has_base) s->base = (long long)seq, s->has_base = 1;
    long long rel = ((long long)seq - s->base) % MOD32;
    if (rel < 0) rel += MOD32;
    if (rel > MOD32 / 2) {
        long long cut = MOD32 - rel;
        if (cut >= n) return 0;
        skip = (Py_ssize_t)cut, rel = 0;
    }
    if (rel > s->next) {
        int i = 0;
        while (i < s->npending && s->pending[i].rel != rel) i++;
        if (s->npending < MAX_PENDING && rel - s->next < s->limit) {
            if (s->pending == NULL && (s->pending = PyMem_Malloc(MAX_PENDING * sizeof(Pending))) == NULL) {
                PyErr_NoMemory();
                return -1;
            }
            if (i == s->npending) s->npending++;
            else Py_DECREF(s->pending[i].payload);
            s->pending[i] = (Pending){rel, Py_NewRef(payload), skip};
        }
        return 0;
    }
    long long from = skip + (s->next - rel); /* payload[next - rel:] */
    if (from < n && stream_append(s, data + from, (Py_ssize_t)(n - from)) < 0) return -1;
    while (s->npending) {
        Pending ready[MAX_PENDING];
        int nready = 0, kept = 0;
        for (int i = 0; i < s->npending; i++) {
            if (s->pending[i].rel <= s->next) ready[nready++] = s->pending[i];
            else s->pending[kept++] = s->pending[i];
        }
        s->npending = kept;
        if (!nready) break;
        int rc = 0;
        for (int i = 0; i < nready; i++) {
            Pending *r = &ready[i];
            Py_ssize_t size = PyBytes_GET_SIZE(r->payload) - r->skip;
            if (rc == 0 && r->rel + size > s->next) {
                long long from = s->next - r->rel;
                Bytes chunk = (Bytes)PyBytes_AS_STRING(r->payload) + r->skip + from;
                rc = stream_append(s, chunk, (Py_ssize_t)(size - from));
            }
            Py_DECREF(r->payload);
        }
        if (rc < 0) return -1;
    }
    return 0;
}

static void stream_consume(Stream *s, Py_ssize_t n) {
    s->off += n;
    s->limit -= n;
    if (s->off == s->len) s->off = s->len = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* One flow's dissector: tls._Direction twice, and TlsDissector.                                */

typedef struct {
    int fresh, done, synced, replay, nheld;
    unsigned long long held_seq[MAX_HELD];
    PyObject *held[MAX_HELD];
    Stream stream;
    unsigned char *hs;
    Py_ssize_t hs_len, hs_cap;
} Direction;

typedef struct {
    PyObject_HEAD
    Kernel *k;
    int packets, finished, hellos;
    Direction dirs[2];
} Dissector;

static int dissect_error(Kernel *k, const char *text) {
    PyErr_SetString(k->error, text);
    return -1;
}

static int record_start(Bytes d, Py_ssize_t pos) {
    unsigned length = U16(d, pos + 3);
    return d[pos] >= 20 && d[pos] < 25 && d[pos + 1] == 3 && length <= MAX_RECORD;
}

static int stream_start(Bytes d) {
    if (!record_start(d, 0)) return 0;
    return d[0] == ALERT || (d[0] == HANDSHAKE && (d[5] == 1 || d[5] == 2));
}

/* tls._whole_hello */
static Py_ssize_t whole_hello(Bytes p, Py_ssize_t n) {
    if (n < 9 || n > STREAM_LIMIT || p[0] != HANDSHAKE || p[1] != 3) return 0;
    Py_ssize_t length = U16(p, 3), size = 4 + U24(p, 6);
    if ((p[5] != 1 && p[5] != 2) || !(size <= length && length <= n - 5)) return 0;
    return length <= MAX_RECORD && size <= MAX_HELLO ? size : 0;
}

/* TlsDissector._hello: 0 once recorded, -1 with an error set. */
static int hello(Dissector *self, Bytes b, Py_ssize_t n, PyObject *facts) {
    Kernel *k = self->k;
    int rc = b[0] == 1 ? client_hello(k, b, n, facts) : server_hello(k, b, n, facts);
    if (rc < 0) return -1;
    if (rc == 0) { /* declined: the Python parser names the defect, or records what C did not */
        PyObject *msg = PyBytes_FromStringAndSize((const char *)b, n);
        if (msg == NULL) return -1;
        PyObject *res = PyObject_CallFunctionObjArgs(k->hello_facts, msg, facts, NULL);
        Py_DECREF(msg);
        if (res == NULL) return -1;
        Py_DECREF(res);
    }
    self->hellos |= 1 << b[0];
    return 0;
}

static int direction_add(Dissector *self, Direction *side, unsigned long long seq, PyObject *payload) {
    side->fresh = 0;
    if (stream_add(&side->stream, seq, payload) < 0) return -1;
    if (side->replay) {
        side->replay = 0;
        for (int i = 0; i < side->nheld; i++)
            if (stream_add(&side->stream, side->held_seq[i], side->held[i]) < 0) return -1;
    }
    Stream *s = &side->stream;
    if (side->synced || s->len - s->off < 6) return 0;
    if (stream_start(s->buf + s->off)) {
        side->synced = 1;
        for (int i = 0; i < side->nheld; i++) Py_CLEAR(side->held[i]);
        side->nheld = 0;
        return 0;
    }
    if (side->nheld >= MAX_HELD) return dissect_error(self->k, "not a TLS record");
    side->held_seq[side->nheld] = seq;
    side->held[side->nheld++] = Py_NewRef(payload);
    stream_free(s);
    side->replay = 1;
    return 0;
}

static int handshake(Dissector *self, Direction *side, PyObject *facts) {
    Bytes hs = side->hs;
    if (side->hs_len < 4) return 0;
    Py_ssize_t size = 4 + U24(hs, 1);
    if (hs[0] != 1 && hs[0] != 2) {
        PyErr_Format(self->k->error, "handshake message type %d before the hello", (int)hs[0]);
        return -1;
    }
    if (size > MAX_HELLO) return dissect_error(self->k, "TLS hello larger than the reassembly limit");
    if (side->hs_len < size) return 0;
    if (hello(self, hs, side->hs_len, facts) < 0) return -1;
    side->done = 1;
    side->hs_len = 0;
    return 0;
}

static int records(Dissector *self, Direction *side, PyObject *facts) {
    Stream *s = &side->stream;
    Py_ssize_t pos = 0;
    while (!side->done && s->len - s->off - pos >= 5) {
        Bytes data = s->buf + s->off;
        Py_ssize_t avail = s->len - s->off;
        if (!record_start(data, pos)) return dissect_error(self->k, "not a TLS record");
        int ctype = data[pos];
        Py_ssize_t length = U16(data, pos + 3);
        if (avail - pos - 5 < length) break;
        if (ctype == HANDSHAKE) {
            if (grow(&side->hs, &side->hs_cap, side->hs_len + length) < 0) return -1;
            if (length) memcpy(side->hs + side->hs_len, data + pos + 5, (size_t)length);
            side->hs_len += length;
            if (handshake(self, side, facts) < 0) return -1;
        } else if (ctype == ALERT) {
            side->done = 1;
        } else {
            PyErr_Format(self->k->error, "TLS record type %d before the hello", ctype);
            return -1;
        }
        pos += 5 + length;
    }
    stream_consume(s, pos);
    if (s->overflow && !side->done)
        return dissect_error(self->k, "TLS hello larger than the reassembly limit");
    return 0;
}

static int feed_side(Dissector *self, Direction *side, unsigned long long seq, PyObject *payload,
                     PyObject *facts) {
    Bytes data = (Bytes)PyBytes_AS_STRING(payload);
    Py_ssize_t n = PyBytes_GET_SIZE(payload);
    Py_ssize_t size = side->fresh ? whole_hello(data, n) : 0;
    if (size) { /* the usual first segment: read the hello in place, without reassembly */
        if (hello(self, data + 5, size, facts) < 0) return -1;
        side->done = 1;
        return 0;
    }
    if (direction_add(self, side, seq, payload) < 0) return -1;
    return records(self, side, facts);
}

static PyObject *Dissector_feed(Dissector *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "feed(pkt, facts)");
        return NULL;
    }
    PyObject *pkt = args[0], *facts = args[1];
    if (self->finished) Py_RETURN_FALSE;
    if (!PyTuple_Check(pkt) || PyTuple_GET_SIZE(pkt) < 8) {
        PyErr_SetString(PyExc_TypeError, "pkt must be an L7Packet");
        return NULL;
    }
    self->packets++;
    long direction = PyLong_AsLong(PyTuple_GET_ITEM(pkt, 0));
    if (direction == -1 && PyErr_Occurred()) return NULL;
    Direction *side = &self->dirs[direction & 1];
    PyObject *payload = PyTuple_GET_ITEM(pkt, 5);
    int nonempty = PyBytes_CheckExact(payload) ? PyBytes_GET_SIZE(payload) > 0 : PyObject_IsTrue(payload);
    if (nonempty < 0) return NULL;
    if (!side->done && nonempty) {
        unsigned long long seq = PyLong_AsUnsignedLongLongMask(PyTuple_GET_ITEM(pkt, 6)) & 0xFFFFFFFFULL;
        if (seq == (unsigned long long)-1 && PyErr_Occurred()) return NULL;
        PyObject *bytes = PyBytes_CheckExact(payload) ? Py_NewRef(payload) : PyBytes_FromObject(payload);
        if (bytes == NULL) return NULL;
        int rc = feed_side(self, side, seq, bytes, facts);
        Py_DECREF(bytes);
        if (rc < 0) {
            if (PyErr_ExceptionMatches(self->k->error)) self->finished = 1;
            return NULL;
        }
    }
    int both = self->dirs[0].done && self->dirs[1].done;
    if (both || self->hellos == 6 || self->packets >= MAX_PACKETS) self->finished = 1;
    return PyBool_FromLong(!self->finished);
}

static void Dissector_dealloc(Dissector *self) {
    for (int d = 0; d < 2; d++) {
        Direction *side = &self->dirs[d];
        for (int i = 0; i < side->nheld; i++) Py_CLEAR(side->held[i]);
        stream_free(&side->stream);
        PyMem_Free(side->hs);
    }
    Py_XDECREF(self->k);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Dissector_directions(PyObject *self, void *closure) { return PyLong_FromLong(3); }

static PyMethodDef Dissector_methods[] = {
    {"feed", (PyCFunction)(void (*)(void))Dissector_feed, METH_FASTCALL,
     "feed(pkt, facts) -> bool: TlsDissector.feed (raises DissectError on malformed TLS)"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Dissector_getset[] = {
    {"directions", Dissector_directions, NULL, "Both directions are dissected (3).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject DissectorType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "flowradar.engine.dissect._tlsc.Dissector",
    .tp_doc = "One flow's TLS dissector (see the module docstring); made by Kernel.dissector().",
    .tp_basicsize = sizeof(Dissector),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)Dissector_dealloc,
    .tp_methods = Dissector_methods,
    .tp_getset = Dissector_getset,
};

/* ------------------------------------------------------------------------------------------ */

static PyObject *Kernel_dissector(Kernel *k, PyObject *unused) {
    Dissector *d = PyObject_New(Dissector, &DissectorType);
    if (d == NULL) return NULL;
    d->k = (Kernel *)Py_NewRef(k);
    d->packets = d->finished = d->hellos = 0;
    for (int i = 0; i < 2; i++) {
        Direction *side = &d->dirs[i];
        side->fresh = 1;
        side->done = side->synced = side->replay = side->nheld = 0;
        stream_init(&side->stream);
        side->hs = NULL, side->hs_len = side->hs_cap = 0;
    }
    return (PyObject *)d;
}

#define KERNEL_REFS(X)                                                                                \
    X(error) X(client_prints) X(server_prints) X(hello_facts) X(client_cache) X(server_cache) X(t)  \
        X(s_sni) X(s_alpn) X(s_ech) X(s_versions) X(s_ja3) X(s_ja4) X(s_version) X(s_cipher) X(s_ja3s)

static int Kernel_init(Kernel *k, PyObject *args, PyObject *kwds) {
    PyObject *error, *client_prints, *server_prints, *hello_facts;
    static char *names[] = {"dissect_error", "client_prints", "server_prints", "hello_facts", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOO", names, &error, &client_prints, &server_prints,
                                     &hello_facts))
        return -1;
    Py_XSETREF(k->error, Py_NewRef(error));
    Py_XSETREF(k->client_prints, Py_NewRef(client_prints));
    Py_XSETREF(k->server_prints, Py_NewRef(server_prints));
    Py_XSETREF(k->hello_facts, Py_NewRef(hello_facts));
    Py_XSETREF(k->client_cache, PyDict_New());
    Py_XSETREF(k->server_cache, PyDict_New());
#define INTERN(f, s) Py_XSETREF(k->f, PyUnicode_InternFromString(s));
    INTERN(t, "t") INTERN(s_sni, "tls_sni") INTERN(s_alpn, "tls_alpn") INTERN(s_ech, "tls_ech");
    INTERN(s_versions, "tls_versions_offered") INTERN(s_ja3, "tls_ja3") INTERN(s_ja4, "tls_ja4");
    INTERN(s_version, "tls_version") INTERN(s_cipher, "tls_cipher") INTERN(s_ja3s, "tls_ja3s");
#undef INTERN
#define CHECK(f) if (k->f == NULL) return -1;
    KERNEL_REFS(CHECK)
#undef CHECK
    return 0;
}

static int Kernel_traverse(Kernel *k, visitproc visit, void *arg) {
#define VISIT(f) Py_VISIT(k->f);
    KERNEL_REFS(VISIT)
#undef VISIT
    return 0;
}

static int Kernel_clear(Kernel *k) {
#define CLEAR(f) Py_CLEAR(k->f);
    KERNEL_REFS(CLEAR)
#undef CLEAR
    return 0;
}

static void Kernel_dealloc(Kernel *k) {
    PyObject_GC_UnTrack(k);
    Kernel_clear(k);
    Py_TYPE(k)->tp_free((PyObject *)k);
}

static PyMethodDef Kernel_methods[] = {
    {"dissector", (PyCFunction)Kernel_dissector, METH_NOARGS,
     "dissector() -> a fresh Dissector for one flow"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject KernelType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "flowradar.engine.dissect._tlsc.Kernel",
    .tp_doc = "Makes TLS dissectors sharing the Python fingerprint functions and their caches.",
    .tp_basicsize = sizeof(Kernel),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Kernel_init,
    .tp_dealloc = (destructor)Kernel_dealloc,
    .tp_traverse = (traverseproc)Kernel_traverse,
    .tp_clear = (inquiry)Kernel_clear,
    .tp_methods = Kernel_methods,
};

static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "_tlsc", "Compiled TLS dissector kernel", -1,
                                       NULL};

PyMODINIT_FUNC PyInit__tlsc(void) {
    if (PyType_Ready(&KernelType) < 0 || PyType_Ready(&DissectorType) < 0) return NULL;
    PyObject *m = PyModule_Create(&moduledef);
    if (m == NULL) return NULL;
    if (PyModule_AddObjectRef(m, "Kernel", (PyObject *)&KernelType) < 0 ||
        PyModule_AddObjectRef(m, "Dissector", (PyObject *)&DissectorType) < 0 ||
        PyModule_AddIntConstant(m, "MAX_PACKETS", MAX_PACKETS) < 0 ||
        PyModule_AddIntConstant(m, "MAX_HELLO", MAX_HELLO) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
