// Formatting of numbers, sizes, rates, durations and times: one place, so every view says it alike.

const UNITS = ["B", "KB", "MB", "GB", "TB", "PB"];

/** 1536 -> "1.5 KB" (powers of 1024, at most three significant digits). */
export function bytes(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return "—";
  const neg = n < 0;
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  const text = i === 0 ? String(Math.round(v)) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return `${neg ? "-" : ""}${text} ${UNITS[i]}`;
}

/** Bytes per second as bits per second: 125000 -> "1.00 Mb/s". */
export function bitrate(bytesPerS: number | null | undefined): string {
  if (bytesPerS == null || !Number.isFinite(bytesPerS)) return "—";
  let v = Math.max(0, bytesPerS) * 8;
  const units = ["b/s", "kb/s", "Mb/s", "Gb/s", "Tb/s"];
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  const text = i === 0 ? String(Math.round(v)) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return `${text} ${units[i]}`;
}

/** Bytes per second, byte units: 2048 -> "2.00 KB/s". */
export function byteRate(bytesPerS: number | null | undefined): string {
  if (bytesPerS == null || !Number.isFinite(bytesPerS)) return "—";
  return `${bytes(bytesPerS)}/s`;
}

/** 1234567 -> "1,234,567" (grouped, no decimals); compact with k/M/G when asked. */
export function count(n: number | null | undefined, compact = false): string {
  if (n == null || !Number.isFinite(n)) return "—";
  if (compact && Math.abs(n) >= 10_000) {
    const units = ["", "k", "M", "G", "T"];
    let v = Math.abs(n);
    let i = 0;
    while (v >= 1000 && i < units.length - 1) {
      v /= 1000;
      i++;
    }
    return `${n < 0 ? "-" : ""}${v >= 100 ? v.toFixed(0) : v.toFixed(1)}${units[i]}`;
  }
  return Math.round(n).toLocaleString("en-US");
}

/** 0.1234 -> "12.3%" (value is a fraction); percent(12.34, true) -> "12.3%" (value already in %). */
export function percent(v: number | null | undefined, alreadyPercent = false): string {
  if (v == null || !Number.isFinite(v)) return "—";
  const p = alreadyPercent ? v : v * 100;
  return `${p >= 10 || p === 0 ? p.toFixed(0) : p.toFixed(1)}%`;
}

/** Seconds as a short duration: 0.42 -> "420 ms", 75 -> "1m 15s", 90000 -> "1d 1h". */
export function duration(s: number | null | undefined): string {
  if (s == null || !Number.isFinite(s)) return "—";
  if (s < 0) s = 0;
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.floor(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  const d = Math.floor(h / 24);
  return `${d}d ${h % 24}h`;
}

/** How long ago an epoch time was, relative to now (both seconds): "just now", "12 s ago", "3 h ago". */
export function ago(ts: number | null | undefined, now: number = Date.now() / 1000): string {
  if (ts == null || !Number.isFinite(ts) || ts <= 0) return "never";
  const d = now - ts;
  if (d < 2) return "just now";
  if (d < 60) return `${Math.round(d)} s ago`;
  if (d < 3600) return `${Math.round(d / 60)} min ago`;
  if (d < 86400) return `${Math.round(d / 3600)} h ago`;
  return `${Math.round(d / 86400)} d ago`;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, "0");

/** Epoch seconds as local "HH:MM:SS" (today) or "YYYY-MM-DD HH:MM" (other days). */
export function time(ts: number | null | undefined, now: number = Date.now() / 1000): string {
  if (ts == null || !Number.isFinite(ts) || ts <= 0) return "—";
  const d = new Date(ts * 1000);
  const today = new Date(now * 1000);
  const hms = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  if (d.toDateString() === today.toDateString()) return hms;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hms.slice(0, 5)}`;
}

/** Epoch seconds as an ISO 8601 UTC string (exports). */
export function iso(ts: number | null | undefined): string {
  if (ts == null || !Number.isFinite(ts) || ts <= 0) return "";
  return new Date(ts * 1000).toISOString();
}

/** "ip:port", IPv6 in brackets. */
export function endpoint(ip: string | null | undefined, port?: number | null): string {
  if (!ip) return "—";
  const host = ip.includes(":") ? `[${ip}]` : ip;
  return port ? `${host}:${port}` : host;
}

let regionNames: Intl.DisplayNames | null | undefined;

/** "DE" -> "Germany" (the browser's names; the code itself when unknown). */
export function countryName(code: string | null | undefined): string {
  if (!code) return "—";
  if (regionNames === undefined) {
    try {
      regionNames = new Intl.DisplayNames(["en"], { type: "region" });
    } catch {
      regionNames = null;
    }
  }
  try {
    return regionNames?.of(code.toUpperCase()) ?? code;
  } catch {
    return code;
  }
}

/** "DE" -> the flag emoji (regional indicators); "" for anything that is not two letters. */
export function flag(code: string | null | undefined): string {
  if (!code || !/^[A-Za-z]{2}$/.test(code)) return "";
  const base = 0x1f1e6;
  const up = code.toUpperCase();
  return String.fromCodePoint(base + up.charCodeAt(0) - 65, base + up.charCodeAt(1) - 65);
}

/** "AS15169 Google LLC" (or the parts known). */
export function asn(num: number | null | undefined, org?: string | null): string {
  if (num == null && !org) return "—";
  if (num == null) return org ?? "—";
  return org ? `AS${num} ${org}` : `AS${num}`;
}

/** Truncate long text with an ellipsis in the middle (keeps both ends of host names readable). */
export function middle(text: string, max = 40): string {
  if (text.length <= max) return text;
  const keep = max - 1;
  const head = Math.ceil(keep / 2);
  return `${text.slice(0, head)}…${text.slice(text.length - (keep - head))}`;
}
