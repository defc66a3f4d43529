/**
 * The stream of uniform draws that `tf.randomUniform(shape, 0, 1, 'float32', seed)` fills its
 * tensor with, one value at a time on the host, so that a caller can keep only the draws it needs
 * (issue 22: the attention dropout of a long row keeps only the keep flags of the causal blocks of
 * its [h, L, L] draws, without the full host array, its tensor copy and its padded copy).
 *
 * TensorFlow.js draws these with seedrandom's Alea generator seeded by the seed's decimal string
 * (`UniformRandom` in tfjs-core's rand_util: value = min + (max - min) * alea(), stored as float32).
 * Alea is Johannes Baagoe's generator: a multiply-with-carry over three 32-bit fractions, seeded
 * through his Mash hash (one hash state for all six calls: three of ' ', then the seed three times,
 * each subtracted modulo 1). Written here from that description; a test checks the stream against
 * tf.randomUniform bit for bit, so a change in tfjs would show.
 */
export class UniformStream {
  private s0: number;
  private s1: number;
  private s2: number;
  private c = 1;

  constructor(seed: number) {
    let n = 0xefc8249d;
    const mash = (data: string): number => {
      for (let i = 0; i < data.length; i++) {
        n += data.charCodeAt(i);
        let h = 0.02519603282416938 * n;
        n = h >>> 0;
        h -= n;
        h *= n;
        n = h >>> 0;
        h -= n;
        n += h * 0x100000000; // 2^32
      }
      return (n >>> 0) * 2.3283064365386963e-10; // 2^-32
    };
    this.s0 = mash(' ');
    this.s1 = mash(' ');
    this.s2 = mash(' ');
    const key = String(seed);
    this.s0 -= mash(key);
    if (this.s0 < 0) this.s0 += 1;
    this.s1 -= mash(key);
    if (this.s1 < 0) this.s1 += 1;
    this.s2 -= mash(key);
    if (this.s2 < 0) this.s2 += 1;
  }

  /** The next draw in [0, 1) (a float64; tf.randomUniform stores it as float32). */
  next(): number {
    const t = 2091639 * this.s0 + this.c * 2.3283064365386963e-10; // 2^-32
    this.s0 = this.s1;
    this.s1 = this.s2;
    this.c = t | 0;
    this.s2 = t - this.c;
    return this.s2;
  }

  /** Skips `count` draws. */
  skip(count: number): void {
    this.advance(count, null, 0, 0);
  }

  /**
   * Writes the dropout keep flags of the next `count` draws u into `out` from `at`: 1 where
   * floor(u + keep) is 1 as TensorFlow computes it in float32 (u stored as float32, the sum rounded
   * to float32: `tf.floor(tf.add(u, keep))` of the tape's tf.dropout), else 0. `keep` must be a
   * float32 value.
   */
  keepFlags(out: Uint8Array, at: number, count: number, keep: number): void {
    this.advance(count, out, at, keep);
  }

  /**
   * The draws of `next()` `count` times in a loop on locals (about 4x faster than `next()`, issue
   * 22: a Memetracker epoch draws 35 M of them), writing their keep flags when `out` is given.
   */
  private advance(count: number, out: Uint8Array | null, at: number, keep: number): void {
    let { s0, s1, s2, c } = this;
    for (let i = 0; i < count; i++) {
      const t = 2091639 * s0 + c * 2.3283064365386963e-10;
      s0 = s1;
      s1 = s2;
      c = t | 0;
      s2 = t - c;
      if (out) out[at + i] = Math.fround(Math.fround(s2) + keep) >= 1 ? 1 : 0;
    }
    Object.assign(this, { s0, s1, s2, c });
  }
}
