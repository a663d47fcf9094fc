;; WebAssembly SIMD twins of the hot loops of kernels/loops.ts (cpu and wasm backends).
;;
;; Why: V8 runs the JS loops at about 4.5 ns per multiply-add and never vectorises them; here the
;; inner loops run over the channel axis four floats at a time (f32x4; the softmaxes over heads),
;; which is what brings a Cora training step within its budget. kernels/simd/index.ts copies the typed arrays into this module's
;; memory, calls these functions and copies the outputs back.
;;
;; Conventions (the loader relies on them):
;; - Every pointer is a byte address in the imported memory; every count is in elements.
;; - Loop order, and therefore the order in which each output element accumulates its terms, is the
;;   order of the JS loop it mirrors. Results differ from the JS only by float32 rounding: the JS
;;   keeps intermediates (products, dot products) in float64 and rounds when it stores; here they are
;;   float32, and a dot product over c is summed four lanes at a time. The exception is the softmax
;;   forward, which works in float64 exactly where the JS does (its exp is the only difference).
;; - Outputs accumulate (+=) into what the caller put there, exactly as the JS does.
;; - Channels (heads) left over when C or K (H) is not a multiple of 4 are done one float (or two)
;;   at a time, so no access ever touches a neighbouring head's or row's values.
;; - Indices are trusted: the loader checks them with in_range first and falls back to the JS
;;   loops when any is out of range.
(module
  (import "env" "memory" (memory 1))

  ;; 1 when every int32 in [p, p + 4n) lies in [0, hi) (unsigned compare, so negatives fail), else 0.
  (func (export "in_range") (param $p i32) (param $n i32) (param $hi i32) (result i32)
    (local $end i32) (local $vend i32) (local $hiv v128) (local $ok v128)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $vend (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (local.set $hiv (i32x4.splat (local.get $hi)))
    (local.set $ok (v128.const i32x4 -1 -1 -1 -1))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $p) (local.get $vend)))
        (local.set $ok (v128.and (local.get $ok) (i32x4.lt_u (v128.load (local.get $p)) (local.get $hiv))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $vloop)))
    (if (i32.eqz (i32x4.all_true (local.get $ok))) (then (return (i32.const 0))))
    (block $done
      (loop $loop
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (if (i32.ge_u (i32.load (local.get $p)) (local.get $hi)) (then (return (i32.const 0))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $loop)))
    (i32.const 1))

  ;; Sparse X (CSR) times dense W [F, K]: y[i,:] += sum_t values[t] W[colIdx[t], :].
  ;; The projections xl = X W_L, xr = X W_R of gradients.md "Forward" for a sparse X (loops.ts
  ;; sparseMatMul). Per row, 16 (then 4) output columns stay in registers while the row's non-zeros
  ;; stream past, so y is read and written once per row.
  (func (export "sparse_matmul")
    (param $rowPtr i32) (param $colIdx i32) (param $values i32) (param $w i32)
    (param $K i32) (param $y i32) (param $N i32)
    (local $i i32) (local $t i32) (local $t0 i32) (local $t1 i32) (local $rowB i32)
    (local $kb i32) (local $k16 i32) (local $k4 i32) (local $yo i32) (local $wp i32)
    (local $v v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $s f32)
    (local.set $rowB (i32.shl (local.get $K) (i32.const 2)))
    (local.set $k16 (i32.shl (i32.and (local.get $K) (i32.const -16)) (i32.const 2)))
    (local.set $k4 (i32.shl (i32.and (local.get $K) (i32.const -4)) (i32.const 2)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $i) (local.get $N)))
        (local.set $t0 (i32.load (i32.add (local.get $rowPtr) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $t1 (i32.load offset=4 (i32.add (local.get $rowPtr) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $yo (i32.add (local.get $y) (i32.mul (local.get $i) (local.get $rowB))))
        (local.set $kb (i32.const 0))
        ;; 16 columns at a time
        (block $c16_done
          (loop $c16
            (br_if $c16_done (i32.ge_u (local.get $kb) (local.get $k16)))
            (local.set $a0 (v128.load offset=0 (i32.add (local.get $yo) (local.get $kb))))
            (local.set $a1 (v128.load offset=16 (i32.add (local.get $yo) (local.get $kb))))
            (local.set $a2 (v128.load offset=32 (i32.add (local.get $yo) (local.get $kb))))
            (local.set $a3 (v128.load offset=48 (i32.add (local.get $yo) (local.get $kb))))
            (local.set $t (local.get $t0))
            (block $nz_done
              (loop $nz
                (br_if $nz_done (i32.ge_s (local.get $t) (local.get $t1)))
                (local.set $v (f32x4.splat (f32.load (i32.add (local.get $values) (i32.shl (local.get $t) (i32.const 2))))))
                (local.set $wp (i32.add (i32.add (local.get $w) (local.get $kb))
                  (i32.mul (i32.load (i32.add (local.get $colIdx) (i32.shl (local.get $t) (i32.const 2)))) (local.get $rowB))))
                (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $v) (v128.load offset=0 (local.get $wp)))))
                (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $v) (v128.load offset=16 (local.get $wp)))))
                (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $v) (v128.load offset=32 (local.get $wp)))))
                (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $v) (v128.load offset=48 (local.get $wp)))))
                (local.set $t (i32.add (local.get $t) (i32.const 1)))
                (br $nz)))
            (v128.store offset=0 (i32.add (local.get $yo) (local.get $kb)) (local.get $a0))
            (v128.store offset=16 (i32.add (local.get $yo) (local.get $kb)) (local.get $a1))
            (v128.store offset=32 (i32.add (local.get $yo) (local.get $kb)) (local.get $a2))
            (v128.store offset=48 (i32.add (local.get $yo) (local.get $kb)) (local.get $a3))
            (local.set $kb (i32.add (local.get $kb) (i32.const 64)))
            (br $c16)))
        ;; 4 columns at a time
        (block $c4_done
          (loop $c4
            (br_if $c4_done (i32.ge_u (local.get $kb) (local.get $k4)))
            (local.set $a0 (v128.load (i32.add (local.get $yo) (local.get $kb))))
            (local.set $t (local.get $t0))
            (block $nz_done
              (loop $nz
                (br_if $nz_done (i32.ge_s (local.get $t) (local.get $t1)))
                (local.set $wp (i32.add (i32.add (local.get $w) (local.get $kb))
                  (i32.mul (i32.load (i32.add (local.get $colIdx) (i32.shl (local.get $t) (i32.const 2)))) (local.get $rowB))))
                (local.set $a0 (f32x4.add (local.get $a0)
                  (f32x4.mul (f32x4.splat (f32.load (i32.add (local.get $values) (i32.shl (local.get $t) (i32.const 2)))))
                    (v128.load (local.get $wp)))))
                (local.set $t (i32.add (local.get $t) (i32.const 1)))
                (br $nz)))
            (v128.store (i32.add (local.get $yo) (local.get $kb)) (local.get $a0))
            (local.set $kb (i32.add (local.get $kb) (i32.const 16)))
            (br $c4)))
        ;; the last K mod 4 columns, one at a time
        (block $c1_done
          (loop $c1
            (br_if $c1_done (i32.ge_u (local.get $kb) (local.get $rowB)))
            (local.set $s (f32.load (i32.add (local.get $yo) (local.get $kb))))
            (local.set $t (local.get $t0))
            (block $nz_done
              (loop $nz
                (br_if $nz_done (i32.ge_s (local.get $t) (local.get $t1)))
                (local.set $s (f32.add (local.get $s)
                  (f32.mul (f32.load (i32.add (local.get $values) (i32.shl (local.get $t) (i32.const 2))))
                    (f32.load (i32.add (i32.add (local.get $w) (local.get $kb))
                      (i32.mul (i32.load (i32.add (local.get $colIdx) (i32.shl (local.get $t) (i32.const 2)))) (local.get $rowB)))))))
                (local.set $t (i32.add (local.get $t) (i32.const 1)))
                (br $nz)))
            (f32.store (i32.add (local.get $yo) (local.get $kb)) (local.get $s))
            (local.set $kb (i32.add (local.get $kb) (i32.const 4)))
            (br $c1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; dW += X^T dY for the sparse X: dw[colIdx[t], :] += values[t] dy[i, :] (gradients.md
  ;; "Projections": dL/dW_R = X^T dL/dxr, the same for W_L; loops.ts sparseMatMulGrad). A chunk of
  ;; dy's row stays in registers while it is scattered to the rows of dw; each dw element receives
  ;; its terms in the JS order (row i, then t).
  (func (export "sparse_matmul_grad")
    (param $rowPtr i32) (param $colIdx i32) (param $values i32) (param $dy i32)
    (param $K i32) (param $dw i32) (param $N i32)
    (local $i i32) (local $t i32) (local $t0 i32) (local $t1 i32) (local $rowB i32)
    (local $kb i32) (local $k16 i32) (local $k4 i32) (local $yo i32) (local $wp i32)
    (local $v v128) (local $d0 v128) (local $d1 v128) (local $d2 v128) (local $d3 v128) (local $ds f32)
    (local.set $rowB (i32.shl (local.get $K) (i32.const 2)))
    (local.set $k16 (i32.shl (i32.and (local.get $K) (i32.const -16)) (i32.const 2)))
    (local.set $k4 (i32.shl (i32.and (local.get $K) (i32.const -4)) (i32.const 2)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $i) (local.get $N)))
        (local.set $t0 (i32.load (i32.add (local.get $rowPtr) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $t1 (i32.load offset=4 (i32.add (local.get $rowPtr) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $yo (i32.add (local.get $dy) (i32.mul (local.get $i) (local.get $rowB))))
        (local.set $kb (i32.const 0))
        (block $c16_done
          (loop $c16
            (br_if $c16_done (i32.ge_u (local.get $kb) (local.get $k16)))
            (local.set $d0 (v128.load offset=0 (i32.add (local.get $yo) (local.get $kb))))
            (local.set $d1 (v128.load offset=16 (i32.add (local.get $yo) (local.get $kb))))
            (local.set $d2 (v128.load offset=32 (i32.add (local.get $yo) (local.get $kb))))
            (local.set $d3 (v128.load offset=48 (i32.add (local.get $yo) (local.get $kb))))
            (local.set $t (local.get $t0))
            (block $nz_done
              (loop $nz
                (br_if $nz_done (i32.ge_s (local.get $t) (local.get $t1)))
                (local.set $v (f32x4.splat (f32.load (i32.add (local.get $values) (i32.shl (local.get $t) (i32.const 2))))))
                (local.set $wp (i32.add (i32.add (local.get $dw) (local.get $kb))
                  (i32.mul (i32.load (i32.add (local.get $colIdx) (i32.shl (local.get $t) (i32.const 2)))) (local.get $rowB))))
                (v128.store offset=0 (local.get $wp)
                  (f32x4.add (v128.load offset=0 (local.get $wp)) (f32x4.mul (local.get $v) (local.get $d0))))
                (v128.store offset=16 (local.get $wp)
                  (f32x4.add (v128.load offset=16 (local.get $wp)) (f32x4.mul (local.get $v) (local.get $d1))))
                (v128.store offset=32 (local.get $wp)
                  (f32x4.add (v128.load offset=32 (local.get $wp)) (f32x4.mul (local.get $v) (local.get $d2))))
                (v128.store offset=48 (local.get $wp)
                  (f32x4.add (v128.load offset=48 (local.get $wp)) (f32x4.mul (local.get $v) (local.get $d3))))
                (local.set $t (i32.add (local.get $t) (i32.const 1)))
                (br $nz)))
            (local.set $kb (i32.add (local.get $kb) (i32.const 64)))
            (br $c16)))
        (block $c4_done
          (loop $c4
            (br_if $c4_done (i32.ge_u (local.get $kb) (local.get $k4)))
            (local.set $d0 (v128.load (i32.add (local.get $yo) (local.get $kb))))
            (local.set $t (local.get $t0))
            (block $nz_done
              (loop $nz
                (br_if $nz_done (i32.ge_s (local.get $t) (local.get $t1)))
                (local.set $wp (i32.add (i32.add (local.get $dw) (local.get $kb))
                  (i32.mul (i32.load (i32.add (local.get $colIdx) (i32.shl (local.get $t) (i32.const 2)))) (local.get $rowB))))
                (v128.store (local.get $wp)
                  (f32x4.add (v128.load (local.get $wp))
                    (f32x4.mul (f32x4.splat (f32.load (i32.add (local.get $values) (i32.shl (local.get $t) (i32.const 2)))))
                      (local.get $d0))))
                (local.set $t (i32.add (local.get $t) (i32.const 1)))
                (br $nz)))
            (local.set $kb (i32.add (local.get $kb) (i32.const 16)))
            (br $c4)))
        (block $c1_done
          (loop $c1
            (br_if $c1_done (i32.ge_u (local.get $kb) (local.get $rowB)))
            (local.set $ds (f32.load (i32.add (local.get $yo) (local.get $kb))))
            (local.set $t (local.get $t0))
            (block $nz_done
              (loop $nz
                (br_if $nz_done (i32.ge_s (local.get $t) (local.get $t1)))
                (local.set $wp (i32.add (i32.add (local.get $dw) (local.get $kb))
                  (i32.mul (i32.load (i32.add (local.get $colIdx) (i32.shl (local.get $t) (i32.const 2)))) (local.get $rowB))))
                (f32.store (local.get $wp)
                  (f32.add (f32.load (local.get $wp))
                    (f32.mul (f32.load (i32.add (local.get $values) (i32.shl (local.get $t) (i32.const 2)))) (local.get $ds))))
                (local.set $t (i32.add (local.get $t) (i32.const 1)))
                (br $nz)))
            (local.set $kb (i32.add (local.get $kb) (i32.const 4)))
            (br $c1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; gradients.md eq. 1 (SCORE stage): e[p,h] = sum_c att[h,c] LeakyReLU(xr[i] + xl[j] (+ ep[p]))[h,c]
  ;; for edge p = (j -> i) (loops.ts scoreForward). LeakyReLU is a lane select on z > 0, as the JS's
  ;; `z > 0 ? z : slope * z` (so NaN takes the slope branch in both).
  (func (export "score_forward")
    (param $csrSrc i32) (param $csrDst i32) (param $xl i32) (param $xr i32) (param $att i32)
    (param $ep i32) (param $hasEp i32) (param $H i32) (param $C i32) (param $slope f32)
    (param $e i32) (param $E i32)
    (local $p i32) (local $h i32) (local $hcB i32) (local $cB i32) (local $c4B i32)
    (local $jo i32) (local $io i32) (local $po i32) (local $ho i32) (local $cb i32) (local $eo i32)
    (local $slopev v128) (local $z v128) (local $acc v128) (local $zs f32) (local $s f32)
    (local.set $cB (i32.shl (local.get $C) (i32.const 2)))
    (local.set $c4B (i32.shl (i32.and (local.get $C) (i32.const -4)) (i32.const 2)))
    (local.set $hcB (i32.mul (local.get $H) (local.get $cB)))
    (local.set $slopev (f32x4.splat (local.get $slope)))
    (local.set $eo (local.get $e))
    (block $edges_done
      (loop $edges
        (br_if $edges_done (i32.ge_s (local.get $p) (local.get $E)))
        (local.set $jo (i32.add (local.get $xl)
          (i32.mul (i32.load (i32.add (local.get $csrSrc) (i32.shl (local.get $p) (i32.const 2)))) (local.get $hcB))))
        (local.set $io (i32.add (local.get $xr)
          (i32.mul (i32.load (i32.add (local.get $csrDst) (i32.shl (local.get $p) (i32.const 2)))) (local.get $hcB))))
        (local.set $po (i32.add (local.get $ep) (i32.mul (local.get $p) (local.get $hcB))))
        (local.set $h (i32.const 0))
        (local.set $ho (i32.const 0))
        (block $heads_done
          (loop $heads
            (br_if $heads_done (i32.ge_s (local.get $h) (local.get $H)))
            (local.set $acc (v128.const f32x4 0 0 0 0))
            (local.set $cb (local.get $ho))
            (block $v_done
              (loop $v
                (br_if $v_done (i32.ge_u (local.get $cb) (i32.add (local.get $ho) (local.get $c4B))))
                (local.set $z (f32x4.add (v128.load (i32.add (local.get $io) (local.get $cb)))
                                         (v128.load (i32.add (local.get $jo) (local.get $cb)))))
                (if (local.get $hasEp) (then
                  (local.set $z (f32x4.add (local.get $z) (v128.load (i32.add (local.get $po) (local.get $cb)))))))
                (local.set $acc (f32x4.add (local.get $acc)
                  (f32x4.mul (v128.load (i32.add (local.get $att) (local.get $cb)))
                    (v128.bitselect (local.get $z) (f32x4.mul (local.get $slopev) (local.get $z))
                      (f32x4.gt (local.get $z) (v128.const f32x4 0 0 0 0))))))
                (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
                (br $v)))
            ;; horizontal sum: (l0 + l2) + (l1 + l3)
            (local.set $acc (f32x4.add (local.get $acc)
              (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $acc) (local.get $acc))))
            (local.set $s (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc))))
            (block $s_done
              (loop $sc
                (br_if $s_done (i32.ge_u (local.get $cb) (i32.add (local.get $ho) (local.get $cB))))
                (local.set $zs (f32.add (f32.load (i32.add (local.get $io) (local.get $cb)))
                                        (f32.load (i32.add (local.get $jo) (local.get $cb)))))
                (if (local.get $hasEp) (then
                  (local.set $zs (f32.add (local.get $zs) (f32.load (i32.add (local.get $po) (local.get $cb)))))))
                (local.set $s (f32.add (local.get $s)
                  (f32.mul (f32.load (i32.add (local.get $att) (local.get $cb)))
                    (select (local.get $zs) (f32.mul (local.get $slope) (local.get $zs))
                      (f32.gt (local.get $zs) (f32.const 0))))))
                (local.set $cb (i32.add (local.get $cb) (i32.const 4)))
                (br $sc)))
            (f32.store (local.get $eo) (local.get $s))
            (local.set $eo (i32.add (local.get $eo) (i32.const 4)))
            (local.set $ho (i32.add (local.get $ho) (local.get $cB)))
            (local.set $h (i32.add (local.get $h) (i32.const 1)))
            (br $heads)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $edges))))

  ;; gradients.md "Score stage": with s_k[c] = (z > 0 ? 1 : slope),
  ;;   delta_k = dE_k a s_k;  dL/da += dE_k u_k;  dxr[i] += delta_k;  dxl[j] += delta_k;  dep[k] = delta_k
  ;; (loops.ts scoreBackward). z is recomputed, and a (p, h) whose dE is +-0 is skipped as in the JS,
  ;; which leaves that part of dEp as the caller passed it.
  (func (export "score_backward")
    (param $csrSrc i32) (param $csrDst i32) (param $xl i32) (param $xr i32) (param $att i32)
    (param $ep i32) (param $hasEp i32) (param $dE i32) (param $H i32) (param $C i32) (param $slope f32)
    (param $dxl i32) (param $dxr i32) (param $dAtt i32) (param $dEp i32) (param $hasDEp i32) (param $E i32)
    (local $p i32) (local $h i32) (local $hcB i32) (local $cB i32) (local $c4B i32)
    (local $jo i32) (local $io i32) (local $po i32) (local $ho i32) (local $cb i32) (local $deo i32)
    (local $de f32) (local $dev v128) (local $slopev v128) (local $z v128) (local $m v128) (local $delta v128)
    (local $zs f32) (local $ds f32) (local $pos i32)
    (local.set $cB (i32.shl (local.get $C) (i32.const 2)))
    (local.set $c4B (i32.shl (i32.and (local.get $C) (i32.const -4)) (i32.const 2)))
    (local.set $hcB (i32.mul (local.get $H) (local.get $cB)))
    (local.set $slopev (f32x4.splat (local.get $slope)))
    (local.set $deo (local.get $dE))
    (block $edges_done
      (loop $edges
        (br_if $edges_done (i32.ge_s (local.get $p) (local.get $E)))
        ;; byte offsets of row j (xl, dxl), row i (xr, dxr) and edge p (ep, dEp)
        (local.set $jo (i32.mul (i32.load (i32.add (local.get $csrSrc) (i32.shl (local.get $p) (i32.const 2)))) (local.get $hcB)))
        (local.set $io (i32.mul (i32.load (i32.add (local.get $csrDst) (i32.shl (local.get $p) (i32.const 2)))) (local.get $hcB)))
        (local.set $po (i32.mul (local.get $p) (local.get $hcB)))
        (local.set $h (i32.const 0))
        (local.set $ho (i32.const 0))
        (block $heads_done
          (loop $heads
            (br_if $heads_done (i32.ge_s (local.get $h) (local.get $H)))
            (local.set $de (f32.load (local.get $deo)))
            (if (f32.ne (local.get $de) (f32.const 0)) (then
              (local.set $dev (f32x4.splat (local.get $de)))
              (local.set $cb (local.get $ho))
              (block $v_done
                (loop $v
                  (br_if $v_done (i32.ge_u (local.get $cb) (i32.add (local.get $ho) (local.get $c4B))))
                  (local.set $z (f32x4.add (v128.load (i32.add (local.get $xr) (i32.add (local.get $io) (local.get $cb))))
                                           (v128.load (i32.add (local.get $xl) (i32.add (local.get $jo) (local.get $cb))))))
                  (if (local.get $hasEp) (then
                    (local.set $z (f32x4.add (local.get $z)
                      (v128.load (i32.add (local.get $ep) (i32.add (local.get $po) (local.get $cb))))))))
                  (local.set $m (f32x4.gt (local.get $z) (v128.const f32x4 0 0 0 0)))
                  ;; dAtt += de * u
                  (v128.store (i32.add (local.get $dAtt) (local.get $cb))
                    (f32x4.add (v128.load (i32.add (local.get $dAtt) (local.get $cb)))
                      (f32x4.mul (local.get $dev)
                        (v128.bitselect (local.get $z) (f32x4.mul (local.get $slopev) (local.get $z)) (local.get $m)))))
                  ;; delta = de * att * s
                  (local.set $delta
                    (f32x4.mul (f32x4.mul (local.get $dev) (v128.load (i32.add (local.get $att) (local.get $cb))))
                      (v128.bitselect (v128.const f32x4 1 1 1 1) (local.get $slopev) (local.get $m))))
                  (v128.store (i32.add (local.get $dxr) (i32.add (local.get $io) (local.get $cb)))
                    (f32x4.add (v128.load (i32.add (local.get $dxr) (i32.add (local.get $io) (local.get $cb)))) (local.get $delta)))
                  (v128.store (i32.add (local.get $dxl) (i32.add (local.get $jo) (local.get $cb)))
                    (f32x4.add (v128.load (i32.add (local.get $dxl) (i32.add (local.get $jo) (local.get $cb)))) (local.get $delta)))
                  (if (local.get $hasDEp) (then
                    (v128.store (i32.add (local.get $dEp) (i32.add (local.get $po) (local.get $cb))) (local.get $delta))))
                  (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
                  (br $v)))
              (block $s_done
                (loop $sc
                  (br_if $s_done (i32.ge_u (local.get $cb) (i32.add (local.get $ho) (local.get $cB))))
                  (local.set $zs (f32.add (f32.load (i32.add (local.get $xr) (i32.add (local.get $io) (local.get $cb))))
                                          (f32.load (i32.add (local.get $xl) (i32.add (local.get $jo) (local.get $cb))))))
                  (if (local.get $hasEp) (then
                    (local.set $zs (f32.add (local.get $zs)
                      (f32.load (i32.add (local.get $ep) (i32.add (local.get $po) (local.get $cb))))))))
                  (local.set $pos (f32.gt (local.get $zs) (f32.const 0)))
                  (f32.store (i32.add (local.get $dAtt) (local.get $cb))
                    (f32.add (f32.load (i32.add (local.get $dAtt) (local.get $cb)))
                      (f32.mul (local.get $de)
                        (select (local.get $zs) (f32.mul (local.get $slope) (local.get $zs)) (local.get $pos)))))
                  (local.set $ds
                    (f32.mul (f32.mul (local.get $de) (f32.load (i32.add (local.get $att) (local.get $cb))))
                      (select (f32.const 1) (local.get $slope) (local.get $pos))))
                  (f32.store (i32.add (local.get $dxr) (i32.add (local.get $io) (local.get $cb)))
                    (f32.add (f32.load (i32.add (local.get $dxr) (i32.add (local.get $io) (local.get $cb)))) (local.get $ds)))
                  (f32.store (i32.add (local.get $dxl) (i32.add (local.get $jo) (local.get $cb)))
                    (f32.add (f32.load (i32.add (local.get $dxl) (i32.add (local.get $jo) (local.get $cb)))) (local.get $ds)))
                  (if (local.get $hasDEp) (then
                    (f32.store (i32.add (local.get $dEp) (i32.add (local.get $po) (local.get $cb))) (local.get $ds))))
                  (local.set $cb (i32.add (local.get $cb) (i32.const 4)))
                  (br $sc)))))
            (local.set $deo (i32.add (local.get $deo) (i32.const 4)))
            (local.set $ho (i32.add (local.get $ho) (local.get $cB)))
            (local.set $h (i32.add (local.get $h) (i32.const 1)))
            (br $heads)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $edges))))

  ;; gradients.md eq. 3 (AGGREGATION stage): out[i,h,:] += sum_{p: j -> i} alpha[p,h] xl[j,h,:]
  ;; (loops.ts aggregateForward). Row by row in CSR order, so out[i] accumulates in the JS order.
  (func (export "aggregate_forward")
    (param $rowPtr i32) (param $csrSrc i32) (param $alpha i32) (param $xl i32)
    (param $H i32) (param $C i32) (param $out i32) (param $N i32)
    (local $i i32) (local $p i32) (local $p1 i32) (local $h i32) (local $hcB i32) (local $cB i32) (local $c4B i32)
    (local $io i32) (local $jo i32) (local $ho i32) (local $cb i32) (local $ao i32)
    (local $a f32) (local $av v128)
    (local.set $cB (i32.shl (local.get $C) (i32.const 2)))
    (local.set $c4B (i32.shl (i32.and (local.get $C) (i32.const -4)) (i32.const 2)))
    (local.set $hcB (i32.mul (local.get $H) (local.get $cB)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $i) (local.get $N)))
        (local.set $io (i32.add (local.get $out) (i32.mul (local.get $i) (local.get $hcB))))
        (local.set $p (i32.load (i32.add (local.get $rowPtr) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $p1 (i32.load offset=4 (i32.add (local.get $rowPtr) (i32.shl (local.get $i) (i32.const 2)))))
        (block $edges_done
          (loop $edges
            (br_if $edges_done (i32.ge_s (local.get $p) (local.get $p1)))
            (local.set $jo (i32.add (local.get $xl)
              (i32.mul (i32.load (i32.add (local.get $csrSrc) (i32.shl (local.get $p) (i32.const 2)))) (local.get $hcB))))
            (local.set $ao (i32.add (local.get $alpha) (i32.shl (i32.mul (local.get $p) (local.get $H)) (i32.const 2))))
            (local.set $h (i32.const 0))
            (local.set $ho (i32.const 0))
            (block $heads_done
              (loop $heads
                (br_if $heads_done (i32.ge_s (local.get $h) (local.get $H)))
                (local.set $a (f32.load (local.get $ao)))
                (local.set $av (f32x4.splat (local.get $a)))
                (local.set $cb (local.get $ho))
                (block $v_done
                  (loop $v
                    (br_if $v_done (i32.ge_u (local.get $cb) (i32.add (local.get $ho) (local.get $c4B))))
                    (v128.store (i32.add (local.get $io) (local.get $cb))
                      (f32x4.add (v128.load (i32.add (local.get $io) (local.get $cb)))
                        (f32x4.mul (local.get $av) (v128.load (i32.add (local.get $jo) (local.get $cb))))))
                    (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
                    (br $v)))
                (block $s_done
                  (loop $sc
                    (br_if $s_done (i32.ge_u (local.get $cb) (i32.add (local.get $ho) (local.get $cB))))
                    (f32.store (i32.add (local.get $io) (local.get $cb))
                      (f32.add (f32.load (i32.add (local.get $io) (local.get $cb)))
                        (f32.mul (local.get $a) (f32.load (i32.add (local.get $jo) (local.get $cb))))))
                    (local.set $cb (i32.add (local.get $cb) (i32.const 4)))
                    (br $sc)))
                (local.set $ao (i32.add (local.get $ao) (i32.const 4)))
                (local.set $ho (i32.add (local.get $ho) (local.get $cB)))
                (local.set $h (i32.add (local.get $h) (i32.const 1)))
                (br $heads)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $edges)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; gradients.md "Aggregation stage": A_k = <G_i, xl[j]> per head (written to dAlpha[p,h]) and
  ;; dxl[j] += alpha_k G_i, with G = dOut (loops.ts aggregateBackward).
  (func (export "aggregate_backward")
    (param $csrSrc i32) (param $csrDst i32) (param $alpha i32) (param $xl i32) (param $dOut i32)
    (param $H i32) (param $C i32) (param $dAlpha i32) (param $dxl i32) (param $E i32)
    (local $p i32) (local $h i32) (local $hcB i32) (local $cB i32) (local $c4B i32)
    (local $io i32) (local $jo i32) (local $ho i32) (local $cb i32) (local $ao i32)
    (local $a f32) (local $av v128) (local $g v128) (local $acc v128) (local $gs f32) (local $s f32)
    (local.set $cB (i32.shl (local.get $C) (i32.const 2)))
    (local.set $c4B (i32.shl (i32.and (local.get $C) (i32.const -4)) (i32.const 2)))
    (local.set $hcB (i32.mul (local.get $H) (local.get $cB)))
    (local.set $ao (i32.const 0))
    (block $edges_done
      (loop $edges
        (br_if $edges_done (i32.ge_s (local.get $p) (local.get $E)))
        (local.set $jo (i32.mul (i32.load (i32.add (local.get $csrSrc) (i32.shl (local.get $p) (i32.const 2)))) (local.get $hcB)))
        (local.set $io (i32.add (local.get $dOut)
          (i32.mul (i32.load (i32.add (local.get $csrDst) (i32.shl (local.get $p) (i32.const 2)))) (local.get $hcB))))
        (local.set $h (i32.const 0))
        (local.set $ho (i32.const 0))
        (block $heads_done
          (loop $heads
            (br_if $heads_done (i32.ge_s (local.get $h) (local.get $H)))
            (local.set $a (f32.load (i32.add (local.get $alpha) (local.get $ao))))
            (local.set $av (f32x4.splat (local.get $a)))
            (local.set $acc (v128.const f32x4 0 0 0 0))
            (local.set $cb (local.get $ho))
            (block $v_done
              (loop $v
                (br_if $v_done (i32.ge_u (local.get $cb) (i32.add (local.get $ho) (local.get $c4B))))
                (local.set $g (v128.load (i32.add (local.get $io) (local.get $cb))))
                (local.set $acc (f32x4.add (local.get $acc)
                  (f32x4.mul (local.get $g) (v128.load (i32.add (local.get $xl) (i32.add (local.get $jo) (local.get $cb)))))))
                (v128.store (i32.add (local.get $dxl) (i32.add (local.get $jo) (local.get $cb)))
                  (f32x4.add (v128.load (i32.add (local.get $dxl) (i32.add (local.get $jo) (local.get $cb))))
                    (f32x4.mul (local.get $av) (local.get $g))))
                (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
                (br $v)))
            (local.set $acc (f32x4.add (local.get $acc)
              (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $acc) (local.get $acc))))
            (local.set $s (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc))))
            (block $s_done
              (loop $sc
                (br_if $s_done (i32.ge_u (local.get $cb) (i32.add (local.get $ho) (local.get $cB))))
                (local.set $gs (f32.load (i32.add (local.get $io) (local.get $cb))))
                (local.set $s (f32.add (local.get $s)
                  (f32.mul (local.get $gs) (f32.load (i32.add (local.get $xl) (i32.add (local.get $jo) (local.get $cb)))))))
                (f32.store (i32.add (local.get $dxl) (i32.add (local.get $jo) (local.get $cb)))
                  (f32.add (f32.load (i32.add (local.get $dxl) (i32.add (local.get $jo) (local.get $cb))))
                    (f32.mul (local.get $a) (local.get $gs))))
                (local.set $cb (i32.add (local.get $cb) (i32.const 4)))
                (br $sc)))
            (f32.store (i32.add (local.get $dAlpha) (local.get $ao)) (local.get $s))
            (local.set $ao (i32.add (local.get $ao) (i32.const 4)))
            (local.set $ho (i32.add (local.get $ho) (local.get $cB)))
            (local.set $h (i32.add (local.get $h) (i32.const 1)))
            (br $heads)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $edges))))

  ;; One destination row of the softmax for two adjacent heads (pair = 1) or one (pair = 0, the last
  ;; head of an odd H; the unused lane computes on zeros and is never stored). hb is the heads' byte
  ;; offset in a row of e, hB the byte length of that row. Every step is the JS's, in float64 where
  ;; the JS is: m = max (NaN wins, as Math.max); v = exp(e - m), stored as float32 and summed as a
  ;; double; then alpha = float32(float32(v) * (1 / sum)).
  ;;
  ;; exp(x), inline (a call costs more than the exp): x is <= 0 or NaN here. x = n ln2 + r with
  ;; |r| <= ln2/2 (fdlibm's split of ln2, so n ln2_hi is exact); exp(r) by its Taylor series to r^10
  ;; (relative error below 3e-13, far under float32's 6e-8), evaluated by Estrin's scheme (a short
  ;; dependency chain); times 2^n built in the exponent bits. x is clamped at -700 (exp = 1e-304,
  ;; still a normal double), which changes nothing a float32 or a row sum >= 1 can see: -Inf gives
  ;; 0 after rounding to float32, NaN stays NaN, as with Math.exp.
  (func $softmax_heads (param $e i32) (param $alpha i32) (param $p0 i32) (param $p1 i32)
    (param $hB i32) (param $hb i32) (param $pair i32)
    (local $p i32) (local $o i32) (local $m v128) (local $v v128) (local $sum v128) (local $inv v128)
    (local $x v128) (local $n v128) (local $r v128) (local $r2 v128) (local $r4 v128)
    (local.set $m (v128.const f64x2 -inf -inf))
    (local.set $p (local.get $p0))
    (block $done (loop $l
      (br_if $done (i32.ge_s (local.get $p) (local.get $p1)))
      (local.set $o (i32.add (local.get $e) (i32.add (i32.mul (local.get $p) (local.get $hB)) (local.get $hb))))
      (local.set $m (f64x2.max (local.get $m) (f64x2.promote_low_f32x4
        (if (result v128) (local.get $pair)
          (then (v128.load64_zero (local.get $o))) (else (v128.load32_zero (local.get $o)))))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $l)))
    (local.set $sum (v128.const f64x2 0 0))
    (local.set $p (local.get $p0))
    (block $done (loop $l
      (br_if $done (i32.ge_s (local.get $p) (local.get $p1)))
      (local.set $o (i32.add (i32.mul (local.get $p) (local.get $hB)) (local.get $hb)))
      (local.set $x (f64x2.max (v128.const f64x2 -700 -700) (f64x2.sub (f64x2.promote_low_f32x4
        (if (result v128) (local.get $pair)
          (then (v128.load64_zero (i32.add (local.get $e) (local.get $o))))
          (else (v128.load32_zero (i32.add (local.get $e) (local.get $o))))))
        (local.get $m))))
      (local.set $n (f64x2.nearest (f64x2.mul (local.get $x) (v128.const f64x2 1.4426950408889634 1.4426950408889634))))
      (local.set $r (f64x2.sub
        (f64x2.sub (local.get $x) (f64x2.mul (local.get $n) (v128.const f64x2 6.93147180369123816490e-01 6.93147180369123816490e-01)))
        (f64x2.mul (local.get $n) (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10))))
      (local.set $r2 (f64x2.mul (local.get $r) (local.get $r)))
      (local.set $r4 (f64x2.mul (local.get $r2) (local.get $r2)))
      ;; sum_k r^k / k!, k = 0..10, as (c0 + c1 r) + r^2 (c2 + c3 r) + r^4 ((c4 + c5 r) + r^2 (c6 + c7 r))
      ;;   + r^8 ((c8 + c9 r) + r^2 c10)
      (local.set $v (f64x2.add
        (f64x2.add
          (f64x2.add (f64x2.add (v128.const f64x2 1 1) (f64x2.mul (v128.const f64x2 1 1) (local.get $r))) (f64x2.mul (local.get $r2) (f64x2.add (v128.const f64x2 0.5 0.5) (f64x2.mul (v128.const f64x2 0.16666666666666666 0.16666666666666666) (local.get $r)))))
          (f64x2.mul (local.get $r4) (f64x2.add (f64x2.add (v128.const f64x2 4.1666666666666664e-02 4.1666666666666664e-02) (f64x2.mul (v128.const f64x2 8.333333333333333e-03 8.333333333333333e-03) (local.get $r))) (f64x2.mul (local.get $r2) (f64x2.add (v128.const f64x2 1.388888888888889e-03 1.388888888888889e-03) (f64x2.mul (v128.const f64x2 1.984126984126984e-04 1.984126984126984e-04) (local.get $r)))))))
        (f64x2.mul (f64x2.mul (local.get $r4) (local.get $r4))
          (f64x2.add (f64x2.add (v128.const f64x2 2.48015873015873e-05 2.48015873015873e-05) (f64x2.mul (v128.const f64x2 2.7557319223985893e-06 2.7557319223985893e-06) (local.get $r))) (f64x2.mul (local.get $r2) (v128.const f64x2 2.755731922398589e-07 2.755731922398589e-07))))))
      ;; times 2^n: n in [-1010, 0] here (NaN saturates to 0), so n + 1023 is a valid biased exponent
      (local.set $v (f64x2.mul (local.get $v)
        (i64x2.shl
          (i64x2.add (i64x2.extend_low_i32x4_s (i32x4.trunc_sat_f64x2_s_zero (local.get $n))) (v128.const i64x2 1023 1023))
          (i32.const 52))))
      (if (local.get $pair)
        (then (v128.store64_lane 0 (i32.add (local.get $alpha) (local.get $o)) (f32x4.demote_f64x2_zero (local.get $v))))
        (else (v128.store32_lane 0 (i32.add (local.get $alpha) (local.get $o)) (f32x4.demote_f64x2_zero (local.get $v)))))
      (local.set $sum (f64x2.add (local.get $sum) (local.get $v)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $l)))
    (local.set $inv (f64x2.div (v128.const f64x2 1 1) (local.get $sum)))
    (local.set $p (local.get $p0))
    (block $done (loop $l
      (br_if $done (i32.ge_s (local.get $p) (local.get $p1)))
      (local.set $o (i32.add (local.get $alpha) (i32.add (i32.mul (local.get $p) (local.get $hB)) (local.get $hb))))
      (if (local.get $pair)
        (then (v128.store64_lane 0 (local.get $o) (f32x4.demote_f64x2_zero
          (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $o))) (local.get $inv)))))
        (else (v128.store32_lane 0 (local.get $o) (f32x4.demote_f64x2_zero
          (f64x2.mul (f64x2.promote_low_f32x4 (v128.load32_zero (local.get $o))) (local.get $inv))))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $l))))

  ;; The same for four adjacent heads (the common case: H = 8 makes two quads per row), as two
  ;; independent float64 pairs (lo: heads hb..hb+1, hi: hb+2..hb+3), which also lets the two exp
  ;; evaluations overlap.
  (func $softmax_quad (param $e i32) (param $alpha i32) (param $p0 i32) (param $p1 i32)
    (param $hB i32) (param $hb i32)
    (local $p i32) (local $o i32) (local $m4 v128) (local $mlo v128) (local $mhi v128) (local $ev v128)
    (local $slo v128) (local $shi v128) (local $ilo v128) (local $ihi v128)
    (local $xa v128) (local $na v128) (local $ra v128) (local $r2a v128) (local $r4a v128) (local $va v128)
    (local $xb v128) (local $nb v128) (local $rb v128) (local $r2b v128) (local $r4b v128) (local $vb v128)
    ;; f32x4.max has Math.max's semantics (NaN wins, -0 < +0), and the max of float32 values is exact
    (local.set $m4 (v128.const f32x4 -inf -inf -inf -inf))
    (local.set $p (local.get $p0))
    (block $done (loop $l
      (br_if $done (i32.ge_s (local.get $p) (local.get $p1)))
      (local.set $m4 (f32x4.max (local.get $m4)
        (v128.load (i32.add (local.get $e) (i32.add (i32.mul (local.get $p) (local.get $hB)) (local.get $hb))))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $l)))
    (local.set $mlo (f64x2.promote_low_f32x4 (local.get $m4)))
    (local.set $mhi (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $m4) (local.get $m4))))
    (local.set $slo (v128.const f64x2 0 0))
    (local.set $shi (v128.const f64x2 0 0))
    (local.set $p (local.get $p0))
    (block $done (loop $l
      (br_if $done (i32.ge_s (local.get $p) (local.get $p1)))
      (local.set $o (i32.add (i32.mul (local.get $p) (local.get $hB)) (local.get $hb)))
      (local.set $ev (v128.load (i32.add (local.get $e) (local.get $o))))
      (local.set $xa (f64x2.max (v128.const f64x2 -700 -700) (f64x2.sub (f64x2.promote_low_f32x4 (local.get $ev)) (local.get $mlo))))
      (local.set $xb (f64x2.max (v128.const f64x2 -700 -700) (f64x2.sub
        (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $ev) (local.get $ev)))
        (local.get $mhi))))
      (local.set $na (f64x2.nearest (f64x2.mul (local.get $xa) (v128.const f64x2 1.4426950408889634 1.4426950408889634))))
      (local.set $ra (f64x2.sub
        (f64x2.sub (local.get $xa) (f64x2.mul (local.get $na) (v128.const f64x2 6.93147180369123816490e-01 6.93147180369123816490e-01)))
        (f64x2.mul (local.get $na) (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10))))
      (local.set $r2a (f64x2.mul (local.get $ra) (local.get $ra)))
      (local.set $r4a (f64x2.mul (local.get $r2a) (local.get $r2a)))
      (local.set $va (f64x2.mul
        (f64x2.add
          (f64x2.add
            (f64x2.add (f64x2.add (v128.const f64x2 1 1) (f64x2.mul (v128.const f64x2 1 1) (local.get $ra))) (f64x2.mul (local.get $r2a) (f64x2.add (v128.const f64x2 0.5 0.5) (f64x2.mul (v128.const f64x2 0.16666666666666666 0.16666666666666666) (local.get $ra)))))
            (f64x2.mul (local.get $r4a) (f64x2.add (f64x2.add (v128.const f64x2 4.1666666666666664e-02 4.1666666666666664e-02) (f64x2.mul (v128.const f64x2 8.333333333333333e-03 8.333333333333333e-03) (local.get $ra))) (f64x2.mul (local.get $r2a) (f64x2.add (v128.const f64x2 1.388888888888889e-03 1.388888888888889e-03) (f64x2.mul (v128.const f64x2 1.984126984126984e-04 1.984126984126984e-04) (local.get $ra)))))))
          (f64x2.mul (f64x2.mul (local.get $r4a) (local.get $r4a))
            (f64x2.add (f64x2.add (v128.const f64x2 2.48015873015873e-05 2.48015873015873e-05) (f64x2.mul (v128.const f64x2 2.7557319223985893e-06 2.7557319223985893e-06) (local.get $ra))) (f64x2.mul (local.get $r2a) (v128.const f64x2 2.755731922398589e-07 2.755731922398589e-07)))))
        (i64x2.shl
          (i64x2.add (i64x2.extend_low_i32x4_s (i32x4.trunc_sat_f64x2_s_zero (local.get $na))) (v128.const i64x2 1023 1023))
          (i32.const 52))))
      (local.set $nb (f64x2.nearest (f64x2.mul (local.get $xb) (v128.const f64x2 1.4426950408889634 1.4426950408889634))))
      (local.set $rb (f64x2.sub
        (f64x2.sub (local.get $xb) (f64x2.mul (local.get $nb) (v128.const f64x2 6.93147180369123816490e-01 6.93147180369123816490e-01)))
        (f64x2.mul (local.get $nb) (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10))))
      (local.set $r2b (f64x2.mul (local.get $rb) (local.get $rb)))
      (local.set $r4b (f64x2.mul (local.get $r2b) (local.get $r2b)))
      (local.set $vb (f64x2.mul
        (f64x2.add
          (f64x2.add
            (f64x2.add (f64x2.add (v128.const f64x2 1 1) (f64x2.mul (v128.const f64x2 1 1) (local.get $rb))) (f64x2.mul (local.get $r2b) (f64x2.add (v128.const f64x2 0.5 0.5) (f64x2.mul (v128.const f64x2 0.16666666666666666 0.16666666666666666) (local.get $rb)))))
            (f64x2.mul (local.get $r4b) (f64x2.add (f64x2.add (v128.const f64x2 4.1666666666666664e-02 4.1666666666666664e-02) (f64x2.mul (v128.const f64x2 8.333333333333333e-03 8.333333333333333e-03) (local.get $rb))) (f64x2.mul (local.get $r2b) (f64x2.add (v128.const f64x2 1.388888888888889e-03 1.388888888888889e-03) (f64x2.mul (v128.const f64x2 1.984126984126984e-04 1.984126984126984e-04) (local.get $rb)))))))
          (f64x2.mul (f64x2.mul (local.get $r4b) (local.get $r4b))
            (f64x2.add (f64x2.add (v128.const f64x2 2.48015873015873e-05 2.48015873015873e-05) (f64x2.mul (v128.const f64x2 2.7557319223985893e-06 2.7557319223985893e-06) (local.get $rb))) (f64x2.mul (local.get $r2b) (v128.const f64x2 2.755731922398589e-07 2.755731922398589e-07)))))
        (i64x2.shl
          (i64x2.add (i64x2.extend_low_i32x4_s (i32x4.trunc_sat_f64x2_s_zero (local.get $nb))) (v128.const i64x2 1023 1023))
          (i32.const 52))))
      ;; float32(v) of the four heads, in order
      (v128.store (i32.add (local.get $alpha) (local.get $o))
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (local.get $va)) (f32x4.demote_f64x2_zero (local.get $vb))))
      (local.set $slo (f64x2.add (local.get $slo) (local.get $va)))
      (local.set $shi (f64x2.add (local.get $shi) (local.get $vb)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $l)))
    (local.set $ilo (f64x2.div (v128.const f64x2 1 1) (local.get $slo)))
    (local.set $ihi (f64x2.div (v128.const f64x2 1 1) (local.get $shi)))
    (local.set $p (local.get $p0))
    (block $done (loop $l
      (br_if $done (i32.ge_s (local.get $p) (local.get $p1)))
      (local.set $o (i32.add (local.get $alpha) (i32.add (i32.mul (local.get $p) (local.get $hB)) (local.get $hb))))
      (local.set $ev (v128.load (local.get $o)))
      (v128.store (local.get $o)
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (local.get $ev)) (local.get $ilo)))
          (f32x4.demote_f64x2_zero (f64x2.mul
            (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $ev) (local.get $ev)))
            (local.get $ihi)))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $l))))

  ;; gradients.md eq. 2 (SOFTMAX stage): alpha = softmax over each destination row's edges, per head,
  ;; with the row max subtracted (loops.ts softmaxForward). Empty rows are left as they are.
  (func (export "softmax_forward") (param $rowPtr i32) (param $e i32) (param $H i32) (param $alpha i32) (param $N i32)
    (local $i i32) (local $p0 i32) (local $p1 i32) (local $hB i32) (local $hb i32)
    (local.set $hB (i32.shl (local.get $H) (i32.const 2)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $i) (local.get $N)))
        (local.set $p0 (i32.load (i32.add (local.get $rowPtr) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $p1 (i32.load offset=4 (i32.add (local.get $rowPtr) (i32.shl (local.get $i) (i32.const 2)))))
        (if (i32.ne (local.get $p0) (local.get $p1)) (then
          (local.set $hb (i32.const 0))
          (block $quads_done
            (loop $quads
              (br_if $quads_done (i32.gt_u (i32.add (local.get $hb) (i32.const 16)) (local.get $hB)))
              (call $softmax_quad (local.get $e) (local.get $alpha) (local.get $p0) (local.get $p1)
                (local.get $hB) (local.get $hb))
              (local.set $hb (i32.add (local.get $hb) (i32.const 16)))
              (br $quads)))
          (block $pairs_done
            (loop $pairs
              (br_if $pairs_done (i32.gt_u (i32.add (local.get $hb) (i32.const 8)) (local.get $hB)))
              (call $softmax_heads (local.get $e) (local.get $alpha) (local.get $p0) (local.get $p1)
                (local.get $hB) (local.get $hb) (i32.const 1))
              (local.set $hb (i32.add (local.get $hb) (i32.const 8)))
              (br $pairs)))
          (if (i32.lt_u (local.get $hb) (local.get $hB)) (then
            (call $softmax_heads (local.get $e) (local.get $alpha) (local.get $p0) (local.get $p1)
              (local.get $hB) (local.get $hb) (i32.const 0))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; gradients.md "Softmax stage": dE_k = alpha_k (dAlpha_k - sum_{k' -> i} alpha_k' dAlpha_k') per
  ;; destination row and head (loops.ts softmaxBackward). Vectorised over heads, which are adjacent
  ;; in [E, H]; the row sums run over p in the JS order.
  (func (export "softmax_backward")
    (param $rowPtr i32) (param $alpha i32) (param $dAlpha i32) (param $H i32) (param $dE i32) (param $N i32)
    (local $i i32) (local $p i32) (local $p0 i32) (local $p1 i32) (local $hB i32) (local $h4B i32)
    (local $hb i32) (local $o i32) (local $dot v128) (local $dots f32)
    (local.set $hB (i32.shl (local.get $H) (i32.const 2)))
    (local.set $h4B (i32.shl (i32.and (local.get $H) (i32.const -4)) (i32.const 2)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $i) (local.get $N)))
        (local.set $p0 (i32.load (i32.add (local.get $rowPtr) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $p1 (i32.load offset=4 (i32.add (local.get $rowPtr) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $hb (i32.const 0))
        (block $v_done
          (loop $v
            (br_if $v_done (i32.ge_u (local.get $hb) (local.get $h4B)))
            (local.set $dot (v128.const f32x4 0 0 0 0))
            (local.set $p (local.get $p0))
            (block $d_done
              (loop $d
                (br_if $d_done (i32.ge_s (local.get $p) (local.get $p1)))
                (local.set $o (i32.add (i32.mul (local.get $p) (local.get $hB)) (local.get $hb)))
                (local.set $dot (f32x4.add (local.get $dot)
                  (f32x4.mul (v128.load (i32.add (local.get $alpha) (local.get $o)))
                             (v128.load (i32.add (local.get $dAlpha) (local.get $o))))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $d)))
            (local.set $p (local.get $p0))
            (block $w_done
              (loop $w
                (br_if $w_done (i32.ge_s (local.get $p) (local.get $p1)))
                (local.set $o (i32.add (i32.mul (local.get $p) (local.get $hB)) (local.get $hb)))
                (v128.store (i32.add (local.get $dE) (local.get $o))
                  (f32x4.mul (v128.load (i32.add (local.get $alpha) (local.get $o)))
                    (f32x4.sub (v128.load (i32.add (local.get $dAlpha) (local.get $o))) (local.get $dot))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $w)))
            (local.set $hb (i32.add (local.get $hb) (i32.const 16)))
            (br $v)))
        (block $s_done
          (loop $sh
            (br_if $s_done (i32.ge_u (local.get $hb) (local.get $hB)))
            (local.set $dots (f32.const 0))
            (local.set $p (local.get $p0))
            (block $d_done
              (loop $d
                (br_if $d_done (i32.ge_s (local.get $p) (local.get $p1)))
                (local.set $o (i32.add (i32.mul (local.get $p) (local.get $hB)) (local.get $hb)))
                (local.set $dots (f32.add (local.get $dots)
                  (f32.mul (f32.load (i32.add (local.get $alpha) (local.get $o)))
                           (f32.load (i32.add (local.get $dAlpha) (local.get $o))))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $d)))
            (local.set $p (local.get $p0))
            (block $w_done
              (loop $w
                (br_if $w_done (i32.ge_s (local.get $p) (local.get $p1)))
                (local.set $o (i32.add (i32.mul (local.get $p) (local.get $hB)) (local.get $hb)))
                (f32.store (i32.add (local.get $dE) (local.get $o))
                  (f32.mul (f32.load (i32.add (local.get $alpha) (local.get $o)))
                    (f32.sub (f32.load (i32.add (local.get $dAlpha) (local.get $o))) (local.get $dots))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $w)))
            (local.set $hb (i32.add (local.get $hb) (i32.const 4)))
            (br $sh)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))
)
