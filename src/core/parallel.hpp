// Data-parallel loops over row blocks on TBB, limited to a given thread count.
// Each block is processed by exactly one thread, so results never depend on the thread count.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cstddef>

namespace nomaly::detail {

/// Calls fn(begin, end) over [0, n) in blocks of `grain` items on up to `threads` threads.
template <class Fn>
void parallel_blocks(std::size_t n, std::size_t grain, int threads, Fn&& fn) {
  if (n == 0) return;
  grain = std::max<std::size_t>(grain, 1);
  if (threads <= 1 || n <= grain) {
    for (std::size_t b = 0; b < n; b += grain) fn(b, std::min(n, b + grain));
    return;
  }
  tbb::task_arena arena(threads);
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, (n + grain - 1) / grain), [&](const tbb::blocked_range<std::size_t>& r) {
      for (std::size_t blk = r.begin(); blk != r.end(); ++blk) fn(blk * grain, std::min(n, (blk + 1) * grain));
    });
  });
}

}  // namespace nomaly::detail
