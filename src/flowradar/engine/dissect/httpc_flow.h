/* HttpDissector's reading of a flow: requests (with resynchronisation and bodies skipped) and the first response.
 * Part of _httpc.c: included once, by it, after what it uses. */
#ifndef FLOWRADAR_HTTPC_FLOW_H
#define FLOWRADAR_HTTPC_FLOW_H

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
    return kc_set_attr(c->facts, c->st->attr[attr], value);
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
    PyObject *m = PyUnicode_DecodeASCII((const char *)method.p, method.len, "replace"); /* cannot fail on bytes */
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

#endif /* FLOWRADAR_HTTPC_FLOW_H */
