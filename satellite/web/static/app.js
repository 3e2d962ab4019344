// Conveniences only: every page works without this file.
"use strict";

// The reservation code alphabet and checksum (docs/reservation-codes.md), as satellite/reservation/checksum.py.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const PRIME = 32749;
const WIDTH = 3;
const NAMES = { R: "request", A: "authorization", C: "confirmation", X: "return" };

function valueOf(c) {
  const u = c.toUpperCase();
  if (u === "I" || u === "L") return 1;
  if (u === "O") return 0;
  const v = ALPHABET.indexOf(u);
  return v < 0 || u === "" ? null : v;
}

function modPow(base, exp, mod) {
  let result = 1; base %= mod;
  while (exp > 0) {
    if (exp & 1) result = (result * base) % mod;
    base = (base * base) % mod; exp >>= 1;
  }
  return result;
}

function sums(values) {
  let s0 = 0, s1 = 0;
  values.forEach((v, i) => { s0 = (s0 + v) % PRIME; s1 = (s1 + (i + 1) * v) % PRIME; });
  return [s0, s1];
}

function digits(n) { const d = []; for (let k = 0; k < WIDTH; k++) d.push((n >> (5 * (WIDTH - 1 - k))) & 31); return d; }
function join(ds) { return ds.reduce((acc, v) => (acc << 5) | v, 0); }

// Returns {ok: true} or {ok: false, position (1-based, or null), message}.
function checkCode(text, letter) {
  const values = [], chars = [];
  for (const c of text) {
    if ("- \t\r\n".includes(c)) continue;
    const v = valueOf(c);
    if (v === null) return { ok: false, position: values.length + 1, message: `'${c}' is not a code character`, chars: [...chars, c] };
    values.push(v); chars.push(c.toUpperCase());
  }
  if (values.length < 2 + 2 * WIDTH) return { ok: false, position: null, message: "incomplete so far", chars };
  const n = values.length - 2 * WIDTH;
  const data = values.slice(0, n), stored = values.slice(n);
  const [s0, s1] = sums(data);
  const expected = digits(s0).concat(digits(s1));
  if (stored.every((v, i) => v === expected[i])) {
    if (ALPHABET[values[0]] !== letter) return { ok: false, position: 1, message: `this is not a ${NAMES[letter]} code`, chars };
    return { ok: true, chars };
  }
  const got0 = join(stored.slice(0, WIDTH)), got1 = join(stored.slice(WIDTH));
  const diff = expected.map((v, i) => (v !== stored[i] ? i : -1)).filter((i) => i >= 0);
  if ((got0 === s0) !== (got1 === s1) && diff.length === 1) return { ok: false, position: n + diff[0] + 1, message: "mistyped character", chars };
  const d0 = ((s0 - got0) % PRIME + PRIME) % PRIME, d1 = ((s1 - got1) % PRIME + PRIME) % PRIME;
  if (d0 && d1) {
    const j = (d1 * modPow(d0, PRIME - 2, PRIME)) % PRIME;
    const e = d0 < 32 ? d0 : d0 - PRIME;
    if (j >= 1 && j <= n && values[j - 1] - e >= 0 && values[j - 1] - e < 32) return { ok: false, position: j, message: "mistyped character", chars };
  }
  return { ok: false, position: null, message: "more than one character is wrong: copy it again", chars };
}

function showCheck(area, out) {
  const letter = area.dataset.codeLetter;
  out.replaceChildren();
  out.classList.remove("ok", "bad");
  if (!area.value.trim()) return;
  const result = checkCode(area.value, letter);
  if (result.ok) { out.textContent = "Checksum correct."; out.classList.add("ok"); return; }
  if (result.message === "incomplete so far") { out.textContent = "Incomplete so far."; return; }
  out.classList.add("bad");
  const where = result.position ? ` at position ${result.position} (group ${Math.floor((result.position - 1) / 5) + 1}, character ${(result.position - 1) % 5 + 1})` : "";
  const msg = document.createElement("span");
  msg.textContent = `Check failed${where}: ${result.message}. `;
  out.append(msg);
  if (result.position) {
    const shown = document.createElement("span");
    result.chars.forEach((c, i) => {
      if (i > 0 && i % 5 === 0) shown.append("-");
      if (i + 1 === result.position) { const m = document.createElement("mark"); m.textContent = c; shown.append(m); }
      else shown.append(c);
    });
    out.append(shown);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("textarea[data-code-letter]").forEach((area) => {
    const out = document.querySelector(`.code-check[data-for="${area.id}"]`);
    if (!out) return;
    area.addEventListener("input", () => showCheck(area, out));
    showCheck(area, out);
  });
  document.querySelectorAll("button.copy[data-copy]").forEach((button) => {
    const source = document.getElementById(button.dataset.copy);
    if (!source || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", async () => {
      await navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = "Copy"; }, 2000);
    });
  });
});

// Times: the page writes them in UTC; show them in the viewer's time zone, UTC on hover.
function pad(n) { return String(n).padStart(2, "0"); }
function zoneName(d) {
  try {
    const part = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(d)
      .find((p) => p.type === "timeZoneName");
    return part ? part.value : "";
  } catch (e) { return ""; }
}
function localTimes(root) {
  root.querySelectorAll("time[datetime]").forEach((el) => {
    const d = new Date(el.getAttribute("datetime"));
    if (isNaN(d.getTime()) || el.dataset.local) return;
    el.textContent = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())} ${zoneName(d)}`.trimEnd();
    el.dataset.local = "1";
  });
}
document.addEventListener("DOMContentLoaded", () => localTimes(document));
