// Checks, in the auditor's own browser, the inclusion proof shown on an event page of the
// consent registry's auditor portal (/portal/audit/events/{seq}).
//
// From the page it reads the event's canonical bytes, its seq, the audit path and the signed
// checkpoint (a compact JWS); it checks the JWS's ES256 signature with the key the registry
// publishes under its `kid` (/.well-known/jwks.json, same origin), then recomputes with
// WebCrypto SHA-256
//   leaf = SHA-256(0x00 || event bytes)                        (RFC 9162 §2.1.1)
//   root = the root implied by the audit path (RFC 9162 §2.1.3.2)
// and compares that root with the one inside the signed checkpoint. The answer goes into the
// page ("verified" / "does not verify") for the auditor to read; the server's own answer is
// shown beside it for browsers without script. Nothing is sent anywhere; the one request
// is for the registry's public keys.
"use strict";

(function () {
  var box = document.getElementById("proof-check");
  if (!box) {
    return;
  }
  var result = document.getElementById("proof-check-result");
  var detail = document.getElementById("proof-check-detail");

  function show(ok, text) {
    result.textContent = ok ? "verified" : "does not verify";
    result.className = ok ? "verdict verdict-ok" : "verdict verdict-bad";
    detail.textContent = text;
    box.hidden = false;
    box.setAttribute("data-state", ok ? "verified" : "failed");
  }

  function hexToBytes(hex) {
    if (!/^([0-9a-f]{2})*$/.test(hex)) {
      throw new Error("not lower-case hex: " + hex.slice(0, 16));
    }
    var out = new Uint8Array(hex.length / 2);
    for (var i = 0; i < out.length; i++) {
      out[i] = parseInt(hex.substr(i * 2, 2), 16);
    }
    return out;
  }

  function toHex(bytes) {
    return Array.prototype.map
      .call(bytes, function (b) { return b.toString(16).padStart(2, "0"); })
      .join("");
  }

  function concat(prefix, parts) {
    var length = 1;
    parts.forEach(function (p) { length += p.length; });
    var out = new Uint8Array(length);
    out[0] = prefix;
    var at = 1;
    parts.forEach(function (p) { out.set(p, at); at += p.length; });
    return out;
  }

  function sha256(bytes) {
    return crypto.subtle.digest("SHA-256", bytes).then(function (d) { return new Uint8Array(d); });
  }

  function base64urlBytes(part) {
    var b64 = part.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var binary = atob(b64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes;
  }

  // The checkpoint's ES256 signature (RFC 7515) with the key of its `kid` among the keys the
  // registry publishes (/.well-known/jwks.json). ES256's r||s is WebCrypto's ECDSA format.
  async function signatureKid(jws) {
    var parts = jws.split(".");
    var header = JSON.parse(new TextDecoder().decode(base64urlBytes(parts[0])));
    if (header.alg !== "ES256" || header.typ !== "checkpoint+jwt") {
      return null;
    }
    var response = await fetch("/.well-known/jwks.json", { credentials: "omit" });
    var jwks = await response.json();
    var jwk = (jwks.keys || []).find(function (k) { return k.kid === header.kid; });
    if (!jwk || jwk.kty !== "EC" || jwk.crv !== "P-256") {
      return null;
    }
    var key = await crypto.subtle.importKey(
      "jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, ext: true },
      { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]
    );
    var ok = await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" }, key, base64urlBytes(parts[2]),
      new TextEncoder().encode(parts[0] + "." + parts[1])
    );
    return ok ? header.kid : null;
  }

  function base64urlJson(part) {
    return JSON.parse(new TextDecoder().decode(base64urlBytes(part)));
  }

  // RFC 9162 §2.1.3.2, with BigInt: tree sizes go up to 2^53.
  async function rootFromPath(leaf, index, size, path) {
    if (index < 0n || index >= size) {
      return null;
    }
    var fn = index;
    var sn = size - 1n;
    var r = leaf;
    for (var i = 0; i < path.length; i++) {
      var p = path[i];
      if (p.length !== 32 || sn === 0n) {
        return null;
      }
      if ((fn & 1n) === 1n || fn === sn) {
        r = await sha256(concat(0x01, [p, r]));
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      } else {
        r = await sha256(concat(0x01, [r, p]));
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    return sn === 0n ? r : null;
  }

  async function check() {
    if (!window.crypto || !crypto.subtle) {
      show(false, "This browser offers no WebCrypto here (a secure context is needed).");
      return;
    }
    var eventText = document.getElementById("event-bytes").textContent;
    var seq = BigInt(box.getAttribute("data-seq"));
    var path = Array.prototype.map.call(
      document.querySelectorAll("#proof-path code"),
      function (node) { return hexToBytes(node.textContent.trim()); }
    );
    var jws = document.getElementById("checkpoint-jws").textContent.trim();
    var kid = await signatureKid(jws);
    if (kid === null) {
      show(false, "The checkpoint's signature does not verify with the keys the registry " +
        "publishes (/.well-known/jwks.json).");
      return;
    }
    var claims = base64urlJson(jws.split(".")[1]);
    var size = BigInt(claims.tree_size);
    var leaf = await sha256(concat(0x00, [new TextEncoder().encode(eventText)]));
    var shownLeaf = box.getAttribute("data-leaf-hash");
    if (toHex(leaf) !== shownLeaf) {
      show(false, "The event's bytes do not hash to the leaf hash shown (" + toHex(leaf) + ").");
      return;
    }
    var root = await rootFromPath(leaf, seq, size, path);
    if (root === null) {
      show(false, "The audit path is not a path of a tree of " + size + " events.");
    } else if (toHex(root) !== claims.root_hash) {
      show(false, "The path leads to root " + toHex(root) + ", the signed checkpoint says " +
        claims.root_hash + ".");
    } else {
      show(true, "Recomputed in this browser: the event is leaf " + seq + " of the tree of " +
        size + " events, root " + claims.root_hash + ", whose checkpoint is signed by key " +
        kid + ".");
    }
  }

  check().catch(function (err) {
    show(false, "The proof could not be read: " + err.message);
  });
})();
