// Run-based connected components: each row of a 3D mask is cut into runs of foreground, runs
// in neighbouring rows are joined with union-find, and labels are written run by run. Rows
// are split into chunks, one per task; unions inside a chunk only touch that chunk's runs, so
// chunks run in parallel and a short serial pass joins the chunk seams.
#pragma once
#include "common.hpp"

#include <limits>

namespace ndelab {

struct RunTable {
  idx nz = 0, ny = 0, nx = 0;
  std::vector<std::int64_t> row_start;  // rows + 1 entries; runs of row r are [rs[r], rs[r+1])
  std::vector<std::int32_t> x0, x1;     // run [x0, x1)
  std::vector<std::int32_t> parent;     // union-find; parent[i] <= i always
  idx rows() const { return nz * ny; }
  std::int64_t size() const { return static_cast<std::int64_t>(x0.size()); }
};

inline std::int32_t uf_find(std::int32_t* p, std::int32_t i) {
  while (p[i] != i) {
    p[i] = p[p[i]];
    i = p[i];
  }
  return i;
}

inline void uf_unite(std::int32_t* p, std::int32_t a, std::int32_t b) {
  a = uf_find(p, a);
  b = uf_find(p, b);
  if (a < b) {
    p[b] = a;
  } else if (b < a) {
    p[a] = b;
  }
}

// First index in [x, n) whose byte is non-zero (Invert: zero), else n. Scans 8 bytes at a
// time; most rows of a CT mask are long stretches of one value.
template <bool WantZero>
inline idx find_byte(const std::uint8_t* row, idx x, idx n) {
  constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  for (; x + 8 <= n; x += 8) {
    std::uint64_t w;
    std::memcpy(&w, row + x, 8);
    // Bit 7 of each byte set where the byte is zero (exact for the lowest such byte).
    const std::uint64_t zero = (w - ones) & ~w & highs;
    if (WantZero) {
      if (zero) return x + (__builtin_ctzll(zero) >> 3);
    } else if (w != 0) {
      return x + (__builtin_ctzll(w) >> 3);
    }
  }
  for (; x < n; ++x) {
    if ((row[x] == 0) == WantZero) return x;
  }
  return n;
}

// Cut every row into runs of voxels whose (value != 0) differs from Invert. One pass: each
// task collects the runs of a contiguous block of rows, then the blocks are concatenated.
template <bool Invert>
RunTable extract_runs(const View3<std::uint8_t>& m) {
  RunTable t;
  t.nz = m.shape[0];
  t.ny = m.shape[1];
  t.nx = m.shape[2];
  const idx rows = t.rows(), nx = t.nx;
  t.row_start.assign(static_cast<std::size_t>(rows) + 1, 0);
  const bool parallel = m.size() >= kParallelMin;
  const int ntasks = parallel ? max_threads() : 1;
  std::vector<std::vector<std::int32_t>> lx0(static_cast<std::size_t>(ntasks)),
      lx1(static_cast<std::size_t>(ntasks));
#pragma omp parallel for schedule(static, 1) if (parallel)
  for (int task = 0; task < ntasks; ++task) {
    std::vector<std::uint8_t> buf(static_cast<std::size_t>(nx));
    auto& x0s = lx0[static_cast<std::size_t>(task)];
    auto& x1s = lx1[static_cast<std::size_t>(task)];
    for (idx r = rows * task / ntasks; r < rows * (task + 1) / ntasks; ++r) {
      const std::uint8_t* row = m.contiguous_row(r / t.ny, r % t.ny, buf.data());
      const std::size_t before = x0s.size();
      idx x = 0;
      while (x < nx) {
        x = find_byte<Invert>(row, x, nx);
        if (x >= nx) break;
        const idx start = x;
        x = find_byte<!Invert>(row, x, nx);
        x0s.push_back(static_cast<std::int32_t>(start));
        x1s.push_back(static_cast<std::int32_t>(x));
      }
      t.row_start[static_cast<std::size_t>(r) + 1] = static_cast<std::int64_t>(x0s.size() - before);
    }
  }
  for (idx r = 0; r < rows; ++r) t.row_start[r + 1] += t.row_start[r];
  const std::int64_t total = t.row_start[rows];
  if (total >= std::numeric_limits<std::int32_t>::max()) {
    throw std::length_error("the mask has too many runs (more than 2^31) to label");
  }
  t.x0.resize(static_cast<std::size_t>(total));
  t.x1.resize(static_cast<std::size_t>(total));
  t.parent.resize(static_cast<std::size_t>(total));
#pragma omp parallel for schedule(static, 1) if (parallel)
  for (int task = 0; task < ntasks; ++task) {
    const std::int64_t base = t.row_start[rows * task / ntasks];
    const auto& x0s = lx0[static_cast<std::size_t>(task)];
    std::copy(x0s.begin(), x0s.end(), t.x0.begin() + base);
    std::copy(lx1[static_cast<std::size_t>(task)].begin(), lx1[static_cast<std::size_t>(task)].end(),
              t.x1.begin() + base);
    for (std::size_t i = 0; i < x0s.size(); ++i) {
      t.parent[static_cast<std::size_t>(base) + i] = static_cast<std::int32_t>(base + static_cast<std::int64_t>(i));
    }
  }
  return t;
}

// Join the runs of row a with those of row b; ext = 1 also joins runs that touch diagonally.
inline void join_rows(RunTable& t, idx a, idx b, int ext) {
  std::int64_t i = t.row_start[a], ie = t.row_start[a + 1];
  std::int64_t j = t.row_start[b], je = t.row_start[b + 1];
  std::int32_t* p = t.parent.data();
  while (i < ie && j < je) {
    if (t.x0[j] < t.x1[i] + ext && t.x0[i] < t.x1[j] + ext) {
      uf_unite(p, static_cast<std::int32_t>(i), static_cast<std::int32_t>(j));
    }
    if (t.x1[i] <= t.x1[j]) {
      ++i;
    } else {
      ++j;
    }
  }
}

// Join row r with its already-scanned neighbour rows whose index is >= lo (and < hi).
inline void join_row(RunTable& t, idx r, int connectivity, idx lo, idx hi) {
  const idx y = r % t.ny, z = r / t.ny;
  const int diag_in_plane = connectivity == 6 ? 0 : 1;
  auto ok = [&](idx nr) { return nr >= lo && nr < hi; };
  if (y > 0 && ok(r - 1)) join_rows(t, r, r - 1, diag_in_plane);
  if (z > 0) {
    const idx up = r - t.ny;
    if (ok(up)) join_rows(t, r, up, connectivity == 6 ? 0 : 1);
    if (connectivity != 6) {
      const int ext = connectivity == 26 ? 1 : 0;
      if (y > 0 && ok(up - 1)) join_rows(t, r, up - 1, ext);
      if (y + 1 < t.ny && ok(up + 1)) join_rows(t, r, up + 1, ext);
    }
  }
}

// Union all runs: chunks of rows in parallel, then the seams serially.
inline void connect_runs(RunTable& t, int connectivity) {
  const idx rows = t.rows();
  if (rows == 0) return;
  const idx nchunks = std::max<idx>(1, std::min<idx>(rows, 4 * max_threads()));
  std::vector<idx> bounds(static_cast<std::size_t>(nchunks) + 1);
  for (idx c = 0; c <= nchunks; ++c) bounds[c] = rows * c / nchunks;
#pragma omp parallel for schedule(dynamic, 1) if (rows * t.nx >= kParallelMin)
  for (idx c = 0; c < nchunks; ++c) {
    for (idx r = bounds[c]; r < bounds[c + 1]; ++r) join_row(t, r, connectivity, bounds[c], r);
  }
  // A row's neighbours lie at most ny + 1 rows back, so only the first ny + 1 rows of each
  // chunk can reach into earlier chunks.
  for (idx c = 1; c < nchunks; ++c) {
    const idx end = std::min(bounds[c + 1], bounds[c] + t.ny + 1);
    for (idx r = bounds[c]; r < end; ++r) join_row(t, r, connectivity, 0, bounds[c]);
  }
}

// Replace parent[] by final labels 1..n in raster order of each component's first run.
inline std::int32_t flatten_labels(RunTable& t) {
  std::int32_t n = 0;
  std::int32_t* p = t.parent.data();
  const std::int64_t total = t.size();
  for (std::int64_t i = 0; i < total; ++i) {
    // parent[i] < i already holds its final label; a root gets the next one.
    p[i] = (p[i] == i) ? ++n : p[p[i]];
  }
  return n;
}

}  // namespace ndelab
