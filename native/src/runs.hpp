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

// Cut every row into runs of voxels whose (value != 0) differs from Invert.
template <bool Invert>
RunTable extract_runs(const View3<std::uint8_t>& m) {
  RunTable t;
  t.nz = m.shape[0];
  t.ny = m.shape[1];
  t.nx = m.shape[2];
  const idx rows = t.rows(), nx = t.nx;
  t.row_start.assign(static_cast<std::size_t>(rows) + 1, 0);
  auto is_fg = [](std::uint8_t v) { return Invert ? v == 0 : v != 0; };
  // Pass 1: count runs per row.
#pragma omp parallel if (m.size() >= kParallelMin)
  {
    std::vector<std::uint8_t> buf(static_cast<std::size_t>(nx));
#pragma omp for schedule(static)
    for (idx r = 0; r < rows; ++r) {
      const std::uint8_t* row = m.contiguous_row(r / t.ny, r % t.ny, buf.data());
      std::int64_t n = 0;
      bool prev = false;
      for (idx x = 0; x < nx; ++x) {
        const bool cur = is_fg(row[x]);
        n += (cur && !prev);
        prev = cur;
      }
      t.row_start[static_cast<std::size_t>(r) + 1] = n;
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
  // Pass 2: record runs.
#pragma omp parallel if (m.size() >= kParallelMin)
  {
    std::vector<std::uint8_t> buf(static_cast<std::size_t>(nx));
#pragma omp for schedule(static)
    for (idx r = 0; r < rows; ++r) {
      const std::uint8_t* row = m.contiguous_row(r / t.ny, r % t.ny, buf.data());
      std::int64_t k = t.row_start[r];
      idx x = 0;
      while (x < nx) {
        while (x < nx && !is_fg(row[x])) ++x;
        if (x >= nx) break;
        const idx start = x;
        while (x < nx && is_fg(row[x])) ++x;
        t.x0[k] = static_cast<std::int32_t>(start);
        t.x1[k] = static_cast<std::int32_t>(x);
        t.parent[k] = static_cast<std::int32_t>(k);
        ++k;
      }
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
