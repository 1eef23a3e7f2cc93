/*
 * HTTP/1.x per-flow dissector, compiled: the twin of flowradar.engine.dissect.http.HttpDissector.
 *
 * HttpFlow keeps the same state as the Python class (two reassembled directions with the semantics
 * of tcpstream.TcpStream, bytes of body to skip, resynchronisation, done flags) and writes the same
 * http_* facts, raises the same DissectError messages and answers feed()/directions the same on
 * every input; tests/engine/dissect/test_http_kernel.py checks that differentially. Any change to
 * http.py must be mirrored here. Every read is bounded by the buffered length; the module holds no
 * mutable global state (interned names and DissectError live in the module state).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
    MAX_REQUESTS = 100,
    MAX_STREAM = 256 * 1024,
    MAX_HEAD = 32 * 1024,
    LONGEST_METHOD = 16,
    MAX_PENDING = 64,
    RESYNC_KEEP = 8192,
    SNIFF_LIMIT = 16384,
    MAX_INTERIM = 8,
};

#define M(s) {s, sizeof(s) - 1}
static const struct {
    const char *name;
    Py_ssize_t len;
} METHODS[] = {
    M("GET"), M("HEAD"), M("POST"), M("PUT"), M("DELETE"), M("CONNECT"), M("OPTIONS"), M("TRACE"),
    M("PATCH"), M("PROPFIND"), M("PROPPATCH"), M("MKCOL"), M("COPY"), M("MOVE"), M("LOCK"),
    M("UNLOCK"), M("SEARCH"), M("REPORT"), M("CHECKIN"), M("CHECKOUT"), M("UNCHECKOUT"),
    M("MKACTIVITY"), M("MKWORKSPACE"), M("VERSION-CONTROL"), M("BASELINE-CONTROL"), M("MERGE"),
    M("LABEL"), M("UPDATE"), M("ORDERPATCH"), M("ACL"), M("MKCALENDAR"), M("BIND"), M("UNBIND"),
    M("REBIND"), M("POLL"), M("BCOPY"), M("BDELETE"), M("BMOVE"), M("BPROPFIND"), M("BPROPPATCH"),
    M("SUBSCRIBE"), M("UNSUBSCRIBE"), M("NOTIFY"), M("M-SEARCH"), M("CCM_POST"), M("RPC_CONNECT"),
    M("RPC_IN_DATA"), M("RPC_OUT_DATA"),
};
#define N_METHODS ((int)(sizeof(METHODS) / sizeof(METHODS[0])))

enum { F_HOST, F_USER_AGENT, F_REFERER, F_CONTENT_LENGTH, F_TRANSFER_ENCODING, F_CONTENT_TYPE, F_COUNT };
static const struct {
    const char *name;
    Py_ssize_t len;
} WANTED[F_COUNT] = {
    M("host"), M("user-agent"), M("referer"), M("content-length"), M("transfer-encoding"), M("content-type"),
};
#undef M

/* Attribute names, in the order of ATTR_NAMES. */
enum {
    A_REQUESTS, A_HOSTS, A_AGENTS, A_METHOD, A_PATH, A_HOST, A_AGENT, A_REFERER, A_STATUS, A_CTYPE,
    A_DIRECTION, A_TRANSPORT, A_PAYLOAD, A_SEQ, A_LOWER, A_APPEND, A_COUNT
};
static const char *const ATTR_NAMES[A_COUNT] = {
    "http_requests", "http_hosts", "http_user_agents", "http_method", "http_path", "http_host",
    "http_user_agent", "http_referer", "http_status", "http_content_type", "direction", "transport",
    "payload", "seq", "lower", "append",
};

typedef struct {
    PyObject *dissect_error;
    PyObject *tcp;
    PyObject *attr[A_COUNT];
} State;

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

/* ------------------------------------------------------------------ head parsing */

typedef struct {
    const unsigned char *p;
    Py_ssize_t len;
} Span;

static int is_method(const unsigned char *p, Py_ssize_t n) {
    for (int i = 0; i < N_METHODS; i++) {
        if (METHODS[i].len == n && METHODS[i].name[0] == p[0] && memcmp(METHODS[i].name, p, (size_t)n) == 0) {
            return 1;
        }
    }
    return 0;
}

static Span strip_blanks(Span s) {
    while (s.len && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.len--;
    }
    while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t')) s.len--;
    return s;
}

static Span next_line(const unsigned char *head, Py_ssize_t n, Py_ssize_t *pos) {
    const unsigned char *nl = memchr(head + *pos, '\n', (size_t)(n - *pos));
    Py_ssize_t end = nl ? nl - head : n;
    Span line = {head + *pos, end - *pos};
    *pos = end + 1;
    while (line.len && line.p[line.len - 1] == '\r') line.len--;
    return line;
}

/* The head's first line, and the first value of each wanted header (http._head_fields). */
static Span parse_head(const unsigned char *head, Py_ssize_t n, Span fields[F_COUNT]) {
    for (int f = 0; f < F_COUNT; f++) fields[f].p = NULL;
    Py_ssize_t pos = 0;
    Span first = next_line(head, n, &pos);
    while (pos <= n) {
        Span line = next_line(head, n, &pos);
        if (line.len == 0 || line.p[0] == ' ' || line.p[0] == '\t') continue;
        const unsigned char *colon = memchr(line.p, ':', (size_t)line.len);
        if (colon == NULL) continue;
        Span name = strip_blanks((Span){line.p, colon - line.p});
        for (int f = 0; f < F_COUNT; f++) {
            if (fields[f].p != NULL || WANTED[f].len != name.len) continue;
            Py_ssize_t k = 0;
            while (k < name.len && Py_TOLOWER(name.p[k]) == (unsigned char)WANTED[f].name[k]) k++;
            if (k == name.len) {
                fields[f] = (Span){colon + 1, line.p + line.len - colon - 1};
                break;
            }
        }
    }
    return first;
}

/* http._text: blanks stripped, UTF-8 with replacement; lower-cased like str.lower() if asked. */
static PyObject *text(State *st, Span raw, int lower) {
    Span s = strip_blanks(raw);
    if (!lower) return PyUnicode_DecodeUTF8((const char *)s.p, s.len, "replace");
    int ascii = 1, upper = 0;
    for (Py_ssize_t i = 0; i < s.len; i++) {
        ascii &= s.p[i] < 0x80;
        upper |= s.p[i] >= 'A' && s.p[i] <= 'Z';
    }
    if (!ascii) {
        PyObject *decoded = PyUnicode_DecodeUTF8((const char *)s.p, s.len, "replace");
        if (decoded == NULL) return NULL;
        PyObject *out = PyObject_CallMethodNoArgs(decoded, st->attr[A_LOWER]);
        Py_DECREF(decoded);
        return out;
    }
    if (!upper) return PyUnicode_DecodeASCII((const char *)s.p, s.len, NULL);
    PyObject *out = PyUnicode_New(s.len, 127);
    if (out == NULL) return NULL;
    Py_UCS1 *w = PyUnicode_1BYTE_DATA(out);
    for (Py_ssize_t i = 0; i < s.len; i++) w[i] = (Py_UCS1)Py_TOLOWER(s.p[i]);
    return out;
}

static PyObject *text_or_none(State *st, Span raw) {
    if (raw.p == NULL) Py_RETURN_NONE;
    return text(st, raw, 0);
}

/* ------------------------------------------------------------------ the flow */

typedef struct {
    PyObject_HEAD
    Side orig, resp;
    int64_t seen[2]; /* payload bytes per direction */
    int64_t skip;    /* request body bytes still to skip */
    char synced, orig_done, resp_done;
} Flow;

typedef struct {
    State *st;
    PyObject *facts;
    long long requests; /* facts.http_requests; valid once `known` */
    int known;
} Ctx;

static int load_requests(Ctx *c) {
    if (c->known) return 0;
    PyObject *v = PyObject_GetAttr(c->facts, c->st->attr[A_REQUESTS]);
    if (v == NULL) return -1;
    int overflow;
    c->requests = PyLong_AsLongLongAndOverflow(v, &overflow);
    Py_DECREF(v);
    if (c->requests == -1 && PyErr_Occurred()) return -1;
    if (overflow) c->requests = overflow > 0 ? LLONG_MAX : LLONG_MIN;
    c->known = 1;
    return 0;
}

static int set_attr(Ctx *c, int attr, PyObject *value) { /* steals value */
    if (value == NULL) return -1;
    int rc = PyObject_SetAttr(c->facts, c->st->attr[attr], value);
    Py_DECREF(value);
    return rc;
}

/* `if value and value not in facts.<attr>: facts.<attr>.append(value)` */
static int add_distinct(Ctx *c, int attr, PyObject *value) {
    if (value == Py_None || PyUnicode_GET_LENGTH(value) == 0) return 0;
    PyObject *seq = PyObject_GetAttr(c->facts, c->st->attr[attr]);
    if (seq == NULL) return -1;
    int rc = PySequence_Contains(seq, value);
    if (rc == 0) {
        if (PyList_CheckExact(seq)) {
            rc = PyList_Append(seq, value);
        } else {
            PyObject *r = PyObject_CallMethodOneArg(seq, c->st->attr[A_APPEND], value);
            rc = r ? 0 : -1;
            Py_XDECREF(r);
        }
    }
    Py_DECREF(seq);
    return rc < 0 ? -1 : 0;
}

static int first_request_facts(Ctx *c, Span line, PyObject *host, PyObject *agent, Span referer) {
    const unsigned char *sp = memchr(line.p, ' ', (size_t)line.len);
    Span method = {line.p, sp ? sp - line.p : line.len};
    Span rest = {sp ? sp + 1 : line.p + line.len, sp ? line.p + line.len - sp - 1 : 0};
    Py_ssize_t last = rest.len - 1;
    while (last >= 0 && rest.p[last] != ' ') last--;
    Span target = {rest.p, last >= 0 ? last : 0};
    Span version = {rest.p + last + 1, rest.len - last - 1};
    int versioned = version.len >= 5 && memcmp(version.p, "HTTP/", 5) == 0;
    PyObject *m = PyUnicode_DecodeASCII((const char *)method.p, method.len, NULL);
    if (set_attr(c, A_METHOD, m) < 0) return -1;
    if (set_attr(c, A_PATH, text(c->st, versioned ? target : rest, 0)) < 0) return -1;
    Py_INCREF(host);
    if (set_attr(c, A_HOST, host) < 0) return -1;
    Py_INCREF(agent);
    if (set_attr(c, A_AGENT, agent) < 0) return -1;
    return set_attr(c, A_REFERER, text_or_none(c->st, referer));
}

/* http._plan_body */
static void plan_body(Flow *f, const Span fields[F_COUNT]) {
    Span te = fields[F_TRANSFER_ENCODING];
    for (Py_ssize_t i = 0; te.p && i + 7 <= te.len; i++) {
        Py_ssize_t k = 0;
        while (k < 7 && Py_TOLOWER(te.p[i + k]) == (unsigned char)"chunked"[k]) k++;
        if (k == 7) {
            f->synced = 0;
            return;
        }
    }
    if (fields[F_CONTENT_LENGTH].p == NULL) return;
    Span cl = strip_blanks(fields[F_CONTENT_LENGTH]);
    if (cl.len == 0 || cl.len > 12) return;
    int64_t v = 0;
    for (Py_ssize_t i = 0; i < cl.len; i++) {
        if (cl.p[i] < '0' || cl.p[i] > '9') return;
        v = v * 10 + (cl.p[i] - '0');
    }
    f->skip = v;
}

/* http._record_request */
static int record_request(Flow *f, Ctx *c, const unsigned char *head, Py_ssize_t n) {
    Span fields[F_COUNT];
    Span line = parse_head(head, n, fields);
    c->requests += 1;
    if (set_attr(c, A_REQUESTS, PyLong_FromLongLong(c->requests)) < 0) return -1;
    PyObject *host = fields[F_HOST].p ? text(c->st, fields[F_HOST], 1) : Py_NewRef(Py_None);
    PyObject *agent = fields[F_USER_AGENT].p ? text(c->st, fields[F_USER_AGENT], 0) : Py_NewRef(Py_None);
    int rc = -1;
    if (host == NULL || agent == NULL) goto done;
    if (add_distinct(c, A_HOSTS, host) < 0 || add_distinct(c, A_AGENTS, agent) < 0) goto done;
    PyObject *method = PyObject_GetAttr(c->facts, c->st->attr[A_METHOD]);
    if (method == NULL) goto done;
    int first = method == Py_None;
    Py_DECREF(method);
    if (first && first_request_facts(c, line, host, agent, fields[F_REFERER]) < 0) goto done;
    plan_body(f, fields);
    rc = 0;
done:
    Py_XDECREF(host);
    Py_XDECREF(agent);
    return rc;
}

/* The line at `s` (ending at `e`, without its "\n") matches http._REQUEST_LINE. */
static int request_line_at(const unsigned char *d, Py_ssize_t s, Py_ssize_t e) {
    Py_ssize_t sp = s, lim = e - s > LONGEST_METHOD + 1 ? s + LONGEST_METHOD + 1 : e;
    while (sp < lim && d[sp] != ' ') sp++;
    if (sp >= lim || sp == s || !is_method(d + s, sp - s)) return 0;
    Py_ssize_t end = e > sp + 1 && d[e - 1] == '\r' ? e - 1 : e;
    if (end - (sp + 1) < 8) return 0;
    const unsigned char *v = d + end - 8;
    if (memcmp(v, "HTTP/1.", 7) != 0 || v[7] < '0' || v[7] > '9') return 0;
    return memchr(d + sp + 1, '\r', (size_t)(end - 8 - sp - 1)) == NULL;
}

/* http._resync: 1 when the stream now starts at a request line, 0 when none is buffered yet. */
static int resync(Flow *f, Ctx *c) {
    Side *s = &f->orig;
    const unsigned char *d = side_data(s);
    if (c->requests == 0 && !(d[0] >= 0x21 && d[0] < 0x7F)) {
        f->orig_done = 1;
        PyErr_SetString(c->st->dissect_error, "not HTTP/1.x: the originator's first byte is not text");
        return -1;
    }
    Py_ssize_t start = 0, last_nl = -1;
    while (start < s->len) {
        const unsigned char *nl = memchr(d + start, '\n', (size_t)(s->len - start));
        Py_ssize_t e = nl ? nl - d : s->len;
        if (request_line_at(d, start, e)) {
            side_drop(s, start);
            f->synced = 1;
            return 1;
        }
        if (nl == NULL) break;
        last_nl = e;
        start = e + 1;
    }
    Py_ssize_t keep = s->len - (last_nl + 1);
    side_drop(s, keep < RESYNC_KEEP ? s->len - keep : s->len);
    if (c->requests == 0 && f->seen[0] > SNIFF_LIMIT) {
        f->orig_done = 1;
        PyErr_SetString(c->st->dissect_error, "not HTTP/1.x: no request line in the first 16 KiB");
        return -1;
    }
    return 0;
}

/* http._read_request: 1 when a head was read (or the stream lost sync), 0 while incomplete. */
static int read_request(Flow *f, Ctx *c) {
    Side *s = &f->orig;
    const unsigned char *d = side_data(s);
    Py_ssize_t n = s->len, space = -1, eol = -1;
    for (Py_ssize_t i = 0; i < n && i <= LONGEST_METHOD + 1; i++) {
        if (space < 0 && i <= LONGEST_METHOD && d[i] == ' ') space = i;
        if (eol < 0 && d[i] == '\n') eol = i;
    }
    int ends = space >= 0 || eol >= 0;
    Py_ssize_t tok = !ends ? (n < LONGEST_METHOD + 1 ? n : LONGEST_METHOD + 1)
                     : space < 0 ? eol
                     : eol < 0   ? space
                     : space < eol ? space : eol;
    while (tok && d[tok - 1] == '\r') tok--;
    if (tok == 0 || !is_method(d, tok)) {
        if (!ends && n <= LONGEST_METHOD) {
            Py_ssize_t i = 0;
            while (i < tok && ((d[i] >= 'A' && d[i] <= 'Z') || d[i] == '_' || d[i] == '-')) i++;
            if (i == tok) return 0; /* the first token may still be arriving */
        }
        f->synced = 0;
        return 1;
    }
    Py_ssize_t head_len, total;
    if (!side_find_head(s, &head_len, &total)) {
        f->orig_done = n > MAX_HEAD;
        return 0;
    }
    side_drop(s, total); /* the bytes stay in place until the next append */
    return record_request(f, c, d, head_len) < 0 ? -1 : 1;
}

/* http._read_requests */
static int read_requests(Flow *f, Ctx *c) {
    Side *s = &f->orig;
    for (int i = 0; i <= MAX_REQUESTS; i++) {
        if (f->skip) {
            int64_t step = f->skip < s->len ? f->skip : s->len;
            side_drop(s, (Py_ssize_t)step);
            f->skip -= step;
            if (f->skip) return 0;
        }
        if (s->len == 0 || c->requests >= MAX_REQUESTS) return 0;
        int rc = f->synced ? 1 : resync(f, c);
        if (rc <= 0) return rc;
        rc = read_request(f, c);
        if (rc <= 0) return rc;
    }
    return 0;
}

/* http._read_response (with _response_head): the first final response head. */
static int read_response(Flow *f, Ctx *c) {
    Side *s = &f->resp;
    for (int i = 0; i < MAX_INTERIM; i++) {
        const unsigned char *d = side_data(s);
        if (s->len >= 7 && memcmp(d, "HTTP/1.", 7) != 0) {
            f->resp_done = 1;
            return 0;
        }
        Py_ssize_t head_len, total;
        if (!side_find_head(s, &head_len, &total)) {
            f->resp_done = s->overflow;
            return 0;
        }
        side_drop(s, total);
        Span fields[F_COUNT];
        Span line = parse_head(d, head_len, fields);
        const unsigned char *sp = memchr(line.p, ' ', (size_t)line.len);
        int status = 0;
        if (sp) {
            Span code = {sp + 1, line.p + line.len - sp - 1};
            const unsigned char *sp2 = memchr(code.p, ' ', (size_t)code.len);
            if (sp2) code.len = sp2 - code.p;
            if (code.len == 3 && Py_ISDIGIT(code.p[0]) && Py_ISDIGIT(code.p[1]) && Py_ISDIGIT(code.p[2])) {
                status = (code.p[0] - '0') * 100 + (code.p[1] - '0') * 10 + (code.p[2] - '0');
            }
        }
        if (100 <= status && status < 200) continue;
        if (set_attr(c, A_STATUS, status ? PyLong_FromLong(status) : Py_NewRef(Py_None)) < 0) return -1;
        if (set_attr(c, A_CTYPE, text_or_none(c->st, fields[F_CONTENT_TYPE])) < 0) return -1;
        break;
    }
    f->resp_done = 1;
    return 0;
}

static int flow_feed_impl(Flow *f, State *st, PyObject *pkt, PyObject *facts) {
    PyObject *direction, *transport, *payload, *seq, *owned[4] = {NULL, NULL, NULL, NULL};
    int rc = -1;
    if (PyTuple_Check(pkt) && PyTuple_GET_SIZE(pkt) == 8) {
        direction = PyTuple_GET_ITEM(pkt, 0);
        transport = PyTuple_GET_ITEM(pkt, 2);
        payload = PyTuple_GET_ITEM(pkt, 5);
        seq = PyTuple_GET_ITEM(pkt, 6);
    } else {
        const int names[4] = {A_DIRECTION, A_TRANSPORT, A_PAYLOAD, A_SEQ};
        for (int i = 0; i < 4; i++) {
            owned[i] = PyObject_GetAttr(pkt, st->attr[names[i]]);
            if (owned[i] == NULL) goto out;
        }
        direction = owned[0], transport = owned[1], payload = owned[2], seq = owned[3];
    }
    int tcp = transport == st->tcp ? 1 : PyObject_RichCompareBool(transport, st->tcp, Py_EQ);
    if (tcp <= 0) {
        rc = tcp < 0 ? -1 : 0;
        goto out;
    }
    int orig;
    if (PyLong_CheckExact(direction)) {
        int overflow;
        long v = PyLong_AsLongAndOverflow(direction, &overflow);
        orig = !overflow && v == 0;
    } else {
        PyObject *zero = PyLong_FromLong(0);
        orig = zero ? PyObject_RichCompareBool(direction, zero, Py_EQ) : -1;
        Py_XDECREF(zero);
        if (orig < 0) goto out;
    }
    Py_buffer view;
    if (PyBytes_CheckExact(payload)) { /* the usual case, without the buffer protocol's cost */
        view.obj = NULL;
        view.buf = PyBytes_AS_STRING(payload);
        view.len = PyBytes_GET_SIZE(payload);
    } else if (PyObject_GetBuffer(payload, &view, PyBUF_SIMPLE) < 0) {
        goto out;
    }
    Ctx c = {st, facts, 0, 0};
    int dir = orig ? 0 : 1, failed = 0;
    f->seen[dir] += view.len;
    if (dir == 0 && !f->orig_done) {
        failed = side_add(&f->orig, seq, view.buf, view.len) < 0 || load_requests(&c) < 0 ||
                 read_requests(f, &c) < 0;
    } else if (dir == 1 && !f->resp_done) {
        failed = side_add(&f->resp, seq, view.buf, view.len) < 0 || read_response(f, &c) < 0;
    }
    for (int d = 0; d < 2; d++) { /* before the segment goes: a done side is never read again */
        Side *s = d ? &f->resp : &f->orig;
        if (d ? f->resp_done : f->orig_done) {
            side_free(s);
        } else if (side_own(s) < 0) {
            failed = 1;
        }
    }
    if (view.obj != NULL) PyBuffer_Release(&view);
    if (failed) goto out;
    rc = 0;
    if (!f->orig_done) {
        if (load_requests(&c) < 0) {
            rc = -1;
            goto out;
        }
        int64_t seen = f->seen[0] > f->seen[1] ? f->seen[0] : f->seen[1];
        rc = c.requests < MAX_REQUESTS && seen <= MAX_STREAM && !f->orig.overflow;
    }
out:
    for (int i = 0; i < 4; i++) Py_XDECREF(owned[i]);
    return rc;
}

static PyObject *flow_feed(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
    static const char *const names[2] = {"pkt", "facts"};
    PyObject *argv[2] = {NULL, NULL};
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "feed() takes 2 arguments");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) argv[i] = args[i];
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, k);
        int at = PyUnicode_CompareWithASCIIString(key, names[0]) == 0   ? 0
                 : PyUnicode_CompareWithASCIIString(key, names[1]) == 0 ? 1
                                                                        : -1;
        if (at < 0 || argv[at] != NULL) {
            PyErr_Format(PyExc_TypeError, "feed() got an unexpected or repeated argument %R", key);
            return NULL;
        }
        argv[at] = args[nargs + k];
    }
    if (argv[0] == NULL || argv[1] == NULL) {
        PyErr_SetString(PyExc_TypeError, "feed() missing an argument: pkt and facts are required");
        return NULL;
    }
    State *st = PyType_GetModuleState(Py_TYPE(self));
    if (st == NULL) return NULL;
    int rc = flow_feed_impl((Flow *)self, st, argv[0], argv[1]);
    if (rc < 0) return NULL;
    return PyBool_FromLong(rc);
}

static PyObject *flow_directions(PyObject *self, void *closure) {
    return PyLong_FromLong(((Flow *)self)->resp_done ? 1 : 3);
}

static PyObject *flow_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    if (PyTuple_GET_SIZE(args) || (kwds && PyDict_GET_SIZE(kwds))) {
        PyErr_SetString(PyExc_TypeError, "HttpFlow() takes no arguments");
        return NULL;
    }
    Flow *f = (Flow *)type->tp_alloc(type, 0);
    if (f == NULL) return NULL;
    side_init(&f->orig, MAX_STREAM);
    side_init(&f->resp, MAX_HEAD);
    f->seen[0] = f->seen[1] = 0;
    f->skip = 0;
    f->synced = 1;
    f->orig_done = f->resp_done = 0;
    return (PyObject *)f;
}

static void flow_dealloc(PyObject *self) {
    Flow *f = (Flow *)self;
    PyTypeObject *type = Py_TYPE(self);
    side_free(&f->orig);
    side_free(&f->resp);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyMethodDef flow_methods[] = {
    {"feed", (PyCFunction)(void (*)(void))flow_feed, METH_FASTCALL | METH_KEYWORDS,
     "Read what this segment completes; True while more requests may come."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef flow_getset[] = {
    {"directions", flow_directions, NULL,
     "Directions still wanted: once the first response head is read, only the client's (1).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot flow_slots[] = {
    {Py_tp_doc, "Fills the http_* facts of a flow from its requests (all of them) and its first response."},
    {Py_tp_new, flow_new},
    {Py_tp_dealloc, flow_dealloc},
    {Py_tp_methods, flow_methods},
    {Py_tp_getset, flow_getset},
    {0, NULL},
};

static PyType_Spec flow_spec = {
    "flowradar.engine.dissect._httpc.HttpFlow", sizeof(Flow), 0, Py_TPFLAGS_DEFAULT, flow_slots,
};

/* ------------------------------------------------------------------ module */

static int module_traverse(PyObject *m, visitproc visit, void *arg) {
    State *st = PyModule_GetState(m);
    Py_VISIT(st->dissect_error);
    return 0;
}

static int module_clear(PyObject *m) {
    State *st = PyModule_GetState(m);
    Py_CLEAR(st->dissect_error);
    Py_CLEAR(st->tcp);
    for (int i = 0; i < A_COUNT; i++) Py_CLEAR(st->attr[i]);
    return 0;
}

static void module_free(void *m) { module_clear((PyObject *)m); }

static int module_exec(PyObject *m) {
    State *st = PyModule_GetState(m);
    PyObject *base = PyImport_ImportModule("flowradar.engine.dissect.base");
    if (base == NULL) return -1;
    st->dissect_error = PyObject_GetAttrString(base, "DissectError");
    Py_DECREF(base);
    if (st->dissect_error == NULL) return -1;
    st->tcp = PyUnicode_InternFromString("tcp");
    if (st->tcp == NULL) return -1;
    for (int i = 0; i < A_COUNT; i++) {
        st->attr[i] = PyUnicode_InternFromString(ATTR_NAMES[i]);
        if (st->attr[i] == NULL) return -1;
    }
    PyObject *type = PyType_FromModuleAndSpec(m, &flow_spec, NULL);
    if (type == NULL || PyModule_AddObjectRef(m, "HttpFlow", type) < 0) {
        Py_XDECREF(type);
        return -1;
    }
    Py_DECREF(type);
    PyObject *methods = PyTuple_New(N_METHODS);
    if (methods == NULL) return -1;
    for (int i = 0; i < N_METHODS; i++) {
        PyObject *name = PyBytes_FromStringAndSize(METHODS[i].name, METHODS[i].len);
        if (name == NULL) {
            Py_DECREF(methods);
            return -1;
        }
        PyTuple_SET_ITEM(methods, i, name);
    }
    if (PyModule_AddObject(m, "METHODS", methods) < 0) {
        Py_DECREF(methods);
        return -1;
    }
    if (PyModule_AddIntConstant(m, "MAX_REQUESTS", MAX_REQUESTS) < 0 ||
        PyModule_AddIntConstant(m, "MAX_STREAM", MAX_STREAM) < 0 ||
        PyModule_AddIntConstant(m, "MAX_HEAD", MAX_HEAD) < 0) {
        return -1;
    }
    return 0;
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_httpc", "HTTP/1.x dissector kernel (the compiled twin of http.HttpDissector).",
    sizeof(State), NULL, module_slots, module_traverse, module_clear, module_free,
};

PyMODINIT_FUNC PyInit__httpc(void) { return PyModuleDef_Init(&moduledef); }
