/* One flow's TLS dissector state, and the record / handshake reading of TlsDissector.
 * Part of _tlsc.c: included once, by it, after what it uses. */
#ifndef FLOWRADAR_TLSC_RECORDS_H
#define FLOWRADAR_TLSC_RECORDS_H

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

#endif /* FLOWRADAR_TLSC_RECORDS_H */
