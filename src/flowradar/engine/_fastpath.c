/*
 * flowradar hot path: capture-record indexing, packet decoding and the bidirectional flow table.
 *
 * Packets arrive in batches (a buffer plus a packed index, see capture/base.py). For each packet the
 * decoder walks link layer, VLAN/QinQ, MPLS, PPPoE, IPv4/IPv6 (options, extension headers), tunnels
 * (IPIP, 6in4, 4in6, GRE, VXLAN, Teredo) to the innermost IP header, then the transport header. The
 * flow table keys flows by canonical 5-tuple, keeps per-direction counters, TCP flags and a Zeek-style
 * history, applies idle/active timeouts with an LRU list, evicts (and counts) when full, and hands
 * Python only (a) the first payload-carrying packets of flows whose dissection budget is not spent,
 * one call of the L7 handler each, whose answer sets the flow's remaining budget at once (so a flow
 * whose dissection ended gets no further packets, even later in the same batch), and (b) IP fragments,
 * which Python reassembles and feeds back through process_ip().
 * Finished flows are exported as fixed-size records (export_t) that Python views with numpy.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ records shared with Python */
typedef struct {
    int64_t off;
    int64_t ts;
    uint32_t caplen;
    uint32_t wirelen;
    int32_t linktype;
    uint32_t pad;
} idx_t;

typedef struct {
    uint64_t id;
    int64_t first, last;
    uint8_t src[16], dst[16];
    uint64_t pkts[2], bytes[2], payload[2];
    uint16_t sport, dport, vlan;
    uint8_t proto, ver, flags0, flags1, end_reason, state;
    char hist[16];
} export_t;

enum { END_IDLE = 0, END_ACTIVE, END_FIN, END_RST, END_EVICTED, END_END };
enum { ST_NONE = 0, ST_SYN = 1, ST_EST = 2, ST_FIN = 3, ST_RST = 4 };

/* ------------------------------------------------------------------ decoding */
typedef struct {
    uint8_t ver, proto;
    uint8_t src[16], dst[16];
    uint16_t sport, dport;
    uint8_t tcp_flags;
    uint8_t has_ports;
    uint32_t seq;
    const uint8_t *payload;
    uint32_t payload_len;
    uint32_t ip_len;     /* bytes counted for the flow: outer IP total length */
    uint16_t vlan;
    const uint8_t *frag; /* outermost fragmented IP datagram header, when fragmented */
    uint32_t frag_len;
} pkt_t;

enum { D_OK = 0, D_NONIP = 1, D_TRUNC = 2, D_FRAG = 3 };

#define RD16(p) ((uint16_t)(((p)[0] << 8) | (p)[1]))
#define RD32(p) ((uint32_t)(((uint32_t)(p)[0] << 24) | ((uint32_t)(p)[1] << 16) | ((uint32_t)(p)[2] << 8) | (p)[3]))

static int decode_ip(const uint8_t *p, uint32_t len, pkt_t *k, int depth, int outer);
static int decode_ether(const uint8_t *p, uint32_t len, pkt_t *k, int depth);

static int decode_ethertype(uint16_t type, const uint8_t *p, uint32_t len, pkt_t *k, int depth) {
    for (int guard = 0; guard < 16; guard++) {
        if (type == 0x8100 || type == 0x88a8 || type == 0x9100 || type == 0x9200) {
            if (len < 4) return D_TRUNC;
            if (k->vlan == 0) k->vlan = RD16(p) & 0x0fff;
            type = RD16(p + 2);
            p += 4; len -= 4;
            continue;
        }
        if (type == 0x8847 || type == 0x8848) {
            for (int i = 0; i < 16; i++) {
                if (len < 4) return D_TRUNC;
                int bottom = p[2] & 1;
                p += 4; len -= 4;
                if (bottom) break;
            }
            if (len < 1) return D_TRUNC;
            if ((p[0] >> 4) == 4 || (p[0] >> 4) == 6) return decode_ip(p, len, k, depth + 1, 1);
            if (p[0] == 0 && len > 4) return decode_ether(p + 4, len - 4, k, depth + 1); /* PW control word */
            return D_NONIP;
        }
        if (type == 0x8864) { /* PPPoE session */
            if (len < 8) return D_TRUNC;
            uint16_t ppp = RD16(p + 6);
            p += 8; len -= 8;
            if (ppp == 0x0021 || ppp == 0x0057) return decode_ip(p, len, k, depth + 1, 1);
            return D_NONIP;
        }
        if (type == 0x0800 || type == 0x86dd) return decode_ip(p, len, k, depth, 1);
        return D_NONIP;
    }
    return D_NONIP;
}

static int decode_ether(const uint8_t *p, uint32_t len, pkt_t *k, int depth) {
    if (depth > 6) return D_NONIP;
    if (len < 14) return D_TRUNC;
    return decode_ethertype(RD16(p + 12), p + 14, len - 14, k, depth);
}

/* Teredo: optional authentication / origin indication headers, then an IPv6 packet. */
static int teredo_inner(const uint8_t *p, uint32_t len, uint32_t *skip) {
    uint32_t o = 0;
    if (len >= 4 && p[0] == 0 && p[1] == 1) { /* authentication */
        uint32_t idl = p[2], aul = p[3];
        o += 4 + idl + aul + 8 + 1;
    }
    if (o + 8 <= len && p[o] == 0 && p[o + 1] == 0) o += 8; /* origin indication */
    if (o + 40 > len || (p[o] >> 4) != 6) return 0;
    uint16_t plen = RD16(p + o + 4);
    if ((uint32_t)plen + 40 != len - o) return 0;
    uint8_t nh = p[o + 6];
    if (nh != 6 && nh != 17 && nh != 58 && nh != 0 && nh != 59 && nh != 44 && nh != 60 && nh != 43) return 0;
    *skip = o;
    return 1;
}

static int decode_transport(const uint8_t *p, uint32_t len, pkt_t *k, int depth) {
    uint8_t proto = k->proto;
    if (proto == 4 || proto == 41) { /* IPIP, 6in4, 4in6 */
        if (len >= 20 && ((p[0] >> 4) == 4 || (p[0] >> 4) == 6)) {
            pkt_t save = *k;
            int r = decode_ip(p, len, k, depth + 1, 0);
            if (r == D_OK || r == D_FRAG) return r;
            *k = save;
        }
        return D_OK;
    }
    if (proto == 47 && len >= 4) { /* GRE */
        uint16_t fl = RD16(p), et = RD16(p + 2);
        uint32_t hl = 4 + ((fl & 0x8000) ? 4 : 0) + ((fl & 0x2000) ? 4 : 0) + ((fl & 0x1000) ? 4 : 0);
        if ((fl & 7) == 0 && hl <= len) {
            pkt_t save = *k;
            int r = D_NONIP;
            if (et == 0x0800 || et == 0x86dd) r = decode_ip(p + hl, len - hl, k, depth + 1, 0);
            else if (et == 0x6558) r = decode_ether(p + hl, len - hl, k, depth + 1);
            else if (et == 0x88be && hl + 8 <= len) r = decode_ether(p + hl + 8, len - hl - 8, k, depth + 1);
            if (r == D_OK || r == D_FRAG) return r;
            *k = save;
        }
        return D_OK;
    }
    if (proto == 6 || proto == 17 || proto == 132) {
        if (len < 4) return D_TRUNC;
        k->sport = RD16(p);
        k->dport = RD16(p + 2);
        k->has_ports = 1;
        if (proto == 6) {
            if (len < 14) return D_OK;
            k->seq = RD32(p + 4);
            k->tcp_flags = p[13];
            uint32_t off = (uint32_t)(p[12] >> 4) * 4;
            if (off >= 20 && off <= len) {
                k->payload = p + off;
                k->payload_len = len - off;
            }
            return D_OK;
        }
        if (proto == 17) {
            if (len < 8) return D_OK;
            k->payload = p + 8;
            k->payload_len = len - 8;
            uint16_t ulen = RD16(p + 4);
            if (ulen >= 8 && ulen - 8u < k->payload_len) k->payload_len = ulen - 8u;
            if (depth < 6 && (k->dport == 4789 || k->sport == 4789) && k->payload_len >= 8 + 14 &&
                (k->payload[0] & 0x08)) {
                pkt_t save = *k;
                int r = decode_ether(k->payload + 8, k->payload_len - 8, k, depth + 1);
                if (r == D_OK || r == D_FRAG) return r;
                *k = save;
            }
            uint32_t skip = 0;
            if (depth < 6 && (k->dport == 3544 || k->sport == 3544) &&
                teredo_inner(k->payload, k->payload_len, &skip)) {
                pkt_t save = *k;
                int r = decode_ip(k->payload + skip, k->payload_len - skip, k, depth + 1, 0);
                if (r == D_OK || r == D_FRAG) return r;
                *k = save;
            }
            return D_OK;
        }
        if (len >= 12) { /* SCTP: common header; payload not dissected */
            k->payload = p + 12;
            k->payload_len = len - 12;
        }
        return D_OK;
    }
    if (proto == 1 || proto == 58) {
        if (len >= 2) { k->sport = p[0]; k->dport = p[1]; } /* type and code, for the Community ID */
        if (len > 8) {
            k->payload = p + 8;
            k->payload_len = len - 8;
        }
    }
    return D_OK;
}

static int decode_ip(const uint8_t *p, uint32_t len, pkt_t *k, int depth, int outer) {
    if (depth > 8) return D_NONIP;
    if (len < 1) return D_TRUNC;
    uint8_t v = p[0] >> 4;
    k->has_ports = 0; k->sport = k->dport = 0; k->tcp_flags = 0; k->seq = 0;
    k->payload = NULL; k->payload_len = 0;
    if (v == 4) {
        if (len < 20) return D_TRUNC;
        uint32_t ihl = (uint32_t)(p[0] & 15) * 4;
        uint32_t tot = RD16(p + 2);
        if (ihl < 20) return D_TRUNC;
        k->ver = 4;
        memset(k->src, 0, 16); memset(k->dst, 0, 16);
        memcpy(k->src, p + 12, 4); memcpy(k->dst, p + 16, 4);
        k->proto = p[9];
        if (outer) k->ip_len = tot ? tot : len;
        int cut = tot > len; /* datagram not fully captured (snap length) */
        if (tot >= ihl && tot < len) len = tot; /* drop Ethernet padding */
        uint16_t fo = RD16(p + 6);
        /* like tshark, a first fragment cut short by the snap length is dissected as it is */
        if (((fo & 0x2000) || (fo & 0x1fff)) && !(cut && (fo & 0x1fff) == 0)) {
            if (!k->frag) { k->frag = p; k->frag_len = len; }
            return D_FRAG;
        }
        if (ihl > len) return D_OK; /* header cut short: key on addresses only */
        return decode_transport(p + ihl, len - ihl, k, depth);
    }
    if (v == 6) {
        if (len < 40) return D_TRUNC;
        k->ver = 6;
        memcpy(k->src, p + 8, 16); memcpy(k->dst, p + 24, 16);
        uint32_t plen = RD16(p + 4);
        if (outer) k->ip_len = plen + 40;
        if (plen + 40 < len && plen) len = plen + 40;
        uint8_t nh = p[6];
        uint32_t o = 40;
        for (int i = 0; i < 12; i++) {
            if (nh == 0 || nh == 43 || nh == 60 || nh == 135 || nh == 139 || nh == 140) {
                if (o + 8 > len) { k->proto = nh; return D_OK; }
                uint8_t next = p[o];
                o += ((uint32_t)p[o + 1] + 1) * 8;
                nh = next;
                continue;
            }
            if (nh == 51) {
                if (o + 8 > len) { k->proto = nh; return D_OK; }
                uint8_t next = p[o];
                o += ((uint32_t)p[o + 1] + 2) * 4;
                nh = next;
                continue;
            }
            if (nh == 44) {
                if (o + 8 > len) { k->proto = nh; return D_OK; }
                uint16_t off = RD16(p + o + 2);
                if (((off & 0xfff8) || (off & 1)) && !((off & 0xfff8) == 0 && plen + 40 > len)) {
                    k->proto = p[o];
                    if (!k->frag) { k->frag = p; k->frag_len = len; }
                    return D_FRAG;
                }
                nh = p[o];
                o += 8;
                continue;
            }
            break;
        }
        k->proto = nh;
        if (o > len) return D_OK;
        return decode_transport(p + o, len - o, k, depth);
    }
    return D_NONIP;
}

static int decode_link(const uint8_t *p, uint32_t len, int32_t lt, pkt_t *k) {
    switch (lt) {
    case 1: return decode_ether(p, len, k, 0);
    case 113:
        if (len < 16) return D_TRUNC;
        return decode_ethertype(RD16(p + 14), p + 16, len - 16, k, 0);
    case 276:
        if (len < 20) return D_TRUNC;
        return decode_ethertype(RD16(p), p + 20, len - 20, k, 0);
    case 0: case 108: {
        if (len < 4) return D_TRUNC;
        uint32_t fam_le = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
        uint32_t fam_be = RD32(p);
        uint32_t fam = (fam_le < 256) ? fam_le : fam_be;
        if (fam == 2 || fam == 24 || fam == 28 || fam == 30 || fam == 10) return decode_ip(p + 4, len - 4, k, 0, 1);
        return D_NONIP;
    }
    case 101: case 12: case 14: case 228: case 229:
        return decode_ip(p, len, k, 0, 1);
    default:
        return D_NONIP;
    }
}

/* ------------------------------------------------------------------ flow table */
typedef struct {
    uint8_t a[16], b[16];
    uint16_t pa, pb;
    uint8_t proto, ver;
    uint16_t zero;
} fkey_t;

typedef struct {
    fkey_t key;
    uint64_t id;
    int64_t first, last;
    uint64_t pkts[2], bytes[2], payload[2];
    uint32_t hnext, lprev, lnext; /* slot+1 links; 0 = none */
    uint16_t vlan, l7_budget;
    uint8_t flags[2];
    uint8_t orig_is_a, state, fin_bits, in_use;
    uint8_t hist_len;
    char hist[15];
    uint8_t icmp_type, icmp_code;
    uint8_t l7_dirs; /* bit 0: originator packets wanted, bit 1: responder packets wanted */
    uint8_t closing; /* on the closing list (TCP ended by RST or FIN both ways): expires after close_ns */
} flow_t;

typedef struct {
    PyObject_HEAD
    flow_t *flows;
    uint32_t cap, used, max_flows, free_head;
    uint32_t *buckets;
    uint32_t nbuckets;
    uint32_t lru_head, lru_tail;
    uint32_t close_head, close_tail; /* ended TCP connections, by time of last packet */
    uint64_t next_id;
    int64_t idle_ns, active_ns, close_ns, now;
    uint16_t l7_default;
    PyObject *l7_handler; /* called for each L7 packet; NULL: no dissection */
    uint16_t long_ports[16]; /* flows on these ports hand every payload packet to Python (DNS) */
    int n_long_ports;
    export_t *exp;
    size_t exp_len, exp_cap;
    uint64_t st_packets, st_ip, st_nonip, st_trunc, st_frag, st_created, st_evicted, st_exported, st_l7;
} Table;

static uint64_t hash_key(const fkey_t *k) {
    const uint64_t *w = (const uint64_t *)k;
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 5; i++) {
        h ^= w[i];
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    return h;
}

/* A flow sits on one of two lists ordered by last activity: the LRU (idle timeout) or, once its TCP
 * connection ended, the closing list (close timeout). f->closing says which. */
static void lru_unlink(Table *t, uint32_t s) {
    flow_t *f = &t->flows[s];
    uint32_t *head = f->closing ? &t->close_head : &t->lru_head;
    uint32_t *tail = f->closing ? &t->close_tail : &t->lru_tail;
    if (f->lprev) t->flows[f->lprev - 1].lnext = f->lnext; else *head = f->lnext;
    if (f->lnext) t->flows[f->lnext - 1].lprev = f->lprev; else *tail = f->lprev;
    f->lprev = f->lnext = 0;
}

static void lru_push(Table *t, uint32_t s) {
    flow_t *f = &t->flows[s];
    uint32_t *head = f->closing ? &t->close_head : &t->lru_head;
    uint32_t *tail = f->closing ? &t->close_tail : &t->lru_tail;
    f->lprev = *tail;
    f->lnext = 0;
    if (*tail) t->flows[*tail - 1].lnext = s + 1; else *head = s + 1;
    *tail = s + 1;
}

static void set_closing(Table *t, uint32_t s, uint8_t closing) {
    if (t->flows[s].closing == closing) return;
    lru_unlink(t, s);
    t->flows[s].closing = closing;
    lru_push(t, s);
}

static int export_flow(Table *t, flow_t *f, uint8_t reason) {
    if (t->exp_len == t->exp_cap) {
        size_t nc = t->exp_cap ? t->exp_cap * 2 : 1024;
        export_t *n = realloc(t->exp, nc * sizeof(export_t));
        if (!n) return -1;
        t->exp = n;
        t->exp_cap = nc;
    }
    export_t *e = &t->exp[t->exp_len++];
    memset(e, 0, sizeof(*e));
    e->id = f->id;
    e->first = f->first;
    e->last = f->last;
    int oa = f->orig_is_a;
    memcpy(e->src, oa ? f->key.a : f->key.b, 16);
    memcpy(e->dst, oa ? f->key.b : f->key.a, 16);
    e->sport = oa ? f->key.pa : f->key.pb;
    e->dport = oa ? f->key.pb : f->key.pa;
    if (f->key.proto == 1 || f->key.proto == 58) { e->sport = f->icmp_type; e->dport = f->icmp_code; }
    for (int i = 0; i < 2; i++) { e->pkts[i] = f->pkts[i]; e->bytes[i] = f->bytes[i]; e->payload[i] = f->payload[i]; }
    e->vlan = f->vlan;
    e->proto = f->key.proto;
    e->ver = f->key.ver;
    e->flags0 = f->flags[0];
    e->flags1 = f->flags[1];
    e->end_reason = reason;
    e->state = f->state;
    memcpy(e->hist, f->hist, f->hist_len);
    t->st_exported++;
    return 0;
}

static void remove_flow(Table *t, uint32_t s) {
    flow_t *f = &t->flows[s];
    uint32_t b = (uint32_t)(hash_key(&f->key) & (t->nbuckets - 1));
    uint32_t *pp = &t->buckets[b];
    while (*pp && *pp != s + 1) pp = &t->flows[*pp - 1].hnext;
    if (*pp) *pp = f->hnext;
    lru_unlink(t, s);
    f->in_use = 0;
    f->hnext = t->free_head;
    t->free_head = s + 1;
    t->used--;
}

static int rehash(Table *t, uint32_t nb) {
    uint32_t *nbk = calloc(nb, sizeof(uint32_t));
    if (!nbk) return -1;
    for (uint32_t s = 0; s < t->cap; s++) {
        flow_t *f = &t->flows[s];
        if (!f->in_use) continue;
        uint32_t b = (uint32_t)(hash_key(&f->key) & (nb - 1));
        f->hnext = nbk[b];
        nbk[b] = s + 1;
    }
    free(t->buckets);
    t->buckets = nbk;
    t->nbuckets = nb;
    return 0;
}

static int grow(Table *t) {
    uint32_t nc = t->cap ? t->cap + t->cap / 2 : 1024; /* 1.5x keeps the worst case under 300 B/flow */
    if (nc > t->max_flows) nc = t->max_flows;
    if (nc <= t->cap) return -1;
    flow_t *n = realloc(t->flows, (size_t)nc * sizeof(flow_t));
    if (!n) return -1;
    t->flows = n;
    for (uint32_t s = nc; s > t->cap; s--) { /* free list in ascending order */
        n[s - 1].in_use = 0;
        n[s - 1].hnext = t->free_head;
        t->free_head = s;
    }
    t->cap = nc;
    uint32_t nb = t->nbuckets;
    while (nb < nc * 2) nb *= 2;
    if (nb != t->nbuckets) return rehash(t, nb);
    return 0;
}

static void hist_add(flow_t *f, char c) {
    for (int i = 0; i < f->hist_len; i++) if (f->hist[i] == c) return;
    if (f->hist_len < 15) f->hist[f->hist_len++] = c;
}

static void reset_counters(Table *t, flow_t *f, int64_t ts) {
    f->id = t->next_id++;
    f->first = f->last = ts;
    memset(f->pkts, 0, sizeof(f->pkts));
    memset(f->bytes, 0, sizeof(f->bytes));
    memset(f->payload, 0, sizeof(f->payload));
    f->flags[0] = f->flags[1] = 0;
    f->hist_len = 0;
    memset(f->hist, 0, sizeof(f->hist));
    f->state = ST_NONE;
    f->fin_bits = 0;
    t->st_created++;
}

static void expire(Table *t, int64_t now) {
    while (t->close_head) {
        uint32_t s = t->close_head - 1;
        flow_t *f = &t->flows[s];
        if (f->last + t->close_ns >= now) break;
        export_flow(t, f, f->state == ST_RST ? END_RST : END_FIN);
        remove_flow(t, s);
    }
    while (t->lru_head) {
        uint32_t s = t->lru_head - 1;
        flow_t *f = &t->flows[s];
        if (f->last + t->idle_ns >= now) break;
        uint8_t r = f->state == ST_RST ? END_RST : (f->state == ST_FIN ? END_FIN : END_IDLE);
        export_flow(t, f, r);
        remove_flow(t, s);
    }
}

/* Returns slot of the flow for packet k (creating it), and the direction in *dir; -1 on failure. */
static int64_t lookup(Table *t, const pkt_t *k, int64_t ts, int *dir) {
    fkey_t key;
    memset(&key, 0, sizeof(key));
    int src_is_a;
    int c = memcmp(k->src, k->dst, 16);
    uint16_t sp = k->has_ports ? k->sport : 0, dp = k->has_ports ? k->dport : 0;
    if (k->proto != 6 && k->proto != 17 && k->proto != 132) sp = dp = 0;
    src_is_a = c < 0 || (c == 0 && sp <= dp);
    memcpy(key.a, src_is_a ? k->src : k->dst, 16);
    memcpy(key.b, src_is_a ? k->dst : k->src, 16);
    key.pa = src_is_a ? sp : dp;
    key.pb = src_is_a ? dp : sp;
    key.proto = k->proto;
    key.ver = k->ver;
    uint32_t b = (uint32_t)(hash_key(&key) & (t->nbuckets - 1));
    for (uint32_t s = t->buckets[b]; s; s = t->flows[s - 1].hnext) {
        flow_t *f = &t->flows[s - 1];
        if (memcmp(&f->key, &key, sizeof(key)) == 0) {
            *dir = (src_is_a == f->orig_is_a) ? 0 : 1;
            return s - 1;
        }
    }
    if (t->used >= t->cap && grow(t) != 0) {
        if (!t->lru_head && !t->close_head) return -1;
        uint32_t victim = (t->close_head ? t->close_head : t->lru_head) - 1;
        export_flow(t, &t->flows[victim], END_EVICTED);
        remove_flow(t, victim);
        t->st_evicted++;
        b = (uint32_t)(hash_key(&key) & (t->nbuckets - 1));
    } else if (t->nbuckets != 0) {
        b = (uint32_t)(hash_key(&key) & (t->nbuckets - 1));
    }
    uint32_t s = t->free_head - 1;
    flow_t *f = &t->flows[s];
    t->free_head = f->hnext;
    memset(f, 0, sizeof(*f));
    f->key = key;
    f->in_use = 1;
    f->vlan = k->vlan;
    f->l7_budget = t->l7_default;
    f->l7_dirs = 3;
    if (t->l7_default)
        for (int i = 0; i < t->n_long_ports; i++)
            if (key.pa == t->long_ports[i] || key.pb == t->long_ports[i]) f->l7_budget = 0xffff;
    /* the originator is the sender of the first packet, unless that packet is a SYN-ACK */
    int flip = (k->proto == 6 && (k->tcp_flags & 0x12) == 0x12);
    f->orig_is_a = flip ? !src_is_a : src_is_a;
    reset_counters(t, f, ts);
    f->icmp_type = (uint8_t)k->sport;
    f->icmp_code = (uint8_t)k->dport;
    if (flip) hist_add(f, '^');
    f->hnext = t->buckets[b];
    t->buckets[b] = s + 1;
    lru_push(t, s);
    t->used++;
    *dir = flip ? 1 : 0;
    return s;
}

static void tcp_update(flow_t *f, int dir, uint8_t fl, uint32_t plen) {
    char up = dir ? 0x20 : 0; /* lower case for the responder */
    if ((fl & 0x02) && (fl & 0x04)) hist_add(f, 'I' | up);
    else if ((fl & 0x02) && (fl & 0x01)) hist_add(f, 'Q' | up);
    else if ((fl & 0x12) == 0x12) hist_add(f, 'H' | up);
    else if (fl & 0x02) hist_add(f, 'S' | up);
    if (fl & 0x04) { hist_add(f, 'R' | up); f->state = ST_RST; }
    if (fl & 0x01) {
        hist_add(f, 'F' | up);
        f->fin_bits |= (uint8_t)(1 << dir);
        if (f->state != ST_RST) f->state = ST_FIN;
    }
    if (plen) hist_add(f, 'D' | up);
    else if ((fl & 0x10) && !(fl & 0x07)) hist_add(f, 'A' | up);
    if (f->state == ST_NONE && (fl & 0x02)) f->state = ST_SYN;
    if (f->state == ST_SYN && (fl & 0x10) && !(fl & 0x02)) f->state = ST_EST;
    if (f->state == ST_NONE && plen) f->state = ST_EST;
}

/* Hand one payload packet to the L7 handler: handler(flow_id, direction, ts_ns, ip_proto, orig_port,
 * resp_port, tcp_seq, tcp_flags, payload) -> budget | directions << 16, or -1 to leave the budget as is.
 * The handler never calls back into the table, so f stays valid across the call. */
static int hand_l7(Table *t, flow_t *f, const pkt_t *k, int64_t ts, int dir, uint8_t fl) {
    f->l7_budget--;
    t->st_l7++;
    uint16_t op = f->orig_is_a ? f->key.pa : f->key.pb, rp = f->orig_is_a ? f->key.pb : f->key.pa;
    PyObject *args[9] = {
        PyLong_FromUnsignedLongLong(f->id), PyLong_FromLong(dir), PyLong_FromLongLong(ts),
        PyLong_FromLong(k->proto), PyLong_FromLong(op), PyLong_FromLong(rp),
        PyLong_FromUnsignedLong(k->seq), PyLong_FromLong(fl),
        PyBytes_FromStringAndSize((const char *)k->payload, (Py_ssize_t)k->payload_len),
    };
    PyObject *res = NULL;
    int ok = 1;
    for (int i = 0; i < 9; i++) ok &= args[i] != NULL;
    if (ok) res = PyObject_Vectorcall(t->l7_handler, args, 9, NULL);
    for (int i = 0; i < 9; i++) Py_XDECREF(args[i]);
    if (!res) return -1;
    long v = PyLong_AsLong(res);
    Py_DECREF(res);
    if (v == -1 && PyErr_Occurred()) return -1;
    if (v >= 0) {
        f->l7_budget = (uint16_t)(v & 0xffff);
        f->l7_dirs = (uint8_t)((v >> 16) & 3);
    }
    return 0;
}

/* Account one decoded packet; hand it to the L7 handler when the flow still wants payload. */
static int account(Table *t, const pkt_t *k, int64_t ts, uint32_t wirelen, uint32_t npkts) {
    (void)wirelen;
    if (ts > t->now) t->now = ts;
    int dir = 0;
    int64_t s = lookup(t, k, ts, &dir);
    if (s < 0) return 0;
    flow_t *f = &t->flows[s];
    uint8_t fl = k->proto == 6 ? k->tcp_flags : 0;
    /* a new SYN on a finished connection, or the active timeout, starts a new record */
    int idle = ts - f->last > t->idle_ns;
    int restart = (f->pkts[0] + f->pkts[1] > 0) &&
                  (idle || (ts - f->first > t->active_ns) ||
                   (k->proto == 6 && (fl & 0x12) == 0x02 && (f->state == ST_FIN || f->state == ST_RST)));
    if (restart) {
        uint8_t r = idle ? (f->state == ST_RST ? END_RST : (f->state == ST_FIN ? END_FIN : END_IDLE))
                    : (ts - f->first > t->active_ns) ? END_ACTIVE
                    : (f->state == ST_RST ? END_RST : END_FIN);
        if (export_flow(t, f, r) != 0) return -1;
        reset_counters(t, f, ts);
        set_closing(t, (uint32_t)s, 0);
        if (r != END_ACTIVE) { /* a new conversation: its first packet's sender is the originator */
            f->orig_is_a = (dir == 0) ? f->orig_is_a : !f->orig_is_a;
            dir = 0;
            f->l7_budget = t->l7_default;
            f->l7_dirs = 3;
        }
    }
    if (ts < f->first) f->first = ts;
    if (ts > f->last) f->last = ts;
    f->pkts[dir] += npkts;
    f->bytes[dir] += k->ip_len;
    f->payload[dir] += k->payload_len;
    f->flags[dir] |= fl;
    lru_unlink(t, (uint32_t)s);
    lru_push(t, (uint32_t)s);
    if (k->proto == 6) {
        tcp_update(f, dir, fl, k->payload_len);
        if (f->state == ST_RST || f->fin_bits == 3) set_closing(t, (uint32_t)s, 1);
    }
    else if (k->payload_len) hist_add(f, dir ? 'd' : 'D');
    if (t->l7_handler && f->l7_budget && ((f->l7_dirs >> dir) & 1) && k->payload_len
        && (k->proto == 6 || k->proto == 17))
        return hand_l7(t, f, k, ts, dir, fl);
    return 0;
}

/* ------------------------------------------------------------------ Python methods */
static int Table_init(Table *t, PyObject *args, PyObject *kw) {
    static char *kwl[] = {"max_flows", "idle_timeout_ns", "active_timeout_ns", "l7_packets", "long_ports",
                          "close_timeout_ns", "l7_handler", NULL};
    unsigned long long maxf = 1000000, idle = 120000000000ULL, active = 1800000000000ULL, closing = 5000000000ULL;
    unsigned int l7 = 10;
    PyObject *ports = NULL, *handler = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|KKKIOKO", kwl, &maxf, &idle, &active, &l7, &ports, &closing,
                                     &handler))
        return -1;
    if (handler == Py_None) handler = NULL;
    if (handler && !PyCallable_Check(handler)) {
        PyErr_SetString(PyExc_TypeError, "l7_handler must be callable");
        return -1;
    }
    Py_XINCREF(handler);
    Py_XSETREF(t->l7_handler, handler);
    t->close_ns = (int64_t)(closing < idle ? closing : idle); /* an ended connection never outlives an idle one */
    t->n_long_ports = 0;
    if (ports && ports != Py_None) {
        PyObject *seq = PySequence_Fast(ports, "long_ports must be a sequence of ports");
        if (!seq) return -1;
        Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
        for (Py_ssize_t i = 0; i < n && i < 16; i++) {
            long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
            if (v < 0 || v > 65535) {
                Py_DECREF(seq);
                if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "port out of range");
                return -1;
            }
            t->long_ports[t->n_long_ports++] = (uint16_t)v;
        }
        Py_DECREF(seq);
    }
    if (maxf < 16 || maxf > 0x7fffffffULL) {
        PyErr_SetString(PyExc_ValueError, "max_flows must be between 16 and 2^31");
        return -1;
    }
    t->max_flows = (uint32_t)maxf;
    t->idle_ns = (int64_t)idle;
    t->active_ns = (int64_t)active;
    t->l7_default = (uint16_t)(l7 > 65535 ? 65535 : l7);
    t->next_id = 1;
    t->nbuckets = 2048;
    t->buckets = calloc(t->nbuckets, sizeof(uint32_t));
    if (!t->buckets || grow(t) != 0) { PyErr_NoMemory(); return -1; }
    return 0;
}

static void Table_dealloc(Table *t) {
    free(t->flows);
    free(t->buckets);
    free(t->exp);
    Py_CLEAR(t->l7_handler);
    Py_TYPE(t)->tp_free((PyObject *)t);
}

static PyObject *frag_tuple(const pkt_t *k, int64_t ts, uint32_t wirelen) {
    return Py_BuildValue("(Ly#Ii)", (long long)ts, (const char *)k->frag, (Py_ssize_t)k->frag_len, wirelen, (int)k->vlan);
}

static PyObject *Table_process(Table *t, PyObject *args) {
    Py_buffer data, index;
    if (!PyArg_ParseTuple(args, "y*y*", &data, &index)) return NULL;
    PyObject *frags = PyList_New(0);
    PyObject *ret = NULL;
    if (!frags) goto done;
    size_t n = (size_t)index.len / sizeof(idx_t);
    const idx_t *ix = (const idx_t *)index.buf;
    const uint8_t *base = (const uint8_t *)data.buf;
    for (size_t i = 0; i < n; i++) {
        idx_t e;
        memcpy(&e, &ix[i], sizeof(e));
        t->st_packets++;
        if (e.off < 0 || (uint64_t)e.off + e.caplen > (uint64_t)data.len) { t->st_trunc++; continue; }
        pkt_t k;
        memset(&k, 0, sizeof(k));
        int r = decode_link(base + e.off, e.caplen, e.linktype, &k);
        if (k.ip_len == 0) k.ip_len = e.caplen;
        if (r == D_NONIP) { t->st_nonip++; continue; }
        if (r == D_TRUNC) { t->st_trunc++; continue; }
        t->st_ip++;
        if (r == D_FRAG) {
            t->st_frag++;
            PyObject *ft = frag_tuple(&k, e.ts, e.wirelen);
            if (!ft || PyList_Append(frags, ft)) { Py_XDECREF(ft); goto done; }
            Py_DECREF(ft);
            continue;
        }
        if (account(t, &k, e.ts, e.wirelen, 1) != 0) goto done;
        if ((t->st_packets & 4095) == 0) expire(t, t->now);
    }
    expire(t, t->now);
    ret = frags;
    frags = NULL;
done:
    Py_XDECREF(frags);
    PyBuffer_Release(&data);
    PyBuffer_Release(&index);
    return ret;
}

static PyObject *Table_process_ip(Table *t, PyObject *args) {
    Py_buffer data;
    long long ts;
    unsigned int wirelen, npkts;
    int vlan;
    if (!PyArg_ParseTuple(args, "y*LIIi", &data, &ts, &wirelen, &npkts, &vlan)) return NULL;
    PyObject *ret = NULL;
    pkt_t k;
    memset(&k, 0, sizeof(k));
    int r = decode_ip((const uint8_t *)data.buf, (uint32_t)data.len, &k, 0, 1);
    k.vlan = (uint16_t)vlan;
    if (r == D_OK) {
        if (account(t, &k, ts, wirelen, npkts) != 0) goto done;
    }
    ret = PyLong_FromLong(r);
done:
    PyBuffer_Release(&data);
    return ret;
}

static PyObject *Table_expire(Table *t, PyObject *args) {
    long long now;
    if (!PyArg_ParseTuple(args, "L", &now)) return NULL;
    size_t before = t->exp_len;
    if (now > t->now) t->now = now;
    expire(t, now);
    return PyLong_FromSize_t(t->exp_len - before);
}

static PyObject *Table_flush(Table *t, PyObject *noargs) {
    (void)noargs;
    size_t before = t->exp_len;
    while (t->lru_head || t->close_head) {
        uint32_t s = (t->close_head ? t->close_head : t->lru_head) - 1;
        if (export_flow(t, &t->flows[s], END_END) != 0) return PyErr_NoMemory();
        remove_flow(t, s);
    }
    return PyLong_FromSize_t(t->exp_len - before);
}

static PyObject *Table_drain(Table *t, PyObject *noargs) {
    (void)noargs;
    PyObject *b = PyBytes_FromStringAndSize((const char *)t->exp, (Py_ssize_t)(t->exp_len * sizeof(export_t)));
    if (b) t->exp_len = 0;
    if (t->exp_cap > 65536) { free(t->exp); t->exp = NULL; t->exp_cap = 0; }
    return b;
}

static PyObject *Table_snapshot(Table *t, PyObject *args) {
    unsigned int limit = 0xffffffffu;
    if (!PyArg_ParseTuple(args, "|I", &limit)) return NULL;
    size_t saved_len = t->exp_len;
    uint64_t saved_exported = t->st_exported;
    unsigned int n = 0;
    for (int list = 0; list < 2; list++) /* active, then closing; most recent first */
        for (uint32_t s = list ? t->close_tail : t->lru_tail; s && n < limit; s = t->flows[s - 1].lprev, n++)
            if (export_flow(t, &t->flows[s - 1], END_END) != 0) return PyErr_NoMemory();
    PyObject *b = PyBytes_FromStringAndSize((const char *)(t->exp + saved_len),
                                            (Py_ssize_t)((t->exp_len - saved_len) * sizeof(export_t)));
    t->exp_len = saved_len;
    t->st_exported = saved_exported;
    return b;
}

static PyObject *Table_stats(Table *t, PyObject *noargs) {
    (void)noargs;
    return Py_BuildValue("{sKsKsKsKsKsKsKsKsKsIsIsL}", "packets", t->st_packets, "ip_packets", t->st_ip,
                         "non_ip", t->st_nonip, "truncated", t->st_trunc, "fragments", t->st_frag,
                         "flows_created", t->st_created, "evicted", t->st_evicted, "exported", t->st_exported,
                         "l7_packets", t->st_l7, "active_flows", t->used, "capacity", t->cap,
                         "table_bytes", (long long)((size_t)t->cap * sizeof(flow_t) + (size_t)t->nbuckets * 4));
}

static Py_ssize_t Table_len(Table *t) { return (Py_ssize_t)t->used; }

static PyMethodDef Table_methods[] = {
    {"process", (PyCFunction)Table_process, METH_VARARGS,
     "process(data, index) -> fragments: account a batch of packets (L7 packets go to the handler)."},
    {"process_ip", (PyCFunction)Table_process_ip, METH_VARARGS,
     "process_ip(ip_bytes, ts_ns, wirelen, npkts, vlan) -> status: account a reassembled datagram."},
    {"expire", (PyCFunction)Table_expire, METH_VARARGS, "expire(now_ns) -> count: export idle flows."},
    {"flush", (PyCFunction)Table_flush, METH_NOARGS, "flush() -> count: export every flow (end of input)."},
    {"drain", (PyCFunction)Table_drain, METH_NOARGS, "drain() -> bytes: exported records since the last drain."},
    {"snapshot", (PyCFunction)Table_snapshot, METH_VARARGS,
     "snapshot([limit]) -> bytes: records of the active flows, most recently seen first (not removed)."},
    {"stats", (PyCFunction)Table_stats, METH_NOARGS, "stats() -> dict of counters."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods Table_seq = {.sq_length = (lenfunc)Table_len};

static PyTypeObject TableType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "flowradar.engine._fastpath.FlowTable",
    .tp_basicsize = sizeof(Table),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Bidirectional flow table over decoded packet batches.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Table_init,
    .tp_dealloc = (destructor)Table_dealloc,
    .tp_methods = Table_methods,
    .tp_as_sequence = &Table_seq,
};

/* index_pcap(buf, start, swapped, nsec, linktype) -> (index, count, end, bad) */
static PyObject *index_pcap(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer buf;
    Py_ssize_t start;
    int swapped, nsec, lt;
    if (!PyArg_ParseTuple(args, "y*nppi", &buf, &start, &swapped, &nsec, &lt)) return NULL;
    const uint8_t *p = (const uint8_t *)buf.buf;
    size_t len = (size_t)buf.len, off = (size_t)start;
    size_t cap = 4096, n = 0;
    idx_t *out = malloc(cap * sizeof(idx_t));
    int bad = 0;
    if (!out) { PyBuffer_Release(&buf); return PyErr_NoMemory(); }
    while (off + 16 <= len) {
        uint32_t h[4];
        memcpy(h, p + off, 16);
        if (swapped) for (int i = 0; i < 4; i++) h[i] = __builtin_bswap32(h[i]);
        if (h[2] > 0x4000000) { bad = 1; break; }
        if (off + 16 + h[2] > len) break;
        if (n == cap) {
            cap *= 2;
            idx_t *nn = realloc(out, cap * sizeof(idx_t));
            if (!nn) { free(out); PyBuffer_Release(&buf); return PyErr_NoMemory(); }
            out = nn;
        }
        out[n].off = (int64_t)(off + 16);
        out[n].ts = (int64_t)h[0] * 1000000000LL + (int64_t)h[1] * (nsec ? 1 : 1000);
        out[n].caplen = h[2];
        out[n].wirelen = h[3];
        out[n].linktype = lt;
        out[n].pad = 0;
        n++;
        off += 16 + h[2];
    }
    PyObject *ix = PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)(n * sizeof(idx_t)));
    free(out);
    PyBuffer_Release(&buf);
    if (!ix) return NULL;
    return Py_BuildValue("(NnNi)", ix, (Py_ssize_t)n, PyLong_FromSize_t(off), bad);
}

static PyObject *export_size(PyObject *self, PyObject *noargs) {
    (void)self; (void)noargs;
    return PyLong_FromSize_t(sizeof(export_t));
}

static PyObject *flow_size(PyObject *self, PyObject *noargs) {
    (void)self; (void)noargs;
    return PyLong_FromSize_t(sizeof(flow_t));
}

static PyMethodDef module_methods[] = {
    {"index_pcap", index_pcap, METH_VARARGS,
     "index_pcap(buf, start, swapped, nsec, linktype) -> (index, count, end, bad): index classic pcap records."},
    {"export_size", export_size, METH_NOARGS, "Size in bytes of one exported flow record."},
    {"flow_size", flow_size, METH_NOARGS, "Size in bytes of one flow table entry."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "_fastpath", "flowradar compiled hot path", -1,
                                       module_methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fastpath(void) {
    if (PyType_Ready(&TableType) < 0) return NULL;
    PyObject *m = PyModule_Create(&moduledef);
    if (!m) return NULL;
    Py_INCREF(&TableType);
    if (PyModule_AddObject(m, "FlowTable", (PyObject *)&TableType) < 0) {
        Py_DECREF(&TableType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
