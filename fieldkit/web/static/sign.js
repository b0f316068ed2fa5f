// Signing on the phone: the vendored, audited @noble/ed25519 (RFC 8032) with @noble/hashes' SHA-512.
// A page served over plain HTTP on a LAN is not a secure context, so WebCrypto is not there;
// these are pure JavaScript and need nothing from the network (vendor/CHECKSUMS pins them).
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';

ed.hashes.sha512 = sha512;

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const unhex = (h) => {
  if (!/^([0-9a-f]{2})*$/.test(h)) throw new Error('not hex');
  return Uint8Array.from(h.match(/../g) || [], (x) => parseInt(x, 16));
};

// A new key: 32 random bytes from crypto.getRandomValues (available without a secure context).
export function newKey() {
  const seed = ed.utils.randomSecretKey();
  return { seed: hex(seed), pub: hex(ed.getPublicKey(seed)) };
}

export function publicKeyOf(seedHex) {
  return hex(ed.getPublicKey(unhex(seedHex)));
}

// The node sends the entry id (32 bytes, BLAKE2b-256 over the canonical entry, codec/entry.py);
// the signature is over exactly those bytes, as codec.KeyPair.sign makes it.
export function signHex(idHex, seedHex) {
  const id = unhex(idHex);
  if (id.length !== 32) throw new Error('an entry id is 32 bytes');
  return hex(ed.sign(id, unhex(seedHex)));
}
