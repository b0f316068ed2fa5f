// Recovery words: the 32-byte key as 24 BIP-39 words (English list, the same on every phone).
import { entropyToMnemonic, mnemonicToEntropy } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const unhex = (h) => Uint8Array.from(h.match(/../g) || [], (x) => parseInt(x, 16));

export const toWords = (seedHex) => entropyToMnemonic(unhex(seedHex), wordlist);
export const fromWords = (text) => hex(mnemonicToEntropy(text.trim().toLowerCase().split(/\s+/).join(' '), wordlist));
