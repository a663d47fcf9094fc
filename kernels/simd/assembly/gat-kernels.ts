/**
 * WebAssembly SIMD twins of the hot loops of kernels/loops.ts (cpu and wasm backends), written in
 * AssemblyScript: TypeScript syntax with wasm types (i32, f32, usize pointers) and the v128
 * intrinsics (f32x4.add, v128.load, ...), each of which is one wasm instruction.
 *
 * Build: `npm run build` runs scripts/build-wasm.mjs, which compiles this file with `asc` (the npm
 * package assemblyscript, a pinned devDependency: no native toolchain) to
 * dist/kernels/simd/gat-kernels.wasm. This file is not part of the tsc build (tsconfig excludes it).
 * Test: test/simd-kernels.test.ts runs every export against its JS twin in kernels/loops.ts, with
 * one thread and several (kernels/simd/index.ts splits the work).
 *
 * Why SIMD: V8 runs the JS loops at about 4.5 ns per multiply-add and never vectorises them; here
 * the inner loops run over the channel axis four floats at a time (the softmaxes over heads).
 *
 * Conventions (the loader, kernels/simd/index.ts, relies on them):
 * - Every pointer is a byte address in the imported (shared) memory; every count is in elements.
 * - Each kernel takes a range (rows, edges, heads or columns) as its last parameters, so that
 *   several threads can run one call: every output element is written by exactly one range, and
 *   within it accumulates its terms in the order of the JS loop it mirrors. So the result does not
 *   depend on how the work is split, or on the number of threads.
 * - Results differ from the JS only by float32 rounding: the JS keeps intermediates in float64; here
 *   they are float32, and a dot product over c is summed four lanes at a time (then (l0 + l2) +
 *   (l1 + l3), then the tail). The softmax forward works in float64 exactly where the JS does.
 *   A lane of f32x4.add/mul is the same IEEE operation as f32.add/mul, so an element gives the same
 *   bits whether a 16-, 4- or 1-wide loop reaches it.
 * - Outputs accumulate (+=) into what the caller put there, exactly as the JS does.
 * - Channels (heads) left over when C or K (H) is not a multiple of 4 are done one float (or two)
 *   at a time, so no access touches a neighbouring head's or row's values.
 * - Indices are trusted: the loader checks them with in_range first and runs the JS loops when
 *   any is out of range.
 */

// ---------------------------------------------------------------------------------------------
// Helpers (inlined: no call in any inner loop).

/** int32 element i of the array at byte address base. */
@inline function i32At(base: usize, i: i32): i32 {
  return load<i32>(base + (<usize>i << 2));
}

/** float32 element i of the array at byte address base. */
@inline function f32At(base: usize, i: i32): f32 {
  return load<f32>(base + (<usize>i << 2));
}

/** LeakyReLU per lane: z > 0 ? z : slope z (NaN takes the slope branch, as in the JS). */
@inline function leaky4(z: v128, slopev: v128): v128 {
  return v128.bitselect(z, f32x4.mul(slopev, z), f32x4.gt(z, f32x4.splat(0)));
}

/** The sum of the four lanes as (l0 + l2) + (l1 + l3). */
@inline function hsum4(acc: v128): f32 {
  const s = f32x4.add(acc, i8x16.shuffle(acc, acc, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

// ---------------------------------------------------------------------------------------------

/** 1 when every int32 of the n at p lies in [0, hi) (unsigned compare, so negatives fail), else 0. */
export function in_range(p: usize, n: i32, hi: i32): i32 {
  const end = p + (<usize>n << 2);
  const vend = p + (<usize>(n & ~3) << 2);
  const hiv = i32x4.splat(hi);
  let ok = i32x4.splat(-1);
  for (; p < vend; p += 16) ok = v128.and(ok, i32x4.lt_u(v128.load(p), hiv));
  if (!i32x4.all_true(ok)) return 0;
  for (; p < end; p += 4) if (<u32>load<i32>(p) >= <u32>hi) return 0;
  return 1;
}

/**
 * Sparse X (CSR) times dense W [F, K]: y[i,:] += sum_t values[t] W[colIdx[t], :], rows i0..i1-1.
 * The projections xl = X W_L, xr = X W_R of gradients.md "Projections" for a sparse X (loops.ts
 * sparseMatMul). Per row, 16 (then 4) output columns stay in registers while the row's non-zeros
 * stream past, so y is read and written once per row.
 */
export function sparse_matmul(
  rowPtr: usize, colIdx: usize, values: usize, w: usize, K: i32, y: usize, i0: i32, i1: i32,
): void {
  const rowB = <usize>K << 2;
  const k16 = <usize>(K & ~15) << 2, k4 = <usize>(K & ~3) << 2;
  for (let i = i0; i < i1; i++) {
    const t0 = i32At(rowPtr, i), t1 = i32At(rowPtr, i + 1);
    const yo = y + <usize>i * rowB;
    let kb: usize = 0;
    for (; kb < k16; kb += 64) {
      const yp = yo + kb;
      let a0 = v128.load(yp, 0), a1 = v128.load(yp, 16), a2 = v128.load(yp, 32), a3 = v128.load(yp, 48);
      for (let t = t0; t < t1; t++) {
        const v = f32x4.splat(f32At(values, t));
        const wp = w + kb + <usize>i32At(colIdx, t) * rowB;
        a0 = f32x4.add(a0, f32x4.mul(v, v128.load(wp, 0)));
        a1 = f32x4.add(a1, f32x4.mul(v, v128.load(wp, 16)));
        a2 = f32x4.add(a2, f32x4.mul(v, v128.load(wp, 32)));
        a3 = f32x4.add(a3, f32x4.mul(v, v128.load(wp, 48)));
      }
      v128.store(yp, a0, 0);
      v128.store(yp, a1, 16);
      v128.store(yp, a2, 32);
      v128.store(yp, a3, 48);
    }
    for (; kb < k4; kb += 16) {
      let a0 = v128.load(yo + kb);
      for (let t = t0; t < t1; t++) {
        const wp = w + kb + <usize>i32At(colIdx, t) * rowB;
        a0 = f32x4.add(a0, f32x4.mul(f32x4.splat(f32At(values, t)), v128.load(wp)));
      }
      v128.store(yo + kb, a0);
    }
    for (; kb < rowB; kb += 4) {
      let s = load<f32>(yo + kb);
      for (let t = t0; t < t1; t++) s += f32At(values, t) * load<f32>(w + kb + <usize>i32At(colIdx, t) * rowB);
      store<f32>(yo + kb, s);
    }
  }
}

/**
 * dW += X^T dY for the sparse X: dw[colIdx[t], k] += values[t] dy[i, k] for columns k0..k1-1
 * (gradients.md "Projections": dL/dW_R = X^T dL/dxr, the same for W_L; loops.ts sparseMatMulGrad).
 * The scatter goes to rows of dw, so threads split the columns: each dw element receives its terms
 * in the JS order (row i, then t) whatever the split. A 16-column chunk of dy's row stays in
 * registers while it is scattered.
 */
export function sparse_matmul_grad(
  rowPtr: usize, colIdx: usize, values: usize, dy: usize, K: i32, dw: usize, N: i32, k0: i32, k1: i32,
): void {
  const rowB = <usize>K << 2, b0 = <usize>k0 << 2, b1 = <usize>k1 << 2;
  for (let i = 0; i < N; i++) {
    const t0 = i32At(rowPtr, i), t1 = i32At(rowPtr, i + 1);
    const yo = dy + <usize>i * rowB;
    let kb = b0;
    for (; kb + 64 <= b1; kb += 64) {
      const d0 = v128.load(yo + kb, 0), d1 = v128.load(yo + kb, 16);
      const d2 = v128.load(yo + kb, 32), d3 = v128.load(yo + kb, 48);
      for (let t = t0; t < t1; t++) {
        const v = f32x4.splat(f32At(values, t));
        const wp = dw + kb + <usize>i32At(colIdx, t) * rowB;
        v128.store(wp, f32x4.add(v128.load(wp, 0), f32x4.mul(v, d0)), 0);
        v128.store(wp, f32x4.add(v128.load(wp, 16), f32x4.mul(v, d1)), 16);
        v128.store(wp, f32x4.add(v128.load(wp, 32), f32x4.mul(v, d2)), 32);
        v128.store(wp, f32x4.add(v128.load(wp, 48), f32x4.mul(v, d3)), 48);
      }
    }
    for (; kb + 16 <= b1; kb += 16) {
      const d0 = v128.load(yo + kb);
      for (let t = t0; t < t1; t++) {
        const wp = dw + kb + <usize>i32At(colIdx, t) * rowB;
        v128.store(wp, f32x4.add(v128.load(wp), f32x4.mul(f32x4.splat(f32At(values, t)), d0)));
      }
    }
    for (; kb < b1; kb += 4) {
      const ds = load<f32>(yo + kb);
      for (let t = t0; t < t1; t++) {
        const wp = dw + kb + <usize>i32At(colIdx, t) * rowB;
        store<f32>(wp, load<f32>(wp) + f32At(values, t) * ds);
      }
    }
  }
}

/**
 * gradients.md eq. 1 (score stage): e[p,h] = sum_c att[h,c] LeakyReLU(xr[i] + xl[j] (+ ep[p]))[h,c]
 * for edges p = (j -> i) in p0..p1-1 (loops.ts scoreForward).
 */
export function score_forward(
  csrSrc: usize, csrDst: usize, xl: usize, xr: usize, att: usize, ep: usize, hasEp: i32,
  H: i32, C: i32, slope: f32, e: usize, p0: i32, p1: i32,
): void {
  const cB = <usize>C << 2, c4B = <usize>(C & ~3) << 2, hcB = <usize>H * cB;
  const slopev = f32x4.splat(slope);
  for (let p = p0; p < p1; p++) {
    const jo = xl + <usize>i32At(csrSrc, p) * hcB;
    const io = xr + <usize>i32At(csrDst, p) * hcB;
    const po = ep + <usize>p * hcB;
    let ho: usize = 0;
    for (let h = 0; h < H; h++, ho += cB) {
      let acc = f32x4.splat(0);
      let cb = ho;
      for (; cb < ho + c4B; cb += 16) {
        let z = f32x4.add(v128.load(io + cb), v128.load(jo + cb));
        if (hasEp) z = f32x4.add(z, v128.load(po + cb));
        acc = f32x4.add(acc, f32x4.mul(v128.load(att + cb), leaky4(z, slopev)));
      }
      let s = hsum4(acc);
      for (; cb < ho + cB; cb += 4) {
        let z = load<f32>(io + cb) + load<f32>(jo + cb);
        if (hasEp) z += load<f32>(po + cb);
        s += load<f32>(att + cb) * select<f32>(z, slope * z, z > 0);
      }
      store<f32>(e + ((<usize>p * <usize>H + <usize>h) << 2), s);
    }
  }
}

/**
 * gradients.md "Score stage": with s_k[c] = (z > 0 ? 1 : slope) and u_k = LeakyReLU(z),
 *   delta_k = dE_k a s_k;  dL/da += dE_k u_k;  dxr[i] += delta_k;  dxl[j] += delta_k;  dep[k] = delta_k
 * (loops.ts scoreBackward) for the edges of blocks b0..b1-1: block b is edges
 * blocks[b] .. blocks[b + 1] - 1, whole destination rows, so the task that has a block owns dxr's
 * rows and dEp's entries of its edges. dL/da is summed per block, from 0, into row b of
 * `partials` (H C floats a row), which score_add_rows adds to dAtt in block order afterwards: the
 * blocks depend on the graph only, so the sum is the same for any thread count. dxl (withDxl = 1:
 * a task that has every block) accumulates in edge order; on several threads withDxl is 0 and
 * score_backward_dxl does it by source from the record of each edge this pass leaves in `signs`
 * (hasSigns = 1: its dE and the signs of its z; see recordBytes). z is recomputed, and a (p, h) whose dE is +-0 is
 * skipped as in the JS, leaving that part of dEp as the caller passed it.
 */
export function score_backward(
  csrSrc: usize, csrDst: usize, xl: usize, xr: usize, att: usize, ep: usize, hasEp: i32,
  dE: usize, H: i32, C: i32, slope: f32,
  dxl: usize, withDxl: i32, dxr: usize, partials: usize, dEp: usize, hasDEp: i32, blocks: usize,
  signs: usize, hasSigns: i32, b0: i32, b1: i32,
): void {
  const cB = <usize>C << 2, c4B = <usize>(C & ~3) << 2, hcB = <usize>H * cB;
  const slopev = f32x4.splat(slope), one = f32x4.splat(1), zero = f32x4.splat(0);
  const HC = H * C, recB = recordBytes(H, HC), deB = <usize>H << 2;
  for (let b = b0; b < b1; b++) {
    const da = partials + <usize>b * hcB;
    for (let cb: usize = 0; cb < hcB; cb += 4) store<f32>(da + cb, 0);
    const pEnd = i32At(blocks, b + 1);
    for (let p = i32At(blocks, b); p < pEnd; p++) {
      // byte offsets of row j (xl, dxl), row i (xr, dxr) and edge p (ep, dEp)
      const jo = <usize>i32At(csrSrc, p) * hcB;
      const io = <usize>i32At(csrDst, p) * hcB;
      const po = <usize>p * hcB;
      const rec = signs + <usize>p * recB, sp = rec + deB;
      if (hasSigns) {
        for (let w: usize = 0; w < deB; w += 4) store<f32>(rec + w, load<f32>(dE + (<usize>p << 2) * <usize>H + w));
        for (let w: usize = deB; w < recB; w += 4) store<i32>(rec + w, 0);
      }
      let ho: usize = 0;
      for (let h = 0; h < H; h++, ho += cB) {
        const de = f32At(dE, p * H + h);
        if (de == 0) continue;
        const dev = f32x4.splat(de);
        let cb = ho;
        for (; cb < ho + c4B; cb += 16) {
          let z = f32x4.add(v128.load(xr + io + cb), v128.load(xl + jo + cb));
          if (hasEp) z = f32x4.add(z, v128.load(ep + po + cb));
          const m = f32x4.gt(z, zero);
          if (hasSigns) orSigns(sp, <i32>((cb >> 2)), i32x4.bitmask(m));
          // dL/da (this block's row) += de * u
          v128.store(da + cb, f32x4.add(v128.load(da + cb), f32x4.mul(dev, v128.bitselect(z, f32x4.mul(slopev, z), m))));
          // delta = de * att * s
          const delta = f32x4.mul(f32x4.mul(dev, v128.load(att + cb)), v128.bitselect(one, slopev, m));
          v128.store(dxr + io + cb, f32x4.add(v128.load(dxr + io + cb), delta));
          if (withDxl) v128.store(dxl + jo + cb, f32x4.add(v128.load(dxl + jo + cb), delta));
          if (hasDEp) v128.store(dEp + po + cb, delta);
        }
        for (; cb < ho + cB; cb += 4) {
          let z = load<f32>(xr + io + cb) + load<f32>(xl + jo + cb);
          if (hasEp) z += load<f32>(ep + po + cb);
          const pos = z > 0;
          if (hasSigns && pos) orSigns(sp, <i32>(cb >> 2), 1);
          store<f32>(da + cb, load<f32>(da + cb) + de * select<f32>(z, slope * z, pos));
          const ds = de * load<f32>(att + cb) * select<f32>(1, slope, pos);
          store<f32>(dxr + io + cb, load<f32>(dxr + io + cb) + ds);
          if (withDxl) store<f32>(dxl + jo + cb, load<f32>(dxl + jo + cb) + ds);
          if (hasDEp) store<f32>(dEp + po + cb, ds);
        }
      }
    }
  }
}

/**
 * Bytes of one edge's record for score_backward_dxl: its H values of dE, then the signs of its z,
 * a bit per channel q = h C + c (bit q & 31 of 32-bit word q >> 5), and one more word, so that a
 * 64-bit access at any channel's word stays inside the record. One record (not dE's row and a
 * sign row apart) is what the scatter by source reads per edge, in an order the cache cannot
 * predict: at 8 heads x 8 channels it is 44 bytes, within one or two cache lines.
 */
@inline function recordBytes(H: i32, HC: i32): usize {
  return <usize>(H + ((HC + 31) >> 5) + 1) << 2;
}

/** Sets `bits` (up to 4) at channel q of a sign row (that edge's task is its only writer). */
@inline function orSigns(row: usize, q: i32, bits: i32): void {
  const a = row + (<usize>(q >> 5) << 2);
  store<u64>(a, load<u64>(a) | (<u64>bits << <u64>(q & 31)));
}

/** The 4 sign bits from channel q on. */
@inline function signsAt(row: usize, q: i32): i32 {
  return <i32>((load<u64>(row + (<usize>(q >> 5) << 2)) >> <u64>(q & 31)) & 0xf);
}

/**
 * score_backward's scatter to sources, by source: dxl[j] += delta_k over j's outgoing edges
 * srcOrder[srcPtr[j] .. srcPtr[j + 1]), for source rows j0..j1-1, with delta_k = dE_k a s_k from
 * the records score_backward left (dE_k, and s = 1 where z > 0, else slope): the same operations
 * on the same values as there, without gathering xr and xl again. srcOrder lists each source's edges in
 * increasing CSR position (src/graph/layout.ts), so every dxl element adds the same terms in the
 * same order as score_backward would: the same bits, with every task owning its rows.
 */
export function score_backward_dxl(
  srcPtr: usize, srcOrder: usize, signs: usize, att: usize, H: i32, C: i32, slope: f32, dxl: usize, j0: i32, j1: i32,
): void {
  const cB = <usize>C << 2, c4B = <usize>(C & ~3) << 2, hcB = <usize>H * cB;
  const slopev = f32x4.splat(slope), one = f32x4.splat(1), zero = i32x4.splat(0);
  const lanes = i32x4(1, 2, 4, 8);
  const recB = recordBytes(H, H * C), deB = <usize>H << 2;
  for (let j = j0; j < j1; j++) {
    const jo = dxl + <usize>j * hcB;
    const tEnd = i32At(srcPtr, j + 1);
    for (let t = i32At(srcPtr, j); t < tEnd; t++) {
      const rec = signs + <usize>i32At(srcOrder, t) * recB, sp = rec + deB;
      let ho: usize = 0;
      for (let h = 0; h < H; h++, ho += cB) {
        const de = load<f32>(rec + (<usize>h << 2));
        if (de == 0) continue;
        const dev = f32x4.splat(de);
        let cb = ho;
        for (; cb < ho + c4B; cb += 16) {
          const m = i32x4.ne(v128.and(i32x4.splat(signsAt(sp, <i32>(cb >> 2))), lanes), zero);
          const delta = f32x4.mul(f32x4.mul(dev, v128.load(att + cb)), v128.bitselect(one, slopev, m));
          v128.store(jo + cb, f32x4.add(v128.load(jo + cb), delta));
        }
        for (; cb < ho + cB; cb += 4) {
          const ds = de * load<f32>(att + cb) * select<f32>(1, slope, (signsAt(sp, <i32>(cb >> 2)) & 1) != 0);
          store<f32>(jo + cb, load<f32>(jo + cb) + ds);
        }
      }
    }
  }
}

/** out[c] = ((out[c] + rows[0, c]) + rows[1, c]) + ... + rows[R - 1, c] for columns c0..c1-1 of
 * rows [R, C] (score_backward's per-block dL/da, added to dAtt in block order). */
export function score_add_rows(rows: usize, R: i32, C: i32, out: usize, c0: i32, c1: i32): void {
  const rowB = <usize>C << 2;
  for (let cb = <usize>c0 << 2; cb < <usize>c1 << 2; cb += 4) {
    let s = load<f32>(out + cb);
    for (let r = 0; r < R; r++) s += load<f32>(rows + <usize>r * rowB + cb);
    store<f32>(out + cb, s);
  }
}

/** 1 when the n int32 at p never decrease (csrDst sorted by destination), else 0. */
export function non_decreasing(p: usize, n: i32): i32 {
  for (let t = 1; t < n; t++) if (i32At(p, t) < i32At(p, t - 1)) return 0;
  return 1;
}

/**
 * Checks the source grouping for source rows j0..j1-1: every edge srcOrder[t] listed for j has
 * csrSrc = j, in increasing order. Stores 1 at `bad` otherwise (tasks only ever store 1). With
 * srcPtr running from 0 to E without going back, that makes srcOrder list every edge exactly once.
 */
export function source_order_check(srcPtr: usize, srcOrder: usize, csrSrc: usize, bad: usize, j0: i32, j1: i32): void {
  for (let j = j0; j < j1; j++) {
    let prev = -1;
    const tEnd = i32At(srcPtr, j + 1);
    for (let t = i32At(srcPtr, j); t < tEnd; t++) {
      const p = i32At(srcOrder, t);
      if (p <= prev || i32At(csrSrc, p) != j) store<i32>(bad, 1);
      prev = p;
    }
  }
}

/**
 * gradients.md eq. 3 (aggregation stage): out[i,h,:] += sum_{p: j -> i} alpha[p,h] xl[j,h,:] for
 * destination rows i0..i1-1 (loops.ts aggregateForward), in CSR order, so out[i] accumulates in
 * the JS order.
 */
export function aggregate_forward(
  rowPtr: usize, csrSrc: usize, alpha: usize, xl: usize, H: i32, C: i32, out: usize, i0: i32, i1: i32,
): void {
  const cB = <usize>C << 2, c4B = <usize>(C & ~3) << 2, hcB = <usize>H * cB;
  for (let i = i0; i < i1; i++) {
    const io = out + <usize>i * hcB;
    const pEnd = i32At(rowPtr, i + 1);
    for (let p = i32At(rowPtr, i); p < pEnd; p++) {
      const jo = xl + <usize>i32At(csrSrc, p) * hcB;
      const ao = alpha + ((<usize>p * <usize>H) << 2);
      let ho: usize = 0;
      for (let h = 0; h < H; h++, ho += cB) {
        const a = load<f32>(ao + (<usize>h << 2));
        const av = f32x4.splat(a);
        let cb = ho;
        for (; cb < ho + c4B; cb += 16) v128.store(io + cb, f32x4.add(v128.load(io + cb), f32x4.mul(av, v128.load(jo + cb))));
        for (; cb < ho + cB; cb += 4) store<f32>(io + cb, load<f32>(io + cb) + a * load<f32>(jo + cb));
      }
    }
  }
}

/**
 * gradients.md "Aggregation stage": A_k = <G_i, xl[j]> per head (written to dAlpha[p,h]) and
 * dxl[j] += alpha_k G_i, with G = dOut (loops.ts aggregateBackward), over all edges, for heads
 * h0..h1-1: threads split heads, so the scatter to sources keeps the JS's edge order.
 */
export function aggregate_backward(
  csrSrc: usize, csrDst: usize, alpha: usize, xl: usize, dOut: usize,
  H: i32, C: i32, dAlpha: usize, dxl: usize, E: i32, h0: i32, h1: i32,
): void {
  const cB = <usize>C << 2, c4B = <usize>(C & ~3) << 2, hcB = <usize>H * cB;
  for (let p = 0; p < E; p++) {
    const jo = <usize>i32At(csrSrc, p) * hcB;
    const io = dOut + <usize>i32At(csrDst, p) * hcB;
    for (let h = h0; h < h1; h++) {
      const ao = (<usize>p * <usize>H + <usize>h) << 2;
      const a = load<f32>(alpha + ao);
      const av = f32x4.splat(a);
      const ho = <usize>h * cB;
      let acc = f32x4.splat(0);
      let cb = ho;
      for (; cb < ho + c4B; cb += 16) {
        const g = v128.load(io + cb);
        acc = f32x4.add(acc, f32x4.mul(g, v128.load(xl + jo + cb)));
        v128.store(dxl + jo + cb, f32x4.add(v128.load(dxl + jo + cb), f32x4.mul(av, g)));
      }
      let s = hsum4(acc);
      for (; cb < ho + cB; cb += 4) {
        const gs = load<f32>(io + cb);
        s += gs * load<f32>(xl + jo + cb);
        store<f32>(dxl + jo + cb, load<f32>(dxl + jo + cb) + a * gs);
      }
      store<f32>(dAlpha + ao, s);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Softmax forward. Every step is the JS's, in float64 where the JS is: m = max (NaN wins, as
// Math.max); v = exp(e - m), stored as float32 and summed as a double; then
// alpha = float32(float32(v) * (1 / sum)).

/**
 * exp(x) for two float64 lanes with x <= 0 or NaN (inline: a call costs more than the exp).
 * x = n ln2 + r with |r| <= ln2/2 (fdlibm's split of ln2, so n ln2_hi is exact); exp(r) by its
 * Taylor series to r^10 (relative error below 3e-13, far under float32's 6e-8), evaluated by
 * Estrin's scheme (a short dependency chain); times 2^n built in the exponent bits. x is clamped at
 * -700 (exp = 1e-304, still a normal double), which changes nothing a float32 or a row sum >= 1 can
 * see: -Inf gives 0 after rounding to float32, NaN stays NaN, as with Math.exp.
 */
@inline function exp2lanes(x0: v128): v128 {
  const x = f64x2.max(f64x2.splat(-700), x0);
  const n = f64x2.nearest(f64x2.mul(x, f64x2.splat(1.4426950408889634)));
  const r = f64x2.sub(
    f64x2.sub(x, f64x2.mul(n, f64x2.splat(6.93147180369123816490e-01))),
    f64x2.mul(n, f64x2.splat(1.90821492927058770002e-10)),
  );
  const r2 = f64x2.mul(r, r), r4 = f64x2.mul(r2, r2);
  // sum_k r^k / k!, k = 0..10, as (c0 + c1 r) + r^2 (c2 + c3 r) + r^4 ((c4 + c5 r) + r^2 (c6 + c7 r))
  //   + r^8 ((c8 + c9 r) + r^2 c10)
  const t01 = f64x2.add(f64x2.splat(1), f64x2.mul(f64x2.splat(1), r));
  const t23 = f64x2.mul(r2, f64x2.add(f64x2.splat(0.5), f64x2.mul(f64x2.splat(0.16666666666666666), r)));
  const t47 = f64x2.mul(r4, f64x2.add(
    f64x2.add(f64x2.splat(4.1666666666666664e-02), f64x2.mul(f64x2.splat(8.333333333333333e-03), r)),
    f64x2.mul(r2, f64x2.add(f64x2.splat(1.388888888888889e-03), f64x2.mul(f64x2.splat(1.984126984126984e-04), r))),
  ));
  const t810 = f64x2.mul(f64x2.mul(r4, r4), f64x2.add(
    f64x2.add(f64x2.splat(2.48015873015873e-05), f64x2.mul(f64x2.splat(2.7557319223985893e-06), r)),
    f64x2.mul(r2, f64x2.splat(2.755731922398589e-07)),
  ));
  const poly = f64x2.add(f64x2.add(f64x2.add(t01, t23), t47), t810);
  // times 2^n: n in [-1010, 0] here (NaN saturates to 0), so n + 1023 is a valid biased exponent
  const scale = i64x2.shl(i64x2.add(i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(n)), i64x2.splat(1023)), 52);
  return f64x2.mul(poly, scale);
}

/** Heads 2 and 3 of four float32 lanes moved to lanes 0 and 1. */
@inline function highPair(v: v128): v128 {
  return i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
}

/** Two float64 pairs rounded to float32 and packed as four lanes, in order. */
@inline function demote4(lo: v128, hi: v128): v128 {
  return i8x16.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi),
    0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
}

/**
 * One destination row (edges p0..p1-1) for two adjacent heads (pair = true) or one (the last head
 * of an odd H; the unused lane computes on zeros and is never stored). hb is the heads' byte offset
 * in a row of e, hB the byte length of that row.
 */
@inline function softmaxHeads(e: usize, alpha: usize, p0: i32, p1: i32, hB: usize, hb: usize, pair: bool): void {
  let m = f64x2.splat(-Infinity);
  for (let p = p0; p < p1; p++) {
    const o = e + <usize>p * hB + hb;
    m = f64x2.max(m, f64x2.promote_low_f32x4(pair ? v128.load64_zero(o) : v128.load32_zero(o)));
  }
  let sum = f64x2.splat(0);
  for (let p = p0; p < p1; p++) {
    const o = <usize>p * hB + hb;
    const x = f64x2.promote_low_f32x4(pair ? v128.load64_zero(e + o) : v128.load32_zero(e + o));
    const v = exp2lanes(f64x2.sub(x, m));
    if (pair) v128.store64_lane(alpha + o, f32x4.demote_f64x2_zero(v), 0);
    else v128.store32_lane(alpha + o, f32x4.demote_f64x2_zero(v), 0);
    sum = f64x2.add(sum, v);
  }
  const inv = f64x2.div(f64x2.splat(1), sum);
  for (let p = p0; p < p1; p++) {
    const o = alpha + <usize>p * hB + hb;
    if (pair) v128.store64_lane(o, f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(v128.load64_zero(o)), inv)), 0);
    else v128.store32_lane(o, f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(v128.load32_zero(o)), inv)), 0);
  }
}

/**
 * The same for four adjacent heads (the common case: H = 8 makes two quads per row), as two
 * independent float64 pairs (lo: heads hb..hb+1, hi: hb+2..hb+3), which also lets the two exp
 * evaluations overlap.
 */
@inline function softmaxQuad(e: usize, alpha: usize, p0: i32, p1: i32, hB: usize, hb: usize): void {
  // f32x4.max has Math.max's semantics (NaN wins, -0 < +0), and the max of float32 values is exact
  let m4 = f32x4.splat(-Infinity);
  for (let p = p0; p < p1; p++) m4 = f32x4.max(m4, v128.load(e + <usize>p * hB + hb));
  const mlo = f64x2.promote_low_f32x4(m4), mhi = f64x2.promote_low_f32x4(highPair(m4));
  let slo = f64x2.splat(0), shi = f64x2.splat(0);
  for (let p = p0; p < p1; p++) {
    const o = <usize>p * hB + hb;
    const ev = v128.load(e + o);
    const va = exp2lanes(f64x2.sub(f64x2.promote_low_f32x4(ev), mlo));
    const vb = exp2lanes(f64x2.sub(f64x2.promote_low_f32x4(highPair(ev)), mhi));
    v128.store(alpha + o, demote4(va, vb));
    slo = f64x2.add(slo, va);
    shi = f64x2.add(shi, vb);
  }
  const ilo = f64x2.div(f64x2.splat(1), slo), ihi = f64x2.div(f64x2.splat(1), shi);
  for (let p = p0; p < p1; p++) {
    const o = alpha + <usize>p * hB + hb;
    const ev = v128.load(o);
    v128.store(o, demote4(f64x2.mul(f64x2.promote_low_f32x4(ev), ilo), f64x2.mul(f64x2.promote_low_f32x4(highPair(ev)), ihi)));
  }
}

/**
 * gradients.md eq. 2 (softmax stage): alpha = softmax over each destination row's edges, per head,
 * with the row max subtracted, for rows i0..i1-1 (loops.ts softmaxForward). Empty rows are left
 * as they are.
 */
export function softmax_forward(rowPtr: usize, e: usize, H: i32, alpha: usize, i0: i32, i1: i32): void {
  const hB = <usize>H << 2;
  for (let i = i0; i < i1; i++) {
    const p0 = i32At(rowPtr, i), p1 = i32At(rowPtr, i + 1);
    if (p0 == p1) continue;
    let hb: usize = 0;
    for (; hb + 16 <= hB; hb += 16) softmaxQuad(e, alpha, p0, p1, hB, hb);
    for (; hb + 8 <= hB; hb += 8) softmaxHeads(e, alpha, p0, p1, hB, hb, true);
    if (hb < hB) softmaxHeads(e, alpha, p0, p1, hB, hb, false);
  }
}

/**
 * gradients.md "Softmax stage": dE_k = alpha_k (dAlpha_k - sum_{k' -> i} alpha_k' dAlpha_k') per
 * destination row (rows i0..i1-1) and head (loops.ts softmaxBackward). Vectorised over heads,
 * which are adjacent in [E, H]; the row sums run over p in the JS order.
 */
export function softmax_backward(rowPtr: usize, alpha: usize, dAlpha: usize, H: i32, dE: usize, i0: i32, i1: i32): void {
  const hB = <usize>H << 2, h4B = <usize>(H & ~3) << 2;
  for (let i = i0; i < i1; i++) {
    const p0 = i32At(rowPtr, i), p1 = i32At(rowPtr, i + 1);
    let hb: usize = 0;
    for (; hb < h4B; hb += 16) {
      let dot = f32x4.splat(0);
      for (let p = p0; p < p1; p++) {
        const o = <usize>p * hB + hb;
        dot = f32x4.add(dot, f32x4.mul(v128.load(alpha + o), v128.load(dAlpha + o)));
      }
      for (let p = p0; p < p1; p++) {
        const o = <usize>p * hB + hb;
        v128.store(dE + o, f32x4.mul(v128.load(alpha + o), f32x4.sub(v128.load(dAlpha + o), dot)));
      }
    }
    for (; hb < hB; hb += 4) {
      let dot: f32 = 0;
      for (let p = p0; p < p1; p++) {
        const o = <usize>p * hB + hb;
        dot += load<f32>(alpha + o) * load<f32>(dAlpha + o);
      }
      for (let p = p0; p < p1; p++) {
        const o = <usize>p * hB + hb;
        store<f32>(dE + o, load<f32>(alpha + o) * (load<f32>(dAlpha + o) - dot));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Dense product C = act(A B + bias): TF.js's MatMul and _FusedMatMul on wasm (kernels/wasm/matmul.ts
// registers them; kernels/simd/index.ts denseMatMul lays out the memory and splits the work).
//
// The scheme is BLIS's (Van Zee and van de Geijn, "BLIS: A Framework for Rapidly Instantiating
// BLAS Functionality", ACM TOMS 41(3), 2015): B is packed once per call into panels of 8 columns
// (gemm_pack_b); a task walks its part of C in 4 x 8 tiles whose 8 accumulators stay in registers
// (V8 has 15 vector registers to allocate: 8 accumulators, 2 of B and the splats of A fit, a 4 x 16
// tile spilled), with k cut into chunks of KC so that a chunk of the panels stays in the L2 cache
// while MCU tiles of A rows pass over it, and one panel's chunk stays in L1.
//
// Bits: every element of C is summed in k order, c = ((0 + a0 b0) + a1 b1) + ..., one f32 multiply
// and one f32 add per term (no fused multiply-add), whichever tile, chunk or task reaches it: a chunk
// after the first resumes from the value the previous one stored, and a lane of f32x4.add/mul is
// the same IEEE operation as f32.add/mul. So the result does not depend on KC, MCU, the tiling or
// how tasks split C, hence not on the thread count.
//
// Padding: C is laid out [batch, M, Np] with Np = N rounded up to 8, and packed panels are zero
// beyond N, so every tile is 8 columns wide; columns past N hold garbage that gemm_unpad leaves
// behind. A batch's last tile may cover fewer than 4 rows: it computes 4 and loads and stores only
// the rows below M (so C can be the output tensor itself, with no row past its end). Its rows past
// M read A's first row of the tile again (row-major A) or up to 12 bytes after a row of A^T
// (transposed A: the loader makes sure 16 bytes of memory follow A).

/** k chunk: a chunk of B's panels (KC x Np floats) is meant for the L2 cache. */
const KC = 256;
/** 4-row tiles of A per block: MCU x 4 rows x KC floats of A pass over one panel's chunk in L1. */
const MCU = 16;

/** Activations, numbered as tfjs-backend-wasm's FusableActivation (kernels/types.ts). */
const ACT_LINEAR = 0, ACT_RELU = 1, ACT_RELU6 = 2, ACT_PRELU = 3, ACT_LEAKY = 4, ACT_SIGMOID = 5, ACT_ELU = 6;

/** Rows of B packed per pass over a task's panels (see gemm_pack_b). */
const PACK_ROWS = 64;

/**
 * Packs B for gemm: panel p (batch p / NP, columns 8 (p % NP) .. + 7, NP = ceil(N / 8)) becomes
 * K rows of 8 floats at bp + 32 K p, zero past column N. b[k, n] of batch t is read at
 * b + 4 (t sbb + k sbk + n sbn): sbn = 1 for B as stored, sbk = 1 for a transposed B. Panels
 * p0..p1-1 (threads split the panels). PACK_ROWS rows at a time go to every panel of the range,
 * so that reads and writes both stay within a few pages (panel by panel, a long B was read one
 * row per page).
 */
export function gemm_pack_b(b: usize, sbk: i32, sbn: i32, sbb: i32, K: i32, N: i32, bp: usize, p0: i32, p1: i32): void {
  const NP = (N + 7) >> 3;
  for (let k0 = 0; k0 < K; k0 += PACK_ROWS) {
    const k1 = min(K, k0 + PACK_ROWS);
    for (let p = p0; p < p1; p++) {
      const t = p / NP, n0 = (p - t * NP) << 3;
      const src = b + ((<usize>t * <usize>sbb + <usize>k0 * <usize>sbk + <usize>n0 * <usize>sbn) << 2);
      packRows(src, sbk, sbn, min(8, N - n0), k1 - k0, bp + <usize>p * (<usize>K << 5) + (<usize>k0 << 5));
    }
  }
}

/** kn rows of one panel: 8 floats each (nv of them from B, then zeros) from src to dst. */
@inline function packRows(src: usize, sbk: i32, sbn: i32, nv: i32, kn: i32, dst: usize): void {
  const kB = <usize>sbk << 2, nB = <usize>sbn << 2;
  if (sbn == 1 && nv == 8) {
    for (let k = 0; k < kn; k++, src += kB, dst += 32) {
      v128.store(dst, v128.load(src), 0);
      v128.store(dst, v128.load(src, 16), 16);
    }
    return;
  }
  for (let k = 0; k < kn; k++, src += kB, dst += 32) {
    for (let n = 0; n < 8; n++) store<f32>(dst + (<usize>n << 2), n < nv ? load<f32>(src + <usize>n * nB) : 0);
  }
}

/**
 * C tiles (A B)[4 u .., 8 j ..] for units u0..u1-1 (unit u: rows 4 (u % MU) .. + 3 of batch u / MU,
 * MU = ceil(M / 4)) and panels j0..j1-1, then the epilogue on them: c = act(c + bias[n]) (bias 0:
 * none; prelu: the per-column PReLU weights; alpha: LeakyReLU's slope). a[m, k] of batch t at
 * a + 4 (t sab + m sam + k sak) with sak = 1 (A as stored) or sam = 1 (A transposed); bp: the
 * packed panels, one set per batch when bBatched, else one set for all; c: [batch, Mp, Np].
 * K = 0 stores zeros (then the epilogue), as a product over an empty sum must.
 */
export function gemm(
  a: usize, sam: i32, sak: i32, sab: i32, bp: usize, bBatched: i32, c: usize, M: i32, K: i32, N: i32,
  bias: usize, act: i32, alpha: f32, prelu: usize, u0: i32, u1: i32, j0: i32, j1: i32,
): void {
  const MU = (M + 3) >> 2, NP = (N + 7) >> 3;
  const Np = NP << 3, batchB = <usize>M * <usize>Np << 2;
  for (let u = u0; u < u1;) {
    const t = u / MU, uEnd = min(u1, (t + 1) * MU);
    const ct = c + <usize>t * batchB;
    gemmBlock(
      a + ((<usize>t * <usize>sab) << 2), sam, sak, bp + (bBatched ? <usize>t * <usize>NP * (<usize>K << 5) : 0),
      ct, M, K, Np, u - t * MU, uEnd - t * MU, j0, j1, bias, act, alpha, prelu,
    );
    u = uEnd;
  }
}

/**
 * gemm for one batch: 4-row units mu0..mu1-1, panels j0..j1-1, k in chunks of KC; after the last
 * chunk each block of MCU units gets the epilogue while it is still in L2 (a pass over C after
 * all blocks read it back from memory; one call per tile cost more than the epilogue itself).
 */
function gemmBlock(
  a: usize, sam: i32, sak: i32, bp: usize, c: usize, M: i32, K: i32, Np: i32, mu0: i32, mu1: i32, j0: i32, j1: i32,
  bias: usize, act: i32, alpha: f32, prelu: usize,
): void {
  const cRowB = <usize>Np << 2, panelB = <usize>K << 5;
  const amB = <usize>sam << 2, akB = <usize>sak << 2;
  const epilogue = bias != 0 || act != ACT_LINEAR;
  let k0 = 0;
  do {
    const kn = min(KC, K - k0), first = k0 == 0, last = k0 + KC >= K;
    for (let mb = mu0; mb < mu1; mb += MCU) {
      const mbEnd = min(mu1, mb + MCU);
      for (let j = j0; j < j1; j++) {
        const bq = bp + <usize>j * panelB + (<usize>k0 << 5);
        for (let mu = mb; mu < mbEnd; mu++) {
          const m = mu << 2;
          const ap = a + <usize>m * amB + <usize>k0 * akB, cp = c + <usize>m * cRowB + (<usize>j << 5);
          if (sak == 1) tileRowA(ap, amB, M - m, bq, cp, cRowB, kn, first);
          else tileColA(ap, akB, M - m, bq, cp, cRowB, kn, first);
        }
      }
      if (last && epilogue) gemmEpilogue(c, Np, bias, act, alpha, prelu, mb << 2, min(mbEnd << 2, M), j0 << 3, j1 << 3);
    }
    k0 += KC;
  } while (k0 < K);
}

/** Stores the rows below mr of a 4 x 8 tile (row stride cRowB bytes). */
@inline function storeTile(
  c: usize, cRowB: usize, mr: i32, r00: v128, r01: v128, r10: v128, r11: v128, r20: v128, r21: v128, r30: v128, r31: v128,
): void {
  v128.store(c, r00, 0); v128.store(c, r01, 16);
  if (mr > 1) { v128.store(c + cRowB, r10, 0); v128.store(c + cRowB, r11, 16); }
  if (mr > 2) { v128.store(c + 2 * cRowB, r20, 0); v128.store(c + 2 * cRowB, r21, 16); }
  if (mr > 3) { v128.store(c + 3 * cRowB, r30, 0); v128.store(c + 3 * cRowB, r31, 16); }
}

/**
 * One 4 x 8 tile of C (row stride cRowB bytes) = (first ? 0 : C) + sum over kn k, in order, of
 * a[i, k] bq[k, 0..7], A's rows contiguous in k: row i at a + i amB. Only the mr rows below M are
 * loaded and stored; rows from mr on read row 0 again (padding, never stored).
 */
@inline function tileRowA(a: usize, amB: usize, mr: i32, bq: usize, c: usize, cRowB: usize, kn: i32, first: bool): void {
  let p0 = a, p1 = a + (mr > 1 ? amB : 0), p2 = a + (mr > 2 ? 2 * amB : 0), p3 = a + (mr > 3 ? 3 * amB : 0);
  let r00 = f32x4.splat(0), r01 = r00, r10 = r00, r11 = r00, r20 = r00, r21 = r00, r30 = r00, r31 = r00;
  if (!first) {
    r00 = v128.load(c, 0); r01 = v128.load(c, 16);
    if (mr > 1) { r10 = v128.load(c + cRowB, 0); r11 = v128.load(c + cRowB, 16); }
    if (mr > 2) { r20 = v128.load(c + 2 * cRowB, 0); r21 = v128.load(c + 2 * cRowB, 16); }
    if (mr > 3) { r30 = v128.load(c + 3 * cRowB, 0); r31 = v128.load(c + 3 * cRowB, 16); }
  }
  let b0: v128, b1: v128, s: v128;
  for (let k = 0; k < kn; k++, p0 += 4, p1 += 4, p2 += 4, p3 += 4, bq += 32) {
    b0 = v128.load(bq, 0); b1 = v128.load(bq, 16);
    s = v128.load32_splat(p0, 0); r00 = f32x4.add(r00, f32x4.mul(s, b0)); r01 = f32x4.add(r01, f32x4.mul(s, b1));
    s = v128.load32_splat(p1, 0); r10 = f32x4.add(r10, f32x4.mul(s, b0)); r11 = f32x4.add(r11, f32x4.mul(s, b1));
    s = v128.load32_splat(p2, 0); r20 = f32x4.add(r20, f32x4.mul(s, b0)); r21 = f32x4.add(r21, f32x4.mul(s, b1));
    s = v128.load32_splat(p3, 0); r30 = f32x4.add(r30, f32x4.mul(s, b0)); r31 = f32x4.add(r31, f32x4.mul(s, b1));
  }
  storeTile(c, cRowB, mr, r00, r01, r10, r11, r20, r21, r30, r31);
}

/**
 * tileRowA for a transposed A: a[i, k] at a + 4 i + k akB, so the four rows of one k are adjacent
 * (rows from mr on read past the row of A^T: padding, never stored; 16 bytes of memory follow A).
 */
@inline function tileColA(a: usize, akB: usize, mr: i32, bq: usize, c: usize, cRowB: usize, kn: i32, first: bool): void {
  let r00 = f32x4.splat(0), r01 = r00, r10 = r00, r11 = r00, r20 = r00, r21 = r00, r30 = r00, r31 = r00;
  if (!first) {
    r00 = v128.load(c, 0); r01 = v128.load(c, 16);
    if (mr > 1) { r10 = v128.load(c + cRowB, 0); r11 = v128.load(c + cRowB, 16); }
    if (mr > 2) { r20 = v128.load(c + 2 * cRowB, 0); r21 = v128.load(c + 2 * cRowB, 16); }
    if (mr > 3) { r30 = v128.load(c + 3 * cRowB, 0); r31 = v128.load(c + 3 * cRowB, 16); }
  }
  let b0: v128, b1: v128, s: v128;
  for (let k = 0; k < kn; k++, a += akB, bq += 32) {
    b0 = v128.load(bq, 0); b1 = v128.load(bq, 16);
    s = v128.load32_splat(a, 0); r00 = f32x4.add(r00, f32x4.mul(s, b0)); r01 = f32x4.add(r01, f32x4.mul(s, b1));
    s = v128.load32_splat(a, 4); r10 = f32x4.add(r10, f32x4.mul(s, b0)); r11 = f32x4.add(r11, f32x4.mul(s, b1));
    s = v128.load32_splat(a, 8); r20 = f32x4.add(r20, f32x4.mul(s, b0)); r21 = f32x4.add(r21, f32x4.mul(s, b1));
    s = v128.load32_splat(a, 12); r30 = f32x4.add(r30, f32x4.mul(s, b0)); r31 = f32x4.add(r31, f32x4.mul(s, b1));
  }
  storeTile(c, cRowB, mr, r00, r01, r10, r11, r20, r21, r30, r31);
}

/**
 * act(x) on four lanes, as tfjs-backend-cpu computes it: relu max(0, x), relu6 min(max(0, x), 6),
 * prelu / leakyrelu x < 0 ? w x : x, elu x >= 0 ? x : exp(x) - 1, sigmoid 1 / (1 + exp(-x)); the
 * last two in float64 (exp2lanes on arguments <= 0: sigmoid as e / (1 + e) with e = exp(-|x|) for
 * x < 0), rounded once to float32. NaN stays NaN.
 */
@inline function activate4(x: v128, act: i32, alpha: v128, w: v128): v128 {
  const zero = f32x4.splat(0);
  if (act == ACT_RELU) return f32x4.max(x, zero);
  if (act == ACT_RELU6) return f32x4.min(f32x4.max(x, zero), f32x4.splat(6));
  if (act == ACT_PRELU) return v128.bitselect(f32x4.mul(w, x), x, f32x4.lt(x, zero));
  if (act == ACT_LEAKY) return v128.bitselect(f32x4.mul(alpha, x), x, f32x4.lt(x, zero));
  if (act != ACT_ELU && act != ACT_SIGMOID) return x;
  const lo = f64x2.promote_low_f32x4(x), hi = f64x2.promote_low_f32x4(highPair(x));
  const one = f64x2.splat(1);
  if (act == ACT_ELU) {
    const elo = f64x2.sub(exp2lanes(f64x2.min(lo, f64x2.splat(0))), one);
    const ehi = f64x2.sub(exp2lanes(f64x2.min(hi, f64x2.splat(0))), one);
    return v128.bitselect(x, demote4(elo, ehi), f32x4.ge(x, zero));
  }
  const elo = exp2lanes(f64x2.neg(f64x2.abs(lo))), ehi = exp2lanes(f64x2.neg(f64x2.abs(hi)));
  const pos = demote4(f64x2.div(one, f64x2.add(one, elo)), f64x2.div(one, f64x2.add(one, ehi)));
  const neg = demote4(f64x2.div(elo, f64x2.add(one, elo)), f64x2.div(ehi, f64x2.add(one, ehi)));
  return v128.bitselect(pos, neg, f32x4.ge(x, zero));
}

/**
 * c = act(c + bias[n]) on rows m0..m1-1, columns n0..n1-1 (multiples of 4) of C [., Np]. One loop
 * per activation (epilogueRows inlined with a constant act, so the activation's branches fold
 * away; with act a variable, every vector went through all of them: 10 ms per arxiv-size call).
 */
function gemmEpilogue(c: usize, Np: i32, bias: usize, act: i32, alpha: f32, prelu: usize, m0: i32, m1: i32, n0: i32, n1: i32): void {
  if (act == ACT_RELU) epilogueRows(c, Np, bias, ACT_RELU, alpha, prelu, m0, m1, n0, n1);
  else if (act == ACT_RELU6) epilogueRows(c, Np, bias, ACT_RELU6, alpha, prelu, m0, m1, n0, n1);
  else if (act == ACT_PRELU) epilogueRows(c, Np, bias, ACT_PRELU, alpha, prelu, m0, m1, n0, n1);
  else if (act == ACT_LEAKY) epilogueRows(c, Np, bias, ACT_LEAKY, alpha, prelu, m0, m1, n0, n1);
  else if (act == ACT_SIGMOID) epilogueRows(c, Np, bias, ACT_SIGMOID, alpha, prelu, m0, m1, n0, n1);
  else if (act == ACT_ELU) epilogueRows(c, Np, bias, ACT_ELU, alpha, prelu, m0, m1, n0, n1);
  else epilogueRows(c, Np, bias, ACT_LINEAR, alpha, prelu, m0, m1, n0, n1);
}

@inline function epilogueRows(c: usize, Np: i32, bias: usize, act: i32, alpha: f32, prelu: usize, m0: i32, m1: i32, n0: i32, n1: i32): void {
  const rowB = <usize>Np << 2, alphav = f32x4.splat(alpha), zero = f32x4.splat(0);
  const b0 = <usize>n0 << 2, b1 = <usize>n1 << 2;
  for (let m = m0; m < m1; m++) {
    const row = c + <usize>m * rowB;
    for (let nb = b0; nb < b1; nb += 16) {
      let x = v128.load(row + nb);
      if (bias != 0) x = f32x4.add(x, v128.load(bias + nb));
      v128.store(row + nb, activate4(x, act, alphav, act == ACT_PRELU ? v128.load(prelu + nb) : zero));
    }
  }
}

/**
 * Moves the padded product [batch, M, Np] to [batch, M, N] in place, row by row from the first,
 * each row front to back: a float is read before anything is written at or past it (a row's
 * destination never lies after its source), so no value is overwritten before it moves. Plain
 * loads and stores: memory.copy on a shared memory is a call into the engine, slow per short row.
 */
export function gemm_unpad(c: usize, batch: i32, M: i32, N: i32): void {
  const Np = (N + 7) & ~7, rows = <usize>batch * <usize>M;
  const rowB = <usize>N << 2, row4 = <usize>(N & ~3) << 2;
  for (let r: usize = 0; r < rows; r++) {
    const src = c + (r * <usize>Np << 2), dst = c + (r * <usize>N << 2);
    let o: usize = 0;
    for (; o < row4; o += 16) v128.store(dst + o, v128.load(src + o));
    for (; o < rowB; o += 4) store<f32>(dst + o, load<f32>(src + o));
  }
}

// ---------------------------------------------------------------------------------------------
// Sums (TF.js's Sum on wasm, kernels/wasm/sum.ts). Every output element adds its terms one at a
// time in index order, starting from 0, as the stock kernel's loop does: the same bits as the
// stock kernel, whatever the split.

/**
 * out[n] = (((0 + x[0, n]) + x[1, n]) + ...) + x[R - 1, n] for columns n0..n1-1 of x [R, C] (a sum
 * over leading axes: bias gradients). Rows stream past in order; out's columns stay in L1 and take
 * four lanes at a time.
 */
export function column_sum(x: usize, R: i32, C: i32, out: usize, n0: i32, n1: i32): void {
  const rowB = <usize>C << 2, b0 = <usize>n0 << 2, b1 = <usize>n1 << 2;
  const b4 = b0 + (<usize>((n1 - n0) & ~3) << 2);
  for (let nb = b0; nb < b1; nb += 4) store<f32>(out + nb, 0);
  let row = x;
  for (let r = 0; r < R; r++, row += rowB) {
    let nb = b0;
    for (; nb < b4; nb += 16) v128.store(out + nb, f32x4.add(v128.load(out + nb), v128.load(row + nb)));
    for (; nb < b1; nb += 4) store<f32>(out + nb, load<f32>(out + nb) + load<f32>(row + nb));
  }
}

/** out[r] = (((0 + x[r, 0]) + x[r, 1]) + ...) + x[r, C - 1] for rows r0..r1-1 of x [R, C] (a sum
 * over trailing axes). */
export function row_sum(x: usize, C: i32, out: usize, r0: i32, r1: i32): void {
  const rowB = <usize>C << 2;
  for (let r = r0; r < r1; r++) {
    const row = x + <usize>r * rowB;
    let s: f32 = 0;
    for (let cb: usize = 0; cb < rowB; cb += 4) s += load<f32>(row + cb);
    store<f32>(out + (<usize>r << 2), s);
  }
}

// ---------------------------------------------------------------------------------------------
// Dropout (kernels/dropout-hash.ts, the same bits as its JS loop and its WGSL).

/** lowbias32 on four int32 lanes (i32x4.mul keeps products modulo 2^32, as Math.imul does). */
@inline function mix32x4(v: v128): v128 {
  let x = v128.xor(v, i32x4.shr_u(v, 16));
  x = i32x4.mul(x, i32x4.splat(0x7feb352d));
  x = v128.xor(x, i32x4.shr_u(x, 15));
  x = i32x4.mul(x, i32x4.splat(<i32>0x846ca68b));
  return v128.xor(x, i32x4.shr_u(x, 16));
}

/**
 * out[i] = x[i] * (keep_i ? scale : 0) for i in i0..i1-1, keep_i = (h_i >> 8) >= threshold with
 * h_i = mix32(mix32(i xor key) + seed) (kernels/dropout-hash.ts dropoutLoop). Each element on its
 * own, so any split gives the same bits; x * +0 is a signed zero, as in the JS.
 */
export function dropout(x: usize, key: i32, seed: i32, threshold: i32, scale: f32, out: usize, i0: i32, i1: i32): void {
  const keyv = i32x4.splat(key), seedv = i32x4.splat(seed), thv = i32x4.splat(threshold), scalev = f32x4.splat(scale);
  let i = i0;
  let iv = i32x4.add(i32x4.splat(i0), i32x4(0, 1, 2, 3));
  for (; i + 4 <= i1; i += 4, iv = i32x4.add(iv, i32x4.splat(4))) {
    const h = mix32x4(i32x4.add(mix32x4(v128.xor(iv, keyv)), seedv));
    const keep = i32x4.ge_s(i32x4.shr_u(h, 8), thv);
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(v128.load(x + o), v128.and(scalev, keep)));
  }
  for (; i < i1; i++) {
    const h = i32x4.extract_lane(mix32x4(i32x4.add(mix32x4(i32x4.splat(i ^ key)), seedv)), 0);
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(x + o) * ((h >>> 8) >= threshold ? scale : 0));
  }
}
