;; rowDots(table, index, count, width, query, lanes, out):
;;   out[j * lanes + l] = sum_{e < width} query[e * lanes + l] * table[index[j] * width + e]
;; for j < count and l < lanes. The table is float32 [rows, width]; query and out are float64, the
;; query laid out [width, lanes] (lanes even). Each output is accumulated in float64 in order
;; e = 0, 1, ..., starting from 0, and a product of two float32 values is exact in float64, so every
;; output equals a plain JavaScript loop `s = 0; for (e) s += q[e] * t[e]` over the same values bit
;; for bit: the SIMD lanes run over the outputs (two per 128-bit vector), never inside one sum.
;; All arguments are byte addresses in this module's memory except count, width and lanes.
;; Source of row-dots.wasm.ts (regenerate with `node tools/wasm/build.mjs`).
(module
  (memory (export "memory") 1)
  (func (export "rowDots")
    (param $table i32) (param $index i32) (param $count i32) (param $width i32) (param $query i32) (param $lanes i32) (param $out i32)
    (local $j i32) (local $l i32) (local $e i32) (local $row i32) (local $q i32) (local $o i32) (local $stride i32) (local $x v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    ;; Bytes between query rows (one row: `lanes` float64).
    (local.set $stride (i32.shl (local.get $lanes) (i32.const 3)))
    (local.set $j (i32.const 0))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $j) (local.get $count)))
        (local.set $row
          (i32.add (local.get $table)
            (i32.shl (i32.mul (i32.load (i32.add (local.get $index) (i32.shl (local.get $j) (i32.const 2)))) (local.get $width)) (i32.const 2))))
        (local.set $o (i32.add (local.get $out) (i32.mul (local.get $j) (local.get $stride))))
        ;; Blocks of 8 lanes: four accumulators of two float64.
        (local.set $l (i32.const 0))
        (block $blocksDone
          (loop $blocks
            (br_if $blocksDone (i32.gt_u (i32.add (local.get $l) (i32.const 8)) (local.get $lanes)))
            (local.set $a0 (v128.const i32x4 0 0 0 0))
            (local.set $a1 (v128.const i32x4 0 0 0 0))
            (local.set $a2 (v128.const i32x4 0 0 0 0))
            (local.set $a3 (v128.const i32x4 0 0 0 0))
            (local.set $q (i32.add (local.get $query) (i32.shl (local.get $l) (i32.const 3))))
            (local.set $e (i32.const 0))
            (block $eDone
              (loop $es
                (br_if $eDone (i32.ge_u (local.get $e) (local.get $width)))
                (local.set $x (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $row) (i32.shl (local.get $e) (i32.const 2)))))))
                (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (v128.load offset=0 (local.get $q)) (local.get $x))))
                (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (v128.load offset=16 (local.get $q)) (local.get $x))))
                (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (v128.load offset=32 (local.get $q)) (local.get $x))))
                (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (v128.load offset=48 (local.get $q)) (local.get $x))))
                (local.set $q (i32.add (local.get $q) (local.get $stride)))
                (local.set $e (i32.add (local.get $e) (i32.const 1)))
                (br $es)))
            (v128.store offset=0 (i32.add (local.get $o) (i32.shl (local.get $l) (i32.const 3))) (local.get $a0))
            (v128.store offset=16 (i32.add (local.get $o) (i32.shl (local.get $l) (i32.const 3))) (local.get $a1))
            (v128.store offset=32 (i32.add (local.get $o) (i32.shl (local.get $l) (i32.const 3))) (local.get $a2))
            (v128.store offset=48 (i32.add (local.get $o) (i32.shl (local.get $l) (i32.const 3))) (local.get $a3))
            (local.set $l (i32.add (local.get $l) (i32.const 8)))
            (br $blocks)))
        ;; The rest, 2 lanes at a time.
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $l) (local.get $lanes)))
            (local.set $a0 (v128.const i32x4 0 0 0 0))
            (local.set $q (i32.add (local.get $query) (i32.shl (local.get $l) (i32.const 3))))
            (local.set $e (i32.const 0))
            (block $tailEDone
              (loop $tailEs
                (br_if $tailEDone (i32.ge_u (local.get $e) (local.get $width)))
                (local.set $a0
                  (f64x2.add (local.get $a0)
                    (f64x2.mul (v128.load (local.get $q))
                      (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $row) (i32.shl (local.get $e) (i32.const 2)))))))))
                (local.set $q (i32.add (local.get $q) (local.get $stride)))
                (local.set $e (i32.add (local.get $e) (i32.const 1)))
                (br $tailEs)))
            (v128.store (i32.add (local.get $o) (i32.shl (local.get $l) (i32.const 3))) (local.get $a0))
            (local.set $l (i32.add (local.get $l) (i32.const 2)))
            (br $tail)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $rows)))))
