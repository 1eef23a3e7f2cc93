/* The binary signature checks of appid_binary.py: TLS/DTLS/QUIC, name services, BER, VPNs, magic numbers.
 * Part of _appidc.c: included once, by it, after what it uses. */
#ifndef FLOWRADAR_APPIDC_BINARY_H
#define FLOWRADAR_APPIDC_BINARY_H

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
    int64_t o = s + 3, version = p.b[s + 2]; /* s + 4 <= p.n */
    if (version == 3) return p.b[o] == 0x30 ? P_SNMP : NONE;
    int64_t pdu = p.n;
    if (version <= 1 && p.b[o] == 0x04 && ber_len(p, o + 1, &val, &next)) pdu = val + next;
    return 0 <= pdu && pdu < p.n && IN(p.b[pdu], 0xA0, 0xA8) ? P_SNMP : NONE;
}

static int c_ldap(V p, Q *q) {
    int64_t s, e;
    if (!ber_seq(p, &s, &e) || s + 2 > p.n || p.b[s] != 0x02 || !IN(p.b[s + 1], 1, 4)) return NONE;
    int64_t o = s + 2 + p.b[s + 1];
    if (o >= e) return NONE;
    int op = p.b[o]; /* o < e <= p.n */
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

#endif /* FLOWRADAR_APPIDC_BINARY_H */
