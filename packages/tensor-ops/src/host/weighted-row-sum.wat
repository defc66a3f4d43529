;; weightedRowSum(table, index, weight, count, width, out):
;;   out[0 .. width) = sum_{j < count} weight[j] * table[index[j] * width .. + width)
;; All arguments are byte addresses in this module's memory except count and width (floats);
;; float32 throughout, width a multiple of 4. Four 128-bit accumulators (16 floats) stay in locals
;; while j runs, so each table float costs one load, one multiply and one add.
;; Source of weighted-row-sum.wasm.ts (regenerate with `node tools/wasm/build.mjs`).
(module
  (memory (export "memory") 1)
  (func (export "weightedRowSum")
    (param $table i32) (param $index i32) (param $weight i32) (param $count i32) (param $width i32) (param $out i32)
    (local $bytes i32) (local $e i32) (local $j i32) (local $row i32) (local $w v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
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
        (br $tail)))))
