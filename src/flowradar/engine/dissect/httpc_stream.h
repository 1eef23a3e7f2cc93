/* One reassembled HTTP direction (tcpstream.TcpStream's semantics) and the head terminator scan.
 * Part of _httpc.c: included once, by it, after what it uses. */
#ifndef FLOWRADAR_HTTPC_STREAM_H
#define FLOWRADAR_HTTPC_STREAM_H

/* ------------------------------------------------------------------ one reassembled direction */

typedef struct {
    int64_t rel;
    unsigned char *data;
    Py_ssize_t len;
} Segment;

typedef struct {
    unsigned char *buf; /* readable bytes are (ext ? ext : buf)[head .. head + len) */
    const unsigned char *ext; /* during one feed: the segment itself, read in place (side_own) */
    Py_ssize_t head, len, cap;
    int64_t limit;      /* TcpStream._limit: shrinks as bytes are consumed */
    int64_t next;       /* relative sequence number of the next byte expected */
    uint32_t base;
    char has_base, overflow;
    Segment *pending;   /* MAX_PENDING slots once needed, in insertion order (a dict's) */
    int npending;
    Py_ssize_t scanned; /* _Side.scanned */
} Side;

static void side_init(Side *s, int64_t limit) {
    memset(s, 0, sizeof(*s));
    s->limit = limit;
}

static void side_free(Side *s) {
    for (int i = 0; i < s->npending; i++) PyMem_Free(s->pending[i].data);
    PyMem_Free(s->pending);
    PyMem_Free(s->buf);
    s->pending = NULL;
    s->buf = NULL;
    s->ext = NULL;
    s->npending = 0;
    s->head = s->len = s->cap = 0;
}

static inline const unsigned char *side_data(const Side *s) { return (s->ext ? s->ext : s->buf) + s->head; }

/* Copy what is left of a segment read in place into the side's own buffer (before the segment's
 * buffer is released); -1 (MemoryError set) when the buffer cannot grow. */
static int side_own(Side *s) {
    if (s->ext == NULL) return 0;
    const unsigned char *left = s->ext + s->head;
    s->ext = NULL;
    if (s->len > s->cap) {
        unsigned char *grown = PyMem_Realloc(s->buf, (size_t)s->len);
        if (grown == NULL) {
            s->head = s->len = 0;
            PyErr_NoMemory();
            return -1;
        }
        s->buf = grown;
        s->cap = s->len;
    }
    if (s->len) memcpy(s->buf, left, (size_t)s->len);
    s->head = 0;
    return 0;
}

/* TcpStream._append; -1 (MemoryError set) when the buffer cannot grow. With `in_place` (the bytes
 * outlive this feed), an empty side with nothing pending reads them in place until side_own. */
static int side_append(Side *s, const unsigned char *p, Py_ssize_t n, int in_place) {
    int64_t room = s->limit - s->len;
    if (n > room) {
        n = (Py_ssize_t)room;
        s->overflow = 1;
    }
    if (n > 0 && in_place && s->len == 0 && s->npending == 0 && s->ext == NULL) {
        s->ext = p;
        s->head = 0;
        s->len = n;
    } else if (n > 0) {
        if (side_own(s) < 0) return -1;
        if (s->head + s->len + n > s->cap) {
            if (s->head) {
                memmove(s->buf, s->buf + s->head, (size_t)s->len);
                s->head = 0;
            }
            if (s->len + n > s->cap) {
                Py_ssize_t cap = s->cap ? s->cap * 2 : 1024;
                if (cap < s->len + n) cap = s->len + n;
                unsigned char *grown = PyMem_Realloc(s->buf, (size_t)cap);
                if (grown == NULL) {
                    PyErr_NoMemory();
                    return -1;
                }
                s->buf = grown;
                s->cap = cap;
            }
        }
        memcpy(s->buf + s->head + s->len, p, (size_t)n);
        s->len += n;
    }
    s->next += n;
    return 0;
}

/* _Side.drop: TcpStream.consume, and the head scan starts over. */
static void side_drop(Side *s, Py_ssize_t n) {
    if (n > s->len) n = s->len;
    s->head += n;
    s->len -= n;
    if (s->len == 0) s->head = 0;
    s->limit -= n;
    s->scanned = 0;
}

static int side_keep_pending(Side *s, int64_t rel, const unsigned char *p, Py_ssize_t n) {
    int at = 0;
    while (at < s->npending && s->pending[at].rel != rel) at++;
    if (s->pending == NULL) {
        s->pending = PyMem_Malloc(sizeof(Segment) * MAX_PENDING);
        if (s->pending == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    unsigned char *copy = PyMem_Malloc((size_t)n);
    if (copy == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(copy, p, (size_t)n);
    if (at < s->npending) {
        PyMem_Free(s->pending[at].data); /* a dict keeps the key's place */
    } else {
        s->npending++;
    }
    s->pending[at] = (Segment){rel, copy, n};
    return 0;
}

/* TcpStream.add: in-sequence bytes become readable, later ones wait (up to MAX_PENDING). */
static int side_add(Side *s, PyObject *seq_obj, const unsigned char *p, Py_ssize_t n) {
    if (n == 0) return 0;
    unsigned long long seq_full = PyLong_AsUnsignedLongLongMask(seq_obj);
    if (seq_full == (unsigned long long)-1 && PyErr_Occurred()) return -1;
    uint32_t seq = (uint32_t)seq_full;
    if (!s->has_base) {
        s->base = seq;
        s->has_base = 1;
    }
    int64_t rel = (uint32_t)(seq - s->base);
    if (rel > 2147483648LL) { /* before the first byte we saw: keep only the new part */
        int64_t cut = 4294967296LL - rel;
        if (cut >= n) return 0;
        p += cut;
        n -= (Py_ssize_t)cut;
        rel = 0;
    }
    if (rel > s->next) {
        if (s->npending < MAX_PENDING && rel - s->next < s->limit) return side_keep_pending(s, rel, p, n);
        return 0;
    }
    int64_t skip = s->next - rel;
    if (skip > n) skip = n;
    if (side_append(s, p + skip, n - (Py_ssize_t)skip, 1) < 0) return -1;
    int rc = 0;
    while (s->npending) {
        Segment ready[MAX_PENDING];
        int nready = 0, kept = 0;
        for (int i = 0; i < s->npending; i++) {
            if (s->pending[i].rel <= s->next) {
                ready[nready++] = s->pending[i];
            } else {
                s->pending[kept++] = s->pending[i];
            }
        }
        s->npending = kept;
        if (nready == 0) break;
        for (int i = 0; i < nready; i++) {
            int64_t r = ready[i].rel;
            if (rc == 0 && r + ready[i].len > s->next) {
                Py_ssize_t off = (Py_ssize_t)(s->next - r);
                rc = side_append(s, ready[i].data + off, ready[i].len - off, 0);
            }
            PyMem_Free(ready[i].data);
        }
        if (rc < 0) return -1;
    }
    return 0;
}

/* _Side.take_head: the length of the complete head at the start (the bytes before "\n\r?\n") and of
 * the whole head with its terminator; 0 while incomplete. The terminator must end within
 * MAX_HEAD + 4 bytes. The caller parses the head, then drops `*total` bytes. */
static int side_find_head(Side *s, Py_ssize_t *head_len, Py_ssize_t *total) {
    const unsigned char *d = side_data(s);
    Py_ssize_t end = s->len < MAX_HEAD + 4 ? s->len : MAX_HEAD + 4;
    Py_ssize_t i = s->scanned > 3 ? s->scanned - 3 : 0;
    while (i < end) {
        const unsigned char *nl = memchr(d + i, '\n', (size_t)(end - i));
        if (nl == NULL) break;
        i = nl - d;
        if (i + 1 < end && d[i + 1] == '\n') {
            *head_len = i;
            *total = i + 2;
            return 1;
        }
        if (i + 2 < end && d[i + 1] == '\r' && d[i + 2] == '\n') {
            *head_len = i;
            *total = i + 3;
            return 1;
        }
        i++;
    }
    s->scanned = end;
    return 0;
}

#endif /* FLOWRADAR_HTTPC_STREAM_H */
