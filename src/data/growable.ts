/**
 * Append-only typed arrays for streamed input of unknown length: doubling keeps appends amortised
 * O(1) without the per-element boxing of a JS array of numbers (millions of edges).
 */

type TypedCtor<T> = { new (n: number): T };

class Growable<T extends Int32Array | Float32Array> {
  private buf: T;
  length = 0;

  constructor(private readonly ctor: TypedCtor<T>, initial = 1024) {
    this.buf = new ctor(initial);
  }

  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new this.ctor(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }

  /** A view of the filled part (shares memory until the next push that grows the buffer). */
  view(): T {
    return this.buf.subarray(0, this.length) as T;
  }

  /** An exact-size copy, so the result does not keep the spare capacity alive. */
  toArray(): T {
    return this.buf.slice(0, this.length) as T;
  }
}

export class GrowableInt32 extends Growable<Int32Array> {
  constructor(initial?: number) {
    super(Int32Array, initial);
  }
}

export class GrowableFloat32 extends Growable<Float32Array> {
  constructor(initial?: number) {
    super(Float32Array, initial);
  }
}
