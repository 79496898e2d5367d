// One shared string per distinct word of a parse. Configurations repeat the
// same words (directive names, `$host`, `on`, header names, upstream names):
// a 7 MB benchmark file has 420,000 words but 27,000 distinct ones. A word is
// looked up from its characters in the text, so a repeated word costs no
// substring at all; only a new word is cut out of the text.

/** Words longer than this are rarely repeated: they are cut out as they are. */
const MAX_SHARED = 256;

export class WordTable {
  /** Open addressing; the length is a power of two, at most half full. */
  #words: (string | undefined)[] = new Array<string | undefined>(1024).fill(undefined);
  #hashes = new Int32Array(1024);
  #count = 0;

  /** `text.slice(start, end)`, the same string for the same characters. */
  range(text: string, start: number, end: number): string {
    const length = end - start;
    if (length > MAX_SHARED) return text.slice(start, end);
    let hash = 0x811c9dc5 ^ length; // FNV-1a over the UTF-16 code units
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
    const mask = this.#words.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const word = this.#words[slot];
      if (word === undefined) return this.#add(slot, hash, text.slice(start, end));
      if (this.#hashes[slot] === hash && word.length === length && text.startsWith(word, start)) return word;
    }
  }

  /** The shared copy of `value`. */
  string(value: string): string {
    return this.range(value, 0, value.length);
  }

  #add(slot: number, hash: number, word: string): string {
    this.#words[slot] = word;
    this.#hashes[slot] = hash;
    if (++this.#count * 2 > this.#words.length) this.#grow();
    return word;
  }

  #grow(): void {
    const words = this.#words;
    const hashes = this.#hashes;
    const size = words.length * 2;
    const mask = size - 1;
    this.#words = new Array<string | undefined>(size).fill(undefined);
    this.#hashes = new Int32Array(size);
    for (let i = 0; i < words.length; i++) {
      const word = words[i];
      if (word === undefined) continue;
      let slot = hashes[i]! & mask;
      while (this.#words[slot] !== undefined) slot = (slot + 1) & mask;
      this.#words[slot] = word;
      this.#hashes[slot] = hashes[i]!;
    }
  }
}
