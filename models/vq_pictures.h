#pragma once
// Pictures of a VQ model's codes, for the trainer's evaluation and `lvk reconstruct`: a code-usage
// histogram and a colour-coded code map. Pure host functions of the counts/indices; no math beyond
// drawing.
#include <cstdint>
#include <vector>

#include "runtime/io/png.h"
#include "runtime/tensor.h"

namespace lvk {

// Bars of per-code usage, codes sorted by index left to right, heights on a linear scale up to
// the largest count; unused codes show as a red tick on the baseline so dead codes stand out.
// RGB, `bar_width` pixels per code (at least 1), `height` pixels tall (>= 8).
io::Image code_usage_image(const std::vector<int32_t>& counts, int height = 128, int bar_width = 2);

// Code maps i32 [B, h, w] (from VqVae::codes) as a grid of RGB tiles, each latent position a
// `cell`-pixel square whose colour is a fixed hash of its code index (same code, same colour
// across images). At most `max_images` maps, `cols` per row.
io::Image code_map_image(const Tensor& indices, int cell = 4, int cols = 8, int64_t max_images = 64);

}  // namespace lvk
