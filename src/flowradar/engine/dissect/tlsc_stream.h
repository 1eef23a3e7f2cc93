/* TcpStream for TLS: one direction's reassembly with out-of-order segments held back.
 * Part of _tlsc.c: included once, by it, after what it uses. */
#ifndef FLOWRADAR_TLSC_STREAM_H
#define FLOWRADAR_TLSC_STREAM_H

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

#endif /* FLOWRADAR_TLSC_STREAM_H */
