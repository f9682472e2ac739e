#include "detectors/neighbors.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <nanoflann.hpp>
#include <utility>

#include "core/parallel.hpp"
#include "nomaly/errors.hpp"

namespace nomaly::detail {

namespace {

using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Hit = std::pair<double, std::uint32_t>;  // (squared distance, training index); std::pair orders lexicographically

constexpr std::size_t kTreeMaxDim = 16;  // above this a k-d tree visits most leaves; brute force wins
constexpr std::size_t kScanChunk = 512;  // training rows per distance chunk (the accumulators stay in L1)
constexpr std::uint32_t kNoExclude = std::numeric_limits<std::uint32_t>::max();

// The one definition of the exact squared distance; both strategies rank by it.
inline double exact_sq(const double* a, const double* b, std::size_t d) {
  double s = 0.0;
  for (std::size_t j = 0; j < d; ++j) {
    const double t = a[j] - b[j];
    s += t * t;
  }
  return s;
}

// acc[j] = sum_f (Yt[f][c0 + j] - q[f])^2 for j < len, in float32, features summed in order f = 0..d-1.
// Yt is feature-major (d x n), so the inner loop runs over contiguous rows and vectorises; on GCC/x86-64 an
// AVX2 clone is picked at load time when the CPU has it (same sums, wider lanes).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx2", "default")))
#endif
void chunk_sq_dist(const float* Yt, std::size_t n, std::size_t d, const float* q, std::size_t c0, std::size_t len,
                   float* acc) {
  for (std::size_t j = 0; j < len; ++j) acc[j] = 0.0f;
  for (std::size_t f = 0; f < d; ++f) {
    const float* y = Yt + f * n + c0;
    const float qf = q[f];
    for (std::size_t j = 0; j < len; ++j) {
      const float t = y[j] - qf;
      acc[j] += t * t;
    }
  }
}

// Strategy choice, measured on this machine (KNN fit + training scores, 1 thread, Gaussian rows): the k-d
// tree wins for d < 8 and, at d = 8-12, once n is large (O(n log n) against the scan's O(n^2)); from d = 13
// it visits most leaves and the scan wins (n = 20k: 0.8 s against 5.9 s at d = 16); above d = 40 the GEMM
// expansion does fewer flops per candidate than the direct scan.
bool use_scan(std::size_t n, std::size_t d) {
  if (d < 8 || d > 40) return false;
  if (d >= 13) return true;
  return n <= (d >= 10 ? 100000u : 30000u);
}

// #{j < len : a[j] <= cut}, branch-free so that it vectorises: most 64-row blocks hold no candidate.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx2", "default")))
#endif
int count_le(const float* a, std::size_t len, float cut) {
  int c = 0;
  for (std::size_t j = 0; j < len; ++j) c += a[j] <= cut ? 1 : 0;
  return c;
}

struct Points {
  const RowMajor* Y = nullptr;
  std::size_t kdtree_get_point_count() const { return static_cast<std::size_t>(Y->rows()); }
  double kdtree_get_pt(std::uint32_t i, std::size_t j) const { return (*Y)(i, static_cast<Eigen::Index>(j)); }
  template <class BBox>
  bool kdtree_get_bbox(BBox&) const { return false; }
};

// nanoflann metric whose leaf distances are exact_sq, so the tree and brute force agree bit for bit.
struct ExactL2 {
  using ElementType = double;
  using DistanceType = double;
  const Points& pts;
  explicit ExactL2(const Points& p) : pts(p) {}
  double evalMetric(const double* a, std::uint32_t b, std::size_t d, double = -1) const {
    return exact_sq(a, pts.Y->row(b).data(), d);
  }
  template <class U, class V>
  double accum_dist(const U a, const V b, std::size_t) const {
    return (a - b) * (a - b);
  }
};

using Tree = nanoflann::KDTreeSingleIndexAdaptor<ExactL2, Points, -1, std::uint32_t>;

// Max-heap of the k smallest values seen: one comparison with the current k-th in the common case.
template <class T>
void keep_k_smallest(std::vector<T>& heap, std::size_t k, const T& v) {
  if (heap.size() < k) {
    heap.push_back(v);
    std::push_heap(heap.begin(), heap.end());
  } else if (v < heap.front()) {
    std::pop_heap(heap.begin(), heap.end());
    heap.back() = v;
    std::push_heap(heap.begin(), heap.end());
  }
}

// Keeps the k smallest (distance, index) pairs. worstDist() is inflated slightly so that the tree offers points
// tied with the current k-th (and survives rounding in its incremental box distances); addPoint decides exactly.
class TopK {
 public:
  TopK(std::size_t k, std::uint32_t exclude) : k_(k), exclude_(exclude) { heap_.reserve(k + 1); }
  bool addPoint(double d, std::uint32_t i) {
    if (i == exclude_) return true;
    keep_k_smallest(heap_, k_, Hit{d, i});
    return true;
  }
  double worstDist() const {
    if (heap_.size() < k_) return std::numeric_limits<double>::max();
    return heap_.front().first * (1.0 + 1e-9) + 1e-300;
  }
  bool full() const { return heap_.size() == k_; }
  std::size_t size() const { return heap_.size(); }
  std::vector<Hit>& sorted() {
    std::sort_heap(heap_.begin(), heap_.end());
    return heap_;
  }

 private:
  std::size_t k_;
  std::uint32_t exclude_;
  std::vector<Hit> heap_;
};

}  // namespace

struct NeighborIndex::Impl {
  RowMajor Y;
  RowMajorF Yf;             // float32 copy and squared norms, for the GEMM candidates
  std::vector<float> yyf;
  std::vector<float> Yt;    // float32 feature-major copy (d x n), for the direct scan
  double yy_max = 0.0;
  Points pts;
  std::unique_ptr<Tree> tree;
};

NeighborIndex::NeighborIndex() : impl_(std::make_unique<Impl>()) {}
NeighborIndex::~NeighborIndex() = default;
NeighborIndex::NeighborIndex(NeighborIndex&&) noexcept = default;
NeighborIndex& NeighborIndex::operator=(NeighborIndex&&) noexcept = default;

std::size_t NeighborIndex::size() const { return static_cast<std::size_t>(impl_->Y.rows()); }
std::size_t NeighborIndex::dim() const { return static_cast<std::size_t>(impl_->Y.cols()); }

void NeighborIndex::build(MatrixView train) {
  auto fresh = std::make_unique<Impl>();
  Impl& m = *fresh;
  m.Y.resize(static_cast<Eigen::Index>(train.rows), static_cast<Eigen::Index>(train.cols));
  for (std::size_t i = 0; i < train.rows; ++i)
    for (std::size_t j = 0; j < train.cols; ++j) m.Y(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = train(i, j);
  m.pts.Y = &m.Y;  // Impl lives on the heap, so this pointer survives moves of NeighborIndex
  if (use_scan(train.rows, train.cols)) {
    m.Yt.resize(train.rows * train.cols);
    for (std::size_t i = 0; i < train.rows; ++i)
      for (std::size_t j = 0; j < train.cols; ++j) m.Yt[j * train.rows + i] = train(i, j);
  } else if (train.cols <= kTreeMaxDim && train.rows > 0) {
    m.tree = std::make_unique<Tree>(train.cols, m.pts, nanoflann::KDTreeSingleIndexAdaptorParams(16));
  } else {  // GEMM brute force: only this path needs the float32 copy and its squared norms
    m.Yf = m.Y.cast<float>();
    m.yyf.resize(train.rows);
    for (std::size_t i = 0; i < train.rows; ++i) {
      m.yyf[i] = m.Yf.row(static_cast<Eigen::Index>(i)).squaredNorm();
      m.yy_max = std::max(m.yy_max, static_cast<double>(m.yyf[i]));
    }
  }
  impl_ = std::move(fresh);
}

void NeighborIndex::query(MatrixView X, std::size_t k, bool exclude_self, int n_jobs, std::vector<double>& dist,
                          std::vector<std::int32_t>& idx) const {
  const Impl& m = *impl_;
  const std::size_t n = size(), d = dim();
  if (X.cols != d) throw DataError("neighbour search: expected " + std::to_string(d) + " features, got " + std::to_string(X.cols));
  if (k == 0 || k + (exclude_self ? 1 : 0) > n)
    throw DataError("neighbour search: k = " + std::to_string(k) + " needs more than " + std::to_string(n) + " training rows");
  if (exclude_self && X.rows != n) throw DataError("neighbour search: self-exclusion needs the training rows");
  dist.assign(X.rows * k, 0.0);
  idx.assign(X.rows * k, 0);

  auto rank_all_exact = [&](const double* q, std::uint32_t self, std::vector<Hit>& hits) {
    hits.clear();
    for (std::size_t row = 0; row < n; ++row)
      if (row != self) hits.emplace_back(exact_sq(q, m.Y.row(static_cast<Eigen::Index>(row)).data(), d), static_cast<std::uint32_t>(row));
  };
  auto emit = [&](std::size_t i, const std::vector<Hit>& hits) {
    for (std::size_t r = 0; r < k; ++r) {
      dist[i * k + r] = std::sqrt(hits[r].first);
      idx[i * k + r] = static_cast<std::int32_t>(hits[r].second);
    }
  };

  if (!m.Yt.empty()) {
    // Candidates are rows whose float32 distance is within a relative margin of the k-th smallest one; the
    // float32 sum of d squared differences has relative error below (d + 3) u against the double sum, so
    // every row whose exact distance ties or beats the exact k-th lies within (1 + 4 (d + 4) u) of it.
    const double rel = 1.0 + 4.0 * (static_cast<double>(d) + 4.0) * std::numeric_limits<float>::epsilon();
    detail::parallel_blocks(X.rows, 64, n_jobs, [&](std::size_t b, std::size_t e) {
      std::vector<float> acc(kScanChunk), qf(d), heap;
      std::vector<double> q(d);
      std::vector<std::pair<float, std::uint32_t>> cand;
      std::vector<Hit> hits;
      heap.reserve(k + 1);
      for (std::size_t i = b; i < e; ++i) {
        for (std::size_t j = 0; j < d; ++j) q[j] = qf[j] = X(i, j);
        const std::uint32_t self = exclude_self ? static_cast<std::uint32_t>(i) : kNoExclude;
        heap.clear();
        cand.clear();
        float cut = std::numeric_limits<float>::infinity();
        for (std::size_t c0 = 0; c0 < n; c0 += kScanChunk) {
          const std::size_t len = std::min(kScanChunk, n - c0);
          chunk_sq_dist(m.Yt.data(), n, d, qf.data(), c0, len, acc.data());
          for (std::size_t j = 0; j < len; ++j) {
            if (j % 64 == 0 && count_le(acc.data() + j, std::min<std::size_t>(64, len - j), cut) == 0) {
              j += 63;
              continue;
            }
            if (!(acc[j] <= cut)) continue;
            const auto row = static_cast<std::uint32_t>(c0 + j);
            if (row == self) continue;
            cand.emplace_back(acc[j], row);
            keep_k_smallest(heap, k, acc[j]);
            if (heap.size() == k) cut = static_cast<float>(static_cast<double>(heap.front()) * rel + 1e-37);
          }
        }
        hits.clear();
        for (const auto& [a, row] : cand)
          if (a <= cut || heap.size() < k)
            hits.emplace_back(exact_sq(q.data(), m.Y.row(static_cast<Eigen::Index>(row)).data(), d), row);
        if (hits.size() < k) rank_all_exact(q.data(), self, hits);  // defensive: cannot happen for finite input
        std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(k), hits.end());
        emit(i, hits);
      }
    });
    return;
  }

  if (m.tree) {
    detail::parallel_blocks(X.rows, 64, n_jobs, [&](std::size_t b, std::size_t e) {
      std::vector<double> q(d);
      for (std::size_t i = b; i < e; ++i) {
        for (std::size_t j = 0; j < d; ++j) q[j] = X(i, j);
        TopK top(k, exclude_self ? static_cast<std::uint32_t>(i) : kNoExclude);
        m.tree->findNeighbors(top, q.data(), nanoflann::SearchParams());
        emit(i, top.sorted());
      }
    });
    return;
  }

  // Brute force: candidates from a float32 GEMM expansion |x|^2 - 2 x.y + |y|^2, then exact re-ranking in double.
  // The expansion's absolute error is below ~(2d + 8) u (|x|^2 + |y|^2) (u = 2^-24), so every row whose exact
  // distance can be <= the exact k-th one lies within twice that margin of the k-th smallest approximate value.
  constexpr std::size_t kBlock = 64;
  const double u = std::numeric_limits<float>::epsilon();
  detail::parallel_blocks(X.rows, kBlock, n_jobs, [&](std::size_t b, std::size_t e) {
    const auto rows = static_cast<Eigen::Index>(e - b);
    RowMajorF Q(rows, static_cast<Eigen::Index>(d));
    for (Eigen::Index i = 0; i < rows; ++i)
      for (std::size_t j = 0; j < d; ++j) Q(i, static_cast<Eigen::Index>(j)) = X(b + static_cast<std::size_t>(i), j);
    const RowMajorF G = Q * m.Yf.transpose();
    std::vector<double> q(d);
    std::vector<float> heap;
    std::vector<Hit> cand;
    for (Eigen::Index i = 0; i < rows; ++i) {
      const std::size_t qi = b + static_cast<std::size_t>(i);
      for (std::size_t j = 0; j < d; ++j) q[j] = Q(i, static_cast<Eigen::Index>(j));
      const float xx = Q.row(i).squaredNorm();
      const float* g = &G(i, 0);
      cand.clear();
      if (!(static_cast<double>(xx) + m.yy_max < 1e37)) {  // float32 norms near overflow: no usable screening
        rank_all_exact(q.data(), exclude_self ? static_cast<std::uint32_t>(qi) : kNoExclude, cand);
        std::partial_sort(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(k), cand.end());
        emit(qi, cand);
        continue;
      }
      // k smallest approximate values (max-heap), one comparison per row in the common case.
      heap.clear();
      for (std::size_t j = 0; j < n; ++j) {
        if (exclude_self && j == qi) continue;
        keep_k_smallest(heap, k, xx + m.yyf[j] - 2.0f * g[j]);
      }
      const double margin = 2.0 * (2.0 * static_cast<double>(d) + 8.0) * u * (static_cast<double>(xx) + m.yy_max) + 1e-30;
      const double cut = static_cast<double>(heap.front()) + margin;
      for (std::size_t j = 0; j < n; ++j) {
        if (exclude_self && j == qi) continue;
        if (static_cast<double>(xx + m.yyf[j] - 2.0f * g[j]) <= cut)
          cand.emplace_back(exact_sq(q.data(), m.Y.row(static_cast<Eigen::Index>(j)).data(), d), static_cast<std::uint32_t>(j));
      }
      std::partial_sort(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(k), cand.end());
      emit(qi, cand);
    }
  });
}

}  // namespace nomaly::detail
