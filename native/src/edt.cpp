// Exact Euclidean distance transform with anisotropic spacing (Felzenszwalb-Huttenlocher).
// Pass 1 scans rows for the 1D distance to background; passes 2 and 3 take the lower envelope
// of parabolas along y and z. Columns are processed in blocks of kBlock neighbours gathered
// into a small buffer, so the strided passes read whole cache lines.
#include "common.hpp"

#include <cmath>
#include <limits>

namespace ndelab {

namespace {

constexpr idx kBlock = 16;

// Scratch for one line of length n.
struct Envelope {
  std::vector<double> f, g, zb;
  std::vector<idx> v;
  explicit Envelope(idx n)
      : f(static_cast<std::size_t>(n)), g(static_cast<std::size_t>(n)),
        zb(static_cast<std::size_t>(n) + 1), v(static_cast<std::size_t>(n)) {}
};

// In-place squared-distance transform of one line (stride `step`), spacing^2 = w2.
// Infinite entries (no background seen yet) take no part in the envelope.
inline void fh_line(float* line, idx n, idx step, double w2, Envelope& e) {
  const double inf = std::numeric_limits<double>::infinity();
  idx k = -1;
  for (idx q = 0; q < n; ++q) {
    const double fq = line[q * step];
    e.f[q] = fq;
    if (!(fq < inf)) continue;
    const double gq = fq + w2 * static_cast<double>(q) * static_cast<double>(q);
    double s = -inf;
    while (k >= 0) {
      s = (gq - e.g[k]) / (2.0 * w2 * static_cast<double>(q - e.v[k]));
      if (s <= e.zb[k]) {
        --k;
        s = -inf;
      } else {
        break;
      }
    }
    ++k;
    e.v[k] = q;
    e.g[k] = gq;
    e.zb[k] = k == 0 ? -inf : s;
  }
  if (k < 0) return;  // no background on this line: everything stays infinite
  e.zb[k + 1] = inf;
  idx j = 0;
  for (idx q = 0; q < n; ++q) {
    while (e.zb[j + 1] < static_cast<double>(q)) ++j;
    const double d = static_cast<double>(q - e.v[j]);
    line[q * step] = static_cast<float>(w2 * d * d + e.f[e.v[j]]);
  }
}

// Run fh_line over the lines along an axis of length n and element stride `stride` that
// start at base + x for x in [0, nx) (consecutive in memory).
inline void fh_block_lines(float* base, idx n, idx stride, idx nx, double w2, bool take_sqrt,
                           std::vector<float>& buf, Envelope& e) {
  for (idx x0 = 0; x0 < nx; x0 += kBlock) {
    const idx b = std::min(kBlock, nx - x0);
    for (idx i = 0; i < n; ++i) {
      const float* src = base + i * stride + x0;
      float* dst = buf.data() + i * kBlock;
      for (idx c = 0; c < b; ++c) dst[c] = src[c];
    }
    for (idx c = 0; c < b; ++c) fh_line(buf.data() + c, n, kBlock, w2, e);
    for (idx i = 0; i < n; ++i) {
      float* dst = base + i * stride + x0;
      const float* src = buf.data() + i * kBlock;
      if (take_sqrt) {
        for (idx c = 0; c < b; ++c) dst[c] = std::sqrt(src[c]);
      } else {
        for (idx c = 0; c < b; ++c) dst[c] = src[c];
      }
    }
  }
}

}  // namespace

py::array_t<float> edt(const py::array& mask, const std::vector<double>& spacing) {
  const View3<std::uint8_t> m = mask_view(mask, "edt", "mask");
  if (static_cast<int>(spacing.size()) != mask.ndim()) {
    throw py::value_error("edt: spacing needs one value per axis (" +
                          std::to_string(mask.ndim()) + "), got " +
                          std::to_string(spacing.size()));
  }
  for (double s : spacing) {
    if (!(s > 0.0) || !std::isfinite(s)) {
      throw py::value_error("edt: spacing values must be positive and finite");
    }
  }
  std::array<double, 3> sp{1.0, 1.0, 1.0};
  for (std::size_t i = 0; i < spacing.size(); ++i) sp[3 - spacing.size() + i] = spacing[i];
  py::array_t<float> out(shape_of(mask));
  float* o = out.mutable_data();
  const idx nz = m.shape[0], ny = m.shape[1], nx = m.shape[2];
  {
    py::gil_scoped_release release;
    const float inf = std::numeric_limits<float>::infinity();
    const double wx = sp[2];
    const bool sqrt_after_y = nz == 1;
    // Pass 1: along x, distance in voxels to the nearest background voxel of the row.
#pragma omp parallel if (nz * ny * nx >= kParallelMin)
    {
      std::vector<std::uint8_t> rbuf(static_cast<std::size_t>(nx));
#pragma omp for schedule(static)
      for (idx r = 0; r < nz * ny; ++r) {
        const std::uint8_t* row = m.contiguous_row(r / ny, r % ny, rbuf.data());
        float* orow = o + r * nx;
        idx last = -1;
        for (idx x = 0; x < nx; ++x) {
          if (row[x] == 0) last = x;
          orow[x] = last < 0 ? inf : static_cast<float>(x - last);
        }
        last = -1;
        for (idx x = nx - 1; x >= 0; --x) {
          if (row[x] == 0) last = x;
          if (last >= 0) orow[x] = std::min(orow[x], static_cast<float>(last - x));
        }
        for (idx x = 0; x < nx; ++x) {
          const double d = static_cast<double>(orow[x]) * wx;
          orow[x] = static_cast<float>(d * d);
        }
        if (ny == 1 && nz == 1) {
          for (idx x = 0; x < nx; ++x) orow[x] = std::sqrt(orow[x]);
        }
      }
    }
    // Pass 2: along y, one z-plane per task.
    if (ny > 1 || nz > 1) {
#pragma omp parallel if (nz * ny * nx >= kParallelMin)
      {
        Envelope e(ny);
        std::vector<float> buf(static_cast<std::size_t>(ny * kBlock));
#pragma omp for schedule(dynamic, 1)
        for (idx z = 0; z < nz; ++z) {
          fh_block_lines(o + z * ny * nx, ny, nx, nx, sp[1] * sp[1], sqrt_after_y, buf, e);
        }
      }
    }
    // Pass 3: along z, one y-row of lines per task.
    if (nz > 1) {
#pragma omp parallel if (nz * ny * nx >= kParallelMin)
      {
        Envelope e(nz);
        std::vector<float> buf(static_cast<std::size_t>(nz * kBlock));
#pragma omp for schedule(dynamic, 1)
        for (idx y = 0; y < ny; ++y) {
          fh_block_lines(o + y * nx, nz, ny * nx, nx, sp[0] * sp[0], true, buf, e);
        }
      }
    }
  }
  return out;
}

void register_edt(py::module_& m) {
  m.def("edt", &edt, py::arg("mask"), py::arg("spacing"),
        "Euclidean distance from each foreground voxel to the nearest background voxel.");
}

}  // namespace ndelab
