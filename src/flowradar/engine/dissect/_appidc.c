/* Compiled application-protocol classifier: appid.guess_by_payload and guess_by_port in one call each.
 *
 * A line-by-line port of the signature checks in appid_binary.py and appid_text.py (the readable
 * reference and the specification; tests/engine/dissect/test_appid_kernel.py holds the two to the
 * same answer on every input). The checks run in the reference's order and keep its Python
 * semantics: a slice past the end is short (be() reads what is there, as int.from_bytes does), and
 * the one subscript the reference can push past the end (_ldap) marks the call as raised, which
 * makes the answer None as appid.guess_by_payload's exception guard does. The regular expressions
 * of the reference are written out as the deterministic scans they amount to.
 *
 * Every read goes through the view's length. No global mutable state: the protocol names live in
 * the module state. Inputs the kernel does not take (payload not exactly bytes, a port not an int
 * that fits a C long long, transport not a str) raise TypeError, and appid falls back to Python. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum { NONE = -1, P_BITTORRENT, P_DHCP, P_DHCPV6, P_DNS, P_DTLS, P_FTP, P_HTTP, P_HTTP_PROXY, P_IMAP,
       P_IPSEC, P_KERBEROS, P_LDAP, P_LLMNR, P_MDNS, P_MQTT, P_MYSQL, P_NETBIOS, P_NTP, P_OPENVPN, P_POP3,
       P_POSTGRESQL, P_QUIC, P_RDP, P_REDIS, P_RTSP, P_SIP, P_SMB, P_SMTP, P_SNMP, P_SOCKS, P_SSDP,
       P_SSH, P_STUN, P_SYSLOG, P_TELNET, P_TLS, P_WEBRTC, P_WIREGUARD, N_PROTOCOLS };
static const char *const NAMES[N_PROTOCOLS] = {
    "bittorrent", "dhcp", "dhcpv6", "dns", "dtls", "ftp", "http", "http-proxy", "imap", "ipsec",
    "kerberos", "ldap", "llmnr", "mdns", "mqtt", "mysql", "netbios", "ntp", "openvpn", "pop3",
    "postgresql", "quic", "rdp", "redis", "rtsp", "sip", "smb", "smtp", "snmp", "socks", "ssdp", "ssh",
    "stun", "syslog", "telnet", "tls", "webrtc", "wireguard"};

/* --- byte views with Python's slice semantics ------------------------------------------------------ */

typedef struct { const uint8_t *b; int64_t n; } V;               /* bytes b[0:n] */
typedef struct { long long orig, resp; int udp, raised; } Q;     /* one call: ports, transport, fault */

#define HAS(q, port) ((q)->orig == (port) || (q)->resp == (port))
#define IN(x, lo, hi) ((lo) <= (x) && (x) <= (hi))
#define DIGIT(c) IN((c), '0', '9')
#define UPPER(c) IN((c), 'A', 'Z')
#define LOWER(c) IN((c), 'a', 'z')
#define ALPHA(c) (UPPER(c) || LOWER(c))

static inline V sub(V v, int64_t o) { return o >= v.n ? (V){v.b, 0} : (V){v.b + o, v.n - o}; }
static inline V cut(V v, int64_t k) { return (V){v.b, k < v.n ? k : v.n}; }  /* v[:k] */
/* p[i], noting an IndexError the reference would raise */
static inline int at(Q *q, V v, int64_t i) {
    if (i < 0) i += v.n;
    if (i < 0 || i >= v.n) { q->raised = 1; return 0; }
    return v.b[i];
}
static inline int get(V v, int64_t i) { return 0 <= i && i < v.n ? v.b[i] : -1; }  /* -1: past the end */
/* int.from_bytes(p[o:o+k], "big"): a short slice gives the bytes that are there */
static inline uint64_t be(V v, int64_t o, int k) {
    uint64_t x = 0;
    for (int64_t i = o < 0 ? v.n : o; i < o + k && i < v.n; i++) x = x << 8 | v.b[i];
    return x;
}
static inline int64_t u16(V v, int64_t o) { return (int64_t)be(v, o, 2); }
static inline int64_t u32(V v, int64_t o) { return (int64_t)be(v, o, 4); }
static inline int eq_at(V v, int64_t o, const char *s, int64_t k) {  /* p[o:o+k] == s */
    return o >= 0 && o + k <= v.n && memcmp(v.b + o, s, (size_t)k) == 0;
}
#define STARTS(v, lit) eq_at((v), 0, (lit), (int64_t)sizeof(lit) - 1)
#define IS(v, lit) ((v).n == (int64_t)sizeof(lit) - 1 && STARTS((v), lit))
static int64_t find(V v, const char *s, int64_t k) {
    for (int64_t i = 0; i + k <= v.n; i++)
        if (v.b[i] == (uint8_t)s[0] && memcmp(v.b + i, s, (size_t)k) == 0) return i;
    return -1;
}
#define CONTAINS(v, lit) (find((v), (lit), (int64_t)sizeof(lit) - 1) >= 0)
static inline int up(int c) { return LOWER(c) ? c - 32 : c; }
static int ieq_at(V v, int64_t o, const char *s) {  /* case-insensitive prefix at o; s in upper case */
    for (int64_t i = 0; s[i]; i++)
        if (o + i >= v.n || up(v.b[o + i]) != (uint8_t)s[i]) return 0;
    return 1;
}
static int ieq(V v, const char *s) { return v.n == (int64_t)strlen(s) && ieq_at(v, 0, s); }
static int icontains(V v, const char *s) {
    for (int64_t i = 0; i < v.n; i++)
        if (ieq_at(v, i, s)) return 1;
    return 0;
}
static int in_words(V v, const char *const *words) {
    for (; *words; words++)
        if (v.n == (int64_t)strlen(*words) && memcmp(v.b, *words, (size_t)v.n) == 0) return 1;
    return 0;
}
static int64_t run(V v, int64_t o, int (*cls)(int), int64_t cap) {  /* length of a run of cls, <= cap */
    int64_t i = o;
    while (i < v.n && i - o < cap && cls(v.b[i])) i++;
    return i - o;
}
static int digit_c(int c) { return DIGIT(c); }

static int looks_random(V b) {
    uint8_t seen[256] = {0};
    int64_t distinct = 0, high = 0, odd = 0;
    for (int64_t i = 0; i < b.n; i++) {
        int c = b.b[i];
        distinct += !seen[c];
        seen[c] = 1;
        high |= c >= 0x80;
        odd |= c >= 0x7F || c < 0x20;
    }
    if (distinct * 2 <= b.n) return 0;
    return b.n >= 16 ? (int)high : (int)odd;
}

/* QUIC varint at o: value (-1 if cut), *o advanced */
static int64_t varint(V p, int64_t *o) {
    int64_t k = *o < p.n ? 1 << (p.b[*o] >> 6) : 9;
    if (*o + k > p.n) return -1;
    uint64_t x = be(p, *o, (int)k) & ((UINT64_C(1) << (8 * k - 2)) - 1);
    *o += k;
    return (int64_t)x;
}

static int ber_len(V p, int64_t o, int64_t *val, int64_t *next) {  /* 0 when malformed */
    int first = o < p.n ? p.b[o] : 0x80;
    if (first < 0x80) { *val = first; *next = o + 1; return 1; }
    int k = first & 0x7F;
    if (!IN(k, 1, 4) || o + 1 + k > p.n) return 0;
    *val = (int64_t)be(p, o + 1, k);
    *next = o + 1 + k;
    return 1;
}

/* --- TLS, DTLS, QUIC -------------------------------------------------------------------------------- */

static int c_tls(V p, Q *q) {
    const uint8_t *b = p.b;
    if (p.n >= 6 && b[1] == 3 && b[2] <= 4 && 0 < u16(p, 3) && u16(p, 3) <= 18432) {
        if (b[0] == 0x16) return b[5] == 2 || (b[5] == 1 && (p.n < 10 || b[9] == 3)) ? P_TLS : NONE;
        if (b[0] == 0x14) return u16(p, 3) == 1 && b[5] == 1 ? P_TLS : NONE;
        return b[0] == 0x15 || b[0] == 0x17 ? P_TLS : NONE;
    }
    if (p.n >= 11 && b[0] & 0x80 && b[2] == 1 &&
        (eq_at(p, 3, "\x00\x02", 2) || eq_at(p, 3, "\x03\x00", 2) || eq_at(p, 3, "\x03\x01", 2))) {
        int64_t specs = u16(p, 5), session = u16(p, 7), challenge = u16(p, 9);
        int ok = specs && specs % 3 == 0 && (session == 0 || session == 16) && IN(challenge, 16, 32);
        return ok && ((b[0] & 0x7F) << 8 | b[1]) == 9 + specs + session + challenge ? P_TLS : NONE;
    }
    return NONE;
}

static int hello_has_srtp(V p, int64_t body, int client) {
    int64_t o = body + 34;
    o += 1 + (o < p.n ? p.b[o] : 0);
    if (client) {
        o += 1 + (o < p.n ? p.b[o] : 0);
        o += 2 + u16(p, o);
        o += 1 + (o < p.n ? p.b[o] : 0);
    } else {
        o += 3;
    }
    int64_t end = o + 2 + u16(p, o);
    if (end > p.n) end = p.n;
    for (o += 2; o + 4 <= end; o += 4 + u16(p, o + 2))
        if (u16(p, o) == 14) return 1;
    return 0;
}

static int c_dtls(V p, Q *q) {
    const uint8_t *b = p.b;
    if (p.n < 13 || b[1] != 0xFE || !(b[2] == 0xFF || b[2] == 0xFD || b[2] == 0xFC) || !IN(b[0], 20, 25))
        return NONE;
    if (!(0 < u16(p, 11) && u16(p, 11) <= p.n - 13)) return NONE;
    if (b[0] == 22 && p.n >= 25 && (b[13] == 1 || b[13] == 2) && hello_has_srtp(p, 25, b[13] == 1))
        return P_WEBRTC;
    return P_DTLS;
}

static int quic_version(int64_t v) {  /* v1, v2, v2 draft, mvfst, IETF drafts 13-34 */
    return v == 0x00000001 || v == 0x6B3343CF || v == 0x709A50C4 || v == 0xFACEB001 || v == 0xFACEB002 ||
           v == 0xFACEB00E || (0xFF00000D <= v && v < 0xFF000023);
}

static int64_t quic_long_header(V p) {  /* offset after both connection ids, -1 if they do not fit */
    int64_t o = 6 + p.b[5];
    if (p.b[5] > 20 || o >= p.n || p.b[o] > 20 || o + 1 + p.b[o] > p.n) return -1;
    return o + 1 + p.b[o];
}

static int quic_packet_fits(V p, int64_t o, int64_t version) {
    int kind = (p.b[0] >> 4) & 3;
    if (version == 0x6B3343CF) kind = (kind + 3) & 3;  /* RFC 9369 3.2 renumbers the types */
    if (kind == 3) return p.n >= o + 16;
    if (kind == 0) {
        int64_t token = varint(p, &o);
        o += token >= 0 ? token : p.n;
    }
    int64_t length = varint(p, &o);
    return 20 <= length && length <= p.n - o;
}

static int gquic_version(V p, int64_t o) {  /* p[o:o+2] in (b"Q0", b"T0") and p[o+2:o+4].isdigit() */
    return (eq_at(p, o, "Q0", 2) || eq_at(p, o, "T0", 2)) && DIGIT(get(p, o + 2)) && DIGIT(get(p, o + 3));
}

static int c_quic(V p, Q *q) {
    if (p.n < 14) return NONE;
    const uint8_t *b = p.b;
    if (b[0] & 0x80) {
        int64_t version = u32(p, 1), end = quic_long_header(p);
        if (gquic_version(p, 1)) return P_QUIC;
        if (quic_version(version)) return end >= 0 && quic_packet_fits(p, end, version) ? P_QUIC : NONE;
        if (version == 0 && end >= 0 && (p.n - end) % 4 == 0)
            for (int64_t o = end; o < p.n; o += 4)
                if (quic_version(u32(p, o))) return P_QUIC;
        return NONE;
    }
    if (b[0] & 0x01 && !(b[0] & 0x40) && gquic_version(p, b[0] & 0x08 ? 9 : 1)) return P_QUIC;
    return b[0] & 0x08 && !(b[0] & 0x41) && CONTAINS(cut(sub(p, 9), 71), "CHLO") ? P_QUIC : NONE;
}

/* --- name services, address configuration, time --------------------------------------------------- */

static int nb_name(V p, int64_t o) {  /* \x20[A-P]{32}\x00\x00[\x20\x21]\x00\x01 at o */
    if (o + 38 > p.n || p.b[o] != 0x20) return 0;
    for (int64_t i = o + 1; i < o + 33; i++)
        if (!IN(p.b[i], 'A', 'P')) return 0;
    return eq_at(p, o + 33, "\x00\x00", 2) && (p.b[o + 35] == 0x20 || p.b[o + 35] == 0x21) &&
           eq_at(p, o + 36, "\x00\x01", 2);
}

static int dns_message(V p) {
    if (p.n < 17) return 0;
    int64_t flags = u16(p, 2), qd = u16(p, 4), an = u16(p, 6), ns = u16(p, 8), ar = u16(p, 10);
    int64_t op = (flags >> 11) & 0xF;
    if (!(op <= 2 || op == 4 || op == 5) || flags & 0x40 || qd > 64 || an > 512 || ns > 512 || ar > 512)
        return 0;
    if (qd == 0 && (an == 0 || !(flags & 0x8000))) return 0;
    int64_t o = 12;
    for (int i = 0; i < 128; i++) {
        if (o >= p.n || (63 < p.b[o] && p.b[o] < 0xC0)) return 0;
        if (p.b[o] == 0 || p.b[o] >= 0xC0) {
            o += p.b[o] ? 1 : 0;
            break;
        }
        o += 1 + p.b[o];
    }
    int64_t cls = u16(p, o + 3) & 0x7FFF;
    return o + 5 <= p.n && u16(p, o + 1) != 0 && (cls == 1 || cls == 3 || cls == 4 || cls == 254 || cls == 255);
}

static int dns_family(Q *q) {
    return HAS(q, 53) ? P_DNS : HAS(q, 5353) ? P_MDNS : HAS(q, 5355) ? P_LLMNR : HAS(q, 137) ? P_NETBIOS : P_DNS;
}

static int c_dns(V p, Q *q) {
    if (!q->udp) {
        int64_t n = u16(p, 0);
        if (n != p.n - 2 && !(HAS(q, 53) && n > p.n - 2)) return NONE;
        p = sub(p, 2);
    }
    if (nb_name(p, 12)) return P_NETBIOS;
    return dns_message(p) ? dns_family(q) : NONE;
}

static int c_dhcpv6(V p, Q *q) {
    if (!(HAS(q, 546) || HAS(q, 547)) || p.n < 4 || !IN(p.b[0], 1, 13)) return NONE;
    int64_t o = p.b[0] == 12 || p.b[0] == 13 ? 34 : 4;
    while (o + 4 <= p.n) o += 4 + u16(p, o + 2);
    return o == p.n ? P_DHCPV6 : NONE;
}

static int c_ntp(V p, Q *q) {
    if (p.n < 8) return NONE;
    const uint8_t *b = p.b;
    int version = (b[0] >> 3) & 7, mode = b[0] & 7;
    if (HAS(q, 123)) {
        int sized = p.n == 48 || p.n == 68 || p.n == 72 || (p.n > 72 && p.n % 4 == 0);
        int header = mode >= 6 || (sized && b[1] <= 16 && b[2] <= 17);
        return IN(version, 1, 4) && mode != 0 && header ? P_NTP : NONE;
    }
    int ok = p.n == 48 && (version == 3 || version == 4) && mode == 4 && IN(b[1], 1, 15) && b[2] <= 17 &&
             b[3] >= 0xE0;
    return ok && u32(p, 40) != 0 ? P_NTP : NONE;
}

/* --- ASN.1/BER protocols ------------------------------------------------------------------------------ */

static int ber_seq(V p, int64_t *start, int64_t *end) {
    int64_t val, next;
    if (!(p.n >= 7 && p.b[0] == 0x30) || !ber_len(p, 1, &val, &next)) return 0;
    *start = next;
    *end = next + val;
    return !(*end > p.n || (*end < p.n && p.b[*end] != 0x30));
}

static int c_snmp(V p, Q *q) {
    int64_t s, e, val, next;
    if (!ber_seq(p, &s, &e) || !eq_at(p, s, "\x02\x01", 2) || s + 4 > p.n) return NONE;
    int64_t o = s + 3, version = at(q, p, s + 2);
    if (version == 3) return at(q, p, o) == 0x30 ? P_SNMP : NONE;
    int64_t pdu = p.n;
    if (version <= 1 && at(q, p, o) == 0x04 && ber_len(p, o + 1, &val, &next)) pdu = val + next;
    return pdu < p.n && IN(at(q, p, pdu), 0xA0, 0xA8) ? P_SNMP : NONE;
}

static int c_ldap(V p, Q *q) {
    int64_t s, e;
    if (!ber_seq(p, &s, &e) || at(q, p, s) != 0x02 || !IN(at(q, p, s + 1), 1, 4)) return NONE;
    int64_t o = s + 2 + at(q, p, s + 1);
    if (o >= e) return NONE;
    int op = at(q, p, o);
    return op == 0x42 || op == 0x4A || op == 0x50 || IN(op, 0x60, 0x6F) || op == 0x73 || IN(op, 0x77, 0x79)
               ? P_LDAP : NONE;
}

static int c_kerberos(V p, Q *q) {
    if (!q->udp) p = p.n > 4 && u32(p, 0) >= p.n - 4 ? sub(p, 4) : sub(p, p.n);
    int mt = NONE;
    if (p.n) {
        int t = p.b[0];
        mt = IN(t, 0x6A, 0x6F) ? t - 0x60 : t == 0x7E ? 30 : NONE;
    }
    int64_t hv, hn, iv, in;
    int inner = ber_len(p, 1, &hv, &hn) && eq_at(p, hn, "\x30", 1) && ber_len(p, hn + 1, &iv, &in);
    if (mt == NONE || !inner) return NONE;
    int tag = mt == 10 || mt == 12 ? 0xA1 : 0xA0;
    const char want[10] = {(char)tag, 3, 2, 1, 5, (char)(tag + 1), 3, 2, 1, (char)mt};
    return eq_at(p, in, want, 10) ? P_KERBEROS : NONE;
}

/* --- VPNs and tunnels --------------------------------------------------------------------------------- */

static int c_ipsec(V p, Q *q) {
    int natt = HAS(q, 4500);
    int64_t o = natt && eq_at(p, 0, "\0\0\0\0", 4) ? 4 : 0;
    V h = cut(sub(p, o), 28);
    if (h.n == 28 && (h.b[17] == 0x10 || h.b[17] == 0x20) && u32(h, 24) == p.n - o) {
        int x = h.b[18];
        if (IN(x, 1, 6) || IN(x, 32, 37) || x == 43 || x == 44)
            return eq_at(h, 0, "\0\0\0\0\0\0\0\0", 8) ? NONE : P_IPSEC;
    }
    int esp = o == 0 && ((p.n == 1 && p.b[0] == 0xFF) || (p.n >= 16 && u32(p, 0) >= 256 && u32(p, 4) != 0));
    return natt && esp ? P_IPSEC : NONE;
}

static int c_wireguard(V p, Q *q) {
    const uint8_t *b = p.b;
    if (p.n < 32 || !eq_at(p, 1, "\0\0\0", 3) || !IN(b[0], 1, 4) || (!b[4] + !b[5] + !b[6] + !b[7]) > 1)
        return NONE;
    if (b[0] == 4 && u32(p, 12) != 0) return NONE;
    static const int64_t size_of[4] = {148, 92, 64, 0}, key_of[4] = {8, 12, 8, 16};
    int64_t size = b[0] < 4 ? size_of[b[0] - 1] : p.n % 16 == 0 ? p.n : -1, key = key_of[b[0] - 1];
    return size == p.n && looks_random(cut(sub(p, key), 32)) ? P_WIREGUARD : NONE;
}

static int c_openvpn(V p, Q *q) {
    if (!q->udp) p = u16(p, 0) == p.n - 2 ? sub(p, 2) : sub(p, p.n);
    const uint8_t *b = p.b;
    if (p.n < 14 || !(b[0] == 0x08 || b[0] == 0x10 || b[0] == 0x38 || b[0] == 0x40 || b[0] == 0x50) ||
        !looks_random(cut(sub(p, 1), 8)))
        return NONE;
    static const int hmac[5] = {0, 16, 20, 32, 64};
    for (int i = 0; i < 5; i++)
        if (u32(p, 9 + hmac[i]) == 1 && u32(p, 13 + hmac[i]) > 1000000000) return P_OPENVPN;
    int64_t o = b[9] <= 1 ? 10 + 12 * b[9] : p.n;
    return o + 4 <= p.n && p.n <= o + 64 && eq_at(p, o, "\0\0\0\0", 4) ? P_OPENVPN : NONE;
}

/* --- magic numbers and binary openings ------------------------------------------------------------- */

static int letters_ap(V p, int64_t o) {  /* [A-P]{32} at o */
    if (o + 32 > p.n) return 0;
    for (int64_t i = o; i < o + 32; i++)
        if (!IN(p.b[i], 'A', 'P')) return 0;
    return 1;
}

static int c_magic(V p, Q *q) {  /* the rows of appid_binary._MAGIC_TABLE, first match wins */
    const uint8_t *b = p.b;
    int64_t n = p.n;
    if (n >= 8 && b[0] == 0 && IN(b[4], 0xFD, 0xFF) && eq_at(p, 5, "SMB", 3)) return P_SMB;
    if (eq_at(p, 0, "\x81\x00\x00", 3) && get(p, 4) == 0x20 && letters_ap(p, 5)) return P_NETBIOS;
    if (n >= 15 && IN(b[0], 0x10, 0x12) && b[1] <= 0x0F && eq_at(p, 12, "\x00\x00\x20", 3) && letters_ap(p, 15))
        return P_NETBIOS;
    if (n >= 240 && (b[0] == 1 || b[0] == 2) && eq_at(p, 236, "\x63\x82\x53\x63", 4)) return P_DHCP;
    if ((n == 8 && eq_at(p, 0, "\x00\x00\x00\x08\x04\xd2\x16", 7) && (b[7] == 0x2F || b[7] == 0x30)) ||
        eq_at(p, 0, "\x00\x00\x00\x10\x04\xd2\x16\x2e", 8))
        return P_POSTGRESQL;
    if (n >= 1 && b[0] == 0x10) {  /* MQTT: [\x80-\xff]{0,3}[\x00-\x7f] then the protocol name */
        int64_t i = 1;
        while (i < 4 && i < n && b[i] >= 0x80) i++;
        if (i < n && b[i] < 0x80 &&
            ((eq_at(p, i + 1, "\x00\x04MQTT", 6) && IN(get(p, i + 7), 3, 5)) || eq_at(p, i + 1, "\x00\x06MQIsdp", 8)))
            return P_MQTT;
    }
    if (n >= 2 && b[0] == '*' && IN(b[1], '1', '9')) {  /* \*[1-9][0-9]{0,6}\r\n\$[0-9]{1,9}\r\n */
        int64_t d = run(p, 2, digit_c, 7);
        if (d <= 6 && eq_at(p, 2 + d, "\r\n$", 3)) {
            int64_t e = run(p, 5 + d, digit_c, 10);
            if (IN(e, 1, 9) && eq_at(p, 5 + d + e, "\r\n", 2)) return P_REDIS;
        }
    }
    if (n >= 3 && b[0] == 0xFF && IN(b[1], 0xFB, 0xFE) && b[2] <= 0x31 && (n == 3 || b[3] == 0xFF)) return P_TELNET;
    if (n >= 3 && b[0] == 0xFF && b[1] == 0xFA && b[2] <= 0x31)
        for (int64_t j = 3; j <= 67; j++)
            if (eq_at(p, j, "\xff\xf0", 2)) return P_TELNET;
    if (STARTS(p, "\x13" "BitTorrent protocol")) return P_BITTORRENT;
    int64_t krpc = STARTS(p, "d1:ad2:id20:") || STARTS(p, "d1:rd2:id20:") ? 12 : STARTS(p, "d2:ip") ? 5 : 0;
    if (krpc)
        for (V rest = sub(p, krpc); rest.n >= 6; rest = sub(rest, 1)) {
            int64_t at5 = find(rest, "1:y1:", 5);
            if (at5 < 0) break;
            rest = sub(rest, at5);
            if (rest.n >= 6 && (rest.b[5] == 'e' || rest.b[5] == 'q' || rest.b[5] == 'r')) return P_BITTORRENT;
        }
    if (n == 16 && eq_at(p, 0, "\x00\x00\x04\x17\x27\x10\x19\x80\x00\x00\x00\x00", 12)) return P_BITTORRENT;
    return NONE;
}

static int c_rdp(V p, Q *q) {
    const uint8_t *b = p.b;
    if (p.n < 11 || b[0] != 3 || b[1] != 0 || u16(p, 2) != p.n || b[4] != p.n - 5) return NONE;
    int rdp_port = HAS(q, 3389);
    if (b[5] == 0xE0) {
        V body = sub(p, 11);
        rdp_port |= STARTS(body, "Cookie: mstshash=") || STARTS(body, "Cookie: msts=") || STARTS(body, "\x01\x00");
    }
    return rdp_port && (b[5] == 0xE0 || b[5] == 0xD0) ? P_RDP : NONE;
}

static int c_postgresql(V p, Q *q) {
    return p.n >= 9 && u32(p, 0) == p.n && u32(p, 4) == 196608 && p.b[p.n - 1] == 0 ? P_POSTGRESQL : NONE;
}

static int mysql_version_c(int c) { return ALPHA(c) || DIGIT(c) || c == '.' || c == '-' || c == '_' || c == '+' || c == '~'; }

static int c_mysql(V p, Q *q) {
    const uint8_t *b = p.b;
    if (p.n < 40 || b[3] != 0 || (b[0] | b[1] << 8 | b[2] << 16) != p.n - 4 || b[4] != 10) return NONE;
    int64_t filler = p.n;
    if (DIGIT(b[5])) {  /* [0-9][0-9A-Za-z.\-_+~]{0,60}\x00 at 5 */
        int64_t k = run(p, 6, mysql_version_c, 61);
        if (k <= 60 && get(p, 6 + k) == 0) filler = 6 + k + 1 + 12;
    }
    return filler < p.n && b[filler] == 0 ? P_MYSQL : NONE;
}

static int c_stun(V p, Q *q) {
    if (p.n < 20 || p.b[0] & 0xC0 || u16(p, 2) != p.n - 20 || p.n % 4) return NONE;
    if (!eq_at(p, 4, "\x21\x12\xa4\x42", 4)) {  /* RFC 3489 STUN had no cookie: only on its port */
        int64_t t = u16(p, 0);
        return (t == 0x0001 || t == 0x0101 || t == 0x0111) && HAS(q, 3478) ? P_STUN : NONE;
    }
    for (int64_t o = 20; o + 4 <= p.n; o += 4 + (u16(p, o + 2) + 3) / 4 * 4) {
        int64_t t = u16(p, o);
        if (t == 0x0024 || t == 0x0025 || t == 0x8029 || t == 0x802A) return P_WEBRTC;
    }
    return P_STUN;
}

static int c_socks(V p, Q *q) {
    if (p.n < 3 || !(HAS(q, 1080) || HAS(q, 9050) || HAS(q, 9150))) return NONE;
    const uint8_t *b = p.b;
    int ok;
    if (b[0] == 5) {
        ok = b[1] == p.n - 2;
        for (int64_t i = 2; ok && i < p.n; i++) ok = b[i] <= 3 || IN(b[i], 0x80, 0xFE);
    } else {
        ok = b[0] == 4 && (b[1] == 1 || b[1] == 2) && p.n >= 9 && b[p.n - 1] == 0;
    }
    return ok ? P_SOCKS : NONE;
}

/* --- text protocols (appid_text) -------------------------------------------------------------------- */

static const char *const HTTP_METHODS[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH",
                                           "CONNECT", "PROPFIND", "MKCOL", NULL};
static const char *const SIP_METHODS[] = {"INVITE", "REGISTER", "OPTIONS", "ACK", "BYE", "CANCEL", "SUBSCRIBE",
                                          "NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE", "PRACK", NULL};
static const char *const RTSP_METHODS[] = {"OPTIONS", "DESCRIBE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "ANNOUNCE",
                                           "RECORD", "GET_PARAMETER", "SET_PARAMETER", NULL};
static int header_c(int c) { return ALPHA(c) || c == '-'; }
static int token_c(int c) { return UPPER(c) || c == '_' || c == '-'; }
static int tag_c(int c) { return ALPHA(c) || DIGIT(c) || c == '.'; }
static int print_c(int c) { return IN(c, 0x21, 0x7E); }
static int hex_c(int c) { return DIGIT(c) || IN(c, 'a', 'f') || IN(c, 'A', 'F'); }

static int status_line(V line) {  /* _STATUS: (HTTP/1\.[01]|RTSP/[12]\.0|SIP/2\.0) [1-6][0-9][0-9] */
    int kind = NONE;
    int64_t o = 0;
    if (STARTS(line, "HTTP/1.") && (get(line, 7) == '0' || get(line, 7) == '1')) kind = P_HTTP, o = 8;
    else if (STARTS(line, "RTSP/") && IN(get(line, 5), '1', '2') && eq_at(line, 6, ".0", 2)) kind = P_RTSP, o = 8;
    else if (STARTS(line, "SIP/2.0")) kind = P_SIP, o = 7;
    if (kind == NONE || get(line, o) != ' ' || !IN(get(line, o + 1), '1', '6') || !DIGIT(get(line, o + 2)) ||
        !DIGIT(get(line, o + 3)))
        return NONE;
    return kind;
}

static int64_t pri(V p, int64_t o) {  /* _PRI at o: <0-191> without leading zeros; offset after '>' or -1 */
    if (get(p, o) != '<') return -1;
    int d1 = get(p, o + 1), d2 = get(p, o + 2), d3 = get(p, o + 3);
    if (DIGIT(d1) && d2 == '>') return o + 3;
    if (IN(d1, '1', '9') && DIGIT(d2) && d3 == '>') return o + 4;
    if (d1 == '1' && get(p, o + 4) == '>' && ((d2 == '9' && (d3 == '0' || d3 == '1')) || (IN(d2, '0', '8') && DIGIT(d3))))
        return o + 5;
    return -1;
}

static int syslog_header(V p) {  /* _SYSLOG.match(p) */
    int64_t o = 0;
    if (p.n && IN(p.b[0], '1', '9')) {
        int64_t k = run(p, 0, digit_c, 7);
        if (k > 6 || get(p, k) != ' ') return 0;
        o = k + 1;
    }
    int64_t a = pri(p, o);
    if (a < 0) return 0;
    if (get(p, a) == '1' && get(p, a + 1) == ' ' && (DIGIT(get(p, a + 2)) || get(p, a + 2) == '-')) return 1;
    int c4 = get(p, a + 4);
    return UPPER(get(p, a)) && LOWER(get(p, a + 1)) && LOWER(get(p, a + 2)) && get(p, a + 3) == ' ' &&
           (c4 == ' ' || IN(c4, '0', '3')) && DIGIT(get(p, a + 5)) && get(p, a + 6) == ' ';
}

static int request_line(V line, const V *after, Q *q) {  /* appid_text._request_line */
    V method = line, rest = {line.b, 0}, target = {line.b, 0}, version;
    for (int64_t i = 0; i < line.n; i++)
        if (line.b[i] == ' ') { method = cut(line, i); rest = sub(line, i + 1); break; }
    version = rest;
    for (int64_t i = rest.n - 1; i >= 0; i--)
        if (rest.b[i] == ' ') { target = cut(rest, i); version = sub(rest, i + 1); break; }
    int http = STARTS(version, "HTTP/") || (line.n >= 8 && (eq_at(line, line.n - 8, "HTTP/1.1", 8) ||
                                                            eq_at(line, line.n - 8, "HTTP/1.0", 8)));
    int slash = rest.n && rest.b[0] == '/';
    int bare = 0, cut_short = slash && (after == NULL || memchr(rest.b, ' ', (size_t)rest.n) == NULL);
    if (rest.n == 0 && after != NULL) {  /* _HEADER: [A-Za-z-]{2,40}: */
        int64_t k = run(*after, 0, header_c, 41);
        bare = IN(k, 2, 40) && eq_at(*after, k, ": ", 2);
    }
    if (http || (in_words(method, HTTP_METHODS) && (cut_short || bare))) {
        if (IS(method, "M-SEARCH") || (IS(method, "NOTIFY") && IS(target, "*")) || (q->udp && HAS(q, 1900)))
            return P_SSDP;
        if (IS(method, "BT-SEARCH") || (CONTAINS(target, "/announce?") && CONTAINS(target, "info_hash=")))
            return P_BITTORRENT;
        if ((IS(method, "CONNECT") && !slash) || STARTS(target, "http://") || STARTS(target, "https://"))
            return P_HTTP_PROXY;
        return IN(method.n, 2, 20) && UPPER(method.b[0]) && run(method, 1, token_c, 20) == method.n - 1 ? P_HTTP : NONE;
    }
    if ((IS(version, "RTSP/1.0") || IS(version, "RTSP/2.0")) && in_words(method, RTSP_METHODS)) return P_RTSP;
    int sip_uri = STARTS(target, "sip:") || STARTS(target, "sips:") || STARTS(target, "tel:");
    return IS(version, "SIP/2.0") && in_words(method, SIP_METHODS) && sip_uri ? P_SIP : NONE;
}

static int mail_port(long long port) {
    switch (port) {
    case 21: case 990: return P_FTP;
    case 25: case 465: case 587: return P_SMTP;
    case 110: case 995: return P_POP3;
    default: return NONE;
    }
}

static int ftp_port_command(V r) {  /* [0-9]+(?:,[0-9]+){5}$ */
    int64_t o = 0;
    for (int g = 0; g < 6; g++) {
        if (g && get(r, o++) != ',') return 0;
        int64_t k = run(r, o, digit_c, r.n);
        if (k == 0) return 0;
        o += k;
    }
    return o == r.n;
}

static int imap_command(V line) {  /* _IMAP, case-insensitive */
    int64_t i = 0;
    while (i < line.n && (ALPHA(line.b[i]) || line.b[i] == '.')) i++;
    if (!DIGIT(get(line, i))) return 0;
    int64_t k = run(line, 0, tag_c, 17);
    if (!IN(k, 1, 16) || get(line, k) != ' ') return 0;
    V r = sub(line, k + 1);
    return ieq(r, "CAPABILITY") || ieq(r, "STARTTLS") || ieq(r, "LOGOUT") || ieq(r, "NOOP") ||
           ieq_at(r, 0, "LOGIN ") || ieq_at(r, 0, "AUTHENTICATE ") || ieq_at(r, 0, "ID ");
}

static int mail_ftp(V line, Q *q) {  /* appid_text._mail_ftp */
    int hint = mail_port(q->resp);
    if (hint == NONE) hint = mail_port(q->orig);
    if (STARTS(line, "220 ") || STARTS(line, "220-")) {
        if (icontains(line, "SMTP") || icontains(line, "MAIL")) return P_SMTP;
        return icontains(line, "FTP") ? P_FTP : hint == P_FTP || hint == P_SMTP ? hint : NONE;
    }
    if (STARTS(line, "+OK")) return (get(line, 3) == ' ' && !HAS(q, 6379)) || hint == P_POP3 ? P_POP3 : NONE;
    if (STARTS(line, "* OK") || STARTS(line, "* PREAUTH")) return P_IMAP;
    if (((ieq_at(line, 0, "EHLO ") || ieq_at(line, 0, "HELO ")) && line.n > 5 && run(line, 5, print_c, line.n) == line.n - 5) ||
        ieq_at(line, 0, "MAIL FROM:<") || ieq_at(line, 0, "MAIL FROM: <") || ieq(line, "STARTTLS"))
        return P_SMTP;
    if (ieq(line, "AUTH TLS") || ieq(line, "AUTH SSL") || ieq(line, "FEAT") || ieq(line, "SYST") ||
        ieq(line, "PASV") || ieq(line, "EPSV") || (ieq_at(line, 0, "PORT ") && ftp_port_command(sub(line, 5))))
        return P_FTP;
    if (ieq(line, "CAPA") || ieq(line, "STLS")) return P_POP3;
    if (ieq_at(line, 0, "APOP ")) {  /* APOP [!-~]+ [0-9a-f]{32}$ */
        int64_t k = run(line, 5, print_c, line.n);
        if (k >= 1 && get(line, 5 + k) == ' ' && line.n == 5 + k + 1 + 32 && run(line, 6 + k, hex_c, 32) == 32)
            return P_POP3;
    }
    if (ieq_at(line, 0, "USER ") || ieq_at(line, 0, "PASS ") || ieq_at(line, 0, "AUTH ") || ieq(line, "QUIT"))
        return hint;
    return imap_command(line) ? P_IMAP : NONE;
}

static int c_text(V p, Q *q) {  /* appid_text._text */
    if (p.n < 4 || !(0x20 < p.b[0] && p.b[0] < 0x7F)) return NONE;
    if (STARTS(p, "SSH-") && DIGIT(get(p, 4))) return P_SSH;
    V head = cut(p, 1024);
    const uint8_t *nl = memchr(head.b, '\n', (size_t)head.n);
    int64_t end = nl ? nl - p.b : -1;
    V line = head;
    if (end >= 0) {
        line = cut(p, end);
        while (line.n && line.b[line.n - 1] == '\r') line.n--;
    }
    int kind = status_line(line);
    if (kind != NONE) return kind == P_HTTP && q->udp ? P_SSDP : kind;
    if (syslog_header(p) || (HAS(q, 514) && pri(p, 0) >= 0 && IN(get(p, pri(p, 0)), 0x20, 0x7E))) return P_SYSLOG;
    V after = sub(p, end + 1);
    int found = request_line(line, end >= 0 ? &after : NULL, q);
    return found != NONE || q->udp || end < 0 ? found : mail_ftp(line, q);
}

/* --- dispatch ----------------------------------------------------------------------------------------- */

typedef int (*Check)(V, Q *);
static const Check TCP_CHECKS[] = {c_tls, c_text, c_magic, c_rdp, c_postgresql, c_mysql, c_kerberos,
                                   c_ldap, c_snmp, c_dns, c_openvpn, c_stun, c_socks, NULL};
static const Check UDP_CHECKS[] = {c_quic, c_dtls, c_stun, c_dns, c_magic, c_dhcpv6, c_ntp, c_ipsec,
                                   c_snmp, c_ldap, c_kerberos, c_text, c_openvpn, c_wireguard, NULL};

static int tcp_port(long long port) {  /* appid_ports.TCP_PORTS */
    switch (port) {
    case 20: case 21: case 989: case 990: return P_FTP;
    case 22: return P_SSH;
    case 23: case 992: return P_TELNET;
    case 25: case 465: case 587: case 2525: return P_SMTP;
    case 53: return P_DNS;
    case 80: case 8000: case 8008: case 8080: return P_HTTP;
    case 88: return P_KERBEROS;
    case 110: case 995: return P_POP3;
    case 139: return P_NETBIOS;
    case 143: case 993: return P_IMAP;
    case 389: case 636: case 3268: case 3269: return P_LDAP;
    case 443: case 853: case 8443: return P_TLS;
    case 445: return P_SMB;
    case 554: case 8554: return P_RTSP;
    case 601: case 6514: return P_SYSLOG;
    case 1080: case 9050: return P_SOCKS;
    case 1194: return P_OPENVPN;
    case 1883: case 8883: return P_MQTT;
    case 3128: case 8118: return P_HTTP_PROXY;
    case 3306: return P_MYSQL;
    case 3389: return P_RDP;
    case 3478: case 5349: return P_STUN;
    case 5060: case 5061: return P_SIP;
    case 5432: return P_POSTGRESQL;
    case 5355: return P_LLMNR;
    case 6379: return P_REDIS;
    case 6881: case 6882: case 6883: case 6884: case 6885: case 6886: case 6887: case 6888: case 6889:
        return P_BITTORRENT;
    default: return NONE;
    }
}

static int udp_port(long long port) {  /* appid_ports.UDP_PORTS */
    switch (port) {
    case 53: return P_DNS;
    case 67: case 68: return P_DHCP;
    case 88: return P_KERBEROS;
    case 123: return P_NTP;
    case 137: case 138: return P_NETBIOS;
    case 161: case 162: return P_SNMP;
    case 389: return P_LDAP;
    case 443: return P_QUIC;
    case 500: case 4500: return P_IPSEC;
    case 514: return P_SYSLOG;
    case 546: case 547: return P_DHCPV6;
    case 1194: return P_OPENVPN;
    case 1900: return P_SSDP;
    case 3389: return P_RDP;
    case 3478: case 5349: case 19302: return P_STUN;
    case 5060: return P_SIP;
    case 5353: return P_MDNS;
    case 5355: return P_LLMNR;
    case 6771: case 6881: return P_BITTORRENT;
    case 51820: return P_WIREGUARD;
    default: return NONE;
    }
}

/* --- the module ----------------------------------------------------------------------------------------- */

typedef struct { PyObject *names; } State;  /* tuple of interned protocol names, by enum value */

/* 0 tcp, 1 udp, 2 another str; -1 (TypeError set) when the arguments are not what the kernel takes */
static int parse(PyObject *const *args, Py_ssize_t nargs, Py_ssize_t want, Q *q) {
    if (nargs != want) {
        PyErr_Format(PyExc_TypeError, "expected %zd arguments", want);
        return -1;
    }
    for (int i = 1; i <= 2; i++)
        if (!PyLong_CheckExact(args[i]) && !PyBool_Check(args[i])) {
            PyErr_SetString(PyExc_TypeError, "ports must be int");
            return -1;
        }
    q->orig = PyLong_AsLongLong(args[1]);
    q->resp = q->orig == -1 && PyErr_Occurred() ? -1 : PyLong_AsLongLong(args[2]);
    if (q->resp == -1 && PyErr_Occurred()) {
        PyErr_SetString(PyExc_TypeError, "port out of range");
        return -1;
    }
    PyObject *t = args[0];
    if (!PyUnicode_CheckExact(t)) {
        PyErr_SetString(PyExc_TypeError, "transport must be str");
        return -1;
    }
    q->raised = 0;
    q->udp = PyUnicode_CompareWithASCIIString(t, "udp") == 0;
    return q->udp ? 1 : PyUnicode_CompareWithASCIIString(t, "tcp") == 0 ? 0 : 2;
}

static PyObject *name(PyObject *module, int proto) {
    if (proto == NONE) Py_RETURN_NONE;
    PyObject *s = PyTuple_GET_ITEM(((State *)PyModule_GetState(module))->names, proto);
    return Py_NewRef(s);
}

static PyObject *guess(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    Q q;
    int transport = parse(args, nargs, 4, &q);
    if (transport < 0) return NULL;
    if (!PyBytes_CheckExact(args[3])) {
        PyErr_SetString(PyExc_TypeError, "payload must be bytes");
        return NULL;
    }
    V p = {(const uint8_t *)PyBytes_AS_STRING(args[3]), PyBytes_GET_SIZE(args[3])};
    if (p.n == 0 || transport == 2) Py_RETURN_NONE;
    for (const Check *c = transport ? UDP_CHECKS : TCP_CHECKS; *c; c++) {
        int found = (*c)(p, &q);
        if (q.raised) Py_RETURN_NONE;  /* the reference raised: its guard answers None */
        if (found != NONE) return name(module, found);
    }
    Py_RETURN_NONE;
}

static PyObject *by_port(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    Q q;
    int transport = parse(args, nargs, 3, &q);
    if (transport < 0) return NULL;
    if (transport == 2) Py_RETURN_NONE;
    int (*table)(long long) = transport ? udp_port : tcp_port;
    int resp = table(q.resp), orig = table(q.orig);
    if (resp == NONE || orig == NONE) return name(module, resp == NONE ? orig : resp);
    int orig_first = (q.orig >= 1024) < (q.resp >= 1024) || ((q.orig >= 1024) == (q.resp >= 1024) && q.orig < q.resp);
    return name(module, orig_first ? orig : resp);  /* the well-known port (below 1024), then the lower */
}

static PyMethodDef METHODS[] = {
    {"guess_by_payload", (PyCFunction)(void (*)(void))guess, METH_FASTCALL,
     "guess_by_payload(transport, orig_port, resp_port, payload) -> str | None\n\n"
     "appid.guess_by_payload's signature checks in one call; TypeError for inputs it does not take."},
    {"guess_by_port", (PyCFunction)(void (*)(void))by_port, METH_FASTCALL,
     "guess_by_port(transport, orig_port, resp_port) -> str | None\n\n"
     "appid_ports.guess_by_port over the same tables; TypeError for inputs it does not take."},
    {NULL, NULL, 0, NULL},
};

static int traverse(PyObject *module, visitproc visit, void *arg) {
    State *st = PyModule_GetState(module);
    Py_VISIT(st ? st->names : NULL);
    return 0;
}

static int clear(PyObject *module) {
    State *st = PyModule_GetState(module);
    if (st) Py_CLEAR(st->names);
    return 0;
}

static void free_module(void *module) { clear((PyObject *)module); }

static struct PyModuleDef MODULE = {
    PyModuleDef_HEAD_INIT, "_appidc", "Compiled application-protocol classifier (see appid.py).",
    sizeof(State), METHODS, NULL, traverse, clear, free_module,
};

PyMODINIT_FUNC PyInit__appidc(void) {
    PyObject *m = PyModule_Create(&MODULE);
    if (m == NULL) return NULL;
    State *st = PyModule_GetState(m);
    st->names = PyTuple_New(N_PROTOCOLS);
    for (int i = 0; st->names && i < N_PROTOCOLS; i++) {
        PyObject *s = PyUnicode_InternFromString(NAMES[i]);
        if (s == NULL) Py_CLEAR(st->names);
        else PyTuple_SET_ITEM(st->names, i, s);
    }
    if (st->names == NULL || PyModule_AddObjectRef(m, "PROTOCOLS", st->names) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
