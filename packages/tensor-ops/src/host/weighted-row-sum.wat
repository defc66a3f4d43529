;; weightedRowSum(table, index, weight, count, width, out):
;;   out[0 .. width) = sum_{j < count} weight[j] * table[index[j] * width .. + width)
;; All arguments are byte addresses in this module's memory except count and width (floats);
;; float32 throughout, width a multiple of 4. Rows of 64 floats (NDM's value rows at d = 64) take one
;; pass over the items with sixteen 128-bit accumulators; other widths run in blocks of 16 floats with
;; four accumulators, one pass over the items per block. Either way each table float costs one load,
;; one multiply and one add, and each output float is summed over j in order (equal bits).
;;
;; lookupAttention(values, lookup, query, keys, count, heads, numKeys, width, index, weight, norms, out):
;;   attention whose unnormalised weights are looked up, lookup[(query * numKeys + key) * heads + i]
;;   (float32), over the keys keys[0 .. count) (i32): per head i, n_i = the float64 sum over k of its
;;   weights, in order; then item j = k * heads + i gets row keys[k] * heads + i of `values` and the
;;   weight float32(float64(lookup cell) * (1 / n_i)) (written to index[j] and weight[j]), and out is
;;   weightedRowSum over the count * heads items. Returns 0, or 1 (out untouched) when some n_i is
;;   not above 1e-30 (the weights underflowed: the caller computes that step another way). norms:
;;   heads float64 of scratch. The arithmetic of the same steps in JavaScript, so the bits are equal.
;; Source of weighted-row-sum.wasm.ts (regenerate with `node tools/wasm/build.mjs`).
(module
  (memory (export "memory") 1)
  (func $weightedRowSum (export "weightedRowSum")
    (param $table i32) (param $index i32) (param $weight i32) (param $count i32) (param $width i32) (param $out i32)
    (local $bytes i32) (local $e i32) (local $j i32) (local $row i32) (local $w v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128) (local $b4 v128) (local $b5 v128) (local $b6 v128) (local $b7 v128) (local $b8 v128) (local $b9 v128) (local $b10 v128) (local $b11 v128) (local $b12 v128) (local $b13 v128) (local $b14 v128) (local $b15 v128)
    ;; Rows of exactly 64 floats: one pass over the items with sixteen accumulators, so each row is
    ;; read once, front to back (the rows of consecutive items often sit side by side). Every output
    ;; float is the same sum in the same order as in the blocked loop below, so the bits are equal.
    (if (i32.eq (local.get $width) (i32.const 64))
      (then
        (local.set $b0 (v128.const i32x4 0 0 0 0))
        (local.set $b1 (v128.const i32x4 0 0 0 0))
        (local.set $b2 (v128.const i32x4 0 0 0 0))
        (local.set $b3 (v128.const i32x4 0 0 0 0))
        (local.set $b4 (v128.const i32x4 0 0 0 0))
        (local.set $b5 (v128.const i32x4 0 0 0 0))
        (local.set $b6 (v128.const i32x4 0 0 0 0))
        (local.set $b7 (v128.const i32x4 0 0 0 0))
        (local.set $b8 (v128.const i32x4 0 0 0 0))
        (local.set $b9 (v128.const i32x4 0 0 0 0))
        (local.set $b10 (v128.const i32x4 0 0 0 0))
        (local.set $b11 (v128.const i32x4 0 0 0 0))
        (local.set $b12 (v128.const i32x4 0 0 0 0))
        (local.set $b13 (v128.const i32x4 0 0 0 0))
        (local.set $b14 (v128.const i32x4 0 0 0 0))
        (local.set $b15 (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $oneDone
          (loop $one
            (br_if $oneDone (i32.ge_u (local.get $j) (local.get $count)))
            (local.set $row
              (i32.add (local.get $table)
                (i32.mul (i32.load (i32.add (local.get $index) (i32.shl (local.get $j) (i32.const 2)))) (i32.const 256))))
            (local.set $w (f32x4.splat (f32.load (i32.add (local.get $weight) (i32.shl (local.get $j) (i32.const 2))))))
            (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (local.get $w) (v128.load offset=0 (local.get $row)))))
            (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (local.get $w) (v128.load offset=16 (local.get $row)))))
            (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (local.get $w) (v128.load offset=32 (local.get $row)))))
            (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (local.get $w) (v128.load offset=48 (local.get $row)))))
            (local.set $b4 (f32x4.add (local.get $b4) (f32x4.mul (local.get $w) (v128.load offset=64 (local.get $row)))))
            (local.set $b5 (f32x4.add (local.get $b5) (f32x4.mul (local.get $w) (v128.load offset=80 (local.get $row)))))
            (local.set $b6 (f32x4.add (local.get $b6) (f32x4.mul (local.get $w) (v128.load offset=96 (local.get $row)))))
            (local.set $b7 (f32x4.add (local.get $b7) (f32x4.mul (local.get $w) (v128.load offset=112 (local.get $row)))))
            (local.set $b8 (f32x4.add (local.get $b8) (f32x4.mul (local.get $w) (v128.load offset=128 (local.get $row)))))
            (local.set $b9 (f32x4.add (local.get $b9) (f32x4.mul (local.get $w) (v128.load offset=144 (local.get $row)))))
            (local.set $b10 (f32x4.add (local.get $b10) (f32x4.mul (local.get $w) (v128.load offset=160 (local.get $row)))))
            (local.set $b11 (f32x4.add (local.get $b11) (f32x4.mul (local.get $w) (v128.load offset=176 (local.get $row)))))
            (local.set $b12 (f32x4.add (local.get $b12) (f32x4.mul (local.get $w) (v128.load offset=192 (local.get $row)))))
            (local.set $b13 (f32x4.add (local.get $b13) (f32x4.mul (local.get $w) (v128.load offset=208 (local.get $row)))))
            (local.set $b14 (f32x4.add (local.get $b14) (f32x4.mul (local.get $w) (v128.load offset=224 (local.get $row)))))
            (local.set $b15 (f32x4.add (local.get $b15) (f32x4.mul (local.get $w) (v128.load offset=240 (local.get $row)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $one)))
        (v128.store offset=0 (local.get $out) (local.get $b0))
        (v128.store offset=16 (local.get $out) (local.get $b1))
        (v128.store offset=32 (local.get $out) (local.get $b2))
        (v128.store offset=48 (local.get $out) (local.get $b3))
        (v128.store offset=64 (local.get $out) (local.get $b4))
        (v128.store offset=80 (local.get $out) (local.get $b5))
        (v128.store offset=96 (local.get $out) (local.get $b6))
        (v128.store offset=112 (local.get $out) (local.get $b7))
        (v128.store offset=128 (local.get $out) (local.get $b8))
        (v128.store offset=144 (local.get $out) (local.get $b9))
        (v128.store offset=160 (local.get $out) (local.get $b10))
        (v128.store offset=176 (local.get $out) (local.get $b11))
        (v128.store offset=192 (local.get $out) (local.get $b12))
        (v128.store offset=208 (local.get $out) (local.get $b13))
        (v128.store offset=224 (local.get $out) (local.get $b14))
        (v128.store offset=240 (local.get $out) (local.get $b15))
        (return)))
    (local.set $bytes (i32.shl (local.get $width) (i32.const 2)))
    ;; Blocks of 16 floats.
    (local.set $e (i32.const 0))
    (block $blocksDone
      (loop $blocks
        (br_if $blocksDone (i32.gt_u (i32.add (local.get $e) (i32.const 64)) (local.get $bytes)))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0))
        (local.set $a3 (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $itemsDone
          (loop $items
            (br_if $itemsDone (i32.ge_u (local.get $j) (local.get $count)))
            (local.set $row
              (i32.add
                (i32.add (local.get $table) (local.get $e))
                (i32.mul (i32.load (i32.add (local.get $index) (i32.shl (local.get $j) (i32.const 2)))) (local.get $bytes))))
            (local.set $w (f32x4.splat (f32.load (i32.add (local.get $weight) (i32.shl (local.get $j) (i32.const 2))))))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $w) (v128.load offset=0 (local.get $row)))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $w) (v128.load offset=16 (local.get $row)))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $w) (v128.load offset=32 (local.get $row)))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $w) (v128.load offset=48 (local.get $row)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $items)))
        (v128.store offset=0 (i32.add (local.get $out) (local.get $e)) (local.get $a0))
        (v128.store offset=16 (i32.add (local.get $out) (local.get $e)) (local.get $a1))
        (v128.store offset=32 (i32.add (local.get $out) (local.get $e)) (local.get $a2))
        (v128.store offset=48 (i32.add (local.get $out) (local.get $e)) (local.get $a3))
        (local.set $e (i32.add (local.get $e) (i32.const 64)))
        (br $blocks)))
    ;; The rest, 4 floats at a time.
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $e) (local.get $bytes)))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $tailItemsDone
          (loop $tailItems
            (br_if $tailItemsDone (i32.ge_u (local.get $j) (local.get $count)))
            (local.set $row
              (i32.add
                (i32.add (local.get $table) (local.get $e))
                (i32.mul (i32.load (i32.add (local.get $index) (i32.shl (local.get $j) (i32.const 2)))) (local.get $bytes))))
            (local.set $a0
              (f32x4.add (local.get $a0)
                (f32x4.mul (f32x4.splat (f32.load (i32.add (local.get $weight) (i32.shl (local.get $j) (i32.const 2)))))
                  (v128.load (local.get $row)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $tailItems)))
        (v128.store (i32.add (local.get $out) (local.get $e)) (local.get $a0))
        (local.set $e (i32.add (local.get $e) (i32.const 16)))
        (br $tail))))
  (func (export "lookupAttention")
    (param $values i32) (param $lookup i32) (param $query i32) (param $keys i32) (param $count i32)
    (param $heads i32) (param $numKeys i32) (param $width i32) (param $index i32) (param $weight i32)
    (param $norms i32) (param $out i32) (result i32)
    (local $base i32) (local $k i32) (local $i i32) (local $cell i32) (local $row i32) (local $j i32) (local $n f64)
    ;; The query's block of the lookup table: numKeys cells of `heads` floats.
    (local.set $base
      (i32.add (local.get $lookup) (i32.shl (i32.mul (i32.mul (local.get $query) (local.get $numKeys)) (local.get $heads)) (i32.const 2))))
    (local.set $i (i32.const 0))
    (block $zeroDone
      (loop $zero
        (br_if $zeroDone (i32.ge_u (local.get $i) (local.get $heads)))
        (f64.store (i32.add (local.get $norms) (i32.shl (local.get $i) (i32.const 3))) (f64.const 0))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $zero)))
    ;; n_i: the sum over the keys in order, in float64.
    (local.set $k (i32.const 0))
    (block $sumDone
      (loop $sum
        (br_if $sumDone (i32.ge_u (local.get $k) (local.get $count)))
        (local.set $cell
          (i32.add (local.get $base)
            (i32.shl (i32.mul (i32.load (i32.add (local.get $keys) (i32.shl (local.get $k) (i32.const 2)))) (local.get $heads)) (i32.const 2))))
        (local.set $i (i32.const 0))
        (block $headsDone
          (loop $heads
            (br_if $headsDone (i32.ge_u (local.get $i) (local.get $heads)))
            (f64.store (i32.add (local.get $norms) (i32.shl (local.get $i) (i32.const 3)))
              (f64.add
                (f64.load (i32.add (local.get $norms) (i32.shl (local.get $i) (i32.const 3))))
                (f64.promote_f32 (f32.load (i32.add (local.get $cell) (i32.shl (local.get $i) (i32.const 2)))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $heads)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $sum)))
    ;; Underflow (or NaN): leave the step to the caller. Else n_i becomes 1 / n_i.
    (local.set $i (i32.const 0))
    (block $invDone
      (loop $inv
        (br_if $invDone (i32.ge_u (local.get $i) (local.get $heads)))
        (local.set $n (f64.load (i32.add (local.get $norms) (i32.shl (local.get $i) (i32.const 3)))))
        (if (i32.eqz (f64.gt (local.get $n) (f64.const 1e-30))) (then (return (i32.const 1))))
        (f64.store (i32.add (local.get $norms) (i32.shl (local.get $i) (i32.const 3))) (f64.div (f64.const 1) (local.get $n)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $inv)))
    ;; The items: row keys[k] * heads + i, weight float32(cell * (1 / n_i)).
    (local.set $j (i32.const 0))
    (local.set $k (i32.const 0))
    (block $itemsDone
      (loop $items
        (br_if $itemsDone (i32.ge_u (local.get $k) (local.get $count)))
        (local.set $row (i32.mul (i32.load (i32.add (local.get $keys) (i32.shl (local.get $k) (i32.const 2)))) (local.get $heads)))
        (local.set $cell (i32.add (local.get $base) (i32.shl (local.get $row) (i32.const 2))))
        (local.set $i (i32.const 0))
        (block $itemHeadsDone
          (loop $itemHeads
            (br_if $itemHeadsDone (i32.ge_u (local.get $i) (local.get $heads)))
            (i32.store (i32.add (local.get $index) (i32.shl (local.get $j) (i32.const 2))) (i32.add (local.get $row) (local.get $i)))
            (f32.store (i32.add (local.get $weight) (i32.shl (local.get $j) (i32.const 2)))
              (f32.demote_f64
                (f64.mul
                  (f64.promote_f32 (f32.load (i32.add (local.get $cell) (i32.shl (local.get $i) (i32.const 2)))))
                  (f64.load (i32.add (local.get $norms) (i32.shl (local.get $i) (i32.const 3)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $itemHeads)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $items)))
    (call $weightedRowSum (local.get $values) (local.get $index) (local.get $weight) (local.get $j) (local.get $width) (local.get $out))
    (i32.const 0)))
